#pragma once
// The vendors' rate limits, enforced when `enforce` is on (chansync-sim --enforce-limits): HubSpot's
// rolling 190 requests per 10 s per token and 4 search requests per second, with its
// X-HubSpot-RateLimit-* headers and its 429 bodies; Twilio's cap on requests in flight per account
// (429, error 20429); Meta's app usage, X-App-Usage call_count rising with each call and falling as
// calls leave the rolling window, refused with Graph error 4 at 100%. Windows and limits are flags so
// tests and the benchmark run in seconds. Counts what it accepted and refused for /_sim/stats.
#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace chansync::sim {

struct LimitOptions {
  bool enforce = false;
  int hubspot_max = 190;  // per token and interval (Pro and Enterprise)
  int hubspot_interval_ms = 10'000;
  int hubspot_search_per_second = 4;
  int hubspot_search_interval_ms = 1'000;  // the search limit's window: a second
  long hubspot_daily = 1'000'000;
  int twilio_concurrency = 100;  // requests in flight per account
  int meta_calls = 4'800;        // app calls per window: 200 × the app's daily active users (24 here)
  int meta_window_ms = 3'600'000;
};

// Accepted and refused requests of one limit; the first window is the one the client may spend
// learning the limit, so refusals after it are counted apart.
struct LimitCounts {
  long accepted = 0, refused = 0, refused_after_first_window = 0;
  std::int64_t first_ms = -1, last_ms = -1;  // of the first request and the last accepted one
  nlohmann::json json(double allowed_per_second) const;
};

class Limits {
 public:
  explicit Limits(LimitOptions opts) : m_opts(opts) {}
  bool enforced() const { return m_opts.enforce; }

  // Admits one HubSpot request (a search also against the search limit) and sets the rate-limit
  // headers; false when refused, with the 429 and HubSpot's error body in `res`.
  bool hubspot(bool search, httplib::Response& res);

  // A Twilio request in flight from admit_twilio() until release_twilio(). admit_twilio returns
  // false, with the 429 and error 20429 in `res`, when the account's cap is reached (then nothing
  // is to be released).
  bool admit_twilio(httplib::Response& res);
  void release_twilio();

  // Counts one Graph call against the app's usage and sets X-App-Usage; false at 100%, with Graph's
  // error 4 and X-Business-Use-Case-Usage naming the minutes until access returns.
  bool meta(httplib::Response& res);

  // {"enforced": .., "hubspot": {...}, "hubspot_search": {...}, "twilio": {...}, "meta": {...}}.
  nlohmann::json stats();

 private:
  static std::int64_t now_ms();
  // Drops the times older than `window_ms` before `now` from `times`.
  static void age(std::deque<std::int64_t>& times, std::int64_t now, std::int64_t window_ms);
  void count(LimitCounts& c, bool accepted, std::int64_t now, std::int64_t first_window_ms);

  LimitOptions m_opts;
  std::mutex m_mu;
  std::deque<std::int64_t> m_hubspot, m_search, m_meta;  // accepted request times in the window
  long m_hubspot_day = 0;
  int m_twilio_in_flight = 0, m_twilio_peak = 0;
  double m_twilio_busy_ms = 0;  // Σ in flight × time: the mean concurrency used
  std::int64_t m_twilio_changed_ms = -1;
  LimitCounts m_c_hubspot, m_c_search, m_c_twilio, m_c_meta;
};

}  // namespace chansync::sim
