// The sink half of the contract suite (see conformance_test.cpp): every registered type playing the
// sink role, pushed through the pipeline's push_target over a store holding a few merged persons.
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "sync/push.hpp"
#include "sync/reconcile.hpp"
#include "tests/contract/conformance.hpp"

using namespace chansync;
using namespace chansync::test;

namespace {

constexpr const char* k_target = "out";

std::string customer_number(int i) {
  return "+49151123456" + std::to_string(70 + i);
}

Conversation customer(int i, int messages, int first = 0) {
  const std::string id = "c" + std::to_string(i), number = customer_number(i);
  Conversation c{"sms", id, "sms", {HandleKind::phone, number, true}, "+4930123456", {}};
  for (int m = first; m < first + messages; ++m)
    c.messages.push_back({"sms", id + "-m" + std::to_string(m), id, "sms", Direction::inbound, AuthorKind::customer,
                          number, 1'700'000'000'000 + m * 60'000, "Grüße 👋 " + std::to_string(m)});
  return c;
}

void reconcile_now(StateStore& store) {
  int n = 0;
  store.identity().save(reconcile(store.identity().input({}),
                                  [&] { return "p" + std::to_string(++n + store.identity().person_count()); }));
}

// Three persons: three SMS customers, the first also a CRM contact (so one record merges two sources).
void seed_persons(StateStore& store) {
  store.records().commit_conversations("sms", "conversations", {customer(0, 2), customer(1, 2), customer(2, 1)}, {},
                                       "seeded");
  const Contact anna{"crm",
                     "51",
                     "Anna",
                     "Müller",
                     {{HandleKind::email, "anna@example.com"}, {HandleKind::phone, customer_number(0)}},
                     false,
                     1'700'000'000'000};
  store.records().commit_contacts("crm", "contacts", {anna}, {}, "seeded");
  reconcile_now(store);
}

std::vector<std::string> person_ids(StateStore& store) {
  std::vector<std::string> ids;
  store.identity().for_each_person([&](PersonRecord&& p) { ids.push_back(p.person_id); });
  return ids;
}

std::string person_of(StateStore& store, const std::string& number) {
  std::string id;
  store.identity().for_each_person([&](PersonRecord&& p) {
    for (const auto& h : p.handles)
      if (h.value == number) id = p.person_id;
  });
  return id;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// The ledger of the target as person → "hash remote_id", comparable with ==.
std::map<std::string, std::string> ledger_of(StateStore& store) {
  std::map<std::string, std::string> out;
  for (const auto& [id, e] : store.ledger().entries(k_target)) out[id] = e.hash + " " + e.remote_id;
  return out;
}

std::string describe(const PushStats& s) {
  return "created " + std::to_string(s.created) + ", updated " + std::to_string(s.updated) + ", unchanged " +
         std::to_string(s.unchanged) + ", failed " + std::to_string(s.failed) +
         (s.error ? "; error: " + s.error->describe() : "");
}

}  // namespace

TEST_CASE("a second identical push creates and updates nothing, and the first is on the target", "[conformance]") {
  for_each_sink([](const adapters::AdapterType& row, const Harness& h) {
    Scratch dir;
    Endpoint ep(h, h.fixtures, dir.path);
    StateStore store(":memory:");
    seed_persons(store);
    const auto ids = person_ids(store);
    REQUIRE(ids.size() == 3);

    const auto first_adapter = create(row, ep.cfg);
    const auto first = push_target(k_target, *first_adapter->sink(), store, {});
    INFO("first push: " << describe(first));
    REQUIRE_FALSE(first.error);
    CHECK(first.created == ids.size());
    CHECK(first.updated == 0);
    CHECK(first.failed == 0);
    const auto on_target = h.delivered(ep.cfg, ep.server.get());
    CHECK(sorted(on_target) == ids);  // one record per person, carrying its person_id

    const auto second_adapter = create(row, ep.cfg);  // a later run
    const auto second = push_target(k_target, *second_adapter->sink(), store, {});
    INFO("second push: " << describe(second));
    CHECK_FALSE(second.error);
    CHECK(second.created == 0);
    CHECK(second.updated == 0);
    CHECK(second.failed == 0);
    CHECK(second.unchanged == ids.size());
    CHECK(h.delivered(ep.cfg, ep.server.get()) == on_target);  // nothing more reached the target

    // Even a forced re-send finds every person already on the target.
    const auto full = push_target(k_target, *second_adapter->sink(), store, PushOptions{.full = true});
    INFO("push --full: " << describe(full));
    CHECK_FALSE(full.error);
    CHECK(full.created == 0);
  });
}

TEST_CASE("a failed push leaves the target's mark and ledger where they were; the next push delivers",
          "[conformance]") {
  for_each_sink([](const adapters::AdapterType& row, const Harness& h) {
    Scratch dir;
    Endpoint ep(h, h.fixtures, dir.path);
    StateStore store(":memory:");
    seed_persons(store);
    const auto ids = person_ids(store);
    const auto broken = create(row, h.broken(dir.path));

    {
      const auto r = push_target(k_target, *broken->sink(), store, {});
      INFO("never pushed; the broken config's push: " << describe(r));
      CHECK(r.error);
      CHECK(r.created + r.updated == 0);
      CHECK_FALSE(store.ledger().mark(k_target));
      CHECK(store.ledger().entries(k_target).empty());
    }
    const auto working = create(row, ep.cfg);
    {
      const auto r = push_target(k_target, *working->sink(), store, {});
      INFO("then the working config's push: " << describe(r));
      CHECK_FALSE(r.error);
      CHECK(r.created == ids.size());
      CHECK(sorted(h.delivered(ep.cfg, ep.server.get())) == ids);
    }
    const auto mark = store.ledger().mark(k_target);
    const auto ledger = ledger_of(store);
    REQUIRE(mark);

    // One person changes; the broken target cannot take it.
    store.records().commit_conversations("sms", "conversations", {customer(1, 1, 7)}, {}, "changed");
    reconcile_now(store);
    const std::string changed = person_of(store, customer_number(1));
    REQUIRE_FALSE(changed.empty());
    const auto before = h.delivered(ep.cfg, ep.server.get());
    {
      const auto r = push_target(k_target, *create(row, h.broken(dir.path))->sink(), store, {});
      INFO("a person changed; the broken config's push: " << describe(r));
      CHECK(r.error);
      CHECK(r.created + r.updated == 0);
      CHECK(store.ledger().mark(k_target) == mark);
      CHECK(ledger_of(store) == ledger);
    }
    {
      const auto r = push_target(k_target, *create(row, ep.cfg)->sink(), store, {});
      INFO("then the working config's push: " << describe(r));
      CHECK_FALSE(r.error);
      CHECK(r.created == 0);
      CHECK(r.updated == 1);
      auto after = h.delivered(ep.cfg, ep.server.get());
      REQUIRE(after.size() >= before.size());
      CHECK(std::vector<std::string>(after.begin() + static_cast<long>(before.size()), after.end()) ==
            std::vector<std::string>{changed});
      CHECK(store.ledger().mark(k_target) > mark);
    }
  });
}

TEST_CASE("the ndjson sink writes a deletion as a line of its own", "[conformance]") {
  Scratch dir;
  EndpointConfig cfg{"out", "ndjson"};
  cfg.options = {{"path", (dir.path / "feed.ndjson").string()}};
  auto adapter = adapters::create_adapter(cfg, "DE");
  const PersonRecord gone{"p_00000000000000aa"};
  const std::vector<PushItem> batch = {{&gone, PushLedgerEntry{gone.person_id, "h", ""}, true, "p_00000000000000bb"}};
  auto out = adapter->sink()->push(batch);
  REQUIRE(out);
  REQUIRE(out->size() == 1);
  CHECK((*out)[0].status == PushOutcome::Status::deleted);
  std::ifstream in(dir.path / "feed.ndjson");
  std::string line;
  REQUIRE(std::getline(in, line));
  CHECK(
      nlohmann::json::parse(line) ==
      nlohmann::json::parse(R"({"person_id":"p_00000000000000aa","deleted":true,"merged_into":"p_00000000000000bb"})"));
  CHECK_FALSE(std::getline(in, line));
}
