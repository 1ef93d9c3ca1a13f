#include "sync/push.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>

#include "cli/session.hpp"
#include "sync/plan.hpp"
#include "sync/reconcile.hpp"
#include "sync/run.hpp"
#include "tests/unit/push_fixtures.hpp"

using namespace chansync;

using namespace chansync::test;

TEST_CASE("a push sends only persons changed since the target's last push") {
  StateStore store(":memory:");
  commit(store, customers(10));
  reconcile_now(store);
  RecordingSink sink;

  auto first = push_target("out", sink, store, {});
  CHECK(first.created == 10);
  CHECK(sink.delivered.size() == 10);

  sink.delivered.clear();
  const auto rev = store.revision();
  commit(store, customers(10));  // all already known
  CHECK(store.revision() == rev);
  reconcile_now(store);
  CHECK(store.revision() == rev);  // an unchanged identity graph writes nothing
  auto second = push_target("out", sink, store, {});
  CHECK(second.created + second.updated == 0);
  CHECK(second.unchanged == 10);
  CHECK(sink.delivered.empty());

  commit(store, {conversation("c2", "+4915112345672", 1, 5)});  // one new message
  CHECK(store.revision() > rev);
  reconcile_now(store);
  auto third = push_target("out", sink, store, {});
  CHECK(third.updated == 1);
  CHECK(third.unchanged == 9);
  REQUIRE(sink.delivered.size() == 1);
  CHECK(store.identity().person(sink.delivered[0])->messages.size() == 3);
  // The sink got what the target was last sent: its remote id and hash.
  REQUIRE(sink.seen.back());
  CHECK(sink.seen.back()->remote_id == "r-" + sink.delivered[0]);

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
  commit(store, {conversation("c1", "+4915112345678", 1)});
  reconcile_now(store);
  RecordingSink sink;
  PushOptions dry;
  dry.dry_run = true;
  CHECK(push_target("out", sink, store, dry).created == 1);
  CHECK(sink.delivered.empty());
  CHECK(push_target("out", sink, store, {}).created == 1);
  CHECK(sink.delivered.size() == 1);
}

TEST_CASE("a person the target refuses is not recorded, keeps the mark, and is sent again next time") {
  StateStore store(":memory:");
  commit(store, customers(5));
  reconcile_now(store);
  RecordingSink sink;
  std::vector<std::string> ids;
  store.identity().for_each_person([&](PersonRecord&& p) { ids.push_back(p.person_id); });
  REQUIRE(ids.size() == 5);
  sink.refuse = {ids[1]};
  sink.forget_to_answer = {ids[3]};

  const auto first = push_target("out", sink, store, {});
  CHECK(first.created == 3);  // only what the target confirmed
  CHECK(first.failed == 2);
  REQUIRE(first.error);
  CHECK_THAT(first.error->message, Catch::Contains("HTTP 422: phone invalid") && Catch::Contains("2 of the persons"));
  CHECK(store.ledger().entries("out").size() == 3);
  CHECK_FALSE(store.ledger().mark("out"));  // never moved past a failure

  sink.refuse.clear();
  sink.forget_to_answer.clear();
  sink.delivered.clear();
  const auto second = push_target("out", sink, store, {});
  CHECK_FALSE(second.error);
  CHECK(second.created == 2);
  CHECK(second.unchanged == 3);
  CHECK(std::set<std::string>(sink.delivered.begin(), sink.delivered.end()) == std::set<std::string>{ids[1], ids[3]});
  CHECK(store.ledger().mark("out"));
  CHECK(store.ledger().entries("out").at(ids[1]).remote_id == "r-" + ids[1]);
  CHECK(store.ledger().entry("out", ids[1])->remote_id == "r-" + ids[1]);
  CHECK(store.ledger().entry("out", ids[1])->hash == store.ledger().entries("out").at(ids[1]).hash);
  CHECK_FALSE(store.ledger().entry("out", "p_nobody"));
  CHECK_FALSE(store.ledger().entry("elsewhere", ids[1]));
}

