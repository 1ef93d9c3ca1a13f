#pragma once
// What a connector's health history adds to one check: no flapping (a connector that was failing is
// recovering until it has passed a streak of checks) and since when it has had its class; and the
// changes of class over a window for `chansync health --since`. Pure.
#include <string>
#include <vector>

#include "sync/config.hpp"
#include "sync/health.hpp"
#include "sync/state_runs.hpp"

namespace chansync {

// Whether a class means messages are not flowing as they should (critical, or rate_limited,
// schema_drift, silent, degraded); deprecated, recovering, ok and unknown are not failures.
bool is_failure(HealthClass c);

// `history`: the earlier checks of the report's connector and stream, newest first. When the report
// is ok but the last non-ok check was a failure and the passes since (this one included) are fewer
// than s.recovery_checks and began less than s.recovery_minutes ago, the report becomes recovering
// with a finding naming the failure and the streak. Sets observed (the class the signals gave) and
// since (when the reported class began, from the history). Idempotent for one history.
void apply_recovery(HealthReport& report, const std::vector<HealthRow>& history, const HealthSettings& s);

// A change of class of one connector's stream ("" = its probe).
struct HealthTransition {
  std::string connector;
  std::string stream;
  std::string from;  // "" when the window holds its first check ever
  std::string to;
  Timestamp at = 0;
  std::string summary;  // of the check that changed it
};

// The changes in `rows` (oldest first; RunLog::health_since) at or after `from`, oldest first, and
// the class each (connector, stream) has at the end with the time it began, as a last transition
// of its own when nothing changed in the window (from == to).
std::vector<HealthTransition> transitions(const std::vector<HealthRow>& rows, Timestamp from);

// "7d", "12h", "30m", "45s" (a whole number and a unit) as milliseconds; nullopt otherwise.
std::optional<std::int64_t> parse_duration(std::string_view text);

}  // namespace chansync
