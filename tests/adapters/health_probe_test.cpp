// Each vendor's probe driven by a loopback fake server into a health class, through check_health:
// the class, the finding that decided it (signal and value) and the run's exit code.
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "adapters/registry.hpp"
#include "sync/health_check.hpp"
#include "sync/state_store.hpp"
#include "tests/support/fake_server.hpp"
#include "tests/support/twilio_rig.hpp"

using namespace chansync;
using test::FakeServer;
using test::fixture;
using test::Scripted;

namespace {

struct Outcome {
  HealthReport probe;
  Severity status;
};

Outcome check(EndpointConfig cfg, StateStore* store = nullptr, std::vector<HealthClass> warn_only = {}) {
  Config config;
  HealthCheckOptions opts{
      {&cfg},
      [](EndpointConfig& e) { return adapters::create_adapter(e, "DE", [](std::chrono::milliseconds) {}); },
      std::move(warn_only)};
  auto result = check_health(config, store, opts);
  REQUIRE_FALSE(result.reports.empty());
  return {result.reports.front(), result.status};
}

EndpointConfig graph(const std::string& base_url, const std::string& version = "v23.0") {
  EndpointConfig cfg{"fb", "meta-messenger"};
  cfg.options = {{"page_id", "1122334455"}, {"api_version", version}, {"base_url", base_url}};
  cfg.secrets = {{"token", "EAAGpagetoken"}};
  return cfg;
}

EndpointConfig hubspot(const std::string& base_url) {
  EndpointConfig cfg{"crm", "hubspot-contacts"};
  cfg.options = {{"base_url", base_url}};
  cfg.secrets = {{"token", "pat-na1-test"}};
  return cfg;
}

const Finding& deciding(const HealthReport& r) {
  for (const auto& f : r.findings)
    if (f.cls == r.cls) return f;
  FAIL("no finding of the report's class " << to_string(r.cls));
  return r.findings.front();
}

const std::string k_page = R"({"id":"1122334455","name":"Acme Shop"})";

}  // namespace

TEST_CASE("health: Graph answering with another facebook-api-version is gone, CRITICAL", "[health]") {
  FakeServer server([](const httplib::Request&, std::size_t) {
    return Scripted{200, k_page, {{"facebook-api-version", "v25.0"}, {"X-App-Usage", R"({"call_count":3})"}}};
  });
  const auto [r, status] = check(graph(server.base_url()));
  CHECK(r.cls == HealthClass::gone);
  CHECK(deciding(r).signal == "facebook-api-version header");
  CHECK(deciding(r).value == "v25.0");
  CHECK_THAT(r.action, Catch::Contains("api_version"));
  CHECK(status == Severity::critical);
  // --warn-only gone: accepted, so WARNING.
  CHECK(check(graph(server.base_url()), nullptr, {HealthClass::gone}).status == Severity::warning);
}

TEST_CASE("health: Graph 190/460 is auth_failed, 131031 restricted, X-App-Usage 92% rate_limited", "[health]") {
  struct Case {
    int status;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    HealthClass cls;
    std::string signal, value;
    Severity severity;
  };
  const std::vector<Case> cases = {
      {400,
       R"({"error":{"message":"Error validating access token: The session has been invalidated because the user changed their password.","type":"OAuthException","code":190,"error_subcode":460,"fbtrace_id":"Ab460"}})",
       {},
       HealthClass::auth_failed,
       "Graph error code",
       "190/460",
       Severity::critical},
      {403,
       R"({"error":{"message":"Account locked","type":"OAuthException","code":131031,"fbtrace_id":"Ab131031"}})",
       {},
       HealthClass::restricted,
       "Graph error code",
       "131031",
       Severity::critical},
      {200,
       k_page,
       {{"X-App-Usage", R"({"call_count":92,"total_cputime":10,"total_time":12})"}},
       HealthClass::rate_limited,
       "X-App-Usage call_count",
       "92%",
       Severity::warning},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    FakeServer server([&](const httplib::Request&, std::size_t) { return Scripted{c.status, c.body, c.headers}; });
    const auto [r, status] = check(graph(server.base_url()));
    CHECK(r.cls == c.cls);
    CHECK(deciding(r).signal == c.signal);
    CHECK(deciding(r).value == c.value);
    CHECK_FALSE(r.action.empty());
    CHECK(status == c.severity);
    CHECK_THAT(nlohmann::json(r).dump(), !Catch::Contains("EAAGpagetoken"));
  }
}