TEST_CASE("a batch the target fails as a whole records nothing and stops the push") {
  StateStore store(":memory:");
  commit(store, customers(5));
  reconcile_now(store);
  RecordingSink sink;
  sink.down = true;
  PushOptions small;
  small.batch_size = 2;
  const auto r = push_target("out", sink, store, small);
  REQUIRE(r.error);
  CHECK(r.error->code == Errc::unavailable);
  CHECK(r.created == 0);
  CHECK(sink.batches == 1);  // stopped after the first batch
  CHECK(store.ledger().entries("out").empty());
  CHECK_FALSE(store.ledger().mark("out"));
  sink.down = false;
  CHECK(push_target("out", sink, store, small).created == 5);
}

TEST_CASE("the next batch is read and built while the sink sends the one before, never two sends at once") {
  StateStore store(":memory:");
  commit(store, customers(7));
  reconcile_now(store);
  // The first send waits until the whole second batch has been planned (built while it is out), with
  // a generous bound so that a push that builds nothing meanwhile fails the check instead of hanging.
  struct Slow : RecordingSink {
    std::mutex m;
    std::condition_variable cv;
    std::size_t planned = 0;
    std::atomic<int> sending{0};
    bool overlapped = false, concurrent = false;
    Result<std::vector<PushOutcome>> push(std::span<const PushItem> batch) override {
      if (sending.fetch_add(1) != 0) concurrent = true;
      if (batches == 0) {
        std::unique_lock lock(m);
        overlapped = cv.wait_for(lock, std::chrono::seconds(10), [&] { return planned >= 4; });
      }
      auto out = RecordingSink::push(batch);
      sending.fetch_sub(1);
      return out;
    }
  } sink;
  PushOptions small;
  small.batch_size = 2;
  small.on_plan = [&](const std::string&, const PersonRecord&, PlanAction, const PushLedgerEntry*) {
    std::lock_guard lock(sink.m);
    ++sink.planned;
    sink.cv.notify_all();
  };
  const auto r = push_target("out", sink, store, small);
  CHECK(sink.overlapped);
  CHECK_FALSE(sink.concurrent);
  CHECK(sink.batches == 4);
  CHECK(r.created == 7);
  CHECK(store.ledger().entries("out").size() == 7);
  CHECK(store.ledger().mark("out"));
  CHECK(std::set<std::string>(sink.delivered.begin(), sink.delivered.end()).size() == 7);
  // While the first send waited, this thread digested the second batch's persons itself; the sender
  // digested the rest. Either way each person's ledger hash is its own.
  std::size_t checked = 0;
  store.identity().for_each_person([&](PersonRecord&& p) {
    const auto e = store.ledger().entry("out", p.person_id);
    REQUIRE(e);
    CHECK(e->hash == digest(p).hash);
    CHECK(e->fields == digest(p).fields);
    ++checked;
  });
  CHECK(checked == 7);
}

TEST_CASE("a sink that throws while sending: the exception reaches the caller, the batches before are recorded") {
  StateStore store(":memory:");
  commit(store, customers(7));
  reconcile_now(store);
  struct Throws : RecordingSink {
    Result<std::vector<PushOutcome>> push(std::span<const PushItem> batch) override {
      if (batches == 1) throw Failure(Errc::io, "disk full while writing the batch");
      return RecordingSink::push(batch);
    }
  } sink;
  PushOptions small;
  small.batch_size = 2;
  CHECK_THROWS_WITH(push_target("out", sink, store, small), Catch::Contains("disk full"));
  CHECK(sink.delivered.size() == 2);
  CHECK(store.ledger().entries("out").size() == 2);  // the first batch, answered before the throw
  CHECK_FALSE(store.ledger().mark("out"));
}

