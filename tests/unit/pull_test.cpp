#include "sync/pull.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <sys/resource.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <thread>

#include "sync/bulk_load.hpp"
#include "tests/support/temp_dir.hpp"

using namespace chansync;

namespace {

HealthReport unused_probe() {
  return HealthReport{"x", "test", "", HealthClass::unknown, "not probed in this test"};
}

Conversation conversation(const std::string& stream, int page) {
  const std::string id = stream + "-" + std::to_string(page);
  Conversation c{"src", id, "chat", {HandleKind::telegram_id, "4242", true}, "bot", {}};
  c.messages.push_back({"src", id + "-m", id, "chat", Direction::inbound, AuthorKind::customer, "4242", 1000, "hi"});
  return c;
}

// Three conversation streams of three pages each: "history" (prefetched), "spool" (acknowledging)
// and "broken" (fails on its second page).
struct ThreeStreams : Adapter, ConversationSource {
  StateStore* store = nullptr;
  std::vector<std::string> events;
  std::vector<int> synchronous;  // the store's PRAGMA synchronous as each spool page is fetched

  HealthReport probe() override { return unused_probe(); }
  std::vector<Stream> streams() const override {
    return {{"history", Role::conversations, false},
            {"broken", Role::conversations, false},
            {"spool", Role::conversations, true}};
  }
  void committed(const std::string& stream, const std::string& cursor) override {
    events.push_back("committed " + stream + " " + cursor);
  }
  Result<Page<Conversation>> pull_conversations(const PullRequest& r) override {
    const int page = r.cursor.empty() ? 1 : std::stoi(r.cursor) + 1;
    if (r.stream == "spool") {  // runs on the committing thread: the store may be read here
      events.push_back("fetch spool page " + std::to_string(page) +
                       " (stored cursor: " + store->records().cursor("src", "spool") + ")");
      synchronous.push_back(store->db().execAndGet("PRAGMA synchronous").getInt());
    }
    if (r.stream == "broken" && page == 2) return fail(Errc::unavailable, "HTTP 503 after retries");
    Page<Conversation> p;
    p.items.push_back(conversation(r.stream, page));
    p.next_cursor = std::to_string(page);
    p.done = page == 3;
    p.requests = 1;
    return p;
  }
};

struct BothRoles : Adapter, ConversationSource, ContactSource {
  HealthReport probe() override { return unused_probe(); }
  Result<Page<Conversation>> pull_conversations(const PullRequest& r) override {
    Page<Conversation> p;
    p.items.push_back(conversation(r.stream, 1));
    p.next_cursor = "c";
    p.done = true;
    return p;
  }
  Result<Page<Contact>> pull_contacts(const PullRequest& r) override {
    Page<Contact> p;
    p.items.push_back(Contact{"src", "42", "Ada", "Lovelace", {{HandleKind::email, "ada@example.org"}}});
    p.next_cursor = r.stream + "-done";
    p.done = true;
    return p;
  }
};

}  // namespace

TEST_CASE("an acknowledging stream fetches page N+1 only after page N is committed, and hears of each commit") {
  StateStore store(":memory:");
  ThreeStreams src;
  src.store = &store;
  pull_connector("src", src, store);
  CHECK(src.events == std::vector<std::string>{
                          "fetch spool page 1 (stored cursor: )",
                          "committed spool 1",
                          "fetch spool page 2 (stored cursor: 1)",
                          "committed spool 2",
                          "fetch spool page 3 (stored cursor: 2)",
                          "committed spool 3",
                      });
  // Its commits are synced to disk (FULL, 2) while the pull runs, since the server forgets what the
  // next fetch acknowledges; the store's own setting (NORMAL, 1) comes back after.
  CHECK(src.synchronous == std::vector<int>{2, 2, 2});
  CHECK(store.db().execAndGet("PRAGMA synchronous").getInt() == 1);
}