TEST_CASE(
    "health: HubSpot's Sunset and Link rel=sunset are deprecated with the date; daily budget nearly spent is "
    "rate_limited; INVALID_AUTHENTICATION auth_failed",
    "[health]") {
  const auto page = fixture("hubspot/contacts_page1.json");
  FakeServer sunset([&](const httplib::Request&, std::size_t) {
    return Scripted{200,
                    page,
                    {{"Sunset", "Wed, 31 Mar 2077 00:00:00 GMT"},
                     {"Link", R"(<https://developers.hubspot.com/changelog/v3-sunset>; rel="sunset")"}}};
  });
  auto [dep, dep_status] = check(hubspot(sunset.base_url()));
  CHECK(dep.cls == HealthClass::deprecated);
  REQUIRE(dep.sunset);
  CHECK(format_date(*dep.sunset) == "2077-03-31");
  CHECK(std::count_if(dep.findings.begin(), dep.findings.end(),
                      [](const Finding& f) { return f.cls == HealthClass::deprecated; }) == 2);
  CHECK(dep_status == Severity::warning);

  FakeServer daily([&](const httplib::Request&, std::size_t) {
    return Scripted{
        200, page, {{"X-HubSpot-RateLimit-Daily", "250000"}, {"X-HubSpot-RateLimit-Daily-Remaining", "400"}}};
  });
  const auto [rl, rl_status] = check(hubspot(daily.base_url()));
  CHECK(rl.cls == HealthClass::rate_limited);
  CHECK(deciding(rl).value == "400 of 250000 left");
  CHECK(rl_status == Severity::warning);

  FakeServer refused([](const httplib::Request&, std::size_t) {
    return Scripted{401, fixture("hubspot/error_401.json")};
  });
  const auto [auth, auth_status] = check(hubspot(refused.base_url()));
  CHECK(auth.cls == HealthClass::auth_failed);
  CHECK(deciding(auth).value == "INVALID_AUTHENTICATION");
  CHECK(auth_status == Severity::critical);
}

TEST_CASE("health: Twilio 20003 is auth_failed; nothing listening is unreachable, never ok", "[health]") {
  FakeServer server([](const httplib::Request&, std::size_t) {
    return Scripted{401, fixture("twilio/error_20003.json")};
  });
  EndpointConfig cfg{"sms", "twilio-messaging"};
  cfg.options = {
      {"account_sid", test::k_twilio_sid}, {"own_numbers", {"+4930123456"}}, {"base_url", server.base_url()}};
  cfg.secrets = {{"auth_token", "tok"}};
  const auto [r, status] = check(cfg);
  CHECK(r.cls == HealthClass::auth_failed);
  CHECK(deciding(r).signal == "Twilio error code");
  CHECK(deciding(r).value == "20003");
  CHECK(status == Severity::critical);

  cfg.options["base_url"] = "http://127.0.0.1:9";  // discard: nothing listens
  const auto [down, down_status] = check(cfg);
  CHECK(down.cls == HealthClass::unreachable);
  CHECK(deciding(down).signal == "connection");
  CHECK(down_status == Severity::critical);
}

TEST_CASE("health: a connector that failed is recovering on its next passes, stored per run", "[health]") {
  StateStore store(":memory:");
  std::size_t calls = 0;
  FakeServer server([&](const httplib::Request&, std::size_t n) {
    calls = n + 1;
    if (n == 0) return Scripted{401, fixture("hubspot/error_401.json")};
    return Scripted{200, fixture("hubspot/contacts_page1.json")};
  });
  CHECK(check(hubspot(server.base_url()), &store).probe.cls == HealthClass::auth_failed);
  const auto second = check(hubspot(server.base_url()), &store);
  CHECK(second.probe.cls == HealthClass::recovering);
  CHECK(second.probe.observed == HealthClass::ok);
  CHECK(second.status == Severity::warning);
  CHECK(check(hubspot(server.base_url()), &store).probe.cls == HealthClass::recovering);
  CHECK(check(hubspot(server.base_url()), &store).probe.cls == HealthClass::ok);
  CHECK(store.count("health_runs") == 4);
  CHECK(calls == 4);
}

