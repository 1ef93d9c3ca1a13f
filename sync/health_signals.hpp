#pragma once
// Response signals: what a vendor's answer says beyond its status code, read in this one place from
// its headers and error body — deprecation and sunset dates, the vendor's own auth and restriction
// codes, rate-limit headroom and the API version that actually answered. Each reader returns
// findings (sync/health.hpp) naming the header or code and its value; all are pure.
#include <string>
#include <string_view>
#include <vector>

#include "sync/health.hpp"
#include "sync/rate_budget.hpp"

namespace chansync {

// The vendor whose error bodies and headers a connector type speaks: "graph" (meta-*, whatsapp-*),
// "twilio", "hubspot", "telegram", or "" for the others.
std::string vendor_of(std::string_view type);

// RFC 9745 `Deprecation: @<unix seconds>` (and the older `true` / HTTP-date forms), RFC 8594
// `Sunset: <HTTP-date>`, `Link: <…>; rel="deprecation"|"sunset"`, `Warning: 299 …` and HubSpot's
// `X-HubSpot-API-Deprecated`: one deprecated finding each, dated where the header gives a date.
// `now` only words the days left.
std::vector<Finding> deprecation_findings(const HeaderMap& headers, Timestamp now);

// Rate-limit headroom: Meta's X-App-Usage / X-Business-Use-Case-Usage percentages, HubSpot's
// X-HubSpot-RateLimit-Max/-Remaining and -Daily/-Daily-Remaining, and the Budget that
// parse_x_ratelimit and parse_ietf_ratelimit read (sync/rate_budget.hpp, as requests are paced by).
// rate_limited when 90% or more of a budget is used (10% or less remains), naming the seconds to its
// reset; else an ok finding with the headroom. `now` reads a Unix-time X-RateLimit-Reset. Unreadable
// values are ignored.
std::vector<Finding> rate_limit_findings(const HeaderMap& headers, Timestamp now);

// The vendor's own error code in an error body: Graph `error.code`/`error_subcode` (190 and its
// subcodes → auth_failed; 10, 200–299 → auth_failed for a missing permission; 368, 131031 →
// restricted; 4, 17, 32, 613, 130429 → rate_limited; 12 → deprecated), Twilio `code` (20003 →
// auth_failed, 20429 → rate_limited), HubSpot `category` (INVALID_/EXPIRED_AUTHENTICATION,
// MISSING_SCOPES → auth_failed; RATE_LIMIT → rate_limited), Telegram `error_code` 401 → auth_failed,
// 429 → rate_limited. Empty when the body names no code this knows.
std::vector<Finding> vendor_code_findings(std::string_view vendor, std::string_view body);

// `facebook-api-version` differing from the version requested: Graph served the call with another
// version because the one asked for has expired → gone. Empty when the header is absent or agrees.
std::vector<Finding> api_version_findings(const HeaderMap& headers, const std::string& requested);

// A credential's stated end, as of `now`: past → auth_failed ("expired on …"); within `warning_days`
// → deprecated (a WARNING: it stops working on a known date, like a sunset; the finding's `at` is
// that date and the detail says the days left); later → ok with the date. Signal "<what> expiry".
Finding expiry_finding(const CredentialExpiry& e, Timestamp now, int warning_days);

// Meta's usage headers read: the highest percentage (call_count, total_time, total_cputime) and the
// longest estimated_time_to_regain_access (minutes), and which header and figure was highest.
struct MetaUsage {
  double percent = 0;
  int regain_minutes = 0;
  std::string which;  // "X-App-Usage call_count"
};
MetaUsage meta_usage(const HeaderMap& headers);

}  // namespace chansync
