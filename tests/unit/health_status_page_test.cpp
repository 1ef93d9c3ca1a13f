#include "sync/health_status_page.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/support/fake_server.hpp"

using namespace chansync;
using chansync::test::fixture;

namespace {

const std::string k_url = "https://status.twilio.com/api/v2/summary.json";

StatusPageFetch page(std::string body, std::string type = "application/json; charset=utf-8") {
  return {200, std::move(type), std::move(body), ""};
}

std::string summary_with(const std::string& indicator) {
  return R"({"page":{"id":"p","name":"HubSpot","url":"https://status.hubspot.com"},"components":[],"incidents":[],)"
         R"("status":{"indicator":")" +
         indicator + R"(","description":"described"}})";
}

HealthReport ok_probe() {
  HealthReport r{"sms", "twilio-messaging"};
  add_finding(r, {HealthClass::ok, "HTTP status", "200", "ok (HTTP 200, 40 ms)", ""});
  return r;
}

}  // namespace

TEST_CASE("status page: without components the page indicator decides", "[health][statuspage]") {
  const std::vector<std::string> none;
  const std::vector<std::pair<std::string, HealthClass>> cases = {{"none", HealthClass::ok},
                                                                  {"minor", HealthClass::ok},
                                                                  {"maintenance", HealthClass::ok},
                                                                  {"major", HealthClass::degraded},
                                                                  {"critical", HealthClass::degraded}};
  for (const auto& [indicator, cls] : cases) {
    const auto fs = status_page_findings(page(summary_with(indicator)), k_url, none);
    REQUIRE(fs.size() == 1);
    CHECK(fs[0].cls == cls);
    CHECK(fs[0].signal == "status page");
    CHECK(fs[0].value == indicator);
    CHECK_THAT(fs[0].detail, Catch::Contains("HubSpot status page reports \"described\""));
    CHECK(fs[0].action.empty() == (cls == HealthClass::ok));
  }
  const auto odd = status_page_findings(page(summary_with("purple")), k_url, none);
  REQUIRE(odd.size() == 1);
  CHECK(odd[0].cls == HealthClass::unknown);
  CHECK_THAT(odd[0].detail, Catch::StartsWith("status page not checked:"));
}

TEST_CASE("status page: named components decide, with the incidents that affect them", "[health][statuspage]") {
  const auto body = fixture("statuspage/summary_sms_outage.json");
  const std::vector<std::string> watched = {"sms", "Programmable Voice", "REST API", "Conversations", "Fax"};
  const auto fs = status_page_findings(page(body), k_url, watched);
  REQUIRE(fs.size() == 5);
  // SMS is listed twice (two groups): the worse status counts, case-insensitively matched, and its
  // group is named, with how to watch one group's alone.
  CHECK(fs[0].cls == HealthClass::outage);
  CHECK(fs[0].value == "SMS: partial_outage");
  CHECK_THAT(fs[0].detail, Catch::Contains("Twilio status page reports SMS (North America) partial_outage") &&
                               Catch::Contains("\"Delayed SMS delivery to US and Canada\" (identified)") &&
                               !Catch::Contains("Voice call quality") && !Catch::Contains("billing page"));
  CHECK_THAT(fs[0].action, Catch::Contains("https://status.twilio.com") && Catch::Contains("\"GROUP/SMS\""));
  const std::vector<std::string> europe = {"Europe/SMS", "europe/sms", "Asia/SMS"};
  const auto in_group = status_page_findings(page(body), k_url, europe);
  REQUIRE(in_group.size() == 3);
  CHECK(in_group[0].cls == HealthClass::ok);  // North America's outage is not Europe's
  CHECK(in_group[0].value == "SMS: operational");
  CHECK(in_group[1].cls == HealthClass::ok);
  CHECK(in_group[2].cls == HealthClass::unknown);
  CHECK_THAT(in_group[2].detail, Catch::Contains("Europe/SMS") && Catch::Contains("North America/SMS"));
  CHECK(fs[1].cls == HealthClass::degraded);
  CHECK_THAT(fs[1].detail, Catch::Contains("Voice call quality issues in Europe"));
  CHECK(fs[2].cls == HealthClass::ok);
  CHECK(fs[2].value == "REST API: operational");
  CHECK(fs[3].cls == HealthClass::degraded);
  CHECK(fs[3].value == "Conversations: under_maintenance");
  // A name the page does not list is a configuration mistake, never ok.
  CHECK(fs[4].cls == HealthClass::unknown);
  CHECK_THAT(fs[4].detail, Catch::Contains("no component \"Fax\"") && Catch::Contains("REST API"));
  CHECK_THAT(fs[4].action, Catch::Contains("status_components"));
}

