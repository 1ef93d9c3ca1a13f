// Bulk load (bulk_load.hpp): a first pull's messages written without their indexes, folded and
// indexed when it ends, also after it failed or was killed at any step of that.
#include "sync/bulk_load.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include "sync/state_records.hpp"
#include "sync/state_store.hpp"
#include "tests/support/temp_dir.hpp"

using namespace chansync;

namespace {

// Pages that bring some messages more than once: a message re-pulled with new text and an older
// status, receipts before and after their message, a message filed under a second conversation, one
// brought twice unchanged, a receipt of a message never pulled, and a watermark (kept aside by a
// bulk load, applied when it ends) that moves the one still "sent".
std::vector<std::vector<Conversation>> repeating_pages() {
  auto message = [](const std::string& conv, const std::string& id, const std::string& text,
                    const std::string& status) {
    Message m{"src", id, conv, "whatsapp", Direction::outbound, AuthorKind::agent, "+4930123456", 1000, text};
    m.status = status;
    return m;
  };
  auto thread = [](const std::string& id, std::vector<Message> messages, std::vector<Message> receipts = {}) {
    Conversation c{"src", id, "whatsapp", {HandleKind::phone, "+4915110000001", true}, "+4930123456", {}};
    c.messages = std::move(messages);
    c.receipts = std::move(receipts);
    return c;
  };
  auto receipt = [&](const std::string& conv, const std::string& id, const std::string& status) {
    auto r = message(conv, id, "", status);
    r.sent_at = 2000;
    return r;
  };
  auto last = thread("c1", {message("c1", "a", "hello, edited", "delivered"), message("c1", "c", "same", "sent")});
  last.watermarks = {{1999, "delivered"}};  // 1000 is a whole second: its end
  return {
      {thread("c1", {message("c1", "a", "hello", "sent"), message("c1", "c", "same", "sent"),
                     message("c1", "f", "kept", "sent")}),
       thread("c2", {}, {receipt("c2", "b", "delivered")})},
      {thread("c1", {message("c1", "d", "first home", "sent")}, {receipt("c1", "a", "read")}),
       thread("c2", {message("c2", "b", "brought after its receipt", "sent")})},
      {last, thread("c2", {message("c2", "d", "second home", "delivered")},
                    {receipt("c2", "e", "failed"), receipt("c1", "f", "read")})},
  };
}

std::vector<std::string> message_table(StateStore& store) {
  std::vector<std::string> out;
  SQLite::Statement q(store.db(),
                      "SELECT m.connector, m.id, c.id, m.channel, m.direction, m.author_kind, m.author_handle, "
                      "m.sent_at, m.text, m.rev, m.kind, m.status, m.attachments FROM messages m "
                      "JOIN conversations c ON c.key = m.conversation ORDER BY m.connector, m.id");
  while (q.executeStep()) {
    std::string row;
    for (int i = 0; i < q.getColumnCount(); ++i) row += q.getColumn(i).getString() + "|";
    out.push_back(row);
  }
  return out;
}

// Commits `pages` as stream "s" of connector "src", the Nth page with cursor "N".
void commit_pages(StateStore& store, const std::vector<std::vector<Conversation>>& pages) {
  int n = 0;
  for (const auto& page : pages) store.records().commit_conversations("src", "s", page, {}, std::to_string(++n));
}

// The table the upserts make of `pages`, without a bulk load.
std::vector<std::string> upserted_table(const std::vector<std::vector<Conversation>>& pages) {
  StateStore store(":memory:");
  commit_pages(store, pages);
  return message_table(store);
}

// A store file in a directory of its own, removed with it when the test ends.
struct TempStore {
  test::TempDir dir;
  std::string path;
  explicit TempStore(const std::string& name) : dir("bulk-" + name), path((dir.path / "state.db").string()) {}
};

// How many indexes of messages the store has that CREATE INDEX made.
int message_index_count(StateStore& store) {
  return store.db()
      .execAndGet(
          "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages' AND sql IS NOT NULL")
      .getInt();
}

}  // namespace

