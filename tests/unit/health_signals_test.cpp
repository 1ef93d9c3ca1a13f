#include "sync/health_signals.hpp"

#include <catch2/catch.hpp>

using namespace chansync;

namespace {
constexpr Timestamp k_now = 1'796'083'200'000;  // 2026-12-01T00:00:00Z

HealthClass worst(const std::vector<Finding>& fs) {
  HealthClass w = HealthClass::ok;
  for (const auto& f : fs)
    if (f.cls < w) w = f.cls;
  return w;
}
}  // namespace

TEST_CASE("deprecation headers: RFC 9745 Deprecation, RFC 8594 Sunset, Link rel, Warning 299, HubSpot's", "[health]") {
  auto dep = deprecation_findings({{"deprecation", "@1798761600"}}, k_now);
  REQUIRE(dep.size() == 1);
  CHECK(dep[0].cls == HealthClass::deprecated);
  CHECK(dep[0].signal == "Deprecation header");
  CHECK(dep[0].value == "@1798761600");
  CHECK(dep[0].at == 1798761600000);
  CHECK_THAT(dep[0].detail, Catch::Contains("2027-01-01") && Catch::Contains("31 days left"));
  CHECK_FALSE(dep[0].action.empty());

  auto sun = deprecation_findings({{"sunset", "Sat, 31 Dec 2033 23:59:59 GMT"}}, k_now);
  REQUIRE(sun.size() == 1);
  CHECK(format_date(*sun[0].at) == "2033-12-31");
  CHECK_THAT(sun[0].detail, Catch::Contains("will stop working on 2033-12-31"));

  // Several links in one field, one of them the sunset notice (RFC 8594 §6).
  auto link =
      deprecation_findings({{"link", R"(<https://api.example.com/v2/contacts?after=x,y>; rel="next", )"
                                     R"(<https://developer.example.com/deprecation>; rel="sunset"; type="text/html")"}},
                           k_now);
  REQUIRE(link.size() == 1);
  CHECK_THAT(link[0].detail, Catch::Contains("https://developer.example.com/deprecation"));
  CHECK(deprecation_findings({{"link", R"(<https://api.example.com/?page=2>; rel="next")"}}, k_now).empty());
  CHECK(deprecation_findings({{"link", R"(<https://d.example/dep>; rel="deprecation")"}}, k_now).size() == 1);

  auto warn = deprecation_findings({{"warning", R"(299 api.example.com "Deprecated API: use /v3")"}}, k_now);
  REQUIRE(warn.size() == 1);
  CHECK_THAT(warn[0].detail, Catch::Contains("Deprecated API: use /v3"));
  CHECK(deprecation_findings({{"warning", R"(110 - "Response is Stale")"}}, k_now).empty());

  CHECK(deprecation_findings({{"x-hubspot-api-deprecated", "true"}}, k_now).size() == 1);
  CHECK(deprecation_findings({{"content-type", "application/json"}}, k_now).empty());
}

TEST_CASE("rate-limit headroom from Meta, HubSpot, X-RateLimit and IETF RateLimit headers", "[health]") {
  auto meta = rate_limit_findings({{"x-app-usage", R"({"call_count":93,"total_cputime":12,"total_time":40})"}}, k_now);
  REQUIRE(meta.size() == 1);
  CHECK(meta[0].cls == HealthClass::rate_limited);
  CHECK(meta[0].signal == "X-App-Usage call_count");
  CHECK(meta[0].value == "93%");
  CHECK(worst(rate_limit_findings({{"x-app-usage", R"({"call_count":12,"total_cputime":3,"total_time":5})"}}, k_now)) ==
        HealthClass::ok);
  auto buc = rate_limit_findings(
      {{"x-business-use-case-usage",
        R"({"112233":[{"type":"pages","call_count":95,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":17}]})"}},
      k_now);
  REQUIRE(buc.size() == 1);
  CHECK(buc[0].cls == HealthClass::rate_limited);
  CHECK_THAT(buc[0].detail, Catch::Contains("17 min"));

  auto hs = rate_limit_findings({{"x-hubspot-ratelimit-max", "100"},
                                 {"x-hubspot-ratelimit-remaining", "97"},
                                 {"x-hubspot-ratelimit-interval-milliseconds", "10000"},
                                 {"x-hubspot-ratelimit-daily", "250000"},
                                 {"x-hubspot-ratelimit-daily-remaining", "1200"}},
                                k_now);
  REQUIRE(hs.size() == 2);
  CHECK(worst(hs) == HealthClass::rate_limited);
  CHECK(std::any_of(hs.begin(), hs.end(), [](const Finding& f) {
    return f.signal == "X-HubSpot-RateLimit-Daily-Remaining" && f.cls == HealthClass::rate_limited &&
           f.value == "1200 of 250000 left";
  }));

  auto gh = rate_limit_findings(
      {{"x-ratelimit-limit", "5000"}, {"x-ratelimit-remaining", "12"}, {"x-ratelimit-reset", "1372700873"}}, k_now);
  REQUIRE(gh.size() == 1);
  CHECK(gh[0].cls == HealthClass::rate_limited);
  CHECK(gh[0].value == "12 of 5000 left");
  CHECK_THAT(gh[0].detail, Catch::Contains("resets in 0 s"));  // a Unix time long past
  CHECK(worst(rate_limit_findings({{"x-ratelimit-limit", "5000"}, {"x-ratelimit-remaining", "4990"}}, k_now)) ==
        HealthClass::ok);

  // draft-ietf-httpapi-ratelimit-headers: structured fields, and the older list form.
  auto ietf = rate_limit_findings(
      {{"ratelimit", R"("default";r=3;t=30)"}, {"ratelimit-policy", R"("default";q=100;w=60)"}}, k_now);
  REQUIRE(ietf.size() == 1);
  CHECK(ietf[0].cls == HealthClass::rate_limited);
  CHECK(ietf[0].value == "3 of 100 left");
  CHECK_THAT(ietf[0].detail, Catch::Contains("resets in 30 s"));
  auto old = rate_limit_findings({{"ratelimit", "limit=100, remaining=50, reset=30"}}, k_now);
  REQUIRE(old.size() == 1);
  CHECK(old[0].cls == HealthClass::ok);
  CHECK(rate_limit_findings({{"x-app-usage", "not json"}}, k_now).size() ==
        1);  // read as 0%: headroom unknown is not a limit
}

