#pragma once
// A request budget as a response states it: the IETF RateLimit / RateLimit-Policy fields and the
// X-RateLimit-* family read into one Budget. Read once, here, for both of its readers: the pacing of
// requests (adapters/rate_limit) and the rate-limit headroom health reports (sync/health_signals).
// Pure: the time comes in as an argument.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace chansync {

using HeaderMap = std::map<std::string, std::string>;  // names lower-case

// One response's word on a request budget: `limit` requests per `window`, `remaining` of them left,
// the current window ending in `reset` (from the response's time). Unknown parts are nullopt.
struct Budget {
  double limit = 0;
  std::optional<double> remaining;
  std::optional<std::chrono::milliseconds> window;
  std::optional<std::chrono::milliseconds> reset;
};

// IETF draft-ietf-httpapi-ratelimit-headers: `RateLimit: "default";r=50;t=30` with
// `RateLimit-Policy: "default";q=100;w=60` (draft 08+: first policy item), the older
// `RateLimit: limit=100, remaining=50, reset=30`, and `RateLimit-Limit/-Remaining/-Reset`.
// nullopt when none is present or readable (a limit is needed); negative figures are unreadable.
std::optional<Budget> parse_ietf_ratelimit(const HeaderMap& headers);

// A header's number ("30", " 4.5 ", "\"100\""): spaces, tabs and quotes around it allowed; nullopt
// for anything else, a negative or a non-finite value.
std::optional<double> header_number(std::string_view value);

// X-RateLimit-Limit/-Remaining/-Reset. A reset over 10^9 is a Unix time in seconds (GitHub's kind),
// read against `now_unix_ms` (a past one is a reset of 0); else delta seconds. nullopt without a
// readable limit and remaining.
std::optional<Budget> parse_x_ratelimit(const HeaderMap& headers, std::int64_t now_unix_ms);

}  // namespace chansync
