#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adapters/hubspot/hubspot_notes.hpp"
#include "adapters/registry.hpp"
#include "sync/push.hpp"
#include "sync/reconcile.hpp"
#include "tests/support/fake_hubspot.hpp"
#include "tests/support/log_capture.hpp"

using namespace chansync;
using chansync::test::LogCapture;
using test::FakeHubSpot;
using test::FakeServer;
using test::Scripted;

namespace {

constexpr const char* k_upsert = "/crm/v3/objects/contacts/batch/upsert";
constexpr const char* k_notes = "/crm/v3/objects/notes/batch/upsert";
constexpr const char* k_marks = "/crm/v3/objects/contacts/batch/update";

struct Options {
  std::string token = FakeHubSpot::k_token;
  std::string note_property = "chansync_note_id";
  std::vector<std::chrono::milliseconds>* sleeps = nullptr;
};

std::unique_ptr<Adapter> hubspot(const std::string& base_url, const Options& o = {}) {
  EndpointConfig cfg{"hs", "hubspot"};
  cfg.options = {{"base_url", base_url},
                 {"id_property", "chansync_person_id"},
                 {"note_id_property", o.note_property},
                 {"noted_property", "chansync_noted_through"}};
  cfg.secrets = {{"token", o.token}};
  auto* sleeps = o.sleeps;
  return adapters::create_adapter(cfg, "DE", [sleeps](auto d) {
    if (sleeps) sleeps->push_back(d);
  });
}

Message message(int person, int i, std::string text = "") {
  return {"sms",
          "SM" + std::to_string(person) + "-" + std::to_string(i),
          "c" + std::to_string(person),
          "sms",
          Direction::inbound,
          AuthorKind::customer,
          "+49151123456" + std::to_string(10 + person),
          1'700'000'000'000 + Timestamp{i} * 60'000,
          text.empty() ? "hello " + std::to_string(i) : text};
}

PersonRecord person(int i, int messages = 1, const std::string& email = "") {
  PersonRecord p{"p_" + std::to_string(i), "Kim Lee" + std::to_string(i)};
  p.handles = {{HandleKind::email, email.empty() ? "kim" + std::to_string(i) + "@example.com" : email},
               {HandleKind::phone, "+49151123456" + std::to_string(10 + i)}};
  for (int m = 0; m < messages; ++m) p.messages.push_back(message(i, m));
  return p;
}

std::vector<PushItem> items(const std::vector<PersonRecord>& persons) {
  std::vector<PushItem> out;
  for (const auto& p : persons) out.push_back({&p, std::nullopt});
  return out;
}

// The items of a later push: each person with the ledger entry the first push left.
std::vector<PushItem> again(const std::vector<PersonRecord>& persons, const std::vector<PushOutcome>& first) {
  auto out = items(persons);
  for (auto& item : out)
    for (const auto& o : first)
      if (o.person_id == item.record->person_id)
        item.previous = PushLedgerEntry{o.person_id, content_hash(*item.record), o.remote_id};
  return out;
}

std::size_t count(FakeServer& server, const std::string& path) {
  std::size_t n = 0;
  for (const auto& r : server.requests()) n += r.path == path;
  return n;
}

const PushOutcome& outcome(const std::vector<PushOutcome>& out, const std::string& person_id) {
  for (const auto& o : out)
    if (o.person_id == person_id) {
      if (o.error) UNSCOPED_INFO(person_id << ": " << o.error->describe());
      return o;
    }
  FAIL("no outcome for " << person_id);
  return out.front();
}

}  // namespace

