// The hubspot target: what HubSpot refuses or limits (207s, whole-request refusals, 429s, the daily
// budget, a 401, a note it will not take, a 5xx after it stored notes) and what a push does then.
#include "tests/adapters/hubspot_sink_support.hpp"

using namespace chansync;
using chansync::test::LogCapture;
using test::FakeHubSpot;
using test::FakeServer;
using test::Scripted;
using namespace chansync::test::hubspot_sink;

TEST_CASE("hubspot: a 207 fails only the persons HubSpot refused, with its message; the others are confirmed",
          "[hubspot]") {
  FakeHubSpot hub;
  const std::string sales_contact = hub.add_contact({{"email", "kim4@example.com"}, {"firstname", "Kim"}});
  FakeServer server(hub.handler());
  const std::vector<PersonRecord> persons = {person(1), person(2, 1, "kim@invalid.example"), person(3), person(4)};
  const auto out = hubspot(server.base_url())->sink()->push(items(persons));
  REQUIRE(out);
  CHECK(outcome(*out, "p_1").status == PushOutcome::Status::created);
  CHECK(outcome(*out, "p_3").status == PushOutcome::Status::created);
  const auto& refused = outcome(*out, "p_2");
  CHECK(refused.status == PushOutcome::Status::failed);
  REQUIRE(refused.error);
  CHECK(refused.error->code == Errc::remote);
  CHECK_THAT(refused.error->message, Catch::Contains("VALIDATION_ERROR") && Catch::Contains("INVALID_EMAIL"));
  const auto& conflict = outcome(*out, "p_4");
  REQUIRE(conflict.error);
  CHECK_THAT(conflict.error->message, Catch::Contains("Existing ID: " + sales_contact) &&
                                          Catch::Contains("set chansync_person_id = p_4 on that contact"));
  CHECK_FALSE(hub.contact("p_2"));
  CHECK(hub.contacts().size() == 3);  // p_1, p_3 and the contact someone else created
  CHECK(count(server, k_upsert) == 1);
}

TEST_CASE("hubspot through push_target: the persons HubSpot confirmed are recorded, the refused one is sent again",
          "[hubspot]") {
  FakeHubSpot hub;
  FakeServer server(hub.handler());
  StateStore store(":memory:");
  commit_three_sms(store);
  // The CRM knows the first customer by an address HubSpot will refuse.
  const Contact crm{"crm",
                    "51",
                    "Anna",
                    "Müller",
                    {{HandleKind::email, "anna@invalid.example"}, {HandleKind::phone, "+4915112345670"}},
                    false,
                    1};
  store.records().commit_contacts("crm", "contacts", {crm}, {}, "x");
  int n = 0;
  store.identity().save(reconcile(store.identity().input({}), [&] { return "p" + std::to_string(++n); }));
  auto sink = hubspot(server.base_url());
  const auto stats = push_target("hs", *sink->sink(), store, {});
  CHECK(stats.created == 2);
  CHECK(stats.failed == 1);
  REQUIRE(stats.error);
  CHECK_THAT(stats.error->message, Catch::Contains("INVALID_EMAIL"));
  const auto ledger = store.ledger().entries("hs");
  CHECK(ledger.size() == 2);
  for (const auto& [id, entry] : ledger) CHECK(entry.remote_id == hub.contact(id)->id);
  CHECK_FALSE(store.ledger().mark("hs"));  // the refused person is planned again

  const auto again = push_target("hs", *sink->sink(), store, {});
  CHECK(again.failed == 1);
  CHECK(again.created + again.updated == 0);
  CHECK(hub.contacts().size() == 2);
}

