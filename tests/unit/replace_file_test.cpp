// replace_file: the new content replaces the old whole; a path that cannot be written is cant_write
// naming it, with no temporary file left behind.
#include "sync/replace_file.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/temp_dir.hpp"

using namespace chansync;
namespace fs = std::filesystem;

TEST_CASE("replace_file replaces a file whole and reports a path it cannot write") {
  const test::TempDir tmp("replace");
  const fs::path& dir = tmp.path;
  const std::string path = (dir / "page.html").string();
  REQUIRE(replace_file(path, "a longer first version\n"));
  REQUIRE(replace_file(path, "second"));
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str() == "second");

  const std::string missing = (dir / "no" / "such" / "page.html").string();
  const auto r = replace_file(missing, "x");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::cant_write);
  CHECK_THAT(r.error().message, Catch::Contains(missing));
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);  // page.html alone
}
