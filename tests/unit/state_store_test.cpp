#include "sync/state_store.hpp"

#include <catch2/catch.hpp>

#include "sync/error.hpp"
#include "sync/state_lock.hpp"

using namespace chansync;

namespace {

Conversation conversation(const std::string& id, int messages) {
  Conversation c{"sms", id, "sms", {HandleKind::phone, "+4915112345678", true}, "+4930123456", {}};
  for (int i = 0; i < messages; ++i)
    c.messages.push_back({"sms", id + "-m" + std::to_string(i), id, "sms", Direction::inbound, AuthorKind::customer,
                          "+4915112345678", 1000 + i, "hello"});
  return c;
}

}  // namespace

TEST_CASE("migrations bring a new store to the current schema version") {
  StateStore s(":memory:");
  CHECK(s.schema_version() == 2);
  CHECK(s.counts().at("messages") == 0);
}

TEST_CASE("a page's records and its cursor commit together; re-committing writes nothing") {
  StateStore s(":memory:");
  auto stats = s.commit_conversations("sms", {conversation("c1", 3)}, {}, "cursor-1");
  CHECK(stats.received == 3);
  CHECK(stats.written == 4);  // conversation + 3 messages
  CHECK(s.cursor("sms") == "cursor-1");
  stats = s.commit_conversations("sms", {conversation("c1", 3)}, {{"x", "bad date", "{}"}}, "cursor-2");
  CHECK(stats.written == 0);
  CHECK(stats.rejected == 1);
  CHECK(s.counts().at("messages") == 3);
  CHECK(s.counts().at("dead_letters") == 1);
  CHECK(s.reset_cursor("sms"));
  CHECK(s.cursor("sms").empty());
}

TEST_CASE("a failing page commit leaves neither records nor cursor behind") {
  StateStore s(":memory:");
  s.commit_conversations("sms", {conversation("c1", 1)}, {}, "before");
  s.db().exec(
      "CREATE TRIGGER boom BEFORE INSERT ON messages WHEN NEW.id = 'c2-m1' BEGIN SELECT RAISE(ABORT, 'disk full'); "
      "END");
  CHECK_THROWS(s.commit_conversations("sms", {conversation("c2", 2)}, {}, "after"));
  CHECK(s.cursor("sms") == "before");
  CHECK(s.counts().at("messages") == 1);
}

TEST_CASE("a second lock on the same state fails with a message naming the holder") {
  const std::string path = "/tmp/chansync-lock-test-" + std::to_string(::getpid()) + ".db";
  auto first = StateLock::acquire(path, "sync");
  REQUIRE(first);
  auto second = StateLock::acquire(path, "pull");
  REQUIRE_FALSE(second);
  CHECK(second.error().code == Errc::locked);
  CHECK_THAT(second.error().message, Catch::Contains("pid " + std::to_string(::getpid())) && Catch::Contains("sync"));
}
