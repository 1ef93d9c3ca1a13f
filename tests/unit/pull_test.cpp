#include "sync/pull.hpp"

#include <catch2/catch.hpp>

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
    if (r.stream == "spool")  // runs on the committing thread: the store may be read here
      events.push_back("fetch spool page " + std::to_string(page) +
                       " (stored cursor: " + store->records().cursor("src", "spool") + ")");
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
  store.db().exec("PRAGMA query_only = 1");
  ThreeStreams src;
  src.store = &store;
  try {
    pull_connector("src", src, store);
    FAIL("no exception");
  } catch (const Failure& f) {
    CHECK(f.error().code == Errc::cant_write);
    CHECK_THAT(f.error().message, Catch::Contains("page 1 of src/history"));
  }
}
