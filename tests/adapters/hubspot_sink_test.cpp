// The hubspot target: what a push delivers (contacts, notes, archives, GDPR deletes) and what verify
// and probe read back.
#include "tests/adapters/hubspot_sink_support.hpp"

using namespace chansync;
using chansync::test::LogCapture;
using test::FakeHubSpot;
using test::FakeServer;
using test::Scripted;
using namespace chansync::test::hubspot_sink;

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
      {&never, e9, true, ""}};   // HubSpot has no such contact any more: nothing to delete
  const auto out = hubspot(server.base_url())->sink()->push(batch);
  REQUIRE(out);
  for (const char* id : {"p_1", "p_2", "p_3", "p_9"}) {
    CAPTURE(id);
    CHECK(outcome(*out, id).status == PushOutcome::Status::deleted);
  }
  CHECK(count(server, "/crm/v3/objects/contacts/gdpr-delete") == 2);
  CHECK(count(server, "/crm/v3/objects/contacts/batch/archive") == 1);
  const auto left = hub.contacts();
  REQUIRE(left.size() == 1);  // p_2's, archived (restorable); p_1's and p_3's are gone for good
  CHECK(left[0].archived);
  CHECK(left[0].properties.at("chansync_person_id") == "p_2");
  const auto notes = hub.notes();  // p_1's and p_3's timelines went with their contacts
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].associated == std::set<std::string>{left[0].id});
}

TEST_CASE("hubspot never archives or deletes the contact HubSpot merged a person's contact into", "[hubspot]") {
  FakeHubSpot hub;
  FakeServer server(hub.handler());
  const std::vector<PersonRecord> persons = {person(1), person(2), person(3), person(4)};
  const auto first = hubspot(server.base_url())->sink()->push(items(persons));
  REQUIRE(first);
  const auto id = [&](const char* p) { return outcome(*first, p).remote_id; };
  // Someone merged contacts in HubSpot: p_1's into p_2's, p_3's into p_4's. HubSpot forwards the old
  // ids to the survivors, which keep p_2's and p_4's person ids.
  REQUIRE(hub.merge(id("p_2"), id("p_1")) == id("p_2"));
  REQUIRE(hub.merge(id("p_4"), id("p_3")) == id("p_4"));
  const PersonRecord erased1{"p_1"}, merged3{"p_3"};
  PushLedgerEntry e1{"p_1", "h", id("p_1")};
  e1.erased = true;
  LogCapture log;
  const std::vector<PushItem> batch = {{&erased1, e1, true, ""},
                                       {&merged3, PushLedgerEntry{"p_3", "h", id("p_3")}, true, "p_4"}};
  const auto out = hubspot(server.base_url())->sink()->push(batch);
  REQUIRE(out);
  CHECK(outcome(*out, "p_1").status == PushOutcome::Status::deleted);  // no contact of its own is left
  CHECK(outcome(*out, "p_3").status == PushOutcome::Status::deleted);
  CHECK(count(server, "/crm/v3/objects/contacts/gdpr-delete") == 0);
  CHECK(count(server, "/crm/v3/objects/contacts/batch/archive") == 0);
  for (const char* survivor : {"p_2", "p_4"}) {
    CAPTURE(survivor);
    const auto c = hub.contact(survivor);
    REQUIRE(c);
    CHECK(c->id == id(survivor));
  }
  CHECK_THAT(log.all(), Catch::Contains("erased person p_1 has no HubSpot contact of its own") &&
                            Catch::Contains("look up contact " + id("p_1")));
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
