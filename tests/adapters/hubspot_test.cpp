#include <fmt/format.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adapters/hubspot/hubspot_api.hpp"
#include "adapters/registry.hpp"
#include "sync/pull.hpp"
#include "sync/run.hpp"
#include "sync/state_identity.hpp"
#include "tests/support/fake_hubspot.hpp"
#include "tests/support/fake_server.hpp"
#include "tests/support/pull_one.hpp"

using namespace chansync;
using test::FakeHubSpot;
using test::FakeServer;
using test::fixture;
using test::Scripted;

namespace {

std::unique_ptr<Adapter> hubspot(const std::string& base_url, const std::string& token = "pat-na1-test") {
  EndpointConfig cfg{"crm", "hubspot-contacts"};
  cfg.options = {{"base_url", base_url}};
  cfg.secrets = {{"token", token}};
  return adapters::create_adapter(cfg, "DE", [](auto) {});
}

// Every person, after a reconcile of the store.
std::vector<PersonRecord> persons(StateStore& store) {
  std::vector<Endpoint> none;
  reconcile_store(store, none, false);
  std::vector<PersonRecord> out;
  store.identity().for_each_person([&](PersonRecord&& p) { out.push_back(std::move(p)); });
  return out;
}

std::vector<std::string> contact_ids(const PersonRecord& p) {
  std::vector<std::string> ids;
  for (const auto& c : p.contacts) ids.push_back(c.connector + "/" + c.id);
  return ids;
}

bool holds(const PersonRecord& p, const Handle& h) {
  return std::find(p.handles.begin(), p.handles.end(), h) != p.handles.end();
}

// An SMS thread with one inbound message from `phone`.
Conversation sms_thread(const std::string& id, const std::string& phone) {
  Message m{"sms", "SM" + id, id, "sms", Direction::inbound, AuthorKind::customer, phone, 1'700'000'000'000, "hi"};
  return {"sms", id, "sms", {HandleKind::phone, phone}, "+4930555000", {m}};
}

// A contacts page of one contact carrying hs_merged_object_ids (a JSON value: a string or null).
std::string merged_page(const std::string& id, const nlohmann::json& merged, const std::string& email) {
  return nlohmann::json{
      {"results",
       {{{"id", id},
         {"properties",
          {{"email", email}, {"hs_merged_object_ids", merged}, {"lastmodifieddate", "2024-06-01T10:00:00.000Z"}}},
         {"archived", false}}}}}
      .dump();
}

Scripted crm(const httplib::Request& req, std::size_t) {
  if (req.method == "POST") return {200, R"({"total":0,"results":[]})"};
  if (req.get_param_value("archived") == "true") return {200, fixture("hubspot/contacts_archived.json")};
  return {200, fixture(req.has_param("after") ? "hubspot/contacts_page2.json" : "hubspot/contacts_page1.json")};
}

}  // namespace

TEST_CASE("hubspot full pull pages by paging.next.after, then marks archived contacts", "[hubspot]") {
  FakeServer server(crm);
  auto adapter = hubspot(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("crm", *adapter, store);
  REQUIRE_FALSE(stats.error);
  CHECK(stats.pages == 3);
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[0].path == "/crm/v3/objects/contacts");
  CHECK(reqs[0].authorization == "Bearer pat-na1-test");
  CHECK(reqs[0].params.find("limit")->second == "100");
  CHECK(reqs[0].params.find("properties")->second ==
        "email,phone,mobilephone,firstname,lastname,lastmodifieddate,hs_merged_object_ids,date_of_birth,zip,city,"
        "address");
  CHECK(reqs[1].params.find("after")->second == "52");
  CHECK(reqs[2].params.find("archived")->second == "true");
  const auto anna = store.records().contact("crm", "51");
  REQUIRE(anna);
  CHECK(anna->handles ==
        std::vector<Handle>{{HandleKind::email, "anna.mueller@example.com"}, {HandleKind::phone, "+4915112345678"}});
  CHECK_FALSE(anna->archived);
  CHECK(anna->attributes == ContactAttributes{"1990-05-17", "10115", "Berlin", "Invalidenstraße 1"});
  const auto archived = store.records().contact("crm", "77");
  REQUIRE(archived);
  CHECK(archived->archived);
  CHECK(store.count("contacts") == 3);
  CHECK(nlohmann::json::parse(store.records().cursor("crm", "contacts")).at("since") ==
        *parse_rfc3339("2024-05-02T10:00:00.000Z"));
}

