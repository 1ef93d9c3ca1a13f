#pragma once
// A fresh directory under /tmp for one test, removed with everything in it when the test ends
// (also when an assertion stops it).
#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>

namespace chansync::test {

struct TempDir {
  std::filesystem::path path;
  // `name` goes into the directory's name: /tmp/chansync-NAME-XXXXXX.
  explicit TempDir(const std::string& name) {
    std::string tmpl = "/tmp/chansync-" + name + "-XXXXXX";
    if (!::mkdtemp(tmpl.data()))
      throw std::system_error(errno, std::generic_category(), "cannot create a temporary directory " + tmpl);
    path = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace chansync::test
