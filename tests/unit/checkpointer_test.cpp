// Checkpointer: while it lives, the log is copied into the database file by its thread, not by the
// committing one (SQLite's autocheckpoint hook is replaced, then restored); a store without a log
// is left alone.
#include "sync/checkpointer.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "sync/state_store.hpp"
#include "tests/support/temp_dir.hpp"

using namespace chansync;
namespace fs = std::filesystem;

namespace {

int autocheckpoint(StateStore& store) {
  return store.db().execAndGet("PRAGMA wal_autocheckpoint").getInt();
}

// Commits `n` transactions of 64 KiB each into a table of the test's own.
void write(StateStore& store, int n) {
  store.db().exec("CREATE TABLE IF NOT EXISTS filler(blob BLOB)");
  for (int i = 0; i < n; ++i) store.db().exec("INSERT INTO filler VALUES (zeroblob(65536))");
}

}  // namespace

TEST_CASE("a checkpointer copies the log on its own thread and gives the checkpoints back", "[checkpointer]") {
  const test::TempDir tmp("checkpointer");
  const std::string path = (tmp.path / "state.db").string();
  StateStore store(path);
  store.db().exec("PRAGMA wal_autocheckpoint = 16");  // pages: 256 KiB of log at 16 KiB a page
  const auto file_before = fs::file_size(path);
  {
    Checkpointer checkpointer(store);
    // The writer's own hook is gone: SQLite reports autocheckpoint off while another hook is set.
    CHECK(autocheckpoint(store) == 0);
    write(store, 32);  // 2 MiB, in commits that each pass the 16 pages
    // In WAL mode the database file grows only when a checkpoint copies pages into it. The last
    // commits, below the size that starts a copy, may still be in the log.
    const auto copied = file_before + 65536 * 16;
    auto file = fs::file_size(path);
    for (int i = 0; i < 500 && file < copied; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      file = fs::file_size(path);
    }
    CHECK(file >= copied);
  }
  CHECK(autocheckpoint(store) == 16);
  CHECK(store.db().execAndGet("SELECT count(*) FROM filler").getInt() == 32);
}

TEST_CASE("now() copies the log however small it is", "[checkpointer]") {
  const test::TempDir tmp("checkpointer");
  const std::string path = (tmp.path / "state.db").string();
  StateStore store(path);
  Checkpointer checkpointer(store);  // the store's own threshold: 64 MiB, far above what is written
  write(store, 4);
  const auto file_before = fs::file_size(path);
  checkpointer.now();
  auto file = fs::file_size(path);
  for (int i = 0; i < 500 && file < file_before + 4 * 65536; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    file = fs::file_size(path);
  }
  CHECK(file >= file_before + 4 * 65536);
}

TEST_CASE("a store without a log keeps its settings under a checkpointer", "[checkpointer]") {
  StateStore store(":memory:");
  const int before = autocheckpoint(store);
  {
    Checkpointer checkpointer(store);
    checkpointer.now();
    write(store, 2);
    CHECK(autocheckpoint(store) == before);
  }
  CHECK(autocheckpoint(store) == before);
  CHECK(store.db().execAndGet("SELECT count(*) FROM filler").getInt() == 2);
}

TEST_CASE("the log starts again from its beginning while pages keep coming", "[checkpointer]") {
  const test::TempDir tmp("checkpointer");
  const std::string path = (tmp.path / "state.db").string();
  StateStore store(path);
  store.db().exec("PRAGMA wal_autocheckpoint = 16");
  Checkpointer checkpointer(store);
  // One open transaction after another, as a pull's writer commits: 400 pages of log in all, 25 times
  // the size that starts a copy.
  write(store, 100);
  // The log file keeps the largest size it reached: about twice 16 pages and a transaction, not 400.
  CHECK(fs::file_size(path + "-wal") < 100 * 16384);
}
