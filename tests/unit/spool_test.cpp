// The webhook spool: frames survive as written, a torn tail is never read as a payload, corruption
// becomes dead letters, cursors move across segments, and trimming keeps the newest segment.
#include "sync/spool.hpp"

#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iomanip>

#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace chansync;

namespace {

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("spool") {}
};

std::vector<fs::path> segment_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".spool") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Everything readable from `cursor`, in pages of `max`.
std::vector<std::string> drain(const std::string& dir, std::string& cursor, std::size_t max = 3) {
  std::vector<std::string> out;
  for (int guard = 0; guard < 10000; ++guard) {
    auto page = read_spool(dir, "wa", cursor, max);
    REQUIRE(page);
    out.insert(out.end(), page->payloads.begin(), page->payloads.end());
    cursor = page->next_cursor;
    if (page->done) break;
  }
  return out;
}

}  // namespace

TEST_CASE("spool: frames come back in order, byte for byte, across pages", "[spool]") {
  TempDir tmp;
  const std::string dir = tmp.path.string();
  std::vector<std::string> bodies = {R"({"object":"whatsapp_business_account"})", "with\nnewlines\n", "",
                                     std::string(5000, 'x'), "\xff\x00binary"};
  bodies[4] = std::string("\xff\x00binary", 8);
  {
    SpoolWriter w(dir, "wa");
    for (const auto& b : bodies) REQUIRE(w.append(b));
    REQUIRE(w.sync());
    CHECK((fs::status(w.segment_path()).permissions() & fs::perms::others_read) == fs::perms::none);
  }
  std::string cursor;
  CHECK(drain(dir, cursor, 2) == bodies);
  // Nothing new: the same cursor again, done.
  auto again = read_spool(dir, "wa", cursor, 10);
  REQUIRE(again);
  CHECK(again->payloads.empty());
  CHECK(again->done);
  CHECK(again->next_cursor == cursor);
}

TEST_CASE("spool: a missing spool is empty; a bad cursor is an error naming the fix", "[spool]") {
  TempDir tmp;
  auto page = read_spool(tmp.path.string(), "nobody", "", 10);
  REQUIRE(page);
  CHECK(page->payloads.empty());
  CHECK(page->done);
  auto bad = read_spool(tmp.path.string(), "nobody", "garbage", 10);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == Errc::state);
  CHECK_THAT(bad.error().message, Catch::Contains("state reset"));
}

TEST_CASE("spool: segments rotate; reading crosses them; trimming keeps the newest", "[spool]") {
  TempDir tmp;
  const std::string dir = tmp.path.string();
  std::vector<std::string> bodies;
  {
    SpoolWriter w(dir, "wa", 100);  // full once a segment holds 100 bytes
    for (int i = 0; i < 12; ++i) {
      bodies.push_back(std::string(40, static_cast<char>('a' + i)));
      REQUIRE(w.append(bodies.back()));
      REQUIRE(w.sync());
      if (w.full()) REQUIRE(w.rotate());  // as listen does: sealed only once durable
    }
  }
  const auto files = segment_files(tmp.path / "wa");
  REQUIRE(files.size() >= 4);
  std::string cursor;
  CHECK(drain(dir, cursor, 5) == bodies);
  CHECK(trim_spool(dir, "wa", cursor) == files.size() - 1);
  CHECK(segment_files(tmp.path / "wa") == std::vector<fs::path>{files.back()});
  // The cursor still reads nothing new after the trim.
  auto page = read_spool(dir, "wa", cursor, 10);
  REQUIRE(page);
  CHECK(page->payloads.empty());
}

