#include "sync/health_baseline.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace chansync {
namespace {

struct PastProbe {
  int http_status = 0;
  bool transport_error = false;
  double latency_ms = 0;
};

// What an earlier check's stored report says about its probe; nullopt for an offline check (no
// call was made) or a row that does not parse.
std::optional<PastProbe> past_probe(const HealthRow& row) {
  try {
    const auto j = nlohmann::json::parse(row.evidence_json);
    const auto& ev = j.at("evidence");
    PastProbe p{ev.value("http_status", 0), ev.contains("transport_error"), ev.value("latency_ms", 0.0)};
    if (p.http_status == 0 && !p.transport_error) return std::nullopt;
    return p;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

bool server_error(int status) {
  return status >= 500 && status < 600;
}

void check_latency(HealthReport& r, const std::vector<PastProbe>& past) {
  const int st = r.evidence.http_status;
  if (st < 200 || st >= 300) return;
  std::vector<double> samples;
  for (const auto& p : past)
    if (p.http_status >= 200 && p.http_status < 300 && samples.size() < k_latency_samples)
      samples.push_back(p.latency_ms);
  if (samples.size() < k_latency_min_samples) return;
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(samples.size() / 2), samples.end());
  const double median = samples[samples.size() / 2];
  const double now = r.evidence.latency_ms;
  if (now <= std::max(k_latency_factor * median, median + k_latency_margin_ms)) return;
  add_finding(r, {HealthClass::degraded, "latency", fmt::format("{:.0f} ms", now),
                  fmt::format("the probe took {:.0f} ms, {:.1f}× its usual {:.0f} ms (median of the last {} checks); "
                              "connect {:.0f} ms, first byte {:.0f} ms",
                              now, median > 0 ? now / median : now, median, samples.size(),
                              r.evidence.timings.connect_ms, r.evidence.timings.first_byte_ms),
                  "the vendor or the path to it is slow: pulls take longer but lose nothing; check the vendor's "
                  "status page and the network if it persists"});
}

void check_server_error(HealthReport& r, const std::vector<PastProbe>& past) {
  const auto it = std::find_if(r.findings.begin(), r.findings.end(), [](const Finding& f) {
    return f.cls == HealthClass::unreachable && f.signal == "HTTP status";
  });
  if (it == r.findings.end() || !server_error(r.evidence.http_status)) return;
  Finding f = *it;
  const bool outage =
      std::any_of(r.findings.begin(), r.findings.end(), [](const Finding& x) { return x.cls == HealthClass::outage; });
  if (outage) {
    f.cls = HealthClass::outage;
    f.detail += "; the vendor's status page reports an outage";
  } else if (!past.empty() && !past.front().transport_error && !server_error(past.front().http_status)) {
    f.cls = HealthClass::degraded;
    f.detail += fmt::format("; the previous check got HTTP {}, so this may be a blip: unreachable if it repeats",
                            past.front().http_status);
    f.action = "nothing yet: chansync retries; check the vendor's status page if the next check fails too";
  } else if (!past.empty()) {
    f.detail += "; the previous check failed too";
  } else {
    return;  // no earlier check to tell a blip from an outage: unreachable, as the status says
  }
  r.findings.erase(it);
  add_finding(r, std::move(f));
}

}  // namespace

void apply_baseline(HealthReport& r, const std::vector<HealthRow>& history) {
  std::vector<PastProbe> past;
  for (const auto& row : history)
    if (auto p = past_probe(row)) past.push_back(*p);
  check_server_error(r, past);
  check_latency(r, past);
}

void carry_online_class(HealthReport& r, const std::vector<HealthRow>& history, Timestamp pulled_until) {
  const auto online = std::find_if(history.begin(), history.end(), [](const HealthRow& row) {
    return past_probe(row).has_value() || (row.cls != "ok" && row.cls != "unknown");
  });
  if (online == history.end()) return;
  const auto cls = parse_health_class(online->cls);
  if (!cls || *cls == HealthClass::ok || *cls == HealthClass::unknown) return;
  // A pull of the connector from the vendor that completed after that check reached it with these
  // credentials: a refusal, an unreachable vendor or a rate limit is over. It says nothing of a
  // webhook subscription, a restriction or an ended version, which stand.
  const bool disproved = *cls == HealthClass::auth_failed || *cls == HealthClass::unreachable ||
                         *cls == HealthClass::rate_limited || *cls == HealthClass::degraded;
  if (disproved && pulled_until > online->checked_at) return;
  // A problem the offline signals found (silence, a version ended) is seen now: it stands.
  if (r.cls != HealthClass::ok && r.cls != HealthClass::unknown) return;
  std::string summary, action;
  try {
    const auto j = nlohmann::json::parse(online->evidence_json);
    summary = j.value("summary", "");
    action = j.value("action", "");
  } catch (const nlohmann::json::exception&) {
  }
  r.cls = *cls;
  r.summary = fmt::format("{} (the last online check, {}; --offline calls no vendor)",
                          summary.empty() ? online->cls : summary, format_rfc3339(online->checked_at));
  r.action = action;
}

std::optional<Finding> empty_pulls_finding(std::span<const PullRecord> history, Timestamp now,
                                           std::string_view connector) {
  const auto streak = static_cast<std::size_t>(
      std::find_if(history.begin(), history.end(), [](const PullRecord& p) { return p.received > 0; }) -
      history.begin());
  if (streak == 0) return std::nullopt;
  const auto before = history.subspan(streak);
  if (before.size() < 10 || now - before.front().ended_at < k_drift_quiet_ms) return std::nullopt;
  const auto empty = static_cast<double>(
      std::count_if(before.begin(), before.end(), [](const PullRecord& p) { return p.received == 0; }));
  const double share = (empty + 1) / (static_cast<double>(before.size()) + 2);
  const double chance = std::pow(share, static_cast<double>(streak));
  if (chance >= 1e-3) return std::nullopt;
  return Finding{
      HealthClass::schema_drift, "records per pull", fmt::format("0 in the last {}", streak),
      fmt::format("the last {} pull{} completed with no records, but {} of the {} before them returned some "
                  "(chance of {} empty in a row {:.0e}): the vendor answers, but its answer no longer holds records",
                  streak, streak == 1 ? "" : "s", before.size() - static_cast<std::size_t>(empty), before.size(),
                  streak, chance),
      fmt::format("fetch one page of {} by hand (the vendor's API console, or curl with its credentials) and "
                  "compare it with the vendor's API reference: a renamed field, a filter no longer honoured or a "
                  "narrowed token scope; report it if the vendor changed its format",
                  connector)};
}

std::optional<Finding> stale_pulls_finding(std::span<const PullRecord> history, Timestamp now,
                                           std::string_view connector, std::string_view stream) {
  if (history.size() < k_stale_min_pulls) return std::nullopt;
  std::vector<Timestamp> gaps;
  for (std::size_t i = 1; i < std::min<std::size_t>(history.size(), 21); ++i)
    gaps.push_back(history[i - 1].ended_at - history[i].ended_at);
  std::nth_element(gaps.begin(), gaps.begin() + static_cast<long>(gaps.size() / 2), gaps.end());
  const Timestamp usual = gaps[gaps.size() / 2];
  const Timestamp age = now - history.front().ended_at;
  const auto limit = std::max(static_cast<Timestamp>(k_stale_factor * static_cast<double>(usual)), k_stale_min_ms);
  if (age <= limit) return std::nullopt;
  const auto span = [](Timestamp ms) {
    const Timestamp minutes = ms / 60'000;
    if (minutes < 120) return fmt::format("{} min", std::max<Timestamp>(minutes, 1));
    if (minutes < 48 * 60) return fmt::format("{} h", minutes / 60);
    return fmt::format("{} days", minutes / (24 * 60));
  };
  return Finding{HealthClass::silent, "last completed pull", format_rfc3339(history.front().ended_at),
                 fmt::format("no pull of {}/{} has completed since {} ({} ago; it used to every {}): chansync is not "
                             "being run, or each run fails before this stream, so nothing new is stored or pushed",
                             connector, stream, format_rfc3339(history.front().ended_at), span(age), span(usual)),
                 fmt::format("check the cron job or systemd timer that runs `chansync sync` (or `chansync pull {}`) "
                             "and its logs",
                             connector)};
}

}  // namespace chansync
