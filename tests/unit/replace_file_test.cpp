// replace_file: the new content replaces the old whole; a path that cannot be written is cant_write
// naming it, with no temporary file left behind; a symlink is followed, a mode kept, a FIFO written into.
#include "sync/replace_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/temp_dir.hpp"

using namespace chansync;
namespace fs = std::filesystem;

namespace {
std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}
}  // namespace

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

  // A new file gets the umask's mode, and a symlink planted at the old temporary name is not followed.
  const fs::path fresh = dir / "fresh.html";
  const fs::path victim = dir / "victim";
  { std::ofstream(victim) << "mine"; }
  for (int pid = ::getpid(); pid < ::getpid() + 4; ++pid)
    fs::create_symlink(victim, fmt::format("{}.{}.tmp", fresh.string(), pid));
  const mode_t old_mask = ::umask(027);
  REQUIRE(replace_file(fresh.string(), "page"));
  ::umask(old_mask);
  CHECK(read_all(victim) == "mine");
  CHECK(fs::status(fresh).permissions() == (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));
}

TEST_CASE("replace_file follows a symlink, keeps the file's mode, writes into a FIFO and refuses a directory") {
  const test::TempDir tmp("replace");
  const fs::path& dir = tmp.path;
  const fs::path real = dir / "real.html";
  REQUIRE(replace_file(real.string(), "old"));
  fs::permissions(real, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  fs::create_symlink("real.html", dir / "link.html");
  REQUIRE(replace_file((dir / "link.html").string(), "new"));
  CHECK(fs::is_symlink(dir / "link.html"));  // the link stays, the file it names is new
  CHECK(read_all(real) == "new");
  CHECK(fs::status(real).permissions() == (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));

  fs::create_symlink("later.html", dir / "dangling.html");  // a target not made yet is made
  REQUIRE(replace_file((dir / "dangling.html").string(), "made"));
  CHECK(fs::is_symlink(dir / "dangling.html"));
  CHECK(read_all(dir / "later.html") == "made");

  // A FIFO (as /dev/stdout may be) is written into, not replaced by a file. Its reader is there
  // first, as a shell's pipe is.
  const fs::path fifo = dir / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(reader >= 0);
  REQUIRE(replace_file(fifo.string(), "through the pipe"));
  char buf[64] = {};
  const ssize_t got = ::read(reader, buf, sizeof buf);
  ::close(reader);
  CHECK(std::string(buf, got > 0 ? static_cast<std::size_t>(got) : 0) == "through the pipe");
  CHECK(fs::is_fifo(fifo));

  const auto r = replace_file(dir.string(), "x");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::cant_write);
  CHECK_THAT(r.error().message, Catch::Contains("directory"));

  // A FIFO no process reads is refused at once, not waited on for good.
  const fs::path lonely = dir / "lonely";
  REQUIRE(::mkfifo(lonely.c_str(), 0600) == 0);
  const auto no_reader = replace_file(lonely.string(), "x");
  REQUIRE_FALSE(no_reader);
  CHECK_THAT(no_reader.error().message, Catch::Contains("no process reads"));
}