TEST_CASE("hubspot upserts contacts keyed by person_id, then updates the same contacts in place", "[hubspot]") {
  FakeHubSpot hub;
  FakeServer server(hub.handler());
  std::vector<PersonRecord> persons = {person(1), person(2)};
  const auto first = hubspot(server.base_url())->sink()->push(items(persons));
  REQUIRE(first);
  REQUIRE(first->size() == 2);
  const auto anna = hub.contact("p_1");
  REQUIRE(anna);
  CHECK(outcome(*first, "p_1").status == PushOutcome::Status::created);
  CHECK(outcome(*first, "p_1").remote_id == anna->id);  // HubSpot's contact id
  CHECK(anna->properties.at("firstname") == "Kim");
  CHECK(anna->properties.at("lastname") == "Lee1");
  CHECK(anna->properties.at("email") == "kim1@example.com");
  CHECK(anna->properties.at("phone") == "+4915112345611");
  const auto reqs = server.requests();
  REQUIRE_FALSE(reqs.empty());
  CHECK(reqs.front().authorization == std::string("Bearer ") + FakeHubSpot::k_token);
  for (const auto& r : reqs)
    if (r.path == k_upsert) {
      const auto input = nlohmann::json::parse(r.body).at("inputs").at(0);
      CHECK(input.at("idProperty") == "chansync_person_id");
      CHECK(input.at("objectWriteTraceId") == input.at("id"));
    }

  persons[0].display_name = "Kim Lee-Park";
  const auto second = hubspot(server.base_url())->sink()->push(again(persons, *first));
  REQUIRE(second);
  CHECK(outcome(*second, "p_1").status == PushOutcome::Status::updated);
  CHECK(outcome(*second, "p_1").remote_id == anna->id);
  CHECK(hub.contacts().size() == 2);  // updated in place
  CHECK(hub.contact("p_1")->properties.at("lastname") == "Lee-Park");
}

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
  std::vector<Conversation> page;
  for (int i = 0; i < 3; ++i) {
    const std::string number = "+49151123456" + std::to_string(70 + i);
    page.push_back({"sms",
                    "c" + std::to_string(i),
                    "sms",
                    {HandleKind::phone, number, true},
                    "+4930123456",
                    {{"sms", "m" + std::to_string(i), "c" + std::to_string(i), "sms", Direction::inbound,
                      AuthorKind::customer, number, 1000, "hi"}}});
  }
  store.records().commit_conversations("sms", "conversations", page, {}, "x");
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
  std::vector<Conversation> page;
  for (int i = 0; i < 3; ++i) {
    const std::string number = "+49151123456" + std::to_string(70 + i);
    page.push_back({"sms",
                    "c" + std::to_string(i),
                    "sms",
                    {HandleKind::phone, number, true},
                    "+4930123456",
                    {{"sms", "m" + std::to_string(i), "c" + std::to_string(i), "sms", Direction::inbound,
                      AuthorKind::customer, number, 1000, "hi"}}});
  }
  store.records().commit_conversations("sms", "conversations", page, {}, "x");
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

TEST_CASE("hubspot archives the contact of a person merged away", "[hubspot]") {
  FakeHubSpot hub;
  FakeServer server(hub.handler());
  const std::vector<PersonRecord> persons = {person(1), person(2), person(3)};
  const auto first = hubspot(server.base_url())->sink()->push(items(persons));
  REQUIRE(first);
  const PersonRecord gone2{"p_2"}, gone3{"p_3"}, never{"p_9"};
  const std::vector<PushItem> batch = {
      {&gone2, PushLedgerEntry{"p_2", "h", outcome(*first, "p_2").remote_id}, true, "p_1"},
      {&gone3, PushLedgerEntry{"p_3", "h", ""}, true, "p_1"},  // no contact id kept: looked up by person_id
      {&never, std::nullopt, true, ""}};
  const auto out = hubspot(server.base_url())->sink()->push(batch);
  REQUIRE(out);
  for (const char* id : {"p_2", "p_3", "p_9"}) CHECK(outcome(*out, id).status == PushOutcome::Status::deleted);
  CHECK_FALSE(hub.contact("p_2"));
  CHECK_FALSE(hub.contact("p_3"));
  CHECK(hub.contact("p_1"));
  std::size_t archived = 0;
  for (const auto& c : hub.contacts()) archived += c.archived;
  CHECK(archived == 2);
  CHECK(count(server, "/crm/v3/objects/contacts/batch/archive") == 1);
}

