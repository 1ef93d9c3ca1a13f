#pragma once
// Connector health: report types, findings with their evidence, and the pure classification of one
// probe's observations. The classes, their order and their severities are DESIGN.md §9 and
// chansync-health(1).
#include <functional>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sync/timestamp.hpp"

namespace chansync {

// Most severe first: when several findings apply, the first in this order is the report's class.
enum class HealthClass {
  unreachable,
  auth_failed,
  gone,
  outage,
  restricted,
  webhook_broken,
  rate_limited,
  schema_drift,
  silent,
  deprecated,
  degraded,
  recovering,
  ok,
  unknown
};
enum class Severity { ok = 0, warning = 1, critical = 2, unknown = 3 };  // monitoring-plugin codes

const char* to_string(HealthClass c);
const char* to_string(Severity s);
// The class named `name` ("auth_failed"); nullopt for anything else.
std::optional<HealthClass> parse_health_class(std::string_view name);
// Every class, in precedence order.
std::span<const HealthClass> all_health_classes();
// unreachable … webhook_broken → critical; rate_limited … recovering → warning; ok; unknown.
Severity severity_of(HealthClass c);

// What one signal showed: which signal, the value it had, what that means and what to do. A finding
// of class ok is a signal that was checked and is fine (rate-limit headroom left, a version still
// served); `at` is a date the signal names (a sunset, an end of life).
struct Finding {
  HealthClass cls = HealthClass::unknown;
  std::string signal;  // "HTTP status", "Sunset header", "Graph error", "X-App-Usage", "API version table"
  std::string value;   // the value as seen: "401", "Sat, 31 Dec 2033 23:59:59 GMT", "190/463", "93%"
  std::string detail;  // one line a person at 3 a.m. can read
  std::string action;  // what to do; "" for ok
  std::optional<Timestamp> at;
  // A signal beside the probe (add_signal_finding) whose unknown means only that it could not run:
  // it never decides the class. Not serialised.
  bool beside = false;
};

// What one cheap authenticated call showed. Header names are lower-case.
struct ProbeObservation {
  std::string url;              // no credentials in it
  int http_status = 0;          // 0 = no response
  std::string transport_error;  // DNS/TCP/TLS/timeout text, "" when a response came
  std::map<std::string, std::string> headers;
  double latency_ms = 0;
  // Where the time went (libcurl's phases, cumulative ms from the start): DNS, connect, TLS, first byte.
  struct Timings {
    double dns_ms = 0, connect_ms = 0, tls_ms = 0, first_byte_ms = 0;
  } timings;
  std::string vendor_code;  // vendor error code from the body, if any
  std::string vendor_message;
  std::string api_version;  // the version the request asked for ("v23.0"); "" when unversioned
  std::string body;         // the start of the body, for vendor error codes; never serialised
  // The connector's redaction of secrets (observe() sets it). Adapters read vendor_code and
  // vendor_message from the raw body, and a server may echo the token it was sent: classify() applies
  // this to both before they reach a summary, the output or the state store.
  std::function<std::string(std::string_view)> redact;
};

// When a credential stops working, as the vendor states it (Graph's debug_token expires_at and
// data_access_expires_at). The adapter reports it; check_health judges it against
// [health] expiry_warning_days (expiry_finding), so adapters need no health settings.
struct CredentialExpiry {
  std::string what;  // "access token", "data access"
  Timestamp at = 0;
  std::string action;  // how to renew it, in the vendor's words
};

struct HealthReport {
  std::string connector;
  std::string type;
  std::string stream;  // "" = the connector's probe; else one stream's last pull
  HealthClass cls = HealthClass::unknown;
  std::string summary;  // one line a person at 3 a.m. can act on
  ProbeObservation evidence;
  std::optional<Timestamp> sunset;  // from Sunset / Deprecation headers or the version table
  Timestamp checked_at = 0;
  std::vector<Finding> findings;  // every signal read, worst first after settle()
  std::string action;             // what to do about `cls`; "" when ok
  // Set by the history (apply_recovery): the class the signals gave before the recovery streak
  // turned it into recovering, and since when the connector has had its current class.
  std::optional<HealthClass> observed;
  std::optional<Timestamp> since;
  std::optional<Timestamp> last_ok_pull;   // a stream's report: when its last completed pull ended
  std::vector<CredentialExpiry> expiries;  // from the probe; not serialised (their findings are)
};

// Generic classification from the observation and every response signal (health_signals.hpp): the
// transport error, the HTTP status, the vendor's error code in the body, deprecation, rate-limit
// headroom and version headers. The class is the most severe finding's; a response that shows
// nothing wrong is ok, and no response at all is never ok.
HealthReport classify(const std::string& connector, const std::string& type, ProbeObservation obs);

// Appends `f` and settles the report again (class, summary and action of the worst finding).
void add_finding(HealthReport& report, Finding f);

// Adds the finding of a signal beside the probe (a status page, a webhook subscription, the listen
// record): a problem decides the class as any does; ok and unknown are kept as evidence without
// changing the class (a signal that could not run never makes a working connector unknown, nor one
// that is fine an unknown probe ok), and an unknown one is named in the summary of a report that is
// ok ("...; status page not checked: ...").
void add_signal_finding(HealthReport& report, Finding f);

// For a report an adapter built or changed itself: when no finding has the report's class, adds one
// naming its summary (so every class has evidence); orders the findings worst first. Keeps the
// adapter's class and summary. Idempotent.
void settle(HealthReport& report);

// A probe that got a 2xx whose body is not what the vendor sends (`expected`, e.g. "a Twilio account
// resource") did not reach the vendor — a proxy, a captive portal or a wrong base_url answered:
// the report becomes unknown saying so, and what its headers said is dropped. Non-2xx reports are kept.
void require_vendor_body(HealthReport& report, bool understood, const std::string& expected);

// One stream's health from how its last pull ended (the state store's streams row): ok when it
// completed, else the class of its error (auth → auth_failed, unavailable → unreachable,
// rate_limited → rate_limited, protocol → schema_drift, anything else → unknown), with the time and
// the error as summary. `error_code` is to_string(Errc) of the error. Pure.
HealthReport stream_health(const std::string& connector, const std::string& type, const std::string& stream,
                           Timestamp last_pull_at, const std::string& error, const std::string& error_code,
                           std::size_t received);

// The severity a report counts with: severity_of(cls), except that a class in `warn_only` (a class a
// team accepts, `--warn-only`) counts as a warning at most.
Severity severity_of(const HealthReport& r, std::span<const HealthClass> warn_only = {});

// Overall severity of several reports: the worst (critical > warning > unknown > ok).
Severity overall(const std::vector<HealthReport>& reports, std::span<const HealthClass> warn_only = {});

void to_json(nlohmann::json& j, const Finding& f);
void to_json(nlohmann::json& j, const HealthReport& r);

}  // namespace chansync
