#include "tests/simulator/limits.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace chansync::sim {

nlohmann::json LimitCounts::json(double allowed_per_second) const {
  // The pace the accepted requests kept, from the first to the last: what the benchmark divides by
  // the allowed rate.
  const double span_s = last_ms > first_ms ? (last_ms - first_ms) / 1000.0 : 0;
  return {{"accepted", accepted},
          {"refused", refused},
          {"refused_after_first_window", refused_after_first_window},
          {"allowed_per_second", allowed_per_second},
          {"used_per_second", span_s > 0 ? (accepted - 1) / span_s : 0.0},
          {"span_s", span_s}};
}

std::int64_t Limits::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Limits::age(std::deque<std::int64_t>& times, std::int64_t now, std::int64_t window_ms) {
  while (!times.empty() && times.front() <= now - window_ms) times.pop_front();
}

void Limits::count(LimitCounts& c, bool accepted, std::int64_t now, std::int64_t first_window_ms) {
  if (c.first_ms < 0) c.first_ms = now;
  if (accepted) {
    ++c.accepted;
    c.last_ms = now;
  } else {
    ++c.refused;
    if (now - c.first_ms >= first_window_ms) ++c.refused_after_first_window;
  }
}

bool Limits::hubspot(bool search, httplib::Response& res) {
  if (!m_opts.enforce) {
    // Not enforcing: a generous limit, so nothing a test does is paced by it.
    res.set_header("X-HubSpot-RateLimit-Max", "1000");
    res.set_header("X-HubSpot-RateLimit-Remaining", "999");
    res.set_header("X-HubSpot-RateLimit-Interval-Milliseconds", "1000");
    return true;
  }
  std::lock_guard lock(m_mu);
  const auto now = now_ms();
  age(m_hubspot, now, m_opts.hubspot_interval_ms);
  age(m_search, now, m_opts.hubspot_search_interval_ms);
  const bool rolling_full = static_cast<int>(m_hubspot.size()) >= m_opts.hubspot_max;
  const bool search_full = search && static_cast<int>(m_search.size()) >= m_opts.hubspot_search_per_second;
  const bool ok = !rolling_full && !search_full && m_hubspot_day < m_opts.hubspot_daily;
  if (search) count(m_c_search, ok, now, m_opts.hubspot_search_interval_ms);
  count(m_c_hubspot, ok, now, m_opts.hubspot_interval_ms);
  if (ok) {
    m_hubspot.push_back(now);
    if (search) m_search.push_back(now);
    ++m_hubspot_day;
  }
  // Search answers carry no rate-limit headers (HubSpot documents that); the others do, refused or not.
  if (!search) {
    res.set_header("X-HubSpot-RateLimit-Max", std::to_string(m_opts.hubspot_max));
    res.set_header("X-HubSpot-RateLimit-Remaining", std::to_string(m_opts.hubspot_max - m_hubspot.size()));
    res.set_header("X-HubSpot-RateLimit-Interval-Milliseconds", std::to_string(m_opts.hubspot_interval_ms));
    res.set_header("X-HubSpot-RateLimit-Daily", std::to_string(m_opts.hubspot_daily));
    res.set_header("X-HubSpot-RateLimit-Daily-Remaining", std::to_string(m_opts.hubspot_daily - m_hubspot_day));
  }
  if (ok) return true;
  const char* policy = rolling_full ? "TEN_SECONDLY_ROLLING" : search_full ? "SECONDLY" : "DAILY";
  const char* limit = rolling_full ? "ten_secondly_rolling" : search_full ? "secondly" : "daily";
  res.status = 429;
  res.set_content(
      fmt::format(
          R"({{"status":"error","message":"You have reached your {} limit.","errorType":"RATE_LIMIT","correlationId":"00000000-0000-4000-8000-{:012}","policyName":"{}","groupName":"publicapi:private-app:{}"}})",
          limit, m_c_hubspot.refused, policy, search_full ? "search" : "default"),
      "application/json");
  return false;
}