TEST_CASE("hubspot: a refusal of the whole upsert is split until only the refused person fails", "[hubspot]") {
  FakeHubSpot hub;
  hub.whole_batch_refusals = true;
  FakeServer server(hub.handler());
  const std::vector<PersonRecord> persons = {person(1), person(2), person(3, 1, "kim@invalid.example"), person(4)};
  const auto out = hubspot(server.base_url())->sink()->push(items(persons));
  REQUIRE(out);
  for (const char* ok : {"p_1", "p_2", "p_4"}) CHECK(outcome(*out, ok).status == PushOutcome::Status::created);
  REQUIRE(outcome(*out, "p_3").error);
  CHECK_THAT(outcome(*out, "p_3").error->message, Catch::Contains("HTTP 400") && Catch::Contains("INVALID_EMAIL"));
  CHECK(hub.contacts().size() == 3);
  CHECK(count(server, k_upsert) == 5);  // 4 refused, then each quarter: one person each
}

TEST_CASE("hubspot: a whole upsert refused with 409 narrows to the person and says how to adopt the contact",
          "[hubspot]") {
  FakeHubSpot hub;
  hub.whole_batch_refusals = true;
  const std::string sales_contact = hub.add_contact({{"email", "kim2@example.com"}, {"firstname", "Kim"}});
  FakeServer server(hub.handler());
  const std::vector<PersonRecord> persons = {person(1), person(2), person(3)};
  const auto out = hubspot(server.base_url())->sink()->push(items(persons));
  REQUIRE(out);
  CHECK(outcome(*out, "p_1").status == PushOutcome::Status::created);
  CHECK(outcome(*out, "p_3").status == PushOutcome::Status::created);
  REQUIRE(outcome(*out, "p_2").error);
  CHECK_THAT(outcome(*out, "p_2").error->message, Catch::Contains("HTTP 409") &&
                                                      Catch::Contains("Existing ID: " + sales_contact) &&
                                                      Catch::Contains("set chansync_person_id = p_2 on that contact"));
}

TEST_CASE("hubspot: an upsert refused alike in each quarter and by each contact of the first ends the push",
          "[hubspot]") {
  // A missing id property: HubSpot refuses every request the same way, each with a correlationId of
  // its own.
  FakeServer server([](const httplib::Request&, std::size_t n) {
    return Scripted{400, fmt::format(R"({{"status":"error","message":"Property chansync_person_id does not exist",)"
                                     R"("correlationId":"c0ffee-{}","category":"VALIDATION_ERROR"}})",
                                     n)};
  });
  std::vector<PersonRecord> persons;
  for (int i = 1; i <= 40; ++i) persons.push_back(person(i));
  const auto out = hubspot(server.base_url(), {.note_property = ""})->sink()->push(items(persons));
  REQUIRE_FALSE(out);  // nothing was delivered: the batch failed as a whole
  CHECK(out.error().code == Errc::config);
  CHECK_THAT(out.error().message, Catch::Contains("refused an upsert of 40 contacts, each quarter of it") &&
                                      Catch::Contains("does not exist") && Catch::Contains("chansync health"));
  // The whole, its quarters, and the first quarter of 10 narrowed down to single contacts (18
  // requests below it): not 79.
  CHECK(count(server, k_upsert) == 1 + 4 + 18);

  // Refusals that differ between the quarters are about persons: narrowed down as before.
  FakeServer mixed([](const httplib::Request& req, std::size_t n) {
    if (req.body.find("kim3@") != std::string::npos || req.body.find("kim7@") != std::string::npos)
      return Scripted{400, fmt::format(R"({{"status":"error","message":"Property values were not valid",)"
                                       R"("correlationId":"c0ffee-{}","category":"VALIDATION_ERROR"}})",
                                       n)};
    return Scripted{200, R"({"status":"COMPLETE","results":[]})"};
  });
  const std::vector<PersonRecord> eight(persons.begin(), persons.begin() + 8);
  const auto some = hubspot(mixed.base_url(), {.note_property = ""})->sink()->push(items(eight));
  REQUIRE(some);
  CHECK_THAT(outcome(*some, "p_3").error->message, Catch::Contains("HTTP 400"));
  CHECK_THAT(outcome(*some, "p_7").error->message, Catch::Contains("HTTP 400"));
  CHECK(count(mixed, k_upsert) == 1 + 4 + 2 + 2);  // quarters 1-2 and 5-6 go through, 3-4 and 7-8 in halves
}