TEST_CASE("a Unix-time X-RateLimit-Reset is read as a time: the finding names the seconds left from now", "[health]") {
  const auto reset = std::to_string(k_now / 1000 + 300);
  auto f = rate_limit_findings(
      {{"x-ratelimit-limit", "60"}, {"x-ratelimit-remaining", "2"}, {"x-ratelimit-reset", reset}}, k_now);
  REQUIRE(f.size() == 1);
  CHECK(f[0].signal == "X-RateLimit-Remaining");
  CHECK(f[0].cls == HealthClass::rate_limited);
  CHECK(f[0].value == "2 of 60 left");
  CHECK_THAT(f[0].detail, Catch::EndsWith("; it resets in 300 s"));
  // Delta seconds stay delta seconds; an ok budget names no reset.
  auto delta = rate_limit_findings(
      {{"x-ratelimit-limit", "60"}, {"x-ratelimit-remaining", "1"}, {"x-ratelimit-reset", "20"}}, k_now);
  REQUIRE(delta.size() == 1);
  CHECK_THAT(delta[0].detail, Catch::EndsWith("; it resets in 20 s"));
  auto ok = rate_limit_findings(
      {{"x-ratelimit-limit", "60"}, {"x-ratelimit-remaining", "50"}, {"x-ratelimit-reset", reset}}, k_now);
  REQUIRE(ok.size() == 1);
  CHECK(ok[0].cls == HealthClass::ok);
  CHECK(ok[0].detail == "the request budget is 17% used");
  // The IETF split fields, named as before.
  auto split = rate_limit_findings(
      {{"ratelimit-limit", "100"}, {"ratelimit-remaining", "5"}, {"ratelimit-reset", "1.5"}}, k_now);
  REQUIRE(split.size() == 1);
  CHECK(split[0].signal == "RateLimit-Remaining");
  CHECK_THAT(split[0].detail, Catch::EndsWith("; it resets in 2 s"));
}