TEST_CASE("hubspot deletes an erased person's contact for good, with its notes, and archives the merged away",
          "[hubspot]") {
  FakeHubSpot hub;
  FakeServer server(hub.handler());
  const std::vector<PersonRecord> persons = {person(1, 2), person(2), person(3)};
  const auto first = hubspot(server.base_url())->sink()->push(items(persons));
  REQUIRE(first);
  REQUIRE(hub.notes().size() == 3);  // a timeline note each
  const PersonRecord erased1{"p_1"}, erased3{"p_3"}, merged2{"p_2"}, never{"p_9"};
  PushLedgerEntry e1{"p_1", "h", outcome(*first, "p_1").remote_id}, e3{"p_3", "h", ""}, e9{"p_9", "h", "99999"};
  e1.erased = e3.erased = e9.erased = true;
  const std::vector<PushItem> batch = {
      {&erased1, e1, true, ""},
      {&merged2, PushLedgerEntry{"p_2", "h", outcome(*first, "p_2").remote_id}, true, "p_8"},
      {&erased3, e3, true, ""},  // no contact id kept: looked up by person_id, then deleted
      {&never, e9, true, ""}};   // HubSpot has no such contact any more (404)
  const auto out = hubspot(server.base_url())->sink()->push(batch);
  REQUIRE(out);
  for (const char* id : {"p_1", "p_2", "p_3", "p_9"}) {
    CAPTURE(id);
    CHECK(outcome(*out, id).status == PushOutcome::Status::deleted);
  }
  CHECK(count(server, "/crm/v3/objects/contacts/gdpr-delete") == 3);
  CHECK(count(server, "/crm/v3/objects/contacts/batch/archive") == 1);
  const auto left = hub.contacts();
  REQUIRE(left.size() == 1);  // p_2's, archived (restorable); p_1's and p_3's are gone for good
  CHECK(left[0].archived);
  CHECK(left[0].properties.at("chansync_person_id") == "p_2");
  const auto notes = hub.notes();  // p_1's and p_3's timelines went with their contacts
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].associated == std::set<std::string>{left[0].id});
}

TEST_CASE("hubspot notes the timeline once: a re-run adds nothing, new messages get a note of their own", "[hubspot]") {
  FakeHubSpot hub;
  FakeServer server(hub.handler());
  std::vector<PersonRecord> persons = {person(1, 2)};
  persons[0].messages[1].text = "<b>Tom & Jerry</b>";
  const auto first = hubspot(server.base_url())->sink()->push(items(persons));
  REQUIRE(first);
  auto notes = hub.notes();
  REQUIRE(notes.size() == 1);
  const auto contact = hub.contact("p_1");
  CHECK(notes[0].associated == std::set<std::string>{contact->id});
  CHECK_THAT(notes[0].properties.at("hs_note_body"),
             Catch::Contains("hello 0") && Catch::Contains("&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;"));
  CHECK(notes[0].properties.at("hs_timestamp") == format_rfc3339(persons[0].messages[1].sent_at));
  CHECK(contact->properties.at("chansync_noted_through") == adapters::hubspot::format_mark(persons[0].messages[1]));

  const auto rerun = hubspot(server.base_url())->sink()->push(again(persons, *first));
  REQUIRE(rerun);
  CHECK(outcome(*rerun, "p_1").status == PushOutcome::Status::updated);
  CHECK(hub.notes().size() == 1);
  CHECK(count(server, k_notes) == 1);  // nothing new to note

  persons[0].messages.push_back(message(1, 2, "a third one"));
  REQUIRE(hubspot(server.base_url())->sink()->push(again(persons, *first)));
  notes = hub.notes();
  REQUIRE(notes.size() == 2);
  CHECK_THAT(notes[1].properties.at("hs_note_body"), Catch::Contains("a third one") && !Catch::Contains("hello 0"));
  CHECK(notes[1].associated == std::set<std::string>{contact->id});
}

