// Parking, dry-run field diffs, stops and push --verify/--repair, over push_target and verify_target.
#include <atomic>
#include <catch2/catch.hpp>

#include "sync/plan.hpp"
#include "sync/push.hpp"
#include "sync/run.hpp"
#include "tests/unit/push_fixtures.hpp"

using namespace chansync;
using namespace chansync::test;

namespace {

std::string person_with(StateStore& store, const std::string& number) {
  std::string id;
  store.identity().for_each_person([&](PersonRecord&& p) {
    for (const auto& h : p.handles)
      if (h.value == number) id = p.person_id;
  });
  return id;
}

const std::string k_number0 = "+4915112345670";

}  // namespace

TEST_CASE("a person the target refuses 3 pushes in a row is parked and no longer holds back the mark") {
  StateStore store(":memory:");
  commit(store, customers(3));
  reconcile_now(store);
  const std::string bad = person_with(store, k_number0);
  RecordingSink sink;
  sink.refuse = {bad};

  for (int run = 1; run <= k_park_after; ++run) {
    const auto r = push_target("out", sink, store, {});
    INFO("push " << run);
    CHECK(r.failed == 1);
    CHECK(r.parked == 0);
    CHECK_FALSE(store.ledger().mark("out"));  // the failure holds the mark back
    CHECK(store.ledger().failures("out").at(bad).runs == run);
  }
  REQUIRE(store.ledger().parked().size() == 1);
  CHECK(store.ledger().parked()[0].first == "out");
  CHECK(store.ledger().parked()[0].second.error == "HTTP 422: phone invalid");

  // A dry run shows it as parked.
  std::map<std::string, PlanAction> planned;
  PushOptions dry{.dry_run = true};
  dry.on_plan = [&](const std::string&, const PersonRecord& p, PlanAction a, const PushLedgerEntry*) {
    planned[p.person_id] = a;
  };
  CHECK(push_target("out", sink, store, dry).parked == 1);
  CHECK(planned.at(bad) == PlanAction::parked);

  sink.delivered.clear();
  sink.batches = 0;
  const auto parked = push_target("out", sink, store, {});
  CHECK(parked.parked == 1);
  CHECK(parked.failed == 0);
  CHECK_FALSE(parked.error);
  CHECK(sink.batches == 0);                               // nothing left to send
  CHECK(store.ledger().mark("out"));                      // the mark moves past the parked person
  CHECK(store.ledger().failures("out").count(bad) == 1);  // still listed by --show-parked

  // Later pushes plan nobody (nothing changed since the mark) and still count and warn about it:
  // it is parked, not unchanged, in the report and in a dry run, whose plan names it.
  for (const bool dry_run : {false, true}) {
    INFO("dry run " << dry_run);
    planned.clear();
    PushOptions later_opts = dry;
    later_opts.dry_run = dry_run;
    const auto later = push_target("out", sink, store, later_opts);
    CHECK(later.parked == 1);
    CHECK(later.unchanged == 2);
    CHECK(sink.batches == 0);
    if (dry_run) CHECK(planned == std::map<std::string, PlanAction>{{bad, PlanAction::parked}});
  }

  // Once its content changes it is tried again; accepted, it leaves the failures.
  commit(store, {conversation("c0", k_number0, 1, 9)});
  reconcile_now(store);
  sink.refuse.clear();
  const auto changed = push_target("out", sink, store, {});
  CHECK(changed.updated + changed.created == 1);
  CHECK(changed.parked == 0);
  CHECK(store.ledger().failures("out").empty());
  CHECK(store.ledger().parked().empty());
}

TEST_CASE("two persons refused in a push where others got through are parked, though later pushes send them alone") {
  StateStore store(":memory:");
  commit(store, customers(4));
  reconcile_now(store);
  RecordingSink sink;
  sink.refuse = {person_with(store, k_number0), person_with(store, "+4915112345671")};
  for (int run = 1; run <= k_park_after; ++run) {
    INFO("push " << run);
    const auto r = push_target("out", sink, store, {});
    CHECK(r.failed == 2);
    for (const auto& bad : sink.refuse) CHECK(store.ledger().failures("out").at(bad).runs == run);
  }
  CHECK(store.ledger().parked().size() == 2);
  CHECK(push_target("out", sink, store, {}).parked == 2);

  // A target that refuses everyone at once from the start parks nobody.
  StateStore fresh(":memory:");
  commit(fresh, customers(3));
  reconcile_now(fresh);
  RecordingSink broken;
  fresh.identity().for_each_person([&](PersonRecord&& p) { broken.refuse.insert(p.person_id); });
  for (int run = 1; run <= k_park_after + 1; ++run) CHECK(push_target("out", broken, fresh, {}).failed == 3);
  CHECK(fresh.ledger().failures("out").empty());
  CHECK(fresh.ledger().parked().empty());
}

