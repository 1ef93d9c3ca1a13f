#pragma once
// What a connector's own history says about this check, beyond recovery: a probe much slower than
// its usual, a server error the previous check did not have (a blip, not yet an outage), and a
// stream whose pulls stopped returning records although they used to. Pure: the history comes in.
#include <optional>
#include <span>
#include <vector>

#include "sync/health.hpp"
#include "sync/state_records.hpp"
#include "sync/state_runs.hpp"

namespace chansync {

inline constexpr std::size_t k_latency_samples = 20;     // the usual latency: median of this many
inline constexpr std::size_t k_latency_min_samples = 5;  // fewer: latency is not judged
inline constexpr double k_latency_factor = 3;            // slower than this many times the median...
inline constexpr double k_latency_margin_ms = 250;       // ...and by at least this much is degraded

// `history`: the earlier checks of the report's probe (stream ""), newest first (RunLog::health_of).
// - A 2xx probe slower than k_latency_factor × the median of the last k_latency_samples 2xx probes
//   (and by k_latency_margin_ms) gets a degraded finding naming both.
// - A 5xx probe (unreachable by its status) is degraded when the previous online check had a
//   response that was not a server error: one 5xx is a blip; a second in a row stays unreachable, as
//   does one with no earlier check to compare. When the status page reports an outage, the server
//   error is that outage (DESIGN §9: unreachable is repeated 5xx while the status page is clean).
void apply_baseline(HealthReport& report, const std::vector<HealthRow>& history);

// --offline: the report of a connector (stream "") checks nothing at the vendor, so it is not a pass
// or a failure of it. When the newest online check in `history` (newest first) had a problem and the
// offline signals found none, the report keeps that class, its summary and action, saying when it
// was seen and that --offline calls no vendor; a refusal, an unreachable vendor or a rate limit
// only until a pull from the vendor completes after that check (`pulled_until`, the newest last_ok_at
// of its streams read from the vendor), which shows it gone.
// Otherwise unchanged.
void carry_online_class(HealthReport& report, const std::vector<HealthRow>& history, Timestamp pulled_until);

// The last completed pulls of one stream, newest first (RecordStore::pull_history), as of `now`.
// When the newest `s` pulls all received none and the pulls before them usually did, so that `s`
// empty pulls in a row would have a chance below 10^-3 (Laplace-smoothed share of empty pulls among
// the earlier ones, at least 10 of them), and the last pull that received any ended at least
// k_drift_quiet_ms before `now`, a schema_drift finding: the vendor answers but the answer no longer
// holds records (a renamed field, a filter the API stopped honouring). nullopt otherwise. Customers
// write in bursts: a bot or a mailbox pulled every few minutes is often empty for hours, and a
// channel quieter than usual is check_silence's to judge, so pulls alone are not drift before a day.
inline constexpr Timestamp k_drift_quiet_ms = 24LL * 3600 * 1000;
std::optional<Finding> empty_pulls_finding(std::span<const PullRecord> history, Timestamp now,
                                           std::string_view connector);

// Pulls of a stream that stopped being run (a cron job or timer gone, or every run failing before
// this stream): when the newest completed pull ended longer ago than k_stale_factor times the
// median gap between the last pulls (at least k_stale_min_pulls of them) and at least k_stale_min_ms,
// a silent finding naming when and how often it used to run. nullopt otherwise.
inline constexpr std::size_t k_stale_min_pulls = 4;
inline constexpr double k_stale_factor = 4;
inline constexpr Timestamp k_stale_min_ms = 3600 * 1000;
std::optional<Finding> stale_pulls_finding(std::span<const PullRecord> history, Timestamp now,
                                           std::string_view connector, std::string_view stream);

}  // namespace chansync
