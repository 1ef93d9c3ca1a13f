#pragma once
// Timestamps: UTC milliseconds since the Unix epoch, and the text formats vendors use.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chansync {

using Timestamp = std::int64_t;  // UTC milliseconds since 1970-01-01T00:00:00Z

// Every parser below returns nullopt for malformed text and for dates that do not exist (31 April,
// 29 February outside leap years, hour 24, minute 60) or whose named weekday is not the date's.
// A leap second (":60") is accepted only at 23:59:60 UTC and maps to 23:59:59, since Unix time has none.
// Month, weekday and zone names are case-insensitive. Years 0000-9999.

// Parses an RFC 2822 date ("Thu, 30 Jul 2015 20:12:31 +0000"; weekday and seconds optional; zone
// ±HHMM, "GMT"/"UT"/"UTC"/"Z" or the US zones EST/EDT/CST/CDT/MST/MDT/PST/PDT).
std::optional<Timestamp> parse_rfc2822(std::string_view text);

// Parses RFC 3339 / ISO 8601 ("2024-05-01T10:00:00Z", "...:00.123+02:00", and the basic offset
// "2026-10-01T09:00:00+0000" Meta's Graph API sends); digits past milliseconds are truncated.
std::optional<Timestamp> parse_rfc3339(std::string_view text);

// Parses an HTTP-date (RFC 9110 §5.6.7), as used by Retry-After and Sunset: IMF-fixdate (or any
// RFC 2822 form) and the obsolete RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime
// ("Sun Nov  6 08:49:37 1994") forms. A two-digit RFC 850 year more than 50 years after `now`'s
// year is read as the previous century.
std::optional<Timestamp> parse_http_date(std::string_view text, Timestamp now);

// parse_http_date against the wall clock.
std::optional<Timestamp> parse_http_date(std::string_view text);

// "2024-05-01T10:00:00.000Z" (always UTC, milliseconds).
std::string format_rfc3339(Timestamp ts);
// The same, appended to `out`: a push writes one per message.
void append_rfc3339(std::string& out, Timestamp ts);

// "2024-05-01" (UTC day).
std::string format_date(Timestamp ts);

// "Wed, 01 May 2024 10:00:00 +0000" — the format Twilio emits.
std::string format_rfc2822(Timestamp ts);

// Wall-clock now.
Timestamp now_ms();

}  // namespace chansync