TEST_CASE("hubspot waits out a 429's Retry-After, and the retried upsert creates no duplicate", "[hubspot]") {
  FakeHubSpot hub;
  bool limited = false;
  FakeServer server([&](const httplib::Request& req, std::size_t) {
    if (req.path == k_upsert && !limited) {
      limited = true;  // answered before HubSpot did anything
      return Scripted{429, test::fixture("hubspot/rate_limit_secondly_429.json"), {{"Retry-After", "3"}}};
    }
    return hub.handle(req);
  });
  std::vector<std::chrono::milliseconds> sleeps;
  const std::vector<PersonRecord> persons = {person(1), person(2)};
  const auto out = hubspot(server.base_url(), {.sleeps = &sleeps})->sink()->push(items(persons));
  REQUIRE(out);
  CHECK(outcome(*out, "p_2").status == PushOutcome::Status::created);
  CHECK(std::count(sleeps.begin(), sleeps.end(), std::chrono::milliseconds(3'000)) == 1);
  CHECK(count(server, k_upsert) == 2);
  CHECK(hub.contacts().size() == 2);
  CHECK(hub.notes().size() == 2);
}

TEST_CASE("hubspot stops when the daily budget is spent: rate_limited, saying when it resets", "[hubspot]") {
  SECTION("spent by a request that succeeded: its persons stand, nothing more is sent") {
    FakeHubSpot hub;
    hub.daily_budget = 1;
    FakeServer server(hub.handler());
    std::vector<PersonRecord> persons;
    for (int i = 0; i < 150; ++i) persons.push_back(person(i));
    const auto out = hubspot(server.base_url(), {.note_property = ""})->sink()->push(items(persons));
    REQUIRE(out);
    CHECK(std::count_if(out->begin(), out->end(),
                        [](const auto& o) { return o.status == PushOutcome::Status::created; }) == 100);
    const auto& stopped = outcome(*out, "p_120");
    REQUIRE(stopped.error);
    CHECK(stopped.error->code == Errc::rate_limited);
    CHECK_THAT(stopped.error->message,
               Catch::Contains("daily API limit") && Catch::Contains("resets at 2026-12-03T05:00:00.000Z"));
    CHECK(stopped.error->retry_after);
    CHECK(count(server, k_upsert) == 1);
  }
  SECTION("answered with a 429 for the day: not retried, the whole batch fails") {
    FakeHubSpot hub;
    hub.daily_budget = 0;
    FakeServer server(hub.handler());
    std::vector<std::chrono::milliseconds> sleeps;
    const std::vector<PersonRecord> persons = {person(1)};
    const auto out = hubspot(server.base_url(), {.sleeps = &sleeps})->sink()->push(items(persons));
    REQUIRE_FALSE(out);
    CHECK(out.error().code == Errc::rate_limited);
    CHECK_THAT(out.error().message, Catch::Contains("2026-12-03T05:00:00.000Z"));
    CHECK(server.requests().size() == 2);  // the refused read and the usage endpoint's reset time
    CHECK(sleeps.empty());
  }
}

TEST_CASE("hubspot: a 401 stops the push as an auth error and nothing is recorded", "[hubspot]") {
  FakeHubSpot hub;
  FakeServer server(hub.handler());
  StateStore store(":memory:");
  commit_three_sms(store);
  int n = 0;
  store.identity().save(reconcile(store.identity().input({}), [&] { return "p" + std::to_string(++n); }));
  auto sink = hubspot(server.base_url(), {.token = "pat-na1-revoked"});
  const auto stats = push_target("hs", *sink->sink(), store, {});
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::auth);
  CHECK_THAT(stats.error->message, Catch::Contains("HTTP 401") && Catch::Contains("INVALID_AUTHENTICATION"));
  CHECK(stats.created == 0);
  CHECK(store.ledger().entries("hs").empty());
  CHECK(server.requests().size() == 1);
  CHECK(hub.contacts().empty());
}

TEST_CASE("hubspot: a message of quotes fits a note; a note HubSpot refuses fails its owner alone", "[hubspot]") {
  FakeHubSpot hub;
  FakeServer server(hub.handler());
  std::vector<PersonRecord> persons;
  for (int i = 1; i <= 8; ++i) persons.push_back(person(i));
  // 20 KB of pasted JSON: each quote is 6 bytes escaped, each line break 4.
  std::string pasted;
  while (pasted.size() < 20'000) pasted += "{\"a\":\"b\",\"c\":\"d\"}\n";
  persons[2].messages[0].text = pasted;
  auto out = hubspot(server.base_url())->sink()->push(items(persons));
  REQUIRE(out);
  for (const auto& p : persons) CHECK(outcome(*out, p.person_id).status == PushOutcome::Status::created);
  REQUIRE(hub.notes().size() == 8);
  for (const auto& n : hub.notes()) {
    const auto& body = n.properties.at("hs_note_body");
    CHECK(std::count_if(body.begin(), body.end(), [](char c) { return (c & 0xc0) != 0x80; }) <= 65'536);
  }

  // A note HubSpot will not take (its limit lowered here) fails its person alone: the batch is sent
  // again in halves down to that note, and the other persons' notes and marks are stored.
  FakeHubSpot strict;
  strict.note_body_limit = 20'000;
  FakeServer strict_server(strict.handler());
  out = hubspot(strict_server.base_url())->sink()->push(items(persons));
  REQUIRE(out);
  REQUIRE(outcome(*out, "p_3").error);
  CHECK_THAT(outcome(*out, "p_3").error->message, Catch::Contains("hs_note_body is too long"));
  for (const auto& p : persons)
    if (p.person_id != "p_3") CHECK(outcome(*out, p.person_id).status == PushOutcome::Status::created);
  CHECK(strict.notes().size() == 7);
  CHECK(count(strict_server, k_notes) == 7);  // 8, 4+4, 2+2 of the refused half, 1+1 of the refused pair
}

TEST_CASE("hubspot retries a 5xx that came after HubSpot stored the notes, without a second note", "[hubspot]") {
  FakeHubSpot hub;
  bool lost = false;
  FakeServer server([&](const httplib::Request& req, std::size_t) {
    Scripted s = hub.handle(req);
    if (req.path == k_notes && !lost) {
      lost = true;  // stored, but the answer never arrived
      return Scripted{502, "<html>Bad Gateway</html>"};
    }
    return s;
  });
  const std::vector<PersonRecord> persons = {person(1, 3)};
  const auto out = hubspot(server.base_url())->sink()->push(items(persons));
  REQUIRE(out);
  CHECK(outcome(*out, "p_1").status == PushOutcome::Status::created);
  CHECK(count(server, k_notes) == 2);
  CHECK(hub.notes().size() == 1);
}

TEST_CASE("hubspot: notes refused alike by both halves and a note of each alone end the push, not 199 requests",
          "[hubspot]") {
  FakeHubSpot hub;
  hub.plain_properties = {"notes.chansync_note_id"};  // not unique: HubSpot refuses every upsert by it
  FakeServer server(hub.handler());
  std::vector<PersonRecord> persons;
  for (int i = 1; i <= 40; ++i) persons.push_back(person(i));
  const auto out = hubspot(server.base_url())->sink()->push(items(persons));
  REQUIRE_FALSE(out);
  CHECK(out.error().code == Errc::config);
  CHECK_THAT(out.error().message, Catch::Contains("each half of them and a note of each half alone alike") &&
                                      Catch::Contains("chansync health"));
  CHECK(count(server, k_notes) == 5);  // the batch, its halves, a note of each
}