TEST_CASE("--full retries a parked person; a target outage never counts towards parking") {
  StateStore store(":memory:");
  commit(store, customers(2));
  reconcile_now(store);
  const std::string bad = person_with(store, k_number0);
  RecordingSink sink;
  sink.refuse = {bad};
  for (int run = 0; run < k_park_after; ++run) push_target("out", sink, store, {});
  REQUIRE(store.ledger().parked().size() == 1);

  sink.refuse.clear();
  const auto full = push_target("out", sink, store, PushOptions{.full = true});
  CHECK(full.parked == 0);
  CHECK(full.created == 1);  // the parked person, delivered at last
  CHECK(store.ledger().parked().empty());

  // An outage fails everyone, but refuses no one: nothing is counted.
  commit(store, {conversation("c0", k_number0, 1, 20)});
  reconcile_now(store);
  sink.down = true;
  for (int run = 0; run < k_park_after + 1; ++run) CHECK(push_target("out", sink, store, {}).failed == 1);
  CHECK(store.ledger().failures("out").empty());
}

TEST_CASE("a dry run names the fields that changed since the target's copy") {
  StateStore store(":memory:");
  commit(store, customers(2));
  reconcile_now(store);
  RecordingSink sink;
  push_target("out", sink, store, {});
  const std::string id = person_with(store, k_number0);
  REQUIRE_FALSE(store.ledger().entries("out").at(id).fields.empty());

  commit(store, {conversation("c0", k_number0, 2, 5)});  // two more messages
  reconcile_now(store);
  std::map<std::string, std::vector<std::string>> changed;
  std::map<std::string, PlanAction> actions;
  PushOptions dry{.dry_run = true};
  dry.on_plan = [&](const std::string&, const PersonRecord& p, PlanAction a, const PushLedgerEntry* previous) {
    actions[p.person_id] = a;
    if (previous) changed[p.person_id] = changed_fields(previous->fields, p);
  };
  const auto r = push_target("out", sink, store, dry);
  CHECK(r.updated == 1);
  CHECK(actions.at(id) == PlanAction::update);
  CHECK(changed.at(id) == std::vector<std::string>{"messages (+2)"});

  // A fingerprint from before schema 4 is unknown: no fields are claimed.
  PersonRecord p;
  CHECK(changed_fields("", p).empty());
  CHECK(changed_fields(field_fingerprint(p), p).empty());
  PersonRecord named = p;
  named.display_name = "Anna";
  CHECK(changed_fields(field_fingerprint(p), named) == std::vector<std::string>{"display_name"});
}

TEST_CASE("push --verify reports persons deleted or edited on the target; --repair re-sends them") {
  StateStore store(":memory:");
  commit(store, customers(5));
  reconcile_now(store);
  RecordingSink sink;
  REQUIRE(push_target("out", sink, store, {}).created == 5);
  std::vector<std::string> ids;
  store.identity().for_each_person([&](PersonRecord&& p) { ids.push_back(p.person_id); });
  REQUIRE(ids.size() == 5);

  sink.held.erase(ids[0]);       // deleted on the target
  sink.held[ids[1]] = "edited";  // edited there
  const std::string local = person_with(store, "+4915112345674");
  commit(store, {conversation("c4", "+4915112345674", 1, 30)});  // changed here: pending, not compared
  reconcile_now(store);

  const auto v = verify_target("out", sink, store, {});
  CHECK(v.readable);
  CHECK_FALSE(v.error);
  CHECK(v.pending == 1);
  CHECK(v.checked == 4);
  CHECK(v.same == 2);
  REQUIRE(v.drift.size() == 2);
  std::map<std::string, VerifyOutcome::State> drift;
  for (const auto& d : v.drift) drift[d.person_id] = d.state;
  CHECK(drift.at(ids[0]) == VerifyOutcome::State::missing);
  CHECK(drift.at(ids[1]) == VerifyOutcome::State::edited);
  CHECK(v.repaired == 0);
  CHECK(sink.held.count(ids[0]) == 0);  // verify alone sends nothing

  const auto sample = verify_target("out", sink, store, {.sample = 2});
  CHECK(sample.checked == 2);

  sink.seen.clear();
  const auto fixed = verify_target("out", sink, store, {.repair = true});
  CHECK(fixed.repaired == 2);
  for (const auto& d : fixed.drift) CHECK(d.repaired);
  CHECK(sink.held.count(ids[0]) == 1);
  // The missing person is created again (no ledger entry handed over), the edited one updated.
  REQUIRE(sink.seen.size() == 2);
  CHECK(std::count(sink.seen.begin(), sink.seen.end(), std::nullopt) == 1);
  const auto again = verify_target("out", sink, store, {});
  CHECK(again.drift.empty());
  CHECK(again.same == 4);

  // An unreadable target checks nothing; an unreachable one is an error.
  sink.down = true;
  const auto down = verify_target("out", sink, store, {});
  REQUIRE(down.error);
  CHECK(down.error->code == Errc::unavailable);
  struct Blind : Sink {
    Result<std::vector<PushOutcome>> push(std::span<const PushItem>) override { return std::vector<PushOutcome>{}; }
  } blind;
  CHECK_FALSE(verify_target("out", blind, store, {}).readable);
}