TEST_CASE("every stream is pulled with its own cursor; one stream's failure does not stop the others") {
  StateStore store(":memory:");
  ThreeStreams src;
  src.store = &store;
  const auto stats = pull_connector("src", src, store);
  REQUIRE(stats.size() == 3);
  CHECK(stats[0].stream == "history");
  CHECK_FALSE(stats[0].error);
  CHECK(stats[0].pages == 3);
  CHECK(stats[0].received == 3);
  CHECK(stats[1].stream == "broken");
  REQUIRE(stats[1].error);
  CHECK(stats[1].error->code == Errc::unavailable);
  CHECK(stats[1].error->connector == "src");
  CHECK(stats[1].pages == 1);  // the page before the failure is committed
  CHECK(stats[2].stream == "spool");
  CHECK_FALSE(stats[2].error);
  CHECK(stats[2].pages == 3);
  CHECK(store.records().cursor("src", "history") == "3");
  CHECK(store.records().cursor("src", "broken") == "1");
  CHECK(store.records().cursor("src", "spool") == "3");
  CHECK(store.count("messages") == 7);
  const auto rows = store.records().streams();
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].stream == "broken");
  CHECK(rows[0].last_pull.error == "HTTP 503 after retries");
  CHECK(rows[1].stream == "history");
  CHECK(rows[1].last_pull.pages == 3);
  CHECK(rows[1].last_pull.error.empty());
}

TEST_CASE("a connector playing two roles pulls both, each stream named after its role by default") {
  StateStore store(":memory:");
  BothRoles src;
  CHECK(src.roles() == std::vector<Role>{Role::conversations, Role::contacts});
  const auto stats = pull_connector("src", src, store);
  REQUIRE(stats.size() == 2);
  CHECK(stats[0].stream == "conversations");
  CHECK(stats[0].received == 1);
  CHECK(stats[1].stream == "contacts");
  CHECK(stats[1].received == 1);
  CHECK(store.records().cursor("src", "contacts") == "contacts-done");
  CHECK(store.records().cursor("src", "conversations") == "c");
  CHECK(store.records().contact("src", "42"));
}

TEST_CASE("a pull whose state store cannot be written stops with cant_write, naming the stream") {
  StateStore store(":memory:");
  ThreeStreams src;
  src.store = &store;
  std::string expected;
  SECTION("a store with messages fails on the first page") {
    store.records().commit_conversations("other", "s", {conversation("s", 1)}, {}, "1");
    expected = "page 1 of src/history";
  }
  SECTION("an empty store fails before, as the first pull sets its indexes aside") {
    expected = "preparing the first pull into it";
  }
  store.db().exec("PRAGMA query_only = 1");
  try {
    pull_connector("src", src, store);
    FAIL("no exception");
  } catch (const Failure& f) {
    CHECK(f.error().code == Errc::cant_write);
    CHECK_THAT(f.error().message, Catch::Contains(expected));
  }
}

namespace {

// One conversation stream of `pages` pages of one message each; `on_fetch` runs before each page is
// served (on the fetching thread), with the page number.
struct Paged : Adapter, ConversationSource {
  int pages = 3;
  bool in_time_order = false;  // what its stream says of itself
  std::function<void(int)> on_fetch;
  HealthReport probe() override { return unused_probe(); }
  std::vector<Stream> streams() const override {
    return {{.name = "conversations", .role = Role::conversations, .in_time_order = in_time_order}};
  }
  Result<Page<Conversation>> pull_conversations(const PullRequest& r) override {
    const int page = r.cursor.empty() ? 1 : std::stoi(r.cursor) + 1;
    if (on_fetch) on_fetch(page);
    Page<Conversation> p;
    p.items.push_back(conversation(r.stream, page));
    p.next_cursor = std::to_string(page);
    p.done = page == pages;
    p.requests = 1;
    return p;
  }
};

// A store file in a directory of its own, removed with it when the test ends.
struct TempStore {
  test::TempDir dir;
  std::string path;
  explicit TempStore(const std::string& name) : dir("pull-" + name), path((dir.path / "state.db").string()) {}
};

// The cursor another connection sees committed (what a crash at this moment would keep).
std::string committed_cursor(const std::string& path, const std::string& connector) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT cursor FROM streams WHERE connector = ?");
  q.bind(1, connector);
  return q.executeStep() ? q.getColumn(0).getString() : "(none)";
}

}  // namespace

TEST_CASE("pages are committed in batches, each with its cursor: a reader sees whole batches only") {
  const TempStore temp("batches");
  const auto& path = temp.path;
  StateStore store(path);
  Paged src;
  src.pages = 5;
  std::vector<std::string> seen;  // what a crash while fetching page N would have kept
  src.on_fetch = [&](int page) { seen.push_back(std::to_string(page) + ":" + committed_cursor(path, "src")); };
  const auto stats = pull_connector("src", src, store);
  REQUIRE(stats.size() == 1);
  CHECK_FALSE(stats[0].error);
  CHECK(stats[0].pages == 5);
  // Five small pages fit one batch, committed when the stream ends: until then nothing is visible.
  CHECK(seen == std::vector<std::string>{"1:(none)", "2:(none)", "3:(none)", "4:(none)", "5:(none)"});
  CHECK(committed_cursor(path, "src") == "5");
  CHECK(store.count("messages") == 5);
}