TEST_CASE("reconcile is skipped when no record changed: it writes nothing and says so") {
  StateStore store(":memory:");
  commit(store, customers(3));
  std::vector<Endpoint> none;
  const auto first = reconcile_store(store, none, false);
  CHECK_FALSE(first.skipped);
  CHECK(first.new_persons == 3);
  // Any write to the identity tables now fails: a reconcile that writes cannot pass unnoticed.
  for (const char* table : {"persons", "person_handles", "person_aliases", "identity_conflicts"})
    for (const char* op : {"INSERT", "UPDATE", "DELETE"})
      store.db().exec(
          fmt::format("CREATE TRIGGER no_{0}_{1} BEFORE {1} ON {0} BEGIN SELECT RAISE(ABORT, "
                      "'identity written'); END",
                      table, op));
  const auto second = reconcile_store(store, none, false);
  CHECK(second.skipped);
  CHECK(second.persons == 3);
  CHECK_THROWS(store.db().exec("INSERT INTO persons(person_id, seq, created_at) VALUES('x', 99, 0)"));  // live
  // New messages, a new conversation of a known customer and a new name change no identity.
  const auto revision = store.revision();
  auto known = conversation("c1", "+4915112345671", 3, 10);
  known.customer_name = "Anna";
  auto another = conversation("c1-whatsapp", "+4915112345671", 1, 20);
  commit(store, {known, another});
  CHECK(store.revision() > revision);
  CHECK(reconcile_store(store, none, false).skipped);
  // The same customer unverified is another input (an unverified handle only suggests): a reconcile
  // would run (the next one runs anyway, for the new customer below).
  auto unverified = conversation("c1-web", "+4915112345671", 1, 30);
  unverified.customer.verified = false;
  const auto before = store.identity_input_revision();
  commit(store, {unverified});
  CHECK(store.identity_input_revision() > before);
  commit(store, {conversation("c9", "+4915112345699", 1)});  // a new customer: no longer skipped
  store.db().exec("DROP TRIGGER no_persons_INSERT");
  store.db().exec("DROP TRIGGER no_person_handles_INSERT");
  store.db().exec("DROP TRIGGER no_persons_UPDATE");
  const auto third = reconcile_store(store, none, false);
  CHECK_FALSE(third.skipped);
  CHECK(third.new_persons == 1);
}