TEST_CASE("a stop ends a push after the batch in flight: what it confirmed is recorded, the rest goes next time") {
  StateStore store(":memory:");
  commit(store, customers(10));
  reconcile_now(store);
  RecordingSink sink;
  std::atomic<bool> stop{false};
  std::size_t planned = 0;
  PushOptions opts;
  opts.batch_size = 2;
  opts.stop = &stop;
  // Persons 1-2 and 3-4 are sent; the stop comes while the fifth is planned, so the batch of 5-6 is
  // never sent and the one of 3-4, in flight, is answered and recorded.
  opts.on_plan = [&](const std::string&, const PersonRecord&, PlanAction, const PushLedgerEntry*) {
    if (++planned == 5) stop = true;
  };
  const auto stopped = push_target("out", sink, store, opts);
  REQUIRE(stopped.error);
  CHECK(stopped.error->code == Errc::interrupted);
  CHECK_THAT(stopped.error->message, Catch::Contains("next push sends the others"));
  CHECK(stopped.created == 4);
  CHECK(stopped.failed == 0);
  CHECK(sink.delivered.size() == 4);
  CHECK(sink.batches == 2);
  CHECK(store.ledger().entries("out").size() == 4);
  CHECK_FALSE(store.ledger().mark("out"));        // the persons not sent are planned again
  CHECK(store.ledger().failures("out").empty());  // a stop is nobody's failure: nothing moves towards parking

  // A target whose push starts after the stop sends nothing.
  SyncReport r;
  r.pushes.push_back(stopped);
  CHECK(r.interrupted());
  PushOptions later;
  later.stop = &stop;
  RecordingSink other;
  r.pushes.push_back(push_target("other", other, store, later));
  CHECK(other.batches == 0);  // stopped before the first batch
  CHECK(r.pushes.back().error->code == Errc::interrupted);

  const auto rest = push_target("out", sink, store, {});
  CHECK_FALSE(rest.error);
  CHECK(rest.created == 6);
  CHECK(rest.unchanged == 4);
  CHECK(sink.delivered.size() == 10);
  CHECK(store.ledger().mark("out"));
}

TEST_CASE("a stop that comes while the target answers a batch: that batch is recorded and no other is sent") {
  StateStore store(":memory:");
  commit(store, customers(10));
  reconcile_now(store);
  std::atomic<bool> stop{false};
  // The signal comes during the target's second answer, on the thread that waits for it.
  struct Slow : RecordingSink {
    std::atomic<bool>* stop = nullptr;
    Result<std::vector<PushOutcome>> push(std::span<const PushItem> b) override {
      if (batches == 1) *stop = true;
      return RecordingSink::push(b);
    }
  } sink;
  sink.stop = &stop;
  PushOptions opts;
  opts.batch_size = 2;
  opts.stop = &stop;
  const auto stopped = push_target("out", sink, store, opts);
  REQUIRE(stopped.error);
  CHECK(stopped.error->code == Errc::interrupted);
  CHECK(sink.batches == 2);  // not a third, sent after the second was answered
  CHECK(stopped.created == 4);
  CHECK(store.ledger().entries("out").size() == 4);
  CHECK_FALSE(store.ledger().mark("out"));
}

TEST_CASE("a stop ends a dry run's plan; push_all reports the targets after it as not pushed") {
  StateStore store(":memory:");
  commit(store, customers(10));
  reconcile_now(store);
  std::atomic<bool> stop{false};
  std::size_t planned = 0;
  PushOptions dry;
  dry.dry_run = true;
  dry.stop = &stop;
  dry.on_plan = [&](const std::string&, const PersonRecord&, PlanAction, const PushLedgerEntry*) {
    if (++planned == 3) stop = true;
  };
  struct Target : Adapter, RecordingSink {
    HealthReport probe() override { return HealthReport{"t", "test", "", HealthClass::ok, ""}; }
  };
  std::vector<Endpoint> targets;
  targets.push_back({"first", "test", std::make_unique<Target>()});
  targets.push_back({"second", "test", std::make_unique<Target>()});
  const auto pushes = push_all(targets, store, dry);
  REQUIRE(pushes.size() == 2);
  CHECK(planned == 3);  // the plan ended at the stop, not after every person
  CHECK(pushes[0].created == 3);
  REQUIRE(pushes[0].error);
  CHECK(pushes[0].error->code == Errc::interrupted);
  CHECK_THAT(pushes[0].error->message, Catch::Contains("plan above is not complete"));
  REQUIRE(pushes[1].error);
  CHECK(pushes[1].error->code == Errc::interrupted);
  CHECK_THAT(pushes[1].error->message, Catch::Contains("not pushed"));
  CHECK(pushes[1].created == 0);
}
