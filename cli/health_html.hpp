#pragma once
// `chansync health --html FILE`: one self-contained status page (inline CSS and SVG, no script, no
// external asset): per connector and stream the class with its findings and what to do, the class
// history as a strip and the inbound messages per hour with the silent gap marked. Pure.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sync/health_check.hpp"
#include "sync/health_hourly.hpp"
#include "sync/html.hpp"

namespace chansync::cli {

// The inbound messages per hour (`counts`, oldest first, the last hour ending at `end`) as an <svg>:
// one <rect class="bar"> per hour with messages, and, when `last_inbound` is known and at least an
// hour before `end`, one <rect class="gap"> from it (or the chart's start) to the end, titled with
// the time of the last message.
std::string inbound_svg(std::span<const std::int64_t> counts, Timestamp end, std::optional<Timestamp> last_inbound);

// The class history of one connector's stream over [start, end) from `ts` (transitions(), oldest
// first, this key only) as an <svg> strip: one <rect class="seg cls-CLASS"> per class interval.
std::string history_strip(const std::vector<HealthTransition>& ts, Timestamp start, Timestamp end);

struct HtmlPageInput {
  const HealthCheckResult* result = nullptr;
  std::span<const HealthClass> warn_only;
  std::vector<HealthTransition> history;                    // transitions() over the window
  std::map<std::string, std::vector<std::int64_t>> hourly;  // per connector, oldest first, ending at `end`
  Timestamp start = 0, end = 0;                             // the window of the history and the charts
};

// The whole page.
std::string health_html(const HtmlPageInput& in);

}  // namespace chansync::cli
