#include "sync/timestamp.hpp"

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <random>
#include <string_view>
#include <vector>

using namespace chansync;
namespace chr = std::chrono;

namespace {

// Expected values computed independently with `date -u -d '<date>' +%s`.
struct Valid {
  std::string_view text;
  Timestamp ms;
};

}  // namespace

TEST_CASE("RFC 2822 dates as Twilio sends them parse to UTC milliseconds", "[timestamp]") {
  CHECK(parse_rfc2822("Thu, 30 Jul 2015 20:12:31 +0000") == 1438287151000);
  CHECK(parse_rfc2822("Thu, 30 Jul 2015 22:12:31 +0200") == 1438287151000);
  CHECK(parse_rfc2822("30 Jul 2015 20:12:31 GMT") == 1438287151000);
  CHECK_FALSE(parse_rfc2822("2015-07-30T20:12:31Z"));
  CHECK_FALSE(parse_rfc2822("Thu, 31 Feb 2015 20:12:31 +0000"));
  CHECK_FALSE(parse_rfc2822("yesterday"));
}

TEST_CASE("RFC 3339 parses offsets and fractions and round-trips through format_rfc3339", "[timestamp]") {
  CHECK(parse_rfc3339("2024-05-01T10:00:00Z") == parse_rfc3339("2024-05-01T12:00:00+02:00"));
  CHECK(parse_rfc3339("2024-05-01T10:00:00.5Z").value() % 1000 == 500);
  const Timestamp t = *parse_rfc3339("2024-02-29T23:59:59.123Z");
  CHECK(format_rfc3339(t) == "2024-02-29T23:59:59.123Z");
  CHECK(format_date(t) == "2024-02-29");
  CHECK(parse_rfc2822(format_rfc2822(t)) == t - 123);
  CHECK_FALSE(parse_rfc3339("2024-05-01 10:00"));
}

TEST_CASE("Graph API times with a basic offset (+0000, no colon) parse like RFC 3339 ones", "[timestamp][meta]") {
  CHECK(parse_rfc3339("2026-10-01T09:00:00+0000") == parse_rfc3339("2026-10-01T09:00:00Z"));
  CHECK(parse_rfc3339("2026-10-01T11:30:00+0230") == parse_rfc3339("2026-10-01T09:00:00Z"));
  CHECK(parse_rfc3339("2026-10-01T04:00:00-0500") == parse_rfc3339("2026-10-01T09:00:00Z"));
  CHECK(format_rfc3339(*parse_rfc3339("2026-10-01T09:00:00+0000")) == "2026-10-01T09:00:00.000Z");
  for (const auto text : {"2026-10-01T09:00:00+000", "2026-10-01T09:00:00+00000", "2026-10-01T09:00:00+2400",
                          "2026-10-01T09:00:00+0060", "2026-10-01T09:00:00+00:"}) {
    INFO(text);
    CHECK_FALSE(parse_rfc3339(text));
  }
}