TEST_CASE("a bulk load that brings a message twice ends with the table the upserts would have made") {
  const auto pages = repeating_pages();
  const std::vector<std::string> upserted = upserted_table(pages);
  REQUIRE(upserted.size() == 6);
  CHECK_THAT(upserted[0], Catch::Contains("|a|c1|") && Catch::Contains("hello, edited") && Catch::Contains("|read|"));
  CHECK_THAT(upserted[1], Catch::Contains("brought after its receipt") && Catch::Contains("|delivered|"));
  CHECK_THAT(upserted[2], Catch::Contains("|c|c1|") && Catch::Contains("|delivered|"));  // by the watermark
  CHECK_THAT(upserted[3], Catch::Contains("|d|c1|") && Catch::Contains("second home"));
  CHECK_THAT(upserted[4], Catch::Contains("|e|c2|") && Catch::Contains("|failed|"));
  CHECK_THAT(upserted[5], Catch::Contains("|f|c1|") && Catch::Contains("|kept|") && Catch::Contains("|read|"));

  const TempStore temp("repeats");
  const auto& path = temp.path;
  auto load = [&](StateStore& store) {
    REQUIRE(begin_bulk_load(store));
    CHECK(store.records().bulk_loading());
    commit_pages(store, pages);
    CHECK(store.count("messages") == 12);  // every message and receipt as it came
    CHECK(store.count("bulk_load_watermarks") == 1);
  };
  auto folds = [&](StateStore& store, int built = 3) {  // every index but the one by revision
    CHECK(end_bulk_load(store) == built);
    CHECK(message_table(store) == upserted);
    CHECK(store.count("bulk_load_receipts") == 0);
    CHECK(store.count("bulk_load_watermarks") == 0);
  };
  SECTION("when the load ends") {
    StateStore store(path);
    load(store);
    folds(store);
  }
  SECTION("after a kill: the next run folds them") {
    {
      StateStore store(path);
      load(store);
    }
    StateStore store(path);
    CHECK(store.records().bulk_loading());
    folds(store);
  }
  SECTION("a fold that fails changes nothing, and the next one completes") {
    StateStore store(path);
    load(store);
    store.db().exec("CREATE TRIGGER boom BEFORE UPDATE ON messages BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    CHECK_THROWS_AS(end_bulk_load(store), Failure);
    CHECK(store.count("messages") == 12);
    CHECK(store.records().bulk_loading());
    CHECK(store.meta("bulk_load_indexes"));
    // Beside the index by revision, the one before the unique one (by name) was committed on its own
    // before the fold failed.
    CHECK(message_index_count(store) == 2);
    store.db().exec("DROP TRIGGER boom");
    folds(store, 2);
  }
}

namespace {

// The child's SQLite steps before it kills itself (SIGKILL, as kill -9 would), counted by a progress
// handler called at every virtual-machine step.
struct KillAt {
  long at = 0, steps = 0;
};

int count_or_kill(void* p) {
  auto& k = *static_cast<KillAt*>(p);
  if (++k.steps == k.at) ::raise(SIGKILL);
  return 0;
}

// The same count; at step `at` SQLite stops the statement under way with SQLITE_INTERRUPT, an error
// as any other the store may meet there (once: the rollback after it goes through).
int count_or_fail(void* p) {
  auto& k = *static_cast<KillAt*>(p);
  return ++k.steps == k.at ? 1 : 0;
}

}  // namespace

TEST_CASE("a bulk load killed at any step of its fold or index builds ends, on the next run, as the upserts would") {
  const auto pages = repeating_pages();
  const std::vector<std::string> upserted = upserted_table(pages);
  const TempStore temp("kill-fold");
  const auto loaded = (temp.dir.path / "loaded.db").string();
  {
    StateStore store(loaded);
    REQUIRE(begin_bulk_load(store));
    commit_pages(store, pages);
  }  // closed: one file, no log
  // The steps of a whole end_bulk_load, counted without a kill.
  long total = 0;
  {
    std::filesystem::copy_file(loaded, temp.path, std::filesystem::copy_options::overwrite_existing);
    StateStore store(temp.path);
    KillAt count;
    sqlite3_progress_handler(store.db().getHandle(), 1, count_or_kill, &count);
    REQUIRE(end_bulk_load(store) == 3);
    sqlite3_progress_handler(store.db().getHandle(), 0, nullptr, nullptr);
    total = count.steps;
  }
  REQUIRE(total > 100);
  // Kills spread over every step: in the reads before, the fold's set-aside and delete, the replay,
  // each CREATE INDEX and the final delete of the saved list.
  int killed = 0, failed = 0;
  for (int i = 0; i < 48; ++i) {
    const long at = 1 + total * i / 48;
    INFO("failed or killed at step " << at << " of " << total);
    const auto fresh = [&] {
      std::filesystem::remove(temp.path + "-wal");
      std::filesystem::remove(temp.path + "-shm");
      std::filesystem::copy_file(loaded, temp.path, std::filesystem::copy_options::overwrite_existing);
    };
    // An error at that step (from the reads and settings before the builds on) is the store's
    // failure, named as such, not a raw SQLite exception (past the last build, in restoring the
    // settings, only a warning); the next attempt completes.
    fresh();
    {
      StateStore store(temp.path);
      KillAt fail{at};
      sqlite3_progress_handler(store.db().getHandle(), 1, count_or_fail, &fail);
      try {
        end_bulk_load(store);
        CHECK_FALSE(store.meta("bulk_load_indexes"));
      } catch (const Failure&) {
        ++failed;
        CHECK(store.meta("bulk_load_indexes"));
      }
      sqlite3_progress_handler(store.db().getHandle(), 0, nullptr, nullptr);
      end_bulk_load(store);
      CHECK(message_table(store) == upserted);
    }
    fresh();
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      try {
        StateStore store(temp.path);
        KillAt kill{at};
        sqlite3_progress_handler(store.db().getHandle(), 1, count_or_kill, &kill);
        end_bulk_load(store);
      } catch (...) {
        ::_exit(3);
      }
      ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE((WIFSIGNALED(status) ? WTERMSIG(status) == SIGKILL : WEXITSTATUS(status) == 0));
    killed += WIFSIGNALED(status) ? 1 : 0;
    StateStore store(temp.path);
    CHECK(store.db().execAndGet("PRAGMA integrity_check").getString() == "ok");
    end_bulk_load(store);  // what the next run that holds the state lock does
    CHECK_FALSE(store.records().bulk_loading());
    CHECK_FALSE(store.meta("bulk_load_indexes"));
    CHECK(store.count("bulk_load_receipts") == 0);
    CHECK(message_table(store) == upserted);
  }
  CHECK(killed == 48);  // every kill landed before the load had ended
  CHECK(failed >= 40);  // and all but the errors in restoring the settings failed it
}
