#include "adapters/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace chansync::adapters {

using std::chrono::duration;
using std::chrono::milliseconds;

std::chrono::microseconds TokenBucket::take(Clock::time_point now) {
  if (m_rate <= 0) {
    const auto wait = std::max(Clock::duration::zero(), m_paused - now);
    return std::chrono::ceil<std::chrono::microseconds>(wait);
  }
  // From the later of now and the pause: tokens refill at `rate` up to `burst`, and may go below
  // zero — a reservation the wait pays off.
  const auto start = std::max(now, m_paused);
  if (start > m_last) m_tokens = std::min(m_burst, m_tokens + duration<double>(start - m_last).count() * m_rate);
  m_last = std::max(m_last, start);
  m_tokens -= 1;
  // At most a year: a rate that a vendor's figures made tiny must not overflow the clock's nanoseconds
  // (the caller refuses waits that long anyway).
  const double debt_s = m_tokens < 0 ? std::min(-m_tokens / m_rate, 365.0 * 86'400) : 0;
  const auto wait = (start - now) + std::chrono::duration_cast<Clock::duration>(duration<double>(debt_s));
  return std::chrono::ceil<std::chrono::microseconds>(wait);
}

void TokenBucket::set_rate(double rate, double burst) {
  m_rate = std::max(0.0, rate);
  m_burst = std::max(1.0, burst);
  m_tokens = std::min(m_tokens, m_burst);
}

void TokenBucket::pause_until(Clock::time_point until) {
  if (until <= m_paused) return;
  m_paused = until;
  // What was saved up before the pause is not spent in a burst after it, nor does the pause itself
  // save up: the budget was spent, and refilling starts when the pause ends.
  m_tokens = std::min(m_tokens, 1.0);
  m_last = std::max(m_last, until);
}

RateReading pace_for(const Budget& b, double use) {
  RateReading out;
  if (b.limit <= 0) return out;
  if (b.reset && b.remaining) {
    const double reserve = std::max(1.0, std::ceil(0.03 * b.limit));
    // A fixed window: what is left, evenly over the time left, keeping the reserve.
    const double spendable = *b.remaining - reserve;
    if (spendable <= 0) {
      out.pause = *b.reset;
      return out;
    }
    out.rate = spendable / std::max(0.001, duration<double>(*b.reset).count());
    return out;
  }
  if (!b.window || b.window->count() <= 0) return out;
  const double per_request_s = duration<double>(*b.window).count() / b.limit;
  out.rate = use / per_request_s;
  // A rolling window holds rate·window + burst at most: the burst is the share not used.
  out.burst = std::max(1.0, std::floor((1 - use) * b.limit) - 1);
  // Paced so, the window never fills; when it has (another client on the same token), wait for one
  // request to age out.
  if (b.remaining && *b.remaining < 1)
    out.pause = std::chrono::duration_cast<milliseconds>(duration<double>(per_request_s));
  return out;
}

RateReading generic_reading(const HeaderMap& headers, std::int64_t now_unix_ms) {
  if (auto b = parse_ietf_ratelimit(headers)) return pace_for(*b);
  if (auto b = parse_x_ratelimit(headers, now_unix_ms)) return pace_for(*b);
  return {};
}

std::uint64_t ConcurrencyGate::acquire() {
  std::unique_lock lock(m_mu);
  m_cv.wait(lock, [this] { return m_in_flight < static_cast<int>(m_limit); });
  return count_in();
}

bool ConcurrencyGate::try_acquire() {
  std::lock_guard lock(m_mu);
  if (m_in_flight >= static_cast<int>(m_limit)) return false;
  count_in();
  return true;
}

std::uint64_t ConcurrencyGate::count_in() {
  ++m_in_flight;
  m_levels[++m_tickets % m_levels.size()] = m_in_flight;
  return m_tickets;
}

int ConcurrencyGate::release(bool refused, std::uint64_t ticket) {
  int level = 0;
  {
    std::lock_guard lock(m_mu);
    level = m_in_flight;  // this request included
    if (ticket > 0 && ticket <= m_tickets) {
      const std::uint64_t kept = m_tickets >= m_levels.size() ? m_tickets - m_levels.size() + 1 : 1;  // oldest
      for (auto t = std::max(ticket, kept); t <= m_tickets; ++t) level = std::max(level, m_levels[t % m_levels.size()]);
    }
    m_in_flight = std::max(0, m_in_flight - 1);
    const auto now = m_now();
    if (refused) {
      m_ceiling = std::max(1, level - 1);
      m_ceiling_until = now + m_hold;
      m_limit = std::max(1.0, std::min(m_limit / 2, m_ceiling));
    } else {
      const double cap = m_ceiling > 0 && now < m_ceiling_until ? std::min(m_max, m_ceiling) : m_max;
      m_limit = std::min(cap, m_limit + 1 / m_limit);
    }
  }
  m_cv.notify_all();
  return level;
}

void ConcurrencyGate::cancel() {
  {
    std::lock_guard lock(m_mu);
    m_in_flight = std::max(0, m_in_flight - 1);
  }
  m_cv.notify_all();
}

double ConcurrencyGate::limit() const {
  std::lock_guard lock(m_mu);
  return m_limit;
}

int ConcurrencyGate::in_flight() const {
  std::lock_guard lock(m_mu);
  return m_in_flight;
}

}  // namespace chansync::adapters