bool Limits::admit_twilio(httplib::Response& res) {
  if (!m_opts.enforce) return true;
  std::lock_guard lock(m_mu);
  const auto now = now_ms();
  const bool ok = m_twilio_in_flight < m_opts.twilio_concurrency;
  count(m_c_twilio, ok, now, 1000);
  if (ok) {
    if (m_twilio_changed_ms >= 0) m_twilio_busy_ms += m_twilio_in_flight * double(now - m_twilio_changed_ms);
    m_twilio_changed_ms = now;
    m_twilio_peak = std::max(m_twilio_peak, ++m_twilio_in_flight);
    return true;
  }
  res.status = 429;
  res.set_content(
      R"({"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429})",
      "application/json");
  return false;
}

void Limits::release_twilio() {
  if (!m_opts.enforce) return;
  std::lock_guard lock(m_mu);
  const auto now = now_ms();
  m_twilio_busy_ms += m_twilio_in_flight * double(now - m_twilio_changed_ms);
  m_twilio_changed_ms = now;
  m_c_twilio.last_ms = now;
  m_twilio_in_flight = std::max(0, m_twilio_in_flight - 1);
}

bool Limits::meta(httplib::Response& res) {
  if (!m_opts.enforce) return true;
  std::lock_guard lock(m_mu);
  const auto now = now_ms();
  age(m_meta, now, m_opts.meta_window_ms);
  const bool ok = static_cast<int>(m_meta.size()) < m_opts.meta_calls;
  count(m_c_meta, ok, now, m_opts.meta_window_ms);
  if (ok) m_meta.push_back(now);
  const long percent = 100L * static_cast<long>(m_meta.size()) / m_opts.meta_calls;
  res.headers.erase("X-App-Usage");  // the simulator's unenforced figure
  res.set_header("X-App-Usage", fmt::format(R"({{"call_count":{},"total_cputime":{},"total_time":{}}})", percent,
                                            percent / 4, percent / 3));
  if (ok) return true;
  // Access returns when the oldest call leaves the window.
  const auto regain_ms = m_meta.front() + m_opts.meta_window_ms - now;
  res.set_header("X-Business-Use-Case-Usage",
                 fmt::format(R"({{"0":[{{"type":"pages","call_count":{},"total_cputime":0,"total_time":0,)"
                             R"("estimated_time_to_regain_access":{}}}]}})",
                             percent, (regain_ms + 59'999) / 60'000));
  res.status = 400;  // Graph answers throttling with 400 and error 4
  res.set_content(
      fmt::format(
          R"({{"error":{{"message":"(#4) Application request limit reached","type":"OAuthException","is_transient":true,"code":4,"fbtrace_id":"Asimlimit{:05}"}}}})",
          m_c_meta.refused),
      "application/json");
  return false;
}

nlohmann::json Limits::stats() {
  std::lock_guard lock(m_mu);
  auto twilio = m_c_twilio.json(0);
  const double span_ms = m_c_twilio.last_ms - m_c_twilio.first_ms;
  twilio["cap"] = m_opts.twilio_concurrency;
  twilio["peak_in_flight"] = m_twilio_peak;
  twilio["mean_in_flight"] = span_ms > 0 ? m_twilio_busy_ms / span_ms : 0.0;
  return {{"enforced", m_opts.enforce},
          {"hubspot", m_c_hubspot.json(m_opts.hubspot_max * 1000.0 / m_opts.hubspot_interval_ms)},
          {"hubspot_search",
           m_c_search.json(m_opts.hubspot_search_per_second * 1000.0 / m_opts.hubspot_search_interval_ms)},
          {"twilio", twilio},
          {"meta", m_c_meta.json(m_opts.meta_calls * 1000.0 / m_opts.meta_window_ms)}};
}

}  // namespace chansync::sim