TEST_CASE("health: a check a stop came during (health --watch) is not recorded in the history", "[health]") {
  StateStore store(":memory:");
  FakeServer server([](const httplib::Request&, std::size_t) {
    return Scripted{200, fixture("hubspot/contacts_page1.json")};
  });
  auto cfg = hubspot(server.base_url());
  Config config;
  HealthCheckOptions opts{{&cfg}, [](EndpointConfig& e) { return adapters::create_adapter(e, "DE", [](auto) {}); }};
  check_health(config, &store, opts);
  CHECK(store.count("health_runs") == 1);
  opts.stopped = [] { return true; };
  check_health(config, &store, opts);
  CHECK(store.count("health_runs") == 1);  // a probe it cut short would read as an outage
}

TEST_CASE("health --offline calls no vendor: pulled streams and the versions table decide, never-pulled is unknown",
          "[health]") {
  StateStore store(":memory:");
  EndpointConfig crm = hubspot("http://127.0.0.1:9"), fb = graph("http://127.0.0.1:9", "v18.0");
  Config config;
  HealthCheckOptions opts{{&crm, &fb},
                          [](EndpointConfig&) -> std::unique_ptr<Adapter> {
                            FAIL("--offline created an adapter");
                            return nullptr;
                          },
                          {},
                          true};
  auto result = check_health(config, &store, opts);
  REQUIRE(result.reports.size() == 2);
  CHECK(result.reports[0].cls == HealthClass::unknown);  // crm: never pulled
  CHECK(result.reports[0].findings.front().signal == "offline");
  CHECK(result.reports[1].cls == HealthClass::gone);  // fb: v18.0 ended 2026-01-26
  CHECK(result.status == Severity::critical);
}

TEST_CASE("health: a missing secret is unknown with the setup finding, UNKNOWN", "[health]") {
  EndpointConfig cfg = hubspot("http://127.0.0.1:9");
  Config config;
  HealthCheckOptions opts{{&cfg}, [](EndpointConfig&) -> std::unique_ptr<Adapter> {
                            throw Failure(Errc::config, "connectors.crm.token_env: HUBSPOT_TOKEN is not set");
                          }};
  const auto result = check_health(config, nullptr, opts);
  REQUIRE(result.reports.size() == 1);
  CHECK(result.reports[0].cls == HealthClass::unknown);
  CHECK(result.reports[0].findings.at(0).signal == "setup");
  CHECK_THAT(result.reports[0].summary, Catch::Contains("HUBSPOT_TOKEN"));
  CHECK(result.status == Severity::unknown);
}

TEST_CASE("health: a setup failure stays in the summary and the action when another signal decides the class",
          "[health]") {
  EndpointConfig cfg = graph("http://127.0.0.1:9", "v18.0");  // ended 2026-01-26: gone, CRITICAL
  Config config;
  HealthCheckOptions opts{{&cfg}, [](EndpointConfig&) -> std::unique_ptr<Adapter> {
                            throw Failure(Errc::config, "connectors.fb.token_env: META_TOKEN is not set");
                          }};
  const auto result = check_health(config, nullptr, opts);
  REQUIRE(result.reports.size() == 1);
  const auto& r = result.reports[0];
  CHECK(r.cls == HealthClass::gone);
  CHECK_THAT(r.summary, Catch::StartsWith("cannot check the connector itself (connectors.fb.token_env: META_TOKEN "
                                          "is not set); ") &&
                            Catch::Contains("v18.0"));
  CHECK_THAT(r.action, Catch::StartsWith("fix the configuration the message names, then "));
  CHECK(std::any_of(r.findings.begin(), r.findings.end(), [](const Finding& f) { return f.signal == "setup"; }));
  CHECK(result.status == Severity::critical);
}