TEST_CASE("hubspot incremental pull searches lastmodifieddate >= the last high-water mark", "[hubspot]") {
  FakeServer server(crm);
  auto adapter = hubspot(server.base_url());
  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("crm", *adapter, store).error);
  REQUIRE_FALSE(test::pull_one("crm", *adapter, store).error);
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 5);
  CHECK(reqs[3].method == "POST");
  CHECK(reqs[3].path == "/crm/v3/objects/contacts/search");
  const auto body = nlohmann::json::parse(reqs[3].body);
  const auto& filter = body["filterGroups"][0]["filters"][0];
  CHECK(filter["propertyName"] == "lastmodifieddate");
  CHECK(filter["operator"] == "GTE");
  CHECK(filter["value"] == std::to_string(*parse_rfc3339("2024-05-02T10:00:00.000Z")));
  CHECK(body["sorts"][0]["direction"] == "ASCENDING");
  CHECK(body["properties"] == nlohmann::json::array({"email", "phone", "mobilephone", "firstname", "lastname",
                                                     "lastmodifieddate", "hs_merged_object_ids", "date_of_birth", "zip",
                                                     "city", "address"}));  // the list's properties= too
}

TEST_CASE("hubspot search restarts its filter instead of paging past 10,000 results", "[hubspot]") {
  // Every search page says there is more, with ever newer contacts.
  FakeServer server([](const httplib::Request& req, std::size_t n) {
    if (req.method != "POST") return crm(req, n);
    const auto body = nlohmann::json::parse(req.body);
    const long after = body.contains("after") ? std::stol(body["after"].get<std::string>()) : 0;
    const std::string ts = format_rfc3339(1'700'000'000'000 + static_cast<Timestamp>(n) * 1000);
    nlohmann::json page = {
        {"results", {{{"id", std::to_string(n)}, {"properties", {{"lastmodifieddate", ts}}}, {"archived", false}}}}};
    if (n < 150) page["paging"] = {{"next", {{"after", std::to_string(after + 100)}}}};
    return Scripted{200, page.dump()};
  });
  auto adapter = hubspot(server.base_url());
  StateStore store(":memory:");
  store.records().commit_contacts("crm", "contacts", {}, {}, R"({"since": 1})");
  const auto stats = test::pull_one("crm", *adapter, store);
  REQUIRE_FALSE(stats.error);
  long max_after = 0, restarts = 0;
  for (const auto& r : server.requests())
    if (r.method == "POST") {
      const auto b = nlohmann::json::parse(r.body);
      if (b.contains("after"))
        max_after = std::max(max_after, std::stol(b["after"].get<std::string>()));
      else
        ++restarts;
    }
  CHECK(max_after <= 9900);
  CHECK(restarts >= 2);
}

TEST_CASE("hubspot's daily 429 is rate limited at once: a spent day is not retried", "[hubspot]") {
  FakeServer server([](const auto&, std::size_t) {
    return Scripted{429,
                    R"({"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT",)"
                    R"("correlationId":"c0ffee00-1111-2222-3333-444455556666","policyName":"DAILY"})",
                    {{"X-HubSpot-RateLimit-Daily-Remaining", "0"}}};
  });
  auto adapter = hubspot(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("crm", *adapter, store);
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::rate_limited);
  CHECK_THAT(stats.error->message, Catch::Contains("daily API limit") && Catch::Contains("resets at midnight") &&
                                       Catch::Contains("Run the pull again") && !Catch::Contains("after retries"));
  const auto reqs = server.requests();  // the list once, and once the usage endpoint for the reset time
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[1].path == "/account-info/v3/api-usage/daily/private-apps");
}

TEST_CASE("hubspot 401 is an auth error carrying HubSpot's category", "[hubspot]") {
  FakeServer server([](const auto&, std::size_t) { return Scripted{401, fixture("hubspot/error_401.json")}; });
  auto adapter = hubspot(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("crm", *adapter, store);
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::auth);
  CHECK_THAT(stats.error->message, Catch::Contains("INVALID_AUTHENTICATION"));
  CHECK(store.records().cursor("crm", "contacts").empty());
}