TEST_CASE("RFC 2822 accepts real dates in every zone form and rejects impossible dates and wrong weekdays",
          "[timestamp]") {
  const Valid valid[] = {
      {"Thu, 30 Jul 2015 20:12:31 +0000", 1438287151000},
      {"Thu, 30 Jul 2015 22:12:31 +0200", 1438287151000},
      {"Thu, 30 Jul 2015 15:12:31 -0500", 1438287151000},
      {"30 Jul 2015 20:12:31 GMT", 1438287151000},
      {"Thu, 30 Jul 2015 20:12:31 UT", 1438287151000},
      {"Thu, 30 Jul 2015 20:12:31 UTC", 1438287151000},
      {"Thu, 30 Jul 2015 20:12:31 Z", 1438287151000},
      {"Thu, 30 Jul 2015 16:12:31 EDT", 1438287151000},
      {"Thu, 30 Jul 2015 13:12:31 PDT", 1438287151000},
      {"Thu, 30 Jul 2015 12:12:31 PST", 1438287151000},
      {"thu, 30 jul 2015 20:12:31 gmt", 1438287151000},
      {"Thu,30 Jul 2015 20:12:31 +0000", 1438287151000},
      {"  Thu, 30 Jul 2015 20:12:31 +0000  ", 1438287151000},
      {"Thu, 30 Jul 2015 20:12 +0000", 1438287120000},
      {"Thu, 1 Jan 1970 00:00:00 +0000", 0},
      {"Fri, 01 Jan 2016 00:30:00 +0100", 1451604600000},
      {"Tue, 29 Feb 2000 12:00:00 +0000", 951825600000},
      {"Mon, 29 Feb 2016 00:00:00 +0000", 1456704000000},
      {"Thu, 29 Feb 2024 23:59:59 +0000", 1709251199000},
      {"Sun, 20 Jul 1969 20:17:40 +0000", -14182940000},
      {"Sat, 31 Dec 2016 23:59:60 +0000", 1483228799000},  // leap second, held at :59
      {"Sat, 31 Dec 2016 18:59:60 EST", 1483228799000},
  };
  for (const auto& [text, ms] : valid) {
    INFO(text);
    CHECK(parse_rfc2822(text) == ms);
  }
  const std::string_view invalid[] = {
      "Sun, 29 Feb 2015 20:12:31 +0000",  // 2015 is no leap year (1 March 2015 was a Sunday)
      "29 Feb 2015 20:12:31 +0000",
      "Thu, 29 Feb 1900 00:00:00 +0000",  // divisible by 100, not by 400
      "Mon, 29 Feb 2100 00:00:00 +0000",
      "Fri, 29 Feb 2016 00:00:00 +0000",  // 29 Feb 2016 was a Monday
      "Fri, 30 Jul 2015 20:12:31 +0000",
      "Thx, 30 Jul 2015 20:12:31 +0000",
      "Thursday, 30 Jul 2015 20:12:31 +0000",
      "Thu, 31 Apr 2015 20:12:31 +0000",
      "Thu, 31 Feb 2015 20:12:31 +0000",
      "Thu, 00 Jul 2015 20:12:31 +0000",
      "Thu, 30 Jux 2015 20:12:31 +0000",
      "Thu, 30 Jul 2015 24:00:00 +0000",
      "Thu, 30 Jul 2015 20:60:00 +0000",
      "Thu, 30 Jul 2015 20:12:61 +0000",
      "Thu, 30 Jul 2015 20:12:60 +0000",  // a leap second only ever ends a UTC day
      "Thu, 30 Jul 2015 20:12:31",
      "Thu, 30 Jul 2015 20:12:31 +0060",
      "Thu, 30 Jul 2015 20:12:31 +2400",
      "Thu, 30 Jul 2015 20:12:31 CET",
      "Thu, 30 Jul 15 20:12:31 +0000",
      "Thu, 30 Jul 2015 20:12:31 +0000 x",
      "Thu, 30Jul2015 20:12:31 +0000",
      "2015-07-30T20:12:31Z",
      "yesterday",
      "",
  };
  for (const auto text : invalid) {
    INFO(text);
    CHECK_FALSE(parse_rfc2822(text));
  }
}

