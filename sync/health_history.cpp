#include "sync/health_history.hpp"

#include <fmt/format.h>

#include <charconv>
#include <map>
#include <nlohmann/json.hpp>

namespace chansync {
namespace {

// A string member of a stored check's JSON ("summary", "since"); "" when absent or unreadable.
std::string text_of(const HealthRow& row, const char* key) {
  try {
    const auto j = nlohmann::json::parse(row.evidence_json);
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
  } catch (const nlohmann::json::exception&) {
    return std::string();
  }
}

}  // namespace

bool is_failure(HealthClass c) {
  if (severity_of(c) == Severity::critical) return true;
  return c == HealthClass::rate_limited || c == HealthClass::schema_drift || c == HealthClass::silent ||
         c == HealthClass::degraded;
}

void apply_recovery(HealthReport& r, const std::vector<HealthRow>& history, const HealthSettings& s) {
  if (!r.observed) r.observed = r.cls;
  if (*r.observed == HealthClass::ok) {
    int passes = 1;  // this check
    Timestamp streak_start = r.checked_at;
    const HealthRow* failure = nullptr;
    for (const auto& row : history) {
      const auto c = parse_health_class(row.observed_class()).value_or(HealthClass::unknown);
      if (c == HealthClass::ok) {
        ++passes;
        streak_start = row.checked_at;
        continue;
      }
      if (is_failure(c)) failure = &row;
      break;
    }
    const auto minutes = (r.checked_at - streak_start) / 60'000;
    if (failure && passes < s.recovery_checks && minutes < s.recovery_minutes) {
      r.findings.push_back(
          {HealthClass::recovering, "recovery streak", fmt::format("{} of {} checks", passes, s.recovery_checks),
           fmt::format("{} until {}; passing again for {} check{} ({} min) — reported ok after {} checks or {} min",
                       failure->observed_class(), format_rfc3339(failure->checked_at), passes, passes == 1 ? "" : "s",
                       minutes, s.recovery_checks, s.recovery_minutes),
           "nothing, unless it fails again; check that the backlog since the failure was pulled"});
      r.cls = HealthClass::recovering;
      r.summary = r.findings.back().detail;
      r.action = r.findings.back().action;
      std::stable_sort(r.findings.begin(), r.findings.end(),
                       [](const Finding& a, const Finding& b) { return a.cls < b.cls; });
    }
  }
  r.since = r.checked_at;
  // The previous check of the same class knew since when; walking back serves rows without it.
  // A time of 0 (a check an older chansync stored without one) means unknown, not 1970.
  if (!history.empty() && history.front().cls == to_string(r.cls))
    if (const auto since = parse_rfc3339(text_of(history.front(), "since")); since && *since > 0) {
      r.since = *since;
      return;
    }
  for (const auto& row : history) {
    if (row.cls != to_string(r.cls)) break;
    if (row.checked_at > 0) r.since = row.checked_at;
  }
}

std::vector<HealthTransition> transitions(const std::vector<HealthRow>& rows, Timestamp from) {
  std::vector<HealthTransition> out;
  struct Last {
    std::string cls;
    Timestamp since = 0;
    std::string summary;
    bool changed = false;
  };
  std::map<std::pair<std::string, std::string>, Last> last;
  auto summary_of = [&](const HealthRow& row) { return text_of(row, "summary"); };
  for (const auto& row : rows) {
    auto [it, fresh] = last.try_emplace({row.connector, row.stream});
    auto& l = it->second;
    if (!fresh && l.cls == row.cls) continue;
    if (row.checked_at >= from) {
      out.push_back({row.connector, row.stream, fresh ? "" : l.cls, row.cls, row.checked_at, summary_of(row)});
      l.changed = true;
    }
    l.cls = row.cls;
    // The check knew since when it had its class (apply_recovery); the window may not reach back.
    l.since = parse_rfc3339(text_of(row, "since")).value_or(row.checked_at);
    l.summary = summary_of(row);
  }
  for (const auto& [key, l] : last)
    if (!l.changed) out.push_back({key.first, key.second, l.cls, l.cls, l.since, l.summary});
  std::stable_sort(out.begin(), out.end(),
                   [](const HealthTransition& a, const HealthTransition& b) { return a.at < b.at; });
  return out;
}

std::optional<std::int64_t> parse_duration(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  std::int64_t n = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
  if (ec != std::errc() || p != text.data() + text.size() - 1 || n < 0) return std::nullopt;
  std::int64_t unit = 0;
  switch (text.back()) {
    case 'd':
      unit = 86'400'000;
      break;
    case 'h':
      unit = 3'600'000;
      break;
    case 'm':
      unit = 60'000;
      break;
    case 's':
      unit = 1000;
      break;
    default:
      return std::nullopt;
  }
  // At most a hundred years: more reaches before 1970 from now, and overflows long before that.
  constexpr std::int64_t k_max = 100LL * 366 * 86'400'000;
  if (n > k_max / unit) return std::nullopt;
  return n * unit;
}

}  // namespace chansync