TEST_CASE("vendor codes in error bodies: Graph, Twilio, HubSpot, Telegram", "[health]") {
  auto graph = [](const std::string& code, const std::string& sub = "") {
    return vendor_code_findings("graph", R"({"error":{"message":"m","type":"OAuthException","code":)" + code +
                                             (sub.empty() ? "" : R"(,"error_subcode":)" + sub) +
                                             R"(,"fbtrace_id":"Ax"}})");
  };
  for (const char* sub : {"458", "459", "460", "463", "464", "467"}) {
    INFO(sub);
    const auto f = graph("190", sub);
    REQUIRE(f.size() == 1);
    CHECK(f[0].cls == HealthClass::auth_failed);
    CHECK(f[0].value == std::string("190/") + sub);
    CHECK_FALSE(f[0].action.empty());
  }
  CHECK_THAT(graph("190", "463")[0].detail, Catch::Contains("expired"));
  CHECK_THAT(graph("190", "460")[0].detail, Catch::Contains("password"));
  CHECK_THAT(graph("10")[0].detail, Catch::Contains("permission"));
  CHECK(graph("10")[0].cls == HealthClass::auth_failed);
  CHECK(graph("200")[0].cls == HealthClass::auth_failed);
  CHECK(graph("299")[0].cls == HealthClass::auth_failed);
  CHECK(graph("300").empty());
  CHECK(graph("368")[0].cls == HealthClass::restricted);
  CHECK(graph("131031")[0].cls == HealthClass::restricted);
  for (const char* c : {"4", "17", "32", "613", "130429", "80001", "80006", "80014"})
    CHECK(graph(c)[0].cls == HealthClass::rate_limited);
  CHECK(graph("12")[0].cls == HealthClass::deprecated);
  CHECK(graph("100").empty());
  CHECK(graph("80015").empty());

  CHECK(
      vendor_code_findings(
          "twilio",
          R"({"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401})")
          [0]
              .cls == HealthClass::auth_failed);
  CHECK(vendor_code_findings("twilio", R"({"code": 20429, "message": "Too Many Requests", "status": 429})")[0].cls ==
        HealthClass::rate_limited);
  CHECK(vendor_code_findings("twilio", R"({"code": 20404, "message": "Not found", "status": 404})").empty());

  const auto hs = vendor_code_findings(
      "hubspot",
      R"({"status":"error","message":"Authentication credentials not found.","correlationId":"4d8e","category":"INVALID_AUTHENTICATION"})");
  REQUIRE(hs.size() == 1);
  CHECK(hs[0].cls == HealthClass::auth_failed);
  CHECK(hs[0].value == "INVALID_AUTHENTICATION");
  CHECK(vendor_code_findings("hubspot", R"({"status":"error","category":"EXPIRED_AUTHENTICATION"})")[0].cls ==
        HealthClass::auth_failed);
  CHECK(
      vendor_code_findings(
          "hubspot",
          R"({"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","policyName":"DAILY"})")
          [0]
              .cls == HealthClass::rate_limited);

  CHECK(vendor_code_findings("telegram", R"({"ok":false,"error_code":401,"description":"Unauthorized"})")[0].cls ==
        HealthClass::auth_failed);
  CHECK(vendor_code_findings("graph", "<html>502 Bad Gateway</html>").empty());
  CHECK(vendor_code_findings("", R"({"code": 20003})").empty());
}

TEST_CASE("facebook-api-version differing from the version requested is gone", "[health]") {
  const auto f = api_version_findings({{"facebook-api-version", "v20.0"}}, "v18.0");
  REQUIRE(f.size() == 1);
  CHECK(f[0].cls == HealthClass::gone);
  CHECK(f[0].value == "v20.0");
  CHECK_THAT(f[0].detail, Catch::Contains("v18.0 has expired"));
  CHECK(api_version_findings({{"facebook-api-version", "v23.0"}}, "v23.0").empty());
  CHECK(api_version_findings({}, "v23.0").empty());
  CHECK(api_version_findings({{"facebook-api-version", "v23.0"}}, "").empty());
}

TEST_CASE("vendor_of names the vendor a connector type speaks", "[health]") {
  CHECK(vendor_of("meta-messenger") == "graph");
  CHECK(vendor_of("whatsapp-cloud") == "graph");
  CHECK(vendor_of("twilio-conversations") == "twilio");
  CHECK(vendor_of("hubspot-contacts") == "hubspot");
  CHECK(vendor_of("telegram-bot") == "telegram");
  CHECK(vendor_of("csv-contacts").empty());
}

TEST_CASE("credential expiry: expired is auth_failed, within the warning days deprecated, later ok", "[health]") {
  constexpr Timestamp day = 24LL * 3'600'000;
  const CredentialExpiry past{"access token", k_now - day, "create a new token"};
  const auto expired = expiry_finding(past, k_now, 14);
  CHECK(expired.cls == HealthClass::auth_failed);
  CHECK(expired.signal == "access token expiry");
  CHECK_THAT(expired.detail, Catch::Contains("expired on 2026-11-30"));
  CHECK(expired.action == "create a new token");

  const auto soon = expiry_finding({"data access", k_now + 5 * day - 1000, "log in again"}, k_now, 14);
  CHECK(soon.cls == HealthClass::deprecated);
  CHECK(soon.at == k_now + 5 * day - 1000);
  CHECK_THAT(soon.detail, Catch::Contains("expires on 2026-12-05") && Catch::Contains("5 days left"));
  CHECK_THAT(soon.action, Catch::StartsWith("before then: log in again"));

  CHECK(expiry_finding({"access token", k_now + 14 * day, "x"}, k_now, 14).cls == HealthClass::deprecated);
  CHECK(expiry_finding({"access token", k_now + 14 * day + 1, "x"}, k_now, 14).cls == HealthClass::ok);
  CHECK(expiry_finding({"access token", k_now + 20 * day, "x"}, k_now, 14).cls == HealthClass::ok);
  CHECK(expiry_finding({"access token", k_now + 20 * day, "x"}, k_now, 30).cls == HealthClass::deprecated);
}