TEST_CASE("spool: a torn frame is waited for in the newest segment and skipped once a newer one exists", "[spool]") {
  TempDir tmp;
  const std::string dir = tmp.path.string();
  std::string first_segment;
  {
    SpoolWriter w(dir, "wa");
    REQUIRE(w.append("one"));
    REQUIRE(w.append("two"));
    REQUIRE(w.sync());
    first_segment = w.segment_path();
  }
  // listen killed mid-write: half a frame at the end, never acknowledged.
  {
    std::ofstream f(first_segment, std::ios::app | std::ios::binary);
    f << "100 0badf00d\n{\"object\":";
  }
  std::string cursor;
  CHECK(drain(dir, cursor) == std::vector<std::string>{"one", "two"});
  // The next listen starts a new segment; the torn bytes are skipped, not read as a payload.
  {
    SpoolWriter w(dir, "wa");
    REQUIRE(w.append("three"));
    REQUIRE(w.sync());
  }
  CHECK(drain(dir, cursor) == std::vector<std::string>{"three"});
}

TEST_CASE("spool: damaged frames become dead letters and reading goes on", "[spool]") {
  TempDir tmp;
  const std::string dir = tmp.path.string();
  std::string seg;
  {
    SpoolWriter w(dir, "wa");
    REQUIRE(w.append("alpha"));
    REQUIRE(w.append("bravo"));
    REQUIRE(w.append("charlie"));
    REQUIRE(w.sync());
    seg = w.segment_path();
  }
  {
    // Flip one byte of "bravo": its checksum no longer matches.
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(f)), {});
    const auto at = all.find("bravo");
    REQUIRE(at != std::string::npos);
    f.seekp(static_cast<std::streamoff>(at));
    f.put('B');
  }
  auto page = read_spool(dir, "wa", "", 10);
  REQUIRE(page);
  CHECK(page->payloads == std::vector<std::string>{"alpha", "charlie"});
  REQUIRE(page->corrupt.size() == 1);
  CHECK(page->corrupt[0].raw == "Bravo");
  CHECK_THAT(page->corrupt[0].error, Catch::Contains("checksum"));
}

TEST_CASE("spool: garbage between frames costs only itself; oversized payloads are refused", "[spool]") {
  TempDir tmp;
  const std::string dir = tmp.path.string();
  std::string seg;
  {
    SpoolWriter w(dir, "wa");
    REQUIRE(w.append("before"));
    REQUIRE(w.sync());
    seg = w.segment_path();
  }
  {
    std::ofstream f(seg, std::ios::app | std::ios::binary);
    f << "99999999999 zzzz\ngarbage that is no frame\n";
  }
  {
    SpoolWriter w(dir, "wa");
    const auto too_big = w.append(std::string(k_spool_max_body + 1, 'x'));
    REQUIRE_FALSE(too_big);
    CHECK(too_big.error().code == Errc::usage);
  }
  // Frames after the damage in the same segment are still read.
  {
    std::ofstream f(seg, std::ios::app | std::ios::binary);
    f << "5 " << std::hex << std::setw(8) << std::setfill('0')
      << crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>("after"), 5) << "\nafter\n";
  }
  std::string cursor;
  auto page = read_spool(dir, "wa", cursor, 10);
  REQUIRE(page);
  CHECK(page->payloads == std::vector<std::string>{"before", "after"});
  REQUIRE(page->corrupt.size() == 1);
  CHECK(page->corrupt[0].raw == "99999999999 zzzz\ngarbage that is no frame\n");
}

TEST_CASE("spool: one listen at a time holds the spool", "[spool]") {
  TempDir tmp;
  SpoolLock first(tmp.path.string());
  try {
    SpoolLock second(tmp.path.string());
    FAIL("a second lock was granted");
  } catch (const Failure& f) {
    CHECK(f.error().code == Errc::locked);
    CHECK_THAT(f.error().message, Catch::Contains("listen.lock"));
  }
}

TEST_CASE("spool: backlog counts what is after the cursor", "[spool]") {
  TempDir tmp;
  const std::string dir = tmp.path.string();
  {
    SpoolWriter w(dir, "wa");
    REQUIRE(w.append("12345"));
    REQUIRE(w.sync());
  }
  const auto all = spool_backlog(dir, "wa", "");
  CHECK(all.segments == 1);
  CHECK(all.bytes == std::string("5 00000000\n12345\n").size());
  std::string cursor;
  drain(dir, cursor);
  CHECK(spool_backlog(dir, "wa", cursor).bytes == 0);
}