TEST_CASE("hubspot's error text that echoes the token reaches the error and the health report redacted", "[hubspot]") {
  for (const int status : {400, 401}) {
    INFO(status);
    FakeServer server([status](const auto&, std::size_t) {
      return Scripted{status, R"({"status":"error","message":"Bearer pat-na1-echoed-4711 may not list contacts",)"
                              R"("category":"VALIDATION_ERROR"})"};
    });
    auto adapter = hubspot(server.base_url(), "pat-na1-echoed-4711");
    StateStore store(":memory:");
    const auto stats = test::pull_one("crm", *adapter, store);
    REQUIRE(stats.error);
    CHECK_THAT(stats.error->message, Catch::Contains("may not list contacts") && Catch::Contains("<redacted>") &&
                                         !Catch::Contains("pat-na1-echoed-4711"));
    // The probe's report: its summary and evidence are printed, served and stored by `health`.
    const auto report = adapter->probe();
    CHECK_THAT(report.evidence.vendor_message,
               Catch::Contains("may not list contacts") && !Catch::Contains("pat-na1-echoed-4711"));
    CHECK_THAT(report.summary, !Catch::Contains("pat-na1-echoed-4711"));
    for (const auto& f : report.findings) CHECK_THAT(f.detail + f.value, !Catch::Contains("pat-na1-echoed-4711"));
  }
}

TEST_CASE("hubspot merged-away ids: split at ';', trimmed, empty pieces, repeats and the own id skipped", "[hubspot]") {
  using adapters::hubspot::parse_merged_ids;
  const auto m = parse_merged_ids(" 101 ;;202; ;101;\t7a ;303;555", "555");
  CHECK(m.ids == std::vector<std::string>{"101", "202", "303"});
  CHECK(m.malformed == std::vector<std::string>{"7a"});
  CHECK(parse_merged_ids("", "1").ids.empty());
  CHECK(parse_merged_ids(" ; ;", "1").ids.empty());
  CHECK(parse_merged_ids(" ; ;", "1").malformed.empty());
  CHECK(parse_merged_ids("-5;1e3;12 34", "1").malformed == std::vector<std::string>{"-5", "1e3", "12 34"});
}

TEST_CASE("the fake HubSpot merges as HubSpot does: the merged contact is gone, the primary lists it", "[hubspot]") {
  FakeHubSpot hs;
  FakeServer server(hs.handler());
  const auto a = hs.add_contact({{"email", "a@example.com"}, {"phone", "+49 30 5550789"}});
  const auto b = hs.add_contact({{"email", "b@example.com"}});
  const auto before = hs.contacts().back().modified;
  REQUIRE(hs.merge(b, a) == b);
  httplib::Client http(server.base_url());
  const httplib::Headers auth = {{"Authorization", std::string("Bearer ") + FakeHubSpot::k_token}};
  const auto got = http.Get("/crm/v3/objects/contacts/" + a, auth);
  REQUIRE(got);
  CHECK(got->status == 404);
  for (const char* list :
       {"/crm/v3/objects/contacts?properties=email,hs_merged_object_ids", "/crm/v3/objects/contacts?archived=true"}) {
    const auto page = nlohmann::json::parse(http.Get(list, auth)->body);
    for (const auto& c : page["results"]) CHECK(c["id"] != a);
  }
  const auto found = nlohmann::json::parse(
      http.Post("/crm/v3/objects/contacts/search", auth,
                R"({"filterGroups":[{"filters":[{"propertyName":"lastmodifieddate","operator":"GTE","value":"0"}]}],)"
                R"("properties":["email","phone","hs_merged_object_ids"],"limit":10})",
                "application/json")
          ->body);
  REQUIRE(found["results"].size() == 1);
  const auto& survivor = found["results"][0];
  CHECK(survivor["id"] == b);
  CHECK(survivor["properties"]["hs_merged_object_ids"] == a);
  CHECK(survivor["properties"]["email"] == "b@example.com");   // the primary's email stays
  CHECK(survivor["properties"]["phone"] == "+49 30 5550789");  // an empty one is filled from the merged
  CHECK(*parse_rfc3339(survivor["properties"]["lastmodifieddate"].get<std::string>()) > before);
}

