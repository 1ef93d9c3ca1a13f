#pragma once
// A fresh directory under /tmp for one test, removed with everything in it when the test ends
// (also when an assertion stops it).
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace chansync::test {

struct TempDir {
  std::filesystem::path path;
  // `name` goes into the directory's name: /tmp/chansync-NAME-XXXXXX.
  explicit TempDir(const std::string& name) {
    std::string tmpl = "/tmp/chansync-" + name + "-XXXXXX";
    path = ::mkdtemp(tmpl.data());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace chansync::test
