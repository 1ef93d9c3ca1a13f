#pragma once
// Connector health: report types, and the pure classification of one probe's observations.
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sync/timestamp.hpp"

namespace chansync {

// Most severe first when several apply (see chansync-health(1)).
enum class HealthClass { unreachable, auth_failed, gone, rate_limited, deprecated, ok, unknown };
enum class Severity { ok = 0, warning = 1, critical = 2, unknown = 3 };  // monitoring-plugin codes

const char* to_string(HealthClass c);
const char* to_string(Severity s);
Severity severity_of(HealthClass c);

// What one cheap authenticated call showed. Header names are lower-case.
struct ProbeObservation {
  std::string url;              // no credentials in it
  int http_status = 0;          // 0 = no response
  std::string transport_error;  // DNS/TCP/TLS/timeout text, "" when a response came
  std::map<std::string, std::string> headers;
  double latency_ms = 0;
  std::string vendor_code;  // vendor error code from the body, if any
  std::string vendor_message;
};

struct HealthReport {
  std::string connector;
  std::string type;
  std::string stream;  // "" = the connector's probe; else one stream's last pull
  HealthClass cls = HealthClass::unknown;
  std::string summary;  // one line a person at 3 a.m. can act on
  ProbeObservation evidence;
  std::optional<Timestamp> sunset;  // from Sunset / Deprecation headers
  Timestamp checked_at = 0;
};

// Generic classification: transport error → unreachable; 401/403 → auth_failed; 410 → gone;
// 429 → rate_limited; 5xx → unreachable; 2xx with a Sunset or Deprecation header → deprecated;
// 2xx → ok; anything else → unknown. Vendors refine it with their own codes before or after.
HealthReport classify(const std::string& connector, const std::string& type, ProbeObservation obs);

// A probe that got a 2xx whose body is not what the vendor sends (`expected`, e.g. "a Twilio account
// resource") did not reach the vendor — a proxy, a captive portal or a wrong base_url answered:
// turns an ok report into unknown saying so. Other classes are kept.
void require_vendor_body(HealthReport& report, bool understood, const std::string& expected);

// One stream's health from how its last pull ended (the state store's streams row): ok when it
// completed, else the class of its error (auth → auth_failed, unavailable → unreachable,
// rate_limited → rate_limited, anything else → unknown), with the time and the error as summary.
// `error_code` is to_string(Errc) of the error. Pure.
HealthReport stream_health(const std::string& connector, const std::string& type, const std::string& stream,
                           Timestamp last_pull_at, const std::string& error, const std::string& error_code,
                           std::size_t received);

// Overall severity of several reports: the worst (critical > warning > unknown > ok).
Severity overall(const std::vector<HealthReport>& reports);

void to_json(nlohmann::json& j, const HealthReport& r);

}  // namespace chansync
