#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adapters/registry.hpp"
#include "sync/pull.hpp"
#include "tests/support/fake_server.hpp"
#include "tests/support/pull_one.hpp"

using namespace chansync;
using test::FakeServer;
using test::fixture;
using test::Scripted;

namespace {

std::unique_ptr<Adapter> hubspot(const std::string& base_url) {
  EndpointConfig cfg{"crm", "hubspot-contacts"};
  cfg.options = {{"base_url", base_url}};
  cfg.secrets = {{"token", "pat-na1-test"}};
  return adapters::create_adapter(cfg, "DE", [](auto) {});
}

Scripted crm(const httplib::Request& req, std::size_t) {
  if (req.method == "POST") return {200, R"({"total":0,"results":[]})"};
  if (req.get_param_value("archived") == "true") return {200, fixture("hubspot/contacts_archived.json")};
  return {200, fixture(req.has_param("after") ? "hubspot/contacts_page2.json" : "hubspot/contacts_page1.json")};
}

}  // namespace

TEST_CASE("hubspot full pull pages by paging.next.after, then marks archived contacts") {
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
  CHECK(reqs[0].params.find("properties")->second == "email,phone,mobilephone,firstname,lastname,lastmodifieddate,hs_merged_object_ids");
  CHECK(reqs[1].params.find("after")->second == "52");
  CHECK(reqs[2].params.find("archived")->second == "true");
  const auto anna = store.records().contact("crm", "51");
  REQUIRE(anna);
  CHECK(anna->handles ==
        std::vector<Handle>{{HandleKind::email, "anna.mueller@example.com"}, {HandleKind::phone, "+4915112345678"}});
  CHECK_FALSE(anna->archived);
  const auto archived = store.records().contact("crm", "77");
  REQUIRE(archived);
  CHECK(archived->archived);
  CHECK(store.count("contacts") == 3);
  CHECK(nlohmann::json::parse(store.records().cursor("crm", "contacts")).at("since") ==
        *parse_rfc3339("2024-05-02T10:00:00.000Z"));
}

TEST_CASE("hubspot incremental pull searches lastmodifieddate >= the last high-water mark") {
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
  CHECK(body["properties"].back() == "hs_merged_object_ids");
}

TEST_CASE("hubspot search restarts its filter instead of paging past 10,000 results") {
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

TEST_CASE("hubspot's daily 429 is rate limited at once: a spent day is not retried") {
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
  CHECK(server.requests().size() == 1);
}

TEST_CASE("hubspot 401 is an auth error carrying HubSpot's category") {
  FakeServer server([](const auto&, std::size_t) { return Scripted{401, fixture("hubspot/error_401.json")}; });
  auto adapter = hubspot(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("crm", *adapter, store);
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::auth);
  CHECK_THAT(stats.error->message, Catch::Contains("INVALID_AUTHENTICATION"));
  CHECK(store.records().cursor("crm", "contacts").empty());
}