TEST_CASE("hubspot: a contact merged away is retired on the next pull, and its person ends up with the survivor",
          "[hubspot]") {
  FakeHubSpot hs;
  FakeServer server(hs.handler());
  auto adapter = hubspot(server.base_url(), FakeHubSpot::k_token);
  StateStore store(":memory:");
  const auto a = hs.add_contact(
      {{"email", "anna@example.com"}, {"mobilephone", "0151 12345678"}, {"firstname", "Anna"}, {"lastname", "Alt"}});
  const auto b = hs.add_contact({{"email", "anna.mueller@example.org"}, {"firstname", "Anna"}, {"lastname", "Müller"}});
  store.records().commit_conversations("sms", "conversations", {sms_thread("c1", "+4915112345678")}, {}, "");
  REQUIRE_FALSE(test::pull_one("crm", *adapter, store).error);
  const Handle mobile{HandleKind::phone, "+4915112345678"}, anna{HandleKind::email, "anna@example.com"};
  std::string held_a;  // the person holding A, its email, its mobile and the SMS thread
  {
    const auto before = persons(store);
    REQUIRE(before.size() == 2);
    for (const auto& p : before)
      if (contact_ids(p) == std::vector<std::string>{"crm/" + a}) held_a = p.person_id;
    REQUIRE_FALSE(held_a.empty());
    const auto p = store.identity().person(held_a);
    CHECK(holds(*p, mobile));
    CHECK(p->messages.size() == 1);
  }

  REQUIRE(hs.merge(b, a) == b);
  const auto second = test::pull_one("crm", *adapter, store);
  REQUIRE_FALSE(second.error);
  CHECK(second.rejected == 0);
  CHECK(server.requests()[2].method == "POST");  // incremental: the search found the merge

  const auto retired = store.records().contact("crm", a);
  REQUIRE(retired);
  CHECK(retired->archived);
  CHECK(retired->handles.empty());
  CHECK(retired->updated_at == store.records().contact("crm", b)->updated_at);
  const auto survivor = store.records().contact("crm", b);
  CHECK_FALSE(survivor->archived);
  CHECK(std::find(survivor->handles.begin(), survivor->handles.end(), mobile) != survivor->handles.end());

  const auto after = persons(store);
  REQUIRE(after.size() == 1);
  const auto& p = after.front();
  CHECK(contact_ids(p) == std::vector<std::string>{"crm/" + b});
  CHECK(holds(p, mobile));
  CHECK(holds(p, {HandleKind::email, "anna.mueller@example.org"}));
  CHECK_FALSE(holds(p, anna));  // A's own email went to hs_additional_emails: A kept it alone
  CHECK(p.messages.size() == 1);
  // A's person is this person, or an alias of it.
  const auto followed = store.identity().person(held_a);
  REQUIRE(followed);
  CHECK(followed->person_id == p.person_id);

  // B shows up in every later search (lastmodifieddate >= its own): re-retiring A writes nothing.
  const auto third = test::pull_one("crm", *adapter, store);
  REQUIRE_FALSE(third.error);
  CHECK(third.received == 2);
  CHECK(third.written == 0);
}

TEST_CASE("hubspot: a contact edited while the first list pages is read again by the next pass", "[hubspot]") {
  FakeHubSpot hs;
  std::vector<std::string> ids;
  for (int i = 0; i < 150; ++i) ids.push_back(hs.add_contact({{"email", fmt::format("c{}@example.com", i)}}));
  const std::string first = ids[0];
  // While the second list page is asked for, contact 0 (on the first page) gets a new email, then
  // contact 149 (on the second) is edited too: the newest date the pass sees is after contact 0's.
  hs.before_answer = [&](FakeHubSpot& fake, const httplib::Request& req, std::size_t) {
    if (req.method == "GET" && req.has_param("after") && req.get_param_value("archived") != "true" && ids.size()) {
      fake.edit_contact(ids[0], "email", "new-address-of-0@example.com");
      fake.edit_contact(ids[149], "firstname", "Touched");
      ids.clear();  // once
    }
  };
  FakeServer server(hs.handler());
  auto adapter = hubspot(server.base_url(), FakeHubSpot::k_token);
  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("crm", *adapter, store).error);
  REQUIRE_FALSE(test::pull_one("crm", *adapter, store).error);
  const auto c0 = store.records().contact("crm", first);
  REQUIRE(c0);
  CHECK(c0->handles == std::vector<Handle>{{HandleKind::email, "new-address-of-0@example.com", true}});
}