TEST_CASE("status page: an incident without a components key (older pages) is put on no component",
          "[health][statuspage]") {
  const std::string body =
      R"({"page":{"id":"p","name":"Twilio","url":"https://status.twilio.com"},)"
      R"("components":[{"id":"c1","name":"SMS","status":"partial_outage","group":false,"group_id":null}],)"
      R"("incidents":[{"id":"i1","name":"Console slow","status":"investigating"}],)"
      R"("status":{"indicator":"minor","description":"Minor Service Outage"}})";
  const std::vector<std::string> watched = {"SMS"};
  const auto fs = status_page_findings(page(body), k_url, watched);
  REQUIRE(fs.size() == 1);
  CHECK(fs[0].cls == HealthClass::outage);
  CHECK_THAT(fs[0].detail, !Catch::Contains("Console slow"));
  const auto whole = status_page_findings(page(body), k_url, {});
  REQUIRE(whole.size() == 1);
  CHECK_THAT(whole[0].detail, Catch::Contains("Console slow"));  // the whole page's view lists it
}

TEST_CASE("status page: HTML, invalid JSON, an error status or no answer are unknown, never ok",
          "[health][statuspage]") {
  const std::vector<std::string> none;
  const auto html = status_page_findings(page("<!DOCTYPE html><html>All good</html>", "text/html"), k_url, none);
  const auto html_as_json = status_page_findings(page("  <html>maintenance</html>"), k_url, none);
  const auto cut = status_page_findings(page(R"({"page":{"id":)"), k_url, none);
  const auto other_json = status_page_findings(page(R"({"ok":true})"), k_url, none);
  const auto server_error = status_page_findings({503, "text/plain", "busy", ""}, k_url, none);
  const auto unreachable = status_page_findings({0, "", "", "Could not resolve host: status.twilio.com"}, k_url, none);
  for (const auto* fs : {&html, &html_as_json, &cut, &other_json, &server_error, &unreachable}) {
    REQUIRE(fs->size() == 1);
    CHECK(fs->front().cls == HealthClass::unknown);
    CHECK_THAT(fs->front().detail, Catch::StartsWith("status page not checked:"));
    CHECK_FALSE(fs->front().action.empty());
  }
  CHECK(html[0].value == "HTML");
  CHECK(cut[0].value == "invalid JSON");
  CHECK(server_error[0].value == "HTTP 503");
  CHECK_THAT(unreachable[0].detail, Catch::Contains("Could not resolve host"));
}

TEST_CASE("status page: an unreadable page keeps the connector's class and says what was not checked",
          "[health][statuspage]") {
  auto r = ok_probe();
  for (auto& f : status_page_findings(page("<html></html>", "text/html"), k_url, {})) add_signal_finding(r, f);
  CHECK(r.cls == HealthClass::ok);
  CHECK_THAT(r.summary, Catch::Contains("ok (HTTP 200") && Catch::Contains("status page not checked"));
  CHECK(r.findings.size() == 2);

  auto down = ok_probe();
  for (auto& f : status_page_findings(page(summary_with("major")), k_url, {})) add_signal_finding(down, f);
  // The whole page's outage may be another product's: a warning saying how to tell (CRITICAL paged
  // on-call for an unrelated product while the probe answered 200).
  CHECK(down.cls == HealthClass::degraded);
  CHECK_THAT(down.summary, Catch::Contains("indicator major") && Catch::Contains("may be another of its products"));
  CHECK_THAT(down.action, Catch::Contains("status_components"));
}

TEST_CASE("status page: the summary URL is built from the page's", "[health][statuspage]") {
  CHECK(status_summary_url("https://status.twilio.com") == "https://status.twilio.com/api/v2/summary.json");
  CHECK(status_summary_url("https://status.twilio.com/") == "https://status.twilio.com/api/v2/summary.json");
  CHECK(status_summary_url("http://127.0.0.1:9/mirror/summary.json") == "http://127.0.0.1:9/mirror/summary.json");
}

TEST_CASE("status page: an unreadable page stays beside the class when later findings settle it",
          "[health][statuspage]") {
  auto r = ok_probe();
  for (auto& f : status_page_findings({0, "", "", "timeout"}, k_url, {})) add_signal_finding(r, f);
  // A later signal (the versions table, silence) settles the report again: still ok, still named.
  add_finding(r, {HealthClass::ok, "API version table", "v23.0", "v23.0 is served until 2027-06-09", ""});
  CHECK(r.cls == HealthClass::ok);
  CHECK_THAT(r.summary, Catch::Contains("status page not checked") && Catch::Contains("timeout"));
  // A real problem still decides.
  add_finding(r, {HealthClass::rate_limited, "HTTP status", "429", "rate limited", "wait"});
  CHECK(r.cls == HealthClass::rate_limited);
}