TEST_CASE("RFC 3339 accepts real dates with fractions, offsets and leap seconds and rejects impossible ones",
          "[timestamp]") {
  const Valid valid[] = {
      {"2024-05-01T10:00:00Z", 1714557600000},
      {"2024-05-01T12:00:00+02:00", 1714557600000},
      {"2024-05-01T05:30:00-04:30", 1714557600000},
      {"2024-05-01t10:00:00z", 1714557600000},
      {"2024-05-01 10:00:00Z", 1714557600000},
      {"2024-05-01T10:00:00.5Z", 1714557600500},
      {"2024-05-01T10:00:00.123456789Z", 1714557600123},  // finer than a millisecond is truncated
      {"2024-02-29T23:59:59.123Z", 1709251199123},
      {"2024-02-29T00:00:00Z", 1709164800000},
      {"2000-02-29T00:00:00Z", 951782400000},
      {"1970-01-01T00:00:00Z", 0},
      {"1969-07-20T20:17:40Z", -14182940000},
      {"0001-01-01T00:00:00Z", -62135596800000},
      {"2016-12-31T23:59:60Z", 1483228799000},
      {"2016-12-31T23:59:60.5Z", 1483228799500},
      {"2017-01-01T00:59:60+01:00", 1483228799000},
  };
  for (const auto& [text, ms] : valid) {
    INFO(text);
    CHECK(parse_rfc3339(text) == ms);
  }
  const std::string_view invalid[] = {
      "2015-02-29T00:00:00Z",
      "1900-02-29T00:00:00Z",
      "2100-02-29T00:00:00Z",
      "2024-04-31T00:00:00Z",
      "2024-13-01T00:00:00Z",
      "2024-00-10T00:00:00Z",
      "2024-05-00T00:00:00Z",
      "2024-05-01T24:00:00Z",
      "2024-05-01T10:60:00Z",
      "2024-05-01T10:00:61Z",
      "2024-05-01T10:00:60Z",
      "2024-05-01 10:00",
      "2024-05-01T10:00:00",
      "2024-05-01T10:00:00+24:00",
      "2024-05-01T10:00:00+02:60",
      "2024-05-01T10:00:00.Z",
      "2024-5-1T10:00:00Z",
      "24-05-01T10:00:00Z",
      "2024-05-01T10:00:00Z ",
      "Wed, 01 May 2024 10:00:00 +0000",
      "",
  };
  for (const auto text : invalid) {
    INFO(text);
    CHECK_FALSE(parse_rfc3339(text));
  }
}

TEST_CASE("HTTP-date accepts IMF-fixdate, RFC 850 and asctime, reading two-digit years per RFC 9110", "[timestamp]") {
  const Timestamp mid_2025 = 1748736000000;    // 2025-06-01T00:00:00Z
  const Timestamp start_2024 = 1704067200000;  // 2024-01-01T00:00:00Z
  struct Case {
    std::string_view text;
    Timestamp now, ms;
  };
  const Case valid[] = {
      {"Sun, 06 Nov 1994 08:49:37 GMT", mid_2025, 784111777000},
      {"Sunday, 06-Nov-94 08:49:37 GMT", mid_2025, 784111777000},
      {"Sun Nov  6 08:49:37 1994", mid_2025, 784111777000},
      {"Wed Nov 16 08:49:37 1994", mid_2025, 784975777000},
      {"Sat, 31 Dec 2033 23:59:59 GMT", mid_2025, 2019686399000},
      {"Saturday, 31-Dec-33 23:59:59 GMT", mid_2025, 2019686399000},
      {"Saturday, 31-Dec-2033 23:59:59 GMT", mid_2025, 2019686399000},
      {"Thu Feb 29 00:00:00 2024", mid_2025, 1709164800000},
      {"Thursday, 29-Feb-24 00:00:00 GMT", mid_2025, 1709164800000},
      // 2075 is exactly 50 years after 2025, so not "more than 50 years in the future".
      {"Tuesday, 01-Jan-75 00:00:00 GMT", mid_2025, 3313526400000},
      {"Thursday, 01-Jan-76 00:00:00 GMT", mid_2025, 189302400000},
      {"Wednesday, 01-Jan-75 00:00:00 GMT", start_2024, 157766400000},
  };
  for (const auto& [text, now, ms] : valid) {
    INFO(text);
    CHECK(parse_http_date(text, now) == ms);
  }
  const std::string_view invalid[] = {
      "Sun, 29 Feb 2015 08:49:37 GMT",
      "Mon, 06 Nov 1994 08:49:37 GMT",
      "Monday, 06-Nov-94 08:49:37 GMT",
      "Sunday, 29-Feb-15 08:49:37 GMT",
      "Thursday, 31-Apr-24 08:49:37 GMT",
      "Sunday, 06-Nov-94 08:49:37 +0000",
      "Sunday, 06-Nov-994 08:49:37 GMT",
      "Sunday, 06-Nov-94 24:49:37 GMT",
      "Tuesday, 01-Jan-75 00:00:00 GMT",  // seen from 2024, "75" is 1975, a Wednesday
      "Mon Nov  6 08:49:37 1994",
      "Sun Feb 29 08:49:37 2015",
      "Sun Nov  6 08:49:37 94",
      "Sun Nov  6 08:49:37 1994 GMT",
      "Sun Nov  6 08:49 1994",
      "30",
      "",
  };
  for (const auto text : invalid) {
    INFO(text);
    CHECK_FALSE(parse_http_date(text, start_2024));
  }
  CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777000);
}