TEST_CASE("new customers alone become persons of their own without the whole graph, as a full reconcile makes them") {
  StateStore store(":memory:");
  commit(store, customers(3));
  // A CRM record naming a number that has not written yet: that number is a node already.
  // Two records of one CRM with one number: a conflict, which every whole-graph save rewrites.
  const Handle shared{HandleKind::phone, "+4915112345677", true};
  store.records().commit_contacts(
      "crm", "contacts",
      {Contact{"crm", "1", "Ada", "Lovelace", {{HandleKind::phone, "+4915112345688", true}}},
       Contact{"crm", "3", "Cy", "", {shared}}, Contact{"crm", "4", "Di", "", {shared}}},
      {}, "x");
  std::vector<Endpoint> none;
  // person_count() is kept in meta by each writer of person_handles: always what counting gives.
  const auto counted = [&] {
    return static_cast<std::size_t>(
        store.db().execAndGet("SELECT count(DISTINCT person_id) FROM person_handles").getInt64());
  };
  const auto first = reconcile_store(store, none, false);
  REQUIRE(first.new_persons == 6);
  REQUIRE(first.conflicts == 1);
  // So this trigger tells the two paths apart.
  store.db().exec(
      "CREATE TRIGGER whole_graph BEFORE DELETE ON identity_conflicts BEGIN SELECT RAISE(ABORT, 'whole graph'); "
      "END");
  const auto shape = store.identity_shape_revision();
  commit(store, {conversation("c9", "+4915112345699", 2), conversation("c9-wa", "+4915112345699", 1, 5),
                 conversation("c8", "+4915112345698", 1)});
  CHECK(store.identity_shape_revision() == shape);  // new customers only
  const auto appended = reconcile_store(store, none, false);
  CHECK_FALSE(appended.skipped);
  CHECK(appended.new_persons == 2);
  CHECK(appended.persons == 8);
  CHECK(appended.conflicts == 1);
  CHECK(store.identity().person_count() == counted());
  const auto p9 = store.identity().holder("phone:+4915112345699");
  REQUIRE(p9);
  CHECK(store.identity().person(*p9)->messages.size() == 3);
  CHECK(store.identity().holder("phone:+4915112345698") != p9);
  CHECK(reconcile_store(store, none, false).skipped);  // and marked as reconciled

  // The whole graph, forced, finds nothing to change: the same persons, nothing written.
  store.db().exec("DROP TRIGGER whole_graph");
  const auto rev = store.revision();
  const auto forced = reconcile_store(store, none, true);
  CHECK(forced.new_persons == 0);
  CHECK(forced.persons == 8);
  CHECK(store.identity().person_count() == counted());
  CHECK(store.revision() == rev);
  CHECK(store.identity().holder("phone:+4915112345699") == p9);

  SECTION("a new customer a CRM record names joins its person (whole graph)") {
    commit(store, {conversation("c7", "+4915112345688", 1)});
    CHECK(store.identity_shape_revision() == shape);  // no conversation had it
    const auto r = reconcile_store(store, none, false);
    CHECK(r.new_persons == 0);
    CHECK(store.identity().holder("phone:+4915112345688") == store.identity().holder("crm_id:crm/1"));
    CHECK(store.identity().person(*store.identity().holder("crm_id:crm/1"))->messages.size() == 1);
    CHECK(store.identity().person_count() == counted());
  }
  SECTION("a customer writing from a number two CRM records share is unverified, as the whole graph makes it") {
    commit(store, {conversation("c-office", shared.value, 1)});
    store.db().exec("DROP TRIGGER IF EXISTS whole_graph");
    reconcile_store(store, none, false);
    const auto verified = [&] {
      return store.db().execAndGet("SELECT verified FROM person_handles WHERE node = 'phone:+4915112345677'").getInt();
    };
    CHECK(verified() == 0);
    const auto rev = store.revision();
    reconcile_store(store, none, true);  // the whole graph changes nothing
    CHECK(verified() == 0);
    CHECK(store.revision() == rev);
  }
  SECTION("a kept count that is not a number is counted again") {
    store.set_meta("person_count", "8x");
    commit(store, {conversation("c5", "+4915112345655", 1)});
    CHECK(reconcile_store(store, none, false).new_persons == 1);  // the append-only path
    CHECK_FALSE(store.meta("person_count"));                      // forgotten, not grown from "8x"
    CHECK(store.identity().person_count() == 9);
    CHECK(counted() == 9);
  }
  SECTION("a known customer unverified, or a contact, reshapes (whole graph)") {
    auto unverified = conversation("c1-web", "+4915112345671", 1, 30);
    unverified.customer.verified = false;
    commit(store, {unverified});
    CHECK(store.identity_shape_revision() > shape);
    const auto after = store.identity_shape_revision();
    store.records().commit_contacts("crm", "contacts", {Contact{"crm", "2", "Bo", "", {}}}, {}, "y");
    CHECK(store.identity_shape_revision() > after);
    commit(store, {conversation("c6", "+4915112345666", 1)});
    store.db().exec(
        "CREATE TRIGGER whole_graph BEFORE DELETE ON identity_conflicts BEGIN SELECT RAISE(ABORT, 'whole graph'); "
        "END");
    CHECK_THROWS(reconcile_store(store, none, false));
  }
}

TEST_CASE("a target that goes away part-way: what it confirmed is recorded, the push stops, the rest is retried") {
  StateStore store(":memory:");
  commit(store, customers(6));
  reconcile_now(store);
  struct GoesAway : Sink {
    std::size_t calls = 0;
    Result<std::vector<PushOutcome>> push(std::span<const PushItem> batch) override {
      ++calls;
      std::vector<PushOutcome> out;
      for (std::size_t i = 0; i < batch.size(); ++i)
        out.push_back(i == 0 ? PushOutcome{batch[i].record->person_id, PushOutcome::Status::created, "r"}
                             : PushOutcome{batch[i].record->person_id, PushOutcome::Status::failed, "",
                                           Error{Errc::unavailable, "HTTP 503 after retries"}});
      return out;
    }
  } sink;
  PushOptions small;
  small.batch_size = 3;
  const auto r = push_target("out", sink, store, small);
  CHECK(sink.calls == 1);  // stopped: the target is down, the next batch would fail the same way
  CHECK(r.created == 1);
  CHECK(r.failed == 2);
  REQUIRE(r.error);
  CHECK(r.error->code == Errc::unavailable);
  CHECK(store.ledger().entries("out").size() == 1);
  CHECK_FALSE(store.ledger().mark("out"));
  RecordingSink good;
  CHECK(push_target("out", good, store, small).created == 5);
}