TEST_CASE("a batch waiting for a slow vendor is committed once it is old") {
  const TempStore temp("slow");
  const auto& path = temp.path;
  StateStore store(path);
  Paged src;
  src.pages = 3;
  std::string before_page3;
  src.on_fetch = [&](int page) {
    if (page != 3) return;
    // Page 2 has been written; the batch holding pages 1 and 2 commits while this fetch is slow.
    for (int i = 0; i < 100 && committed_cursor(path, "src") != "2"; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    before_page3 = committed_cursor(path, "src");
  };
  pull_connector("src", src, store);
  CHECK(before_page3 == "2");
  CHECK(committed_cursor(path, "src") == "3");
}

TEST_CASE("connectors are pulled concurrently, one writer committing for all") {
  StateStore store(":memory:");
  Paged a, b;
  // Each connector's first fetch waits (up to 10 s) for the other's: only a concurrent pull meets.
  std::mutex m;
  std::condition_variable cv;
  int arrived = 0;
  std::vector<std::string> met;
  auto meet = [&](const std::string& who) {
    return [&, who](int page) {
      if (page != 1) return;
      std::unique_lock lock(m);
      ++arrived;
      cv.notify_all();
      met.push_back(who +
                    (cv.wait_for(lock, std::chrono::seconds(10), [&] { return arrived == 2; }) ? " met" : " alone"));
    };
  };
  a.on_fetch = meet("a");
  b.on_fetch = meet("b");
  const auto stats = pull_connectors({{"a", &a, ""}, {"b", &b, ""}}, store, PullOptions{.jobs = 2});
  REQUIRE(stats.size() == 2);
  CHECK(stats[0].connector == "a");  // job order, whatever finished first
  CHECK(stats[1].connector == "b");
  std::sort(met.begin(), met.end());
  CHECK(met == std::vector<std::string>{"a met", "b met"});
  CHECK(store.records().cursor("a", "conversations") == "3");
  CHECK(store.records().cursor("b", "conversations") == "3");
  CHECK(store.count("messages") == 6);
}

TEST_CASE("no other stream writes between a stream's last commit and the recording of its figures") {
  // Stop 22's race: "a" committed its last page and let go of the writer, "b" opened a batch with its
  // next page, and "a"'s figures then failed to open a transaction inside it (the pull exited 70).
  StateStore store(":memory:");
  Paged a, b;
  a.pages = 1;
  b.pages = 3;
  std::mutex m;
  std::condition_variable cv;
  bool released = false;
  b.on_fetch = [&](int page) {
    if (page == 2) {  // b's second page comes only once "a" has ended
      std::unique_lock lock(m);
      cv.wait_for(lock, std::chrono::seconds(10), [&] { return released; });
    }
    if (page == 3) std::this_thread::sleep_for(std::chrono::milliseconds(500));  // b's batch stays open
  };
  std::string b_cursor_seen = "(hook not run)";
  PullOptions opts{.jobs = 2};
  opts.stream_committed = [&](const std::string& connector, const std::string&) {
    if (connector != "a") return;
    {
      std::lock_guard lock(m);
      released = true;
    }
    cv.notify_all();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // b's page 2 arrives meanwhile
    b_cursor_seen = store.records().cursor("b", "conversations");
  };
  std::vector<PullStats> stats;
  REQUIRE_NOTHROW(stats = pull_connectors({{"a", &a, ""}, {"b", &b, ""}}, store, opts));
  CHECK(b_cursor_seen != "2");  // b's page 2 waited for a's figures
  CHECK(b_cursor_seen != "(hook not run)");
  REQUIRE(stats.size() == 2);
  CHECK_FALSE(stats[0].error);
  CHECK_FALSE(stats[1].error);
  CHECK(store.records().cursor("a", "conversations") == "1");
  CHECK(store.records().cursor("b", "conversations") == "3");
  CHECK(store.count("messages") == 4);
}

TEST_CASE("a stop request ends every stream after its current page, with that page committed") {
  StateStore store(":memory:");
  std::atomic<bool> stop{false};
  Paged a, b;
  a.pages = b.pages = 50;
  a.on_fetch = [&](int page) {
    if (page == 1) stop = true;  // the signal comes while page 1 is on its way
  };
  const auto stats = pull_connectors({{"a", &a, ""}, {"b", &b, ""}}, store, PullOptions{.jobs = 1, .stop = &stop});
  REQUIRE(stats.size() == 2);
  REQUIRE(stats[0].error);
  CHECK(stats[0].error->code == Errc::interrupted);
  CHECK(stats[0].pages == 1);  // the page on its way is kept; the next is not fetched
  CHECK(store.records().cursor("a", "conversations") == "1");
  REQUIRE(stats[1].error);  // b had not started: it stops before its first page
  CHECK(stats[1].error->code == Errc::interrupted);
  CHECK(stats[1].pages == 0);
  CHECK(store.count("messages") == 1);
}

namespace {

// The messages indexes another connection sees, as "name: columns" (what a crash now would keep).
std::vector<std::string> message_indexes(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement q(db,
                      "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages' "
                      "AND sql IS NOT NULL ORDER BY name");
  std::vector<std::string> out;
  while (q.executeStep()) out.push_back(q.getColumn(0).getString() + ": " + q.getColumn(1).getString());
  return out;
}

// Their names alone.
std::vector<std::string> message_index_names(const std::string& path) {
  std::vector<std::string> out;
  for (const auto& i : message_indexes(path)) out.push_back(i.substr(0, i.find(':')));
  return out;
}

}  // namespace

TEST_CASE("the first pull into an empty store builds the messages indexes once, when it ends") {
  const TempStore temp("bulk");
  const auto& path = temp.path;
  std::vector<std::string> indexes;
  {
    StateStore store(path);
    indexes = message_indexes(path);
    REQUIRE(indexes.size() >= 3);
    Paged src;
    src.pages = 3;
    std::vector<std::size_t> seen;  // indexes present while page N is fetched
    src.on_fetch = [&](int) { seen.push_back(message_indexes(path).size()); };
    const auto stats = pull_connector("src", src, store);
    CHECK_FALSE(stats[0].error);
    // The index by revision stays: each page's rows are appended to it.
    CHECK(seen == std::vector<std::size_t>{1, 1, 1});
    CHECK(message_indexes(path) == indexes);
    CHECK_FALSE(store.meta("bulk_load_indexes"));
    // A store with messages keeps its indexes while it is pulled again.
    seen.clear();
    Paged more;
    more.pages = 2;
    more.on_fetch = [&](int) { seen.push_back(message_indexes(path).size()); };
    pull_connector("more", more, store);
    CHECK(seen == std::vector<std::size_t>{indexes.size(), indexes.size()});
  }
  SECTION("a stream that fails still leaves the indexes built") {
    for (const char* ext : {"", "-wal", "-shm"}) std::filesystem::remove(path + ext);
    StateStore store(path);
    ThreeStreams src;
    src.store = &store;
    const auto stats = pull_connector("src", src, store);
    REQUIRE(stats.size() == 3);
    CHECK(stats[1].error);
    CHECK(message_indexes(path) == indexes);
  }
  SECTION("a load killed before its end is finished by the next run") {
    for (const char* ext : {"", "-wal", "-shm"}) std::filesystem::remove(path + ext);
    {
      StateStore store(path);
      REQUIRE(begin_bulk_load(store));
      CHECK(message_index_names(path) == std::vector<std::string>{"messages_by_rev"});
      CHECK_FALSE(begin_bulk_load(store));  // under way: nothing more to drop
      store.records().commit_conversations("src", "s", {conversation("s", 1)}, {}, "1");
    }  // the process dies here: no end_bulk_load
    StateStore store(path);
    CHECK(store.meta("bulk_load_indexes"));
    const auto pragma = [&](const char* name) {
      return store.db().execAndGet(fmt::format("PRAGMA {}", name)).getInt();
    };
    const int threads = pragma("threads"), cache_size = pragma("cache_size"), temp_store = pragma("temp_store");
    CHECK(end_bulk_load(store) == static_cast<int>(indexes.size()) - 1);
    CHECK(message_indexes(path) == indexes);
    // The sort settings of the build (helper threads, a small cache, temporary files) are undone.
    CHECK(pragma("threads") == threads);
    CHECK(pragma("cache_size") == cache_size);
    CHECK(pragma("temp_store") == temp_store);
    CHECK(end_bulk_load(store) == 0);
    CHECK_FALSE(begin_bulk_load(store));  // the table has a row now
    CHECK(message_indexes(path) == indexes);
  }
  SECTION("each index is committed on its own: a load killed after some builds the rest") {
    for (const char* ext : {"", "-wal", "-shm"}) std::filesystem::remove(path + ext);
    {
      StateStore store(path);
      REQUIRE(begin_bulk_load(store));
      store.records().commit_conversations("src", "s", {conversation("s", 1), conversation("s", 2)}, {}, "2");
      // The first index's transaction commits; the process dies before the second's does.
      std::vector<std::size_t> after_each;
      CHECK_THROWS(end_bulk_load(store, [&] {
        after_each.push_back(message_indexes(path).size());
        throw std::runtime_error("killed");
      }));
      CHECK(after_each == std::vector<std::size_t>{2});  // the index by revision and the first built
    }
    StateStore store(path);
    CHECK(message_indexes(path).size() == 2);
    CHECK(store.meta("bulk_load_indexes"));
    std::vector<std::size_t> after_each;
    CHECK(end_bulk_load(store, [&] { after_each.push_back(message_indexes(path).size()); }) ==
          static_cast<int>(indexes.size()) - 2);
    CHECK(after_each.size() == indexes.size() - 2);
    CHECK(after_each.front() == 3);
    CHECK(message_indexes(path) == indexes);
    CHECK_FALSE(store.meta("bulk_load_indexes"));
  }
}

TEST_CASE("a first pull keeps the index by time when every stream brings its messages in time order") {
  const TempStore temp("time-order");
  const auto& path = temp.path;
  StateStore store(path);
  const auto indexes = message_indexes(path);
  const std::vector<std::string> kept{"messages_by_rev", "messages_inbound"};
  Paged by_time;
  by_time.in_time_order = true;
  std::vector<std::vector<std::string>> seen;  // the indexes there while each page is fetched
  by_time.on_fetch = [&](int) { seen.push_back(message_index_names(path)); };
  SECTION("alone: kept") {
    CHECK_FALSE(pull_connector("src", by_time, store)[0].error);
    CHECK(seen == std::vector<std::vector<std::string>>(3, kept));
  }
  SECTION("with a stream in no order: built after") {
    Paged unordered;
    const auto stats =
        pull_connectors({{"src", &by_time, ""}, {"other", &unordered, ""}}, store, PullOptions{.jobs = 1});
    CHECK_FALSE(stats[0].error);
    CHECK(seen == std::vector<std::vector<std::string>>(3, {"messages_by_rev"}));
  }
  CHECK(message_indexes(path) == indexes);
  CHECK_FALSE(store.meta("bulk_load_indexes"));
  CHECK(store.count("messages") >= 3);
}

TEST_CASE("a batch whose commit fails while a slow vendor is awaited stops the pull as a storage failure") {
  const TempStore temp("slow-full");
  const auto& path = temp.path;
  StateStore store(path);
  Paged src;
  src.pages = 3;
  // While the limit holds, every regular file of this process stops growing (the store's other
  // connections too): a write past it fails with EFBIG instead of raising SIGXFSZ.
  const auto xfsz = std::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  ::getrlimit(RLIMIT_FSIZE, &old);
  bool filled = false;
  src.on_fetch = [&](int page) {
    if (page != 3 || std::exchange(filled, true)) return;
    // The disk "fills" while page 3 is on its way: the batch of pages 1 and 2 turns a second old and
    // cannot be written to the log.
    rlimit full = old;
    full.rlim_cur = 1;
    ::setrlimit(RLIMIT_FSIZE, &full);
    std::this_thread::sleep_for(std::chrono::milliseconds(k_batch_age_ms + 1500));
    ::setrlimit(RLIMIT_FSIZE, &old);
  };
  try {
    pull_connector("src", src, store);
    ::setrlimit(RLIMIT_FSIZE, &old);
    FAIL("no exception");
  } catch (const Failure& f) {
    ::setrlimit(RLIMIT_FSIZE, &old);
    CHECK(f.error().code == Errc::io);  // exit 74, not an internal error (70)
    CHECK_THAT(f.error().message, Catch::Contains("before page 3 of src/conversations"));
  }
  std::signal(SIGXFSZ, xfsz);
  // Nothing of the batch was kept; the next pull takes every page again.
  CHECK(committed_cursor(path, "src") == "(none)");
  const auto again = pull_connector("src", src, store);
  REQUIRE(again.size() == 1);
  CHECK_FALSE(again[0].error);
  CHECK(store.count("messages") == 3);
}
