#pragma once
// Timestamps: UTC milliseconds since the Unix epoch, and the text formats vendors use.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chansync {

using Timestamp = std::int64_t;  // UTC milliseconds since 1970-01-01T00:00:00Z

// Parses an RFC 2822 date ("Thu, 30 Jul 2015 20:12:31 +0000"; weekday optional, numeric or
// "GMT"/"UT"/"Z" zones). Returns nullopt on anything else.
std::optional<Timestamp> parse_rfc2822(std::string_view text);

// Parses RFC 3339 / ISO 8601 ("2024-05-01T10:00:00Z", "...:00.123+02:00"). nullopt if malformed.
std::optional<Timestamp> parse_rfc3339(std::string_view text);

// Parses an HTTP-date (IMF-fixdate, RFC 9110), as used by Retry-After and Sunset.
std::optional<Timestamp> parse_http_date(std::string_view text);

// "2024-05-01T10:00:00.000Z" (always UTC, milliseconds).
std::string format_rfc3339(Timestamp ts);

// "2024-05-01" (UTC day).
std::string format_date(Timestamp ts);

// "Wed, 01 May 2024 10:00:00 +0000" — the format Twilio emits.
std::string format_rfc2822(Timestamp ts);

// Wall-clock now.
Timestamp now_ms();

// Days since epoch ↔ civil date (proleptic Gregorian), exposed for the parsers and tests.
std::int64_t days_from_civil(int year, unsigned month, unsigned day);

}  // namespace chansync
