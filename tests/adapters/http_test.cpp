#include "adapters/http.hpp"

#include <catch2/catch.hpp>
#include <ctime>

#include "sync/timestamp.hpp"
#include "tests/support/fake_server.hpp"

using namespace chansync;
using namespace chansync::adapters;
using chansync::test::FakeServer;
using chansync::test::Scripted;

namespace {

std::string http_date(std::int64_t ms) {
  const std::time_t t = ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

}  // namespace

TEST_CASE("Retry-After is read as delta-seconds or as an HTTP-date") {
  const std::int64_t now = 1'780'000'000'000;
  CHECK(parse_retry_after("120", now) == std::chrono::milliseconds(120'000));
  CHECK(parse_retry_after("0", now) == std::chrono::milliseconds(0));
  CHECK(parse_retry_after(http_date(now + 30'000), now) == std::chrono::milliseconds(30'000));
  CHECK(parse_retry_after(http_date(now - 5'000), now) == std::chrono::milliseconds(0));  // already past
  CHECK_FALSE(parse_retry_after("soon", now));
  CHECK_FALSE(parse_retry_after("-3", now));
  CHECK_FALSE(parse_retry_after("", now));
}

TEST_CASE("a 429 with an HTTP-date Retry-After waits until that date, then retries") {
  FakeServer server([](const httplib::Request&, std::size_t n) {
    if (n == 0) return Scripted{429, "{}", {{"Retry-After", http_date(now_ms() + 4'000)}}};
    return Scripted{200, R"({"ok":true})"};
  });
  std::vector<std::chrono::milliseconds> sleeps;
  HttpClient http(HttpOptions{.connector = "t", .sleep = [&](auto d) { sleeps.push_back(d); }});
  auto resp = http.send({"GET", server.base_url() + "/x"});
  REQUIRE(resp);
  CHECK(resp->status == 200);
  REQUIRE(sleeps.size() == 1);
  // The date has one-second resolution, so the wait is between 3 and 4 seconds.
  CHECK(sleeps[0] > std::chrono::milliseconds(2'900));
  CHECK(sleeps[0] <= std::chrono::milliseconds(4'000));
  CHECK(http.requests() == 2);
}

TEST_CASE("a Retry-After beyond the limit fails fast with the wait in the error") {
  FakeServer server([](const httplib::Request&, std::size_t) {
    return Scripted{429, "{}", {{"Retry-After", "3600"}}};
  });
  std::vector<std::chrono::milliseconds> sleeps;
  HttpClient http(HttpOptions{.connector = "t", .sleep = [&](auto d) { sleeps.push_back(d); }});
  auto resp = http.send({"GET", server.base_url() + "/x"});
  REQUIRE_FALSE(resp);
  CHECK(resp.error().code == Errc::rate_limited);
  CHECK(resp.error().retry_after == std::chrono::milliseconds(3'600'000));
  CHECK(sleeps.empty());
}