TEST_CASE("hubspot: a push that failed after storing notes, before moving the mark, re-runs into the same note",
          "[hubspot]") {
  FakeHubSpot hub;
  bool marks_fail = true;
  FakeServer server([&](const httplib::Request& req, std::size_t) {
    if (req.path == k_marks && marks_fail) return Scripted{503, R"({"status":"error","message":"unavailable"})"};
    return hub.handle(req);
  });
  std::vector<PersonRecord> persons = {person(1, 2)};
  const auto failed = hubspot(server.base_url())->sink()->push(items(persons));
  REQUIRE_FALSE(failed);  // nothing confirmed: the whole batch failed
  CHECK(failed.error().code == Errc::unavailable);
  REQUIRE(hub.notes().size() == 1);
  CHECK(hub.contact("p_1")->properties.count("chansync_noted_through") == 0);

  marks_fail = false;
  persons[0].messages.push_back(message(1, 2, "arrived meanwhile"));
  const auto out = hubspot(server.base_url())->sink()->push(items(persons));
  REQUIRE(out);
  CHECK(outcome(*out, "p_1").status == PushOutcome::Status::updated);
  const auto notes = hub.notes();
  REQUIRE(notes.size() == 1);  // the same note, now with the third message too
  CHECK_THAT(notes[0].properties.at("hs_note_body"),
             Catch::Contains("hello 0") && Catch::Contains("arrived meanwhile"));
  CHECK(hub.contact("p_1")->properties.at("chansync_noted_through") ==
        adapters::hubspot::format_mark(persons[0].messages[2]));
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

TEST_CASE("hubspot verify reports same, missing, and edited naming the property that differs", "[hubspot]") {
  FakeHubSpot hub;
  FakeServer server(hub.handler());
  const std::vector<PersonRecord> persons = {person(1), person(2), person(3)};
  auto adapter = hubspot(server.base_url());
  const auto first = adapter->sink()->push(items(persons));
  REQUIRE(first);
  CHECK(adapter->sink()->readable());
  hub.edit("p_1", "lastname", "Smith");
  hub.archive("p_2");
  const auto seen = adapter->sink()->verify(again(persons, *first));
  REQUIRE(seen);
  REQUIRE(seen->size() == 3);
  const auto state = [&](const std::string& id) {
    return *std::find_if(seen->begin(), seen->end(), [&](const auto& v) { return v.person_id == id; });
  };
  CHECK(state("p_1").state == VerifyOutcome::State::edited);
  CHECK_THAT(state("p_1").detail, Catch::Contains("lastname") && Catch::Contains("Smith") && Catch::Contains("Lee1"));
  CHECK(state("p_2").state == VerifyOutcome::State::missing);
  CHECK_THAT(state("p_2").detail, Catch::Contains("chansync_person_id = p_2"));
  CHECK(state("p_3").state == VerifyOutcome::State::same);
}

TEST_CASE("hubspot probe: ok when its properties exist as needed; else it says how to create them", "[hubspot]") {
  {
    FakeHubSpot hub;
    FakeServer server(hub.handler());
    const auto r = hubspot(server.base_url())->probe();
    INFO(r.summary);
    CHECK(r.cls == HealthClass::ok);
    CHECK_THAT(r.summary, Catch::Contains("contacts.chansync_person_id (unique)"));
    CHECK(server.requests().size() == 3);
  }
  {
    FakeHubSpot hub;
    hub.missing_properties = {"contacts.chansync_person_id"};
    FakeServer server(hub.handler());
    const auto r = hubspot(server.base_url())->probe();
    CHECK(r.cls == HealthClass::unknown);
    CHECK_THAT(r.summary, Catch::Contains("does not exist") && Catch::Contains("Require unique values") &&
                              Catch::Contains("Settings > Properties"));
  }
  {
    FakeHubSpot hub;
    hub.plain_properties = {"notes.chansync_note_id"};
    FakeServer server(hub.handler());
    const auto r = hubspot(server.base_url())->probe();
    CHECK(r.cls == HealthClass::unknown);
    CHECK_THAT(r.summary,
               Catch::Contains("note property chansync_note_id") && Catch::Contains("does not require unique values"));
  }
  {
    FakeHubSpot hub;
    FakeServer server(hub.handler());
    CHECK(hubspot(server.base_url(), {.token = "pat-na1-revoked"})->probe().cls == HealthClass::auth_failed);
  }
}

TEST_CASE("hubspot never logs its token", "[hubspot]") {
  LogCapture capture;
  FakeHubSpot hub;
  hub.daily_budget = 4;
  bool failed_once = false;
  FakeServer server([&](const httplib::Request& req, std::size_t) {
    if (req.path == k_upsert && !failed_once) {
      failed_once = true;
      return Scripted{500, R"({"status":"error","message":"internal error","category":"INTERNAL_ERROR"})"};
    }
    return hub.handle(req);
  });
  const std::vector<PersonRecord> persons = {person(1, 2)};
  // The read, a 500 and its retry, the notes, the association: the day's budget is spent before the mark.
  const auto out = hubspot(server.base_url())->sink()->push(items(persons));
  REQUIRE_FALSE(out);
  CHECK(out.error().code == Errc::rate_limited);
  const auto refused = hubspot(server.base_url(), {.token = "pat-na1-revoked"})->probe();
  CHECK(refused.cls == HealthClass::auth_failed);
  const std::string logs = capture.all();
  CHECK_THAT(logs, Catch::Contains("HTTP 500") && Catch::Contains("retry"));  // the warning was captured
  CHECK_THAT(logs, !Catch::Contains(FakeHubSpot::k_token) && !Catch::Contains("pat-na1-revoked"));
  CHECK_THAT(out.error().message, !Catch::Contains(FakeHubSpot::k_token));
  CHECK_THAT(refused.summary, !Catch::Contains("pat-na1-revoked"));
}
