#pragma once
// The vendor's own word on an outage: an Atlassian Statuspage summary (`/api/v2/summary.json`) read
// into findings. Pure: the page is fetched by whoever builds HealthCheckOptions (adapters/, over
// libcurl), so sync/ needs no network and tests feed it bodies.
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "sync/health.hpp"

namespace chansync {

// What fetching a status page gave: the answer, or why none came (`error` non-empty).
struct StatusPageFetch {
  int http_status = 0;
  std::string content_type;  // the Content-Type header, "" when absent
  std::string body;
  std::string error;  // DNS/TCP/TLS/timeout text
  // The URL as findings quote it, with credentials and secret query values redacted (a status_page
  // may carry them); "" = the URL as asked for.
  std::string shown_url;
};

// GETs one URL (the summary, no credentials) once, no retries. Never throws for a remote problem.
using StatusPageFetcher = std::function<StatusPageFetch(const std::string& url)>;

// The summary URL of a status page: `page` + "/api/v2/summary.json", or `page` itself when it already
// names a .json document (a mirror, a test).
std::string status_summary_url(const std::string& page);

// What the summary at `url` says about the connector. Without `components`, the page's
// status.indicator decides: none → ok, minor and maintenance → degraded, major and critical →
// outage. With `components` (names, compared case-insensitively), one finding per name from that
// component's status: operational → ok, degraded_performance and under_maintenance → degraded,
// partial_outage and major_outage → outage; the details name the page's unresolved incidents that
// affect it. A fetch error, a non-2xx answer, HTML, a body that is not JSON or not a Statuspage
// summary, and a named component the page does not list give an unknown finding ("status page not
// checked: ..."), never ok. Pure.
std::vector<Finding> status_page_findings(const StatusPageFetch& got, const std::string& url,
                                          std::span<const std::string> components);

}  // namespace chansync
