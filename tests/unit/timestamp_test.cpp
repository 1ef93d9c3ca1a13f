#include "sync/timestamp.hpp"

#include <catch2/catch.hpp>

using namespace chansync;

TEST_CASE("RFC 2822 dates as Twilio sends them parse to UTC milliseconds") {
  CHECK(parse_rfc2822("Thu, 30 Jul 2015 20:12:31 +0000") == 1438287151000);
  CHECK(parse_rfc2822("Thu, 30 Jul 2015 22:12:31 +0200") == 1438287151000);
  CHECK(parse_rfc2822("30 Jul 2015 20:12:31 GMT") == 1438287151000);
  CHECK_FALSE(parse_rfc2822("2015-07-30T20:12:31Z"));
  CHECK_FALSE(parse_rfc2822("Thu, 31 Feb 2015 20:12:31 +0000"));
  CHECK_FALSE(parse_rfc2822("yesterday"));
}

TEST_CASE("RFC 3339 parses offsets and fractions and round-trips through format_rfc3339") {
  CHECK(parse_rfc3339("2024-05-01T10:00:00Z") == parse_rfc3339("2024-05-01T12:00:00+02:00"));
  CHECK(parse_rfc3339("2024-05-01T10:00:00.5Z").value() % 1000 == 500);
  const Timestamp t = *parse_rfc3339("2024-02-29T23:59:59.123Z");
  CHECK(format_rfc3339(t) == "2024-02-29T23:59:59.123Z");
  CHECK(format_date(t) == "2024-02-29");
  CHECK(parse_rfc2822(format_rfc2822(t)) == t - 123);
  CHECK_FALSE(parse_rfc3339("2024-05-01 10:00"));
}