TEST_CASE("a push the target took part of exits 1 (partial), one it refused whole exits with its error's code") {
  StateStore store(":memory:");
  commit(store, customers(4));
  reconcile_now(store);
  std::vector<std::string> ids;
  store.identity().for_each_person([&](PersonRecord&& p) { ids.push_back(p.person_id); });
  RecordingSink sink;
  sink.refuse = {ids[0]};
  SyncReport partial;
  partial.pushes = {push_target("out", sink, store, {})};
  REQUIRE(partial.failures() == 1);
  CHECK(partial.partial_pushes() == 1);
  CHECK(cli::outcome(partial.failures(), 1, partial.first_error(), partial.partial_pushes()) == 1);

  RecordingSink down;
  down.down = true;
  commit(store, {conversation("c1", "+4915112345671", 1, 9)});  // a change, so the next push sends someone
  reconcile_now(store);
  SyncReport refused;
  refused.pushes = {push_target("out", down, store, {})};
  CHECK(refused.partial_pushes() == 0);
  CHECK(cli::outcome(refused.failures(), 1, refused.first_error(), refused.partial_pushes()) == 69);
}

TEST_CASE("a person merged away is deleted on the target, naming the survivor, and forgotten by the ledger") {
  StateStore store(":memory:");
  // Two customers, then a CRM contact with both numbers joins them into one person.
  commit(store, {conversation("c1", "+4915112345671", 1), conversation("c2", "+4915112345672", 1)});
  reconcile_now(store);
  RecordingSink sink;
  REQUIRE(push_target("out", sink, store, {}).created == 2);
  auto live = [&] {
    std::set<std::string> out;
    SQLite::Statement q(store.db(), "SELECT DISTINCT person_id FROM person_handles");
    while (q.executeStep()) out.insert(q.getColumn(0).getString());
    return out;
  };
  const auto before = live();
  CHECK(store.ledger().orphans("out").empty());
  store.records().commit_contacts(
      "crm", "contacts",
      {Contact{"crm", "7", "Ada", "L", {{HandleKind::phone, "+4915112345671"}, {HandleKind::phone, "+4915112345672"}}}},
      {}, "x");
  reconcile_now(store);
  const auto after = live();
  REQUIRE(after.size() == 1);
  std::vector<std::string> retired;
  for (const auto& id : before)
    if (!after.count(id)) retired.push_back(id);
  REQUIRE(retired.size() == 1);
  const auto orphans = store.ledger().orphans("out");
  REQUIRE(orphans.size() == 1);
  CHECK(orphans.begin()->first == retired[0]);

  std::vector<std::string> planned;
  PushOptions dry;
  dry.dry_run = true;
  dry.on_plan = [&](const std::string&, const PersonRecord& p, PlanAction a, const PushLedgerEntry*) {
    planned.push_back(std::string(to_string(a)) + " " + p.person_id);
  };
  CHECK(push_target("out", sink, store, dry).deleted == 1);
  CHECK(std::count(planned.begin(), planned.end(), "delete " + retired[0]) == 1);

  sink.requests.clear();
  const auto r = push_target("out", sink, store, {});
  CHECK(r.deleted == 1);
  CHECK(r.updated == 1);
  // The merged-away person goes first, alone: a CRM refuses the survivor the other's email until
  // the other's contact is gone.
  CHECK(sink.requests == std::vector<std::string>{"delete " + retired[0], "upsert " + *after.begin()});
  REQUIRE(sink.removed.size() == 1);
  CHECK(sink.removed[0] == std::pair(retired[0], *after.begin()));
  CHECK(store.ledger().entries("out").size() == 1);
  CHECK_FALSE(store.ledger().entries("out").count(retired[0]));
  CHECK(push_target("out", sink, store, {}).deleted == 0);  // nothing left to delete
}

