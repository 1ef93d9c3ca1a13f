#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adapters/registry.hpp"
#include "sync/pull.hpp"
#include "tests/support/fake_server.hpp"

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
  const auto stats = pull_connector("crm", *adapter, store);
  REQUIRE_FALSE(stats.error);
  CHECK(stats.pages == 3);
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[0].path == "/crm/v3/objects/contacts");
  CHECK(reqs[0].authorization == "Bearer pat-na1-test");
  CHECK(reqs[0].params.find("limit")->second == "100");
  CHECK(reqs[0].params.find("properties")->second == "email,phone,mobilephone,firstname,lastname,lastmodifieddate");
  CHECK(reqs[1].params.find("after")->second == "52");
  CHECK(reqs[2].params.find("archived")->second == "true");
  SQLite::Statement q(store.db(), "SELECT id, archived, handles FROM contacts ORDER BY id");
  REQUIRE(q.executeStep());
  CHECK(q.getColumn(0).getString() == "51");
  CHECK(q.getColumn(2).getString().find("+4915112345678") != std::string::npos);
  CHECK(q.getColumn(2).getString().find("anna.mueller@example.com") != std::string::npos);
  REQUIRE(q.executeStep());
  REQUIRE(q.executeStep());
  CHECK(q.getColumn(0).getString() == "77");
  CHECK(q.getColumn(1).getInt() == 1);
  CHECK(nlohmann::json::parse(store.cursor("crm")).at("since") == *parse_rfc3339("2024-05-02T10:00:00.000Z"));
}

TEST_CASE("hubspot incremental pull searches lastmodifieddate >= the last high-water mark") {
  FakeServer server(crm);
  auto adapter = hubspot(server.base_url());
  StateStore store(":memory:");
  REQUIRE_FALSE(pull_connector("crm", *adapter, store).error);
  REQUIRE_FALSE(pull_connector("crm", *adapter, store).error);
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
  store.commit_contacts("crm", {}, {}, R"({"since": 1})");
  const auto stats = pull_connector("crm", *adapter, store);
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

TEST_CASE("hubspot 401 is an auth error carrying HubSpot's category") {
  FakeServer server([](const auto&, std::size_t) { return Scripted{401, fixture("hubspot/error_401.json")}; });
  auto adapter = hubspot(server.base_url());
  StateStore store(":memory:");
  const auto stats = pull_connector("crm", *adapter, store);
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::auth);
  CHECK_THAT(stats.error->message, Catch::Contains("INVALID_AUTHENTICATION"));
  CHECK(store.cursor("crm").empty());
}
