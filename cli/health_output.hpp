#pragma once
// `chansync health` output: the table (colour by severity when asked), JSON
// (schemas/health.schema.json), the Prometheus text exposition format for node-exporter's textfile
// collector, and the transitions of `health --since`.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sync/health_check.hpp"

namespace chansync::cli {

// The table: one line per report (NAME, TYPE, SEVERITY, CLASS, SINCE, DETAIL with the deciding
// signal), then what to do for each one that is not ok. `colour`: ANSI colour per line by severity.
std::string health_table(const HealthCheckResult& result, std::span<const HealthClass> warn_only, bool colour);

// The -o json document (schemas/health.schema.json).
nlohmann::json health_json(const HealthCheckResult& result, std::span<const HealthClass> warn_only);

// Text exposition format 0.0.4: chansync_health_class{connector,stream,class} 0/1 for every class,
// chansync_health_severity, chansync_health_checked_timestamp_seconds and, where known,
// chansync_health_sunset_timestamp_seconds; stream="" is the connector's probe.
std::string health_prometheus(const HealthCheckResult& result, std::span<const HealthClass> warn_only);

// `health --since`: a table of the changes, or (json) {"since", "transitions": [...]}.
std::string transitions_table(const std::vector<HealthTransition>& ts);
nlohmann::json transitions_json(const std::vector<HealthTransition>& ts, Timestamp since);

// Whether stdout gets colour: a terminal, NO_COLOR unset or empty, and no --no-color.
bool stdout_colour(bool no_color_flag);

}  // namespace chansync::cli