TEST_CASE("format_rfc3339, format_rfc2822 and format_date round-trip, before 1970 too", "[timestamp]") {
  struct Case {
    Timestamp ms;
    std::string_view rfc3339, rfc2822, date;
    Timestamp whole_seconds;  // RFC 2822 has no fraction
  };
  const Case cases[] = {
      {0, "1970-01-01T00:00:00.000Z", "Thu, 01 Jan 1970 00:00:00 +0000", "1970-01-01", 0},
      {1709251199123, "2024-02-29T23:59:59.123Z", "Thu, 29 Feb 2024 23:59:59 +0000", "2024-02-29", 1709251199000},
      {951782400000, "2000-02-29T00:00:00.000Z", "Tue, 29 Feb 2000 00:00:00 +0000", "2000-02-29", 951782400000},
      {-1, "1969-12-31T23:59:59.999Z", "Wed, 31 Dec 1969 23:59:59 +0000", "1969-12-31", -1000},
      {-14182940000, "1969-07-20T20:17:40.000Z", "Sun, 20 Jul 1969 20:17:40 +0000", "1969-07-20", -14182940000},
      {-62135596800000, "0001-01-01T00:00:00.000Z", "Mon, 01 Jan 0001 00:00:00 +0000", "0001-01-01", -62135596800000},
  };
  for (const auto& c : cases) {
    INFO(c.rfc3339);
    CHECK(format_rfc3339(c.ms) == c.rfc3339);
    CHECK(format_rfc2822(c.ms) == c.rfc2822);
    CHECK(format_date(c.ms) == c.date);
    CHECK(parse_rfc3339(format_rfc3339(c.ms)) == c.ms);
    CHECK(parse_rfc2822(format_rfc2822(c.ms)) == c.whole_seconds);
    CHECK(parse_http_date(format_rfc2822(c.ms)) == c.whole_seconds);
  }
}

TEST_CASE("append_rfc3339 appends what the general format prints, at any millisecond of years 0-9999 and outside",
          "[timestamp]") {
  // The general format, as format_rfc3339 printed every time before the digits were written directly.
  const auto general = [](Timestamp ts) {
    const chr::sys_time<chr::milliseconds> t{chr::milliseconds{ts}};
    const auto day = chr::floor<chr::days>(t);
    const chr::year_month_day date{day};
    const chr::hh_mm_ss time{t - day};
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(date.year()),
                       static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), time.hours().count(),
                       time.minutes().count(), time.seconds().count(), time.subseconds().count());
  };
  constexpr Timestamp year_0 = -62167219200000, year_10000 = 253402300800000;
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<Timestamp> any(year_0 - 400LL * 365 * 86400000, year_10000 + 400LL * 365 * 86400000);
  std::vector<Timestamp> times = {0, -1, year_0, year_0 - 1, year_10000, year_10000 - 1, 1709251199123};
  for (int i = 0; i < 20000; ++i) times.push_back(any(rng));
  for (const Timestamp ts : times) {
    INFO(ts);
    std::string out = "x";
    append_rfc3339(out, ts);
    CHECK(out == "x" + general(ts));
    CHECK(format_rfc3339(ts) == general(ts));
  }
}