TEST_CASE("hubspot: a contact edited while a search pages moves to the end and skips no other", "[hubspot]") {
  FakeHubSpot hs;
  std::vector<std::string> ids;
  for (int i = 0; i < 300; ++i) ids.push_back(hs.add_contact({{"email", fmt::format("c{}@example.com", i)}}));
  FakeServer server(hs.handler());
  auto adapter = hubspot(server.base_url(), FakeHubSpot::k_token);
  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("crm", *adapter, store).error);
  // Everyone is edited; while the search's second page is asked for, contact 3 is edited again.
  for (int i = 0; i < 300; ++i) hs.edit_contact(ids[i], "email", fmt::format("v2-{}@example.com", i));
  int searches = 0;
  hs.before_answer = [&](FakeHubSpot& fake, const httplib::Request& req, std::size_t) {
    if (req.path == "/crm/v3/objects/contacts/search" && ++searches == 2)
      fake.edit_contact(ids[3], "email", "v3-3@example.com");
  };
  const auto second = test::pull_one("crm", *adapter, store);
  REQUIRE_FALSE(second.error);
  for (int i = 0; i < 300; ++i) {
    INFO("contact " << i);
    const auto c = store.records().contact("crm", ids[i]);
    REQUIRE(c);
    REQUIRE(c->handles.size() == 1);
    CHECK(c->handles[0].value == (i == 3 ? std::string("v3-3@example.com") : fmt::format("v2-{}@example.com", i)));
  }
}

TEST_CASE("hubspot: a merge seen on the first full list leaves a retired row that joins nothing", "[hubspot]") {
  FakeHubSpot hs;
  FakeServer server(hs.handler());
  auto adapter = hubspot(server.base_url(), FakeHubSpot::k_token);
  StateStore store(":memory:");
  const auto a = hs.add_contact({{"email", "old@example.com"}, {"phone", "030 5550123"}});
  const auto b = hs.add_contact({{"email", "new@example.com"}});
  REQUIRE(hs.merge(b, a) == b);
  const auto stats = test::pull_one("crm", *adapter, store);
  REQUIRE_FALSE(stats.error);
  CHECK(store.count("contacts") == 2);
  const auto retired = store.records().contact("crm", a);
  REQUIRE(retired);
  CHECK(retired->archived);
  CHECK(retired->handles.empty());
  CHECK(retired->display_name().empty());
  const auto all = persons(store);
  REQUIRE(all.size() == 1);
  CHECK(contact_ids(all.front()) == std::vector<std::string>{"crm/" + b});
  CHECK(holds(all.front(), {HandleKind::phone, "+49305550123"}));
  CHECK_FALSE(holds(all.front(), {HandleKind::email, "old@example.com"}));
}

TEST_CASE("hubspot: a merge that mints a new id retires both contacts it merged", "[hubspot]") {
  FakeHubSpot hs;
  FakeServer server(hs.handler());
  auto adapter = hubspot(server.base_url(), FakeHubSpot::k_token);
  StateStore store(":memory:");
  const auto a = hs.add_contact({{"email", "kim@example.com"}});
  const auto b = hs.add_contact({{"phone", "030 5550456"}});
  REQUIRE_FALSE(test::pull_one("crm", *adapter, store).error);
  REQUIRE(persons(store).size() == 2);
  const auto c = hs.merge(a, b, true);
  REQUIRE_FALSE(c.empty());
  REQUIRE(c != a);
  REQUIRE_FALSE(test::pull_one("crm", *adapter, store).error);
  CHECK(store.records().contact("crm", a)->archived);
  CHECK(store.records().contact("crm", b)->archived);
  CHECK_FALSE(store.records().contact("crm", c)->archived);
  const auto all = persons(store);
  REQUIRE(all.size() == 1);
  CHECK(contact_ids(all.front()) == std::vector<std::string>{"crm/" + c});
  CHECK(holds(all.front(), {HandleKind::email, "kim@example.com"}));
  CHECK(holds(all.front(), {HandleKind::phone, "+49305550456"}));
}

TEST_CASE("hubspot: hs_merged_object_ids absent, null or empty retires nothing; a bad piece is a dead letter",
          "[hubspot]") {
  std::string page;
  FakeServer server([&](const httplib::Request& req, std::size_t) {
    if (req.get_param_value("archived") == "true") return Scripted{200, R"({"results":[]})"};
    return Scripted{200, page};
  });
  auto adapter = hubspot(server.base_url());
  for (const auto& [merged, label] : std::vector<std::pair<nlohmann::json, const char*>>{
           {nullptr, "null"}, {"", "empty"}, {" ; ", "only separators"}, {"900", "its own id"}}) {
    INFO(label);
    page = merged_page("900", merged, "solo@example.com");
    StateStore store(":memory:");
    const auto stats = test::pull_one("crm", *adapter, store);
    REQUIRE_FALSE(stats.error);
    CHECK(stats.rejected == 0);
    CHECK(store.count("contacts") == 1);
    CHECK_FALSE(store.records().contact("crm", "900")->archived);
  }
  {
    INFO("absent");
    page = R"({"results":[{"id":"900","properties":{"email":"solo@example.com",)"
           R"("lastmodifieddate":"2024-06-01T10:00:00.000Z"},"archived":false}]})";
    StateStore store(":memory:");
    REQUIRE_FALSE(test::pull_one("crm", *adapter, store).error);
    CHECK(store.count("contacts") == 1);
  }
  {
    INFO("a piece that is not an id");
    page = merged_page("900", "301; x1 ;302", "solo@example.com");
    StateStore store(":memory:");
    const auto stats = test::pull_one("crm", *adapter, store);
    REQUIRE_FALSE(stats.error);
    CHECK(stats.rejected == 1);
    CHECK_FALSE(store.records().contact("crm", "900")->archived);  // the survivor is stored all the same
    CHECK(store.records().contact("crm", "301")->archived);
    CHECK(store.records().contact("crm", "302")->archived);
    CHECK(store.count("contacts") == 3);
    const auto dead = store.records().dead_letters("crm");
    REQUIRE(dead.size() == 1);
    CHECK(dead[0].record_id == "900");
    CHECK_THAT(dead[0].error, Catch::Contains("\"x1\"") && Catch::Contains("not retired"));
    CHECK(nlohmann::json::parse(dead[0].raw)["id"] == "900");
  }
}