TEST_CASE("health: a working probe says where its time went (libcurl's DNS, connect, TLS, first byte)", "[health]") {
  FakeServer slow([](const httplib::Request&, std::size_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));  // the server's think time
    return Scripted{200, fixture("hubspot/contacts_page1.json")};
  });
  const auto [r, status] = check(hubspot(slow.base_url()));
  REQUIRE(r.cls == HealthClass::ok);
  const auto& t = r.evidence.timings;
  CHECK(t.connect_ms >= t.dns_ms);
  CHECK(t.tls_ms == 0);          // plain http to loopback
  CHECK(t.first_byte_ms >= 30);  // the wait is the server's, after connecting
  CHECK(t.first_byte_ms >= t.connect_ms);
  CHECK(r.evidence.latency_ms >= t.first_byte_ms);
  CHECK_THAT(deciding(r).detail, Catch::Contains("first byte"));
  const nlohmann::json j = r;
  CHECK(j["evidence"]["timings_ms"]["first_byte"].get<std::int64_t>() >= 30);
}

namespace {

// A probe that waits (up to 5 s) until every other probe of the run has started: the probes of a run
// either overlap, and all see `expected` in flight, or run one after another, and none does.
struct Rendezvous {
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0, expected = 0;
  int met = 0;  // probes that saw all the others arrive
};

class MeetingAdapter : public Adapter {
 public:
  MeetingAdapter(std::string name, Rendezvous& r) : m_name(std::move(name)), m_r(r) {}
  HealthReport probe() override {
    std::unique_lock lock(m_r.mu);
    ++m_r.arrived;
    m_r.cv.notify_all();
    if (m_r.cv.wait_for(lock, std::chrono::seconds(5), [&] { return m_r.arrived >= m_r.expected; })) ++m_r.met;
    HealthReport r{m_name, "hubspot-contacts", "", HealthClass::ok, "answered"};
    r.checked_at = 1;
    return r;
  }

 private:
  std::string m_name;
  Rendezvous& m_r;
};

}  // namespace

TEST_CASE("health probes every endpoint at once: a slow vendor's wait is not added to the others'", "[health]") {
  std::vector<EndpointConfig> endpoints;
  for (const char* name : {"a", "b", "c"}) endpoints.push_back(EndpointConfig{name, "hubspot-contacts"});
  Rendezvous r;
  r.expected = static_cast<int>(endpoints.size());
  Config config;
  HealthCheckOptions opts{
      {&endpoints[0], &endpoints[1], &endpoints[2]},
      [&](EndpointConfig& e) -> std::unique_ptr<Adapter> { return std::make_unique<MeetingAdapter>(e.name, r); }};
  const auto result = check_health(config, nullptr, opts);
  CHECK(r.met == 3);
  REQUIRE(result.reports.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(result.reports[i].connector == endpoints[i].name);  // in configuration order all the same
    CHECK(result.reports[i].cls == HealthClass::ok);
  }
}

TEST_CASE("health: a Page answering near its rate limit still has its token and webhook subscription checked",
          "[health]") {
  FakeServer server([](const httplib::Request& req, std::size_t) {
    if (req.path.ends_with("/debug_token"))
      return Scripted{200,
                      R"({"data":{"is_valid":true,"expires_at":0,"data_access_expires_at":0,)"
                      R"("scopes":["pages_messaging","pages_manage_metadata"]}})",
                      {}};
    if (req.path.ends_with("/subscribed_apps")) return Scripted{200, R"({"data":[]})", {}};
    return Scripted{200, k_page, {{"X-App-Usage", R"({"call_count":91,"total_cputime":10,"total_time":12})"}}};
  });
  auto cfg = graph(server.base_url());
  cfg.secrets["app_secret"] = "app-secret-1";  // webhooks in use: the subscription matters
  const auto [r, status] = check(cfg);
  CHECK(r.cls == HealthClass::webhook_broken);  // not hidden behind the usage warning
  CHECK(status == Severity::critical);
  CHECK(std::any_of(r.findings.begin(), r.findings.end(),
                    [](const Finding& f) { return f.signal == "X-App-Usage call_count" && f.value == "91%"; }));
  std::size_t calls = 0;
  for (const auto& q : server.requests())
    calls += q.path.ends_with("/debug_token") || q.path.ends_with("/subscribed_apps");
  CHECK(calls == 2);
}
