// HttpClient's pacing: its rate budgets (token buckets, maybe shared by the clients of one token),
// the wait before each request, and the corrections each answer brings.
#include "adapters/http_pacing.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "adapters/redact.hpp"

namespace chansync::adapters {

std::string where(const std::string& url) {
  return redact(url.substr(0, url.find('?')));
}

std::shared_ptr<SharedBudgets> budgets_for(const HttpOptions& o) {
  const auto add_missing = [&](SharedBudgets& b) {
    b.buckets.try_emplace("", o.requests_per_second, o.burst);
    for (const auto& s : o.sub_budgets) b.buckets.try_emplace(s.name, s.requests_per_second);
  };
  if (o.shared_budgets.empty()) {
    auto own = std::make_shared<SharedBudgets>();
    add_missing(*own);
    return own;
  }
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<SharedBudgets>> held;
  const std::lock_guard lock(mu);
  std::erase_if(held, [](const auto& kv) { return kv.second.expired(); });
  auto& slot = held[o.shared_budgets];
  auto shared = slot.lock();
  if (!shared) slot = shared = std::make_shared<SharedBudgets>();
  const std::lock_guard budgets(shared->mu);
  add_missing(*shared);  // a sub-budget the first client did not have
  return shared;
}

const TokenBucket& HttpClient::budget(const std::string& name) const {
  const auto& buckets = m_budgets->buckets;
  const auto it = buckets.find(name);
  return it == buckets.end() ? buckets.at("") : it->second;
}

Result<void> HttpClient::pace(const HttpRequest& req) {
  const auto spent = [&](std::chrono::milliseconds left) {
    return Error{Errc::rate_limited,
                 fmt::format("{}'s rate limit is spent for {} s more, longer than chansync waits in one run; run again "
                             "after that",
                             m_redact(where(req.url)), left.count() / 1000),
                 m_opts.connector, 0, left};
  };
  std::unique_lock lock(m_budgets->mu);  // not held while waiting: a take() reserved the token
  const auto at = now();
  std::vector<TokenBucket*> draws = {&m_budgets->buckets[""]};
  for (const auto& b : m_opts.sub_budgets)
    if (b.applies && b.applies(req)) draws.push_back(&m_budgets->buckets[b.name]);
  const auto latest_pause = [&] {
    Clock::time_point until{};
    for (const TokenBucket* b : draws) until = std::max(until, b->paused_until());
    return until;
  };
  const auto give_back = [&] {  // the request is not sent: its tokens go back
    for (TokenBucket* b : draws) b->give_back();
  };
  // A spent budget paused past what one run waits ends the call; pacing itself never does.
  for (const TokenBucket* b : draws)
    if (const auto left = std::chrono::ceil<std::chrono::milliseconds>(b->paused_until() - at);
        left > m_opts.max_retry_after)
      return std::unexpected(spent(left));
  std::chrono::microseconds wait{0};
  for (TokenBucket* b : draws) wait = std::max(wait, b->take(at));
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait);
  // So does a pace that leaves room for the next request only after that long (a vendor's few requests
  // left spread over hours): the request is not sent, and its token is given back.
  if (ms > m_opts.max_retry_after) {
    give_back();
    return std::unexpected(Error{
        Errc::rate_limited,
        fmt::format("{}'s rate limit leaves room for the next request only in {} s, longer than chansync waits in "
                    "one run; run again after that",
                    m_redact(where(req.url)), ms.count() / 1000),
        m_opts.connector, 0, ms});
  }
  Clock::time_point known = latest_pause();  // the pause the wait above includes
  lock.unlock();
  if (ms.count() > 0)
    spdlog::trace("{}: paced {} ms before {}", m_opts.connector, ms.count(), m_redact(where(req.url)));
  if (!sleep_for(ms)) return std::unexpected(interrupted(req));
  // A pause set meanwhile (another client of shared budgets was told none is left) holds this
  // request too, though its token was reserved before.
  for (;;) {
    lock.lock();
    const Clock::time_point until = latest_pause();
    lock.unlock();
    if (until <= known) return {};
    known = until;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - now());
    if (left.count() <= 0) return {};
    if (left > m_opts.max_retry_after) {
      lock.lock();
      give_back();
      return std::unexpected(spent(left));
    }
    if (!sleep_for(left)) return std::unexpected(interrupted(req));
  }
}

double HttpClient::seed_rate(const std::string& budget) const {
  if (budget.empty()) return m_opts.requests_per_second;
  for (const auto& b : m_opts.sub_budgets)
    if (b.name == budget) return b.requests_per_second;
  return 0;
}

// Applies what the response says about the budgets: the adapter's reading, else the generic one.
void HttpClient::correct(const HttpRequest& req, const HttpResponse& resp) {
  const RateReading r = m_opts.rate_policy ? m_opts.rate_policy(req, resp) : generic_reading(resp.headers, now_ms());
  if (r.empty()) return;
  const std::lock_guard lock(m_budgets->mu);
  const auto it = m_budgets->buckets.find(r.budget);
  if (it == m_budgets->buckets.end()) return;
  TokenBucket& b = it->second;
  if (r.rate) b.set_rate(*r.rate, r.burst);
  // A refusal without figures slows the budget, never below an eighth of its seed rate (so a run that
  // shares the budget with others keeps moving); an answer that says all is well speeds it up again, up
  // to the seed or the rate it had, whichever is higher.
  if (r.scale && b.rate() > 0) {
    const double seed = seed_rate(r.budget);
    const double scaled = b.rate() * *r.scale;
    b.set_rate(*r.scale < 1 ? std::max(scaled, seed / 8) : std::min(scaled, std::max(b.rate(), seed)), b.burst());
  }
  if (r.pause) b.pause_until(now() + *r.pause);
}

}  // namespace chansync::adapters
