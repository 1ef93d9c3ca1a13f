#pragma once
// One `chansync health` run: probe each chosen endpoint through its adapter, add what the shipped
// API versions table and each stream's last pull say, apply the history (recovering, since) and
// record the run. The CLI only parses, calls check_health and prints.
#include <functional>
#include <memory>
#include <vector>

#include "sync/config.hpp"
#include "sync/health.hpp"
#include "sync/health_history.hpp"
#include "sync/health_status_page.hpp"

namespace chansync {

class StateStore;

struct HealthCheckOptions {
  std::vector<EndpointConfig*> endpoints;  // connectors and targets to check
  // Resolves the endpoint's secrets and creates its adapter; throws Failure for what stops that (a
  // missing secret), which becomes an unknown report naming it.
  std::function<std::unique_ptr<Adapter>(EndpointConfig&)> make_adapter;
  std::vector<HealthClass> warn_only;  // classes counted as WARNING at most (--warn-only)
  // No vendor call (--offline): each endpoint is judged by what the state store recorded (its
  // streams' last pulls) and the shipped API versions table; one with neither is unknown.
  bool offline = false;
  // Fetches a vendor status page (an endpoint's status_page key); empty: that signal is not checked.
  // Built adapters-side (adapters/status_page.hpp) so this library needs no HTTP client.
  StatusPageFetcher fetch_status_page;
  // True when a stop came during the check (health --watch): its probes may have been cut short, so
  // its results are not recorded in the history, where they would read as an outage.
  std::function<bool()> stopped;
};

// The newest inbound message of one channel of a connector, as the state store holds it.
struct InboundMark {
  std::string connector, channel;
  Timestamp last = 0;
};

struct HealthCheckResult {
  std::vector<HealthReport> reports;  // one per endpoint probe, then one per pulled stream of it
  std::vector<InboundMark> inbound;   // per connector and channel with inbound messages
  Severity status = Severity::ok;     // overall(), with warn_only applied: the exit code
  Timestamp checked_at = 0;
};

// Runs the checks. `store` may be null (no readable state store: no stream checks, no history).
// Never throws for a remote problem or an unwritable history (logged as a warning).
HealthCheckResult check_health(const Config& cfg, StateStore* store, const HealthCheckOptions& opts);

// The changes of class since `from` (RunLog::health_since + transitions()).
std::vector<HealthTransition> health_history(StateStore& store, Timestamp from);

}  // namespace chansync