TEST_CASE("a person sent but never confirmed, then merged away, is still deleted on the target") {
  // The target took the batch, but its answer never came back (a timeout after it acted; a kill
  // before the answer was recorded): the persons may be there without a ledger entry.
  StateStore store(":memory:");
  commit(store, {conversation("c1", "+4915112345671", 1), conversation("c2", "+4915112345672", 1)});
  reconcile_now(store);
  RecordingSink sink;
  sink.down = true;
  REQUIRE(push_target("out", sink, store, {}).error);
  CHECK(store.ledger().entries("out").empty());
  auto sent = [&] { return store.db().execAndGet("SELECT count(*) FROM push_sent").getInt(); };
  CHECK(sent() == 2);

  store.records().commit_contacts(
      "crm", "contacts",
      {Contact{"crm", "7", "Ada", "L", {{HandleKind::phone, "+4915112345671"}, {HandleKind::phone, "+4915112345672"}}}},
      {}, "x");
  reconcile_now(store);
  const auto orphans = store.ledger().orphans("out");
  REQUIRE(orphans.size() == 1);
  const std::string retired = orphans.begin()->first;
  CHECK(orphans.begin()->second.remote_id.empty());  // no id of the target's: the sink looks it up

  sink.down = false;
  const auto r = push_target("out", sink, store, {});
  CHECK(r.deleted == 1);
  CHECK(r.created == 1);
  REQUIRE(sink.removed.size() == 1);
  CHECK(sink.removed[0].first == retired);
  CHECK(store.ledger().entries("out").size() == 1);
  CHECK(sent() == 0);  // confirmed or deleted: nothing left in doubt
  CHECK(store.ledger().orphans("out").empty());
}

TEST_CASE("a batch the target took but never answered is sent again, also when the content goes back") {
  StateStore store(":memory:");
  auto c1 = conversation("c1", "+4915112345671", 1);
  c1.customer_name = "Ann";
  commit(store, {c1, conversation("c2", "+4915112345672", 1)});
  reconcile_now(store);
  RecordingSink sink;
  REQUIRE_FALSE(push_target("out", sink, store, {}).error);
  const auto person = [&] {
    std::optional<PersonRecord> out;
    store.identity().for_each_person(
        [&](PersonRecord&& p) {
          if (p.display_name != "+4915112345672") out = std::move(p);
        },
        std::nullopt);
    REQUIRE(out);
    return *out;
  };
  const std::string id = person().person_id;
  // The vendor renames the customer; the target takes the update, and its answer is lost, so the
  // ledger still holds the hash of "Ann".
  c1.customer_name = "Bob";
  commit(store, {c1});
  sink.lose_answers = true;
  REQUIRE(push_target("out", sink, store, {}).error);
  REQUIRE(person().display_name == "Bob");
  CHECK(sink.held[id] == content_hash(person()));
  // The name goes back (an undo, a vendor's correction): the content equals what the ledger's hash
  // said, but the target holds "Bob". It is sent again.
  c1.customer_name = "Ann";
  commit(store, {c1});
  sink.lose_answers = false;
  const auto r = push_target("out", sink, store, {});
  REQUIRE_FALSE(r.error);
  CHECK(r.updated == 1);
  CHECK(sink.held[id] == content_hash(person()));
  CHECK(push_target("out", sink, store, {}).updated == 0);  // recorded now: nothing more to send
}

TEST_CASE("[identity] blocked handles join no one, and a changed list reconciles again") {
  StateStore store(":memory:");
  // Two people in two CRMs, each listed with the office switchboard and a mobile of their own; and
  // a conversation from the switchboard.
  const Handle board{HandleKind::phone, "+4930901820"};
  Contact ann{"crm1", "1", "Ann", "A", {board, Handle{HandleKind::phone, "+4915112345601"}}};
  Contact bob{"crm2", "2", "Bob", "B", {board, Handle{HandleKind::phone, "+4915112345602"}}};
  store.records().commit_contacts("crm1", "contacts", {ann}, {}, "x");
  store.records().commit_contacts("crm2", "contacts", {bob}, {}, "x");
  commit(store, {conversation("c1", "+4930901820", 1)});
  std::vector<Endpoint> none;
  CHECK(reconcile_store(store, none, false).persons == 1);  // everyone joined through the switchboard
  const auto blocked = reconcile_store(store, none, false, {.blocked = {board.key()}});
  CHECK_FALSE(blocked.skipped);  // the blocked list is part of what the identities depend on
  CHECK(blocked.persons == 3);   // Ann, Bob, and the switchboard's conversation on its own
  CHECK(store.identity().person_count() == 3);
}
