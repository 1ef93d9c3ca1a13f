#include "sync/push.hpp"

#include <catch2/catch.hpp>

#include "sync/reconcile.hpp"

using namespace chansync;

namespace {

Conversation conversation(const std::string& id, const std::string& number, int messages, int first = 0) {
  Conversation c{"sms", id, "sms", {HandleKind::phone, number, true}, "+4930123456", {}};
  for (int i = first; i < first + messages; ++i)
    c.messages.push_back({"sms", id + "-m" + std::to_string(i), id, "sms", Direction::inbound, AuthorKind::customer,
                          number, 1000 + i, "hello"});
  return c;
}

struct RecordingSink : Sink {
  std::vector<std::string> delivered;  // person ids, in delivery order
  Result<std::vector<PushOutcome>> push(std::span<const PersonRecord> batch) override {
    std::vector<PushOutcome> out;
    for (const auto& p : batch) {
      delivered.push_back(p.person_id);
      out.push_back({p.person_id, ""});
    }
    return out;
  }
};

std::vector<Conversation> customers(int n) {
  std::vector<Conversation> out;
  for (int i = 0; i < n; ++i)
    out.push_back(conversation("c" + std::to_string(i), "+49151123456" + std::to_string(70 + i), 2));
  return out;
}

void reconcile_now(StateStore& store) {
  int n = 0;
  store.save_identity(
      reconcile(store.identity_input({}), [&] { return "p" + std::to_string(++n + store.person_count()); }));
}

}  // namespace

TEST_CASE("a push sends only persons changed since the target's last push") {
  StateStore store(":memory:");
  store.commit_conversations("sms", customers(10), {}, "x");
  reconcile_now(store);
  RecordingSink sink;

  auto first = push_target("out", sink, store, {});
  CHECK(first.created == 10);
  CHECK(sink.delivered.size() == 10);

  sink.delivered.clear();
  const auto rev = store.revision();
  store.commit_conversations("sms", customers(10), {}, "x");  // all already known
  CHECK(store.revision() == rev);
  reconcile_now(store);
  CHECK(store.revision() == rev);  // an unchanged identity graph writes nothing
  auto second = push_target("out", sink, store, {});
  CHECK(second.created + second.updated == 0);
  CHECK(second.skipped == 10);
  CHECK(sink.delivered.empty());

  store.commit_conversations("sms", {conversation("c2", "+4915112345672", 1, 5)}, {}, "x");  // one new message
  CHECK(store.revision() > rev);
  reconcile_now(store);
  auto third = push_target("out", sink, store, {});
  CHECK(third.updated == 1);
  CHECK(third.skipped == 9);
  REQUIRE(sink.delivered.size() == 1);
  CHECK(store.person(sink.delivered[0])->messages.size() == 3);

  sink.delivered.clear();
  PushOptions full;
  full.full = true;
  auto all = push_target("out", sink, store, full);
  CHECK(all.updated == 10);
  CHECK(sink.delivered.size() == 10);

  RecordingSink other;  // a target that never completed a push gets everyone
  CHECK(push_target("other", other, store, {}).created == 10);
}

TEST_CASE("a dry run plans but neither sends nor moves the target's mark") {
  StateStore store(":memory:");
  store.commit_conversations("sms", {conversation("c1", "+4915112345678", 1)}, {}, "x");
  reconcile_now(store);
  RecordingSink sink;
  PushOptions dry;
  dry.dry_run = true;
  CHECK(push_target("out", sink, store, dry).created == 1);
  CHECK(sink.delivered.empty());
  CHECK(push_target("out", sink, store, {}).created == 1);
  CHECK(sink.delivered.size() == 1);
}