TEST_CASE("hubspot: a merged id stays retired even when the same page still lists it live", "[hubspot]") {
  // 901 is listed live beside 900, which names it merged: a search index that has not caught up with
  // the merge. A merge cannot be undone, so 901 is retired; 900 itself is never retired by its list.
  auto page = nlohmann::json::parse(merged_page("900", "901;902;900", "keep@example.com"));
  page["results"].push_back({{"id", "901"},
                             {"properties",
                              {{"email", "stale@example.com"},
                               {"hs_merged_object_ids", nullptr},
                               {"lastmodifieddate", "2024-05-01T10:00:00.000Z"}}},
                             {"archived", false}});
  FakeServer server([&](const httplib::Request& req, std::size_t) {
    if (req.get_param_value("archived") == "true") return Scripted{200, R"({"results":[]})"};
    return Scripted{200, page.dump()};
  });
  auto adapter = hubspot(server.base_url());
  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("crm", *adapter, store).error);
  const auto merged = store.records().contact("crm", "901");
  REQUIRE(merged);
  CHECK(merged->archived);
  CHECK(merged->handles.empty());
  CHECK(store.records().contact("crm", "902")->archived);
  const auto survivor = store.records().contact("crm", "900");
  CHECK_FALSE(survivor->archived);
  CHECK(survivor->handles == std::vector<Handle>{{HandleKind::email, "keep@example.com"}});
  const auto all = persons(store);
  REQUIRE(all.size() == 1);
  CHECK(contact_ids(all.front()) == std::vector<std::string>{"crm/900"});
}

TEST_CASE(
    "hubspot: date_of_birth, zip, city and address become normalised attributes; a birth date that is not one "
    "is left out and reported, the contact stored",
    "[hubspot]") {
  FakeHubSpot hs;
  FakeServer server(hs.handler());
  auto adapter = hubspot(server.base_url(), FakeHubSpot::k_token);
  const auto a = hs.add_contact({{"email", "ada@example.com"},
                                 {"date_of_birth", "642902400000"},  // a date property: midnight UTC in ms
                                 {"zip", " sw1a   1aa"},
                                 {"city", "London"},
                                 {"address", "12 St James's\tSquare "}});
  const auto b = hs.add_contact({{"email", "bob@example.com"}, {"date_of_birth", "17.05.1990"}, {"city", "Paris"}});
  const auto c = hs.add_contact({{"email", "cy@example.com"}});
  StateStore store(":memory:");
  const auto stats = test::pull_one("crm", *adapter, store);
  REQUIRE_FALSE(stats.error);
  CHECK(store.records().contact("crm", a)->attributes ==
        ContactAttributes{"1990-05-17", "SW1A 1AA", "London", "12 St James's Square"});
  const auto bob = store.records().contact("crm", b);
  REQUIRE(bob);
  CHECK(bob->handles == std::vector<Handle>{{HandleKind::email, "bob@example.com"}});
  CHECK(bob->attributes == ContactAttributes{"", "", "Paris", ""});
  CHECK(store.records().contact("crm", c)->attributes.empty());
  const auto letters = store.records().dead_letters("crm");
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].record_id == b);
  CHECK(letters[0].error.starts_with("date_of_birth \"17.05.1990\" is not a date"));
  CHECK(letters[0].raw.find("17.05.1990") != std::string::npos);
}
