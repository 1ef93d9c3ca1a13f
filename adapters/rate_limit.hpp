#pragma once
// Request pacing from the vendor's own signals, vendor-neutral: a token bucket per request budget,
// the pace a Budget allows (sync/rate_budget.hpp reads one from the IETF RateLimit fields and
// X-RateLimit-*), and an AIMD gate on requests in flight for vendors that limit concurrency. Pure
// where it can be: time comes in as an argument, so tests assert computed waits and rates without
// sleeping. Vendor readings (HubSpot, Meta, Twilio) live in their adapters.
#include <array>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "sync/rate_budget.hpp"

namespace chansync::adapters {

using Clock = std::chrono::steady_clock;

// A token bucket: `rate` requests per second, at most `burst` sent back to back, and a pause before
// which nothing is sent. Not thread-safe: HttpClient locks its buckets, which clients may share.
class TokenBucket {
 public:
  explicit TokenBucket(double rate = 0, double burst = 1) { set_rate(rate, burst); }
  // Takes one token at `now` and returns how long to wait before sending (0: send now). The token is
  // reserved: the next take() queues behind this one, so rounding a wait up never loses rate.
  std::chrono::microseconds take(Clock::time_point now);
  // Undoes the last take(): its request is not sent. (An unpaced bucket took none.)
  void give_back() {
    if (m_rate > 0) m_tokens += 1;
  }
  // Paces at `rate` requests/s from now on (0: unpaced) with `burst` (at least 1) back to back.
  void set_rate(double rate, double burst);
  // Sends nothing before `until` (a spent budget, until its window ends). A later pause wins.
  void pause_until(Clock::time_point until);
  double rate() const { return m_rate; }
  double burst() const { return m_burst; }
  Clock::time_point paused_until() const { return m_paused; }

 private:
  double m_rate = 0, m_burst = 1, m_tokens = 1;
  Clock::time_point m_last{}, m_paused{};
};

// Budget and its readers (parse_ietf_ratelimit, parse_x_ratelimit) are the sync library's, where the
// health findings read the same fields.
using chansync::Budget;
using chansync::HeaderMap;

// What a response says about pacing, for one budget of the client.
struct RateReading {
  std::string budget;                              // "" = the client's main budget, else a named one
  std::optional<double> rate;                      // requests/s from now on (0: unpaced)
  double burst = 1;                                // back to back at that rate
  std::optional<std::chrono::milliseconds> pause;  // send nothing on this budget for this long
  std::optional<double> scale;                     // multiply the current rate (a refusal without figures)
  bool empty() const { return !rate && !pause && !scale; }
};

// The share of a documented or announced limit chansync spends: close enough to use 95% of it,
// far enough that the spacing of requests and a burst never cross it.
inline constexpr double k_budget_use = 0.97;

// The pace a Budget allows, spending `use` of it. With a reset (a fixed window): the remaining
// requests spread evenly over the time left, less a reserve of 3% of the limit (at least one);
// at or under the reserve, a pause until the reset. Without a reset but with a window (a rolling
// window, HubSpot's): `use` of limit/window and a burst of what the rest of the window allows, so the
// window never fills; when none remains (another client shares it), a pause of one request's share
// of the window. Empty when neither is known.
RateReading pace_for(const Budget& budget, double use = k_budget_use);

// The generic reading of a response: IETF RateLimit fields first, else X-RateLimit-*; empty when
// the response has neither. Adapters fall back to it when their vendor has no reading of its own.
RateReading generic_reading(const HeaderMap& headers, std::int64_t now_unix_ms);

// Additive increase, multiplicative decrease of the requests a client keeps in flight, for vendors
// that limit concurrency (Twilio: 429 with error 20429). Thread-safe; share one between the clients
// of one account. limit() starts at `initial` and stays within [1, max].
// A refusal also teaches a ceiling: the most requests in flight while the refused one was out, itself
// included, less one. The limit does not grow past it for `hold` (the vendor's limit does not change
// from one minute to the next), so a client with more work than the vendor allows at once keeps to
// the level that worked instead of trying the refused one again every few requests, as plain AIMD
// would. A refusal of a request sent alone (another client fills the account) holds it at one.
class ConcurrencyGate {
 public:
  explicit ConcurrencyGate(double initial = 4, double max = 64,
                           std::chrono::milliseconds hold = std::chrono::minutes(1),
                           std::function<Clock::time_point()> now = {})
      : m_limit(initial), m_max(max), m_hold(hold), m_now(now ? std::move(now) : [] { return Clock::now(); }) {}
  // Blocks while floor(limit) requests are in flight, then counts this one in. Returns its ticket,
  // for release.
  std::uint64_t acquire();
  // Counts one in without blocking; false when floor(limit) are already in flight.
  bool try_acquire();
  // Counts one out. `refused`: the vendor refused it for concurrency: the limit halves (at least 1,
  // at most the ceiling this refusal teaches). The level it teaches from is the most requests that
  // were in flight at any moment since `ticket` was acquired, this one included: requests sent after
  // it may reach the vendor before it, and those answered before it was refused were still counted
  // against it (ticket 0: those in flight now). Otherwise the limit grows by 1/limit, one more
  // request in flight per limit's worth of successes, up to the ceiling while it holds. Returns that
  // level (for any request): more than 1 means others of the account were out with it.
  int release(bool refused, std::uint64_t ticket = 0);
  // Counts one out that says nothing of the vendor's limit: it was never sent (a stop came while the
  // gate held it, an exception) or brought no usable answer (a connection refused or cut, a timeout, a
  // body that cannot be decoded). The limit stays: a timeout may be an overloaded vendor or one lost
  // packet, and halving on every network blip would starve a long pull. Refusals (429) halve it.
  void cancel();
  double limit() const;
  int in_flight() const;

 private:
  std::uint64_t count_in();  // under m_mu: one more in flight; its ticket
  mutable std::mutex m_mu;
  std::condition_variable m_cv;
  double m_limit, m_max;
  std::chrono::milliseconds m_hold;
  std::function<Clock::time_point()> m_now;
  double m_ceiling = 0;  // 0: none learnt
  Clock::time_point m_ceiling_until{};
  int m_in_flight = 0;
  // The requests in flight just after each of the last acquisitions, by ticket (the count only rises
  // at an acquisition). A request outlived by more of them than this holds is taught from those kept.
  std::uint64_t m_tickets = 0;
  std::array<int, 64> m_levels{};
};

}  // namespace chansync::adapters
