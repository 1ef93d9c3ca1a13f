#include "sync/health.hpp"

#include <catch2/catch.hpp>

using namespace chansync;

namespace {
HealthReport with(int status, std::map<std::string, std::string> headers = {}, std::string transport = {}) {
  ProbeObservation o;
  o.http_status = status;
  o.headers = std::move(headers);
  o.transport_error = std::move(transport);
  return classify("c", "t", o);
}
}  // namespace

TEST_CASE("health classification maps evidence to classes and monitoring severities") {
  CHECK(with(200).cls == HealthClass::ok);
  CHECK(with(401).cls == HealthClass::auth_failed);
  CHECK(with(429, {{"retry-after", "30"}}).cls == HealthClass::rate_limited);
  CHECK_THAT(with(429, {{"retry-after", "30"}}).summary, Catch::Contains("Retry-After 30"));
  CHECK(with(503).cls == HealthClass::unreachable);
  CHECK(with(0, {}, "Connection refused").cls == HealthClass::unreachable);
  CHECK(with(410).cls == HealthClass::gone);
  CHECK(with(418).cls == HealthClass::unknown);
  const auto dep = with(200, {{"sunset", "Sat, 31 Dec 2033 23:59:59 GMT"}});
  CHECK(dep.cls == HealthClass::deprecated);
  REQUIRE(dep.sunset);
  CHECK(format_date(*dep.sunset) == "2033-12-31");
  CHECK(with(200, {{"deprecation", "@1798761600"}}).sunset == 1798761600000);
  CHECK(overall({with(200), with(429)}) == Severity::warning);
  CHECK(overall({with(429), with(401)}) == Severity::critical);
  CHECK(overall({with(200), with(418)}) == Severity::unknown);
  CHECK(overall({}) == Severity::ok);
  CHECK(to_string(severity_of(with(403).cls)) == std::string("CRITICAL"));
}

TEST_CASE("a stream's health is how its last pull ended") {
  const auto ok = stream_health("sms", "twilio-messaging", "conversations", 1'780'000'000'000, "", "", 42);
  CHECK(ok.cls == HealthClass::ok);
  CHECK(ok.stream == "conversations");
  CHECK_THAT(ok.summary, Catch::Contains("42 records"));
  CHECK(stream_health("c", "t", "s", 1, "HTTP 401", "auth", 0).cls == HealthClass::auth_failed);
  CHECK(stream_health("c", "t", "s", 1, "HTTP 503", "unavailable", 0).cls == HealthClass::unreachable);
  CHECK(stream_health("c", "t", "s", 1, "HTTP 429", "rate_limited", 0).cls == HealthClass::rate_limited);
  const auto bad = stream_health("c", "t", "s", 1, "page is not valid JSON", "protocol", 0);
  CHECK(bad.cls == HealthClass::unknown);  // never ok: the stream is not known to be flowing
  CHECK_THAT(bad.summary, Catch::Contains("page is not valid JSON") && Catch::Contains("next pull resumes"));
}
