#include "sync/health.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "sync/error.hpp"
#include "sync/health_signals.hpp"

namespace chansync {
namespace {

constexpr std::array k_classes = {HealthClass::unreachable,  HealthClass::auth_failed,  HealthClass::gone,
                                  HealthClass::outage,       HealthClass::restricted,   HealthClass::webhook_broken,
                                  HealthClass::rate_limited, HealthClass::schema_drift, HealthClass::silent,
                                  HealthClass::deprecated,   HealthClass::degraded,     HealthClass::recovering,
                                  HealthClass::ok,           HealthClass::unknown};

constexpr std::array<const char*, k_classes.size()> k_names = {
    "unreachable",    "auth_failed",  "gone",         "outage", "restricted",
    "webhook_broken", "rate_limited", "schema_drift", "silent", "deprecated",
    "degraded",       "recovering",   "ok",           "unknown"};

int rank(Severity s) {
  switch (s) {
    case Severity::critical:
      return 3;
    case Severity::warning:
      return 2;
    case Severity::unknown:
      return 1;
    case Severity::ok:
      return 0;
  }
  return 1;
}

// The finding the HTTP status alone gives.
Finding status_finding(const ProbeObservation& obs) {
  const int st = obs.http_status;
  const std::string value = std::to_string(st);
  const std::string vendor = obs.vendor_code.empty()
                                 ? ""
                                 : fmt::format(" (vendor code {}{})", obs.vendor_code,
                                               obs.vendor_message.empty() ? "" : ": " + obs.vendor_message);
  if (!obs.transport_error.empty())
    return {HealthClass::unreachable, "connection", obs.transport_error,
            // HttpClient's own message usually names the URL already ("cannot reach URL: ...").
            obs.url.empty() || obs.transport_error.find(obs.url) != std::string::npos
                ? obs.transport_error
                : fmt::format("cannot reach {}: {}", obs.url, obs.transport_error),
            "check DNS, the network path and proxy to the vendor, and base_url (a webhook target's url)"};
  if (st == 401 || st == 403)
    return {HealthClass::auth_failed, "HTTP status", value, fmt::format("credentials rejected (HTTP {}){}", st, vendor),
            "check the token/secret this connector reads"};
  if (st == 410)
    return {HealthClass::gone, "HTTP status", value, fmt::format("endpoint gone (HTTP 410){}", vendor),
            "the API version was retired: raise api_version or upgrade chansync"};
  // A 503 with Retry-After is the usual answer of a server shedding load (DESIGN §9): it asks to be
  // called later, as a 429 does, rather than being down.
  const auto retry_after = obs.headers.find("retry-after");
  if (st == 429 || (st == 503 && retry_after != obs.headers.end()))
    return {HealthClass::rate_limited, "HTTP status", value,
            fmt::format("{} (HTTP {}){}{}", st == 429 ? "rate limited" : "overloaded, asks to be called later", st,
                        vendor, retry_after == obs.headers.end() ? "" : ", Retry-After " + retry_after->second),
            "wait; pull less often if it recurs"};
  if (st >= 500)
    return {HealthClass::unreachable, "HTTP status", value, fmt::format("server error (HTTP {}){}", st, vendor),
            "the vendor is failing: check its status page; chansync retries on the next run"};
  if (st >= 200 && st < 300)
    return {HealthClass::ok, "HTTP status", value,
            fmt::format("ok (HTTP {}, {:.0f} ms: DNS {:.0f}, connect {:.0f}, TLS {:.0f}, first byte {:.0f})", st,
                        obs.latency_ms, obs.timings.dns_ms, obs.timings.connect_ms, obs.timings.tls_ms,
                        obs.timings.first_byte_ms),
            ""};
  return {HealthClass::unknown, "HTTP status", value, fmt::format("unexpected HTTP {}{}", st, vendor),
          "check base_url (a webhook target's url) and the vendor's status"};
}

std::size_t order(HealthClass c) {
  return static_cast<std::size_t>(c);
}

// Orders the findings worst first; the class is the worst problem found, else unknown when a signal
// could not be read (a probe that could not run is never ok), else ok.
void settle_findings(HealthReport& r) {
  std::stable_sort(r.findings.begin(), r.findings.end(),
                   [](const Finding& a, const Finding& b) { return order(a.cls) < order(b.cls); });
  const Finding* pick = nullptr;
  for (const auto& f : r.findings)
    if (f.cls != HealthClass::ok && f.cls != HealthClass::unknown) {
      pick = &f;
      break;
    }
  for (const auto& f : r.findings)
    if (!pick && f.cls == HealthClass::unknown && !f.beside) pick = &f;
  for (const auto& f : r.findings)
    if (!pick && !f.beside) pick = &f;
  if (!pick && !r.findings.empty()) pick = &r.findings.front();
  if (!pick) {
    r.cls = HealthClass::unknown;
    r.summary = "nothing was checked";
    r.action = "";
    return;
  }
  r.cls = pick->cls;
  r.summary = pick->detail;
  r.action = pick->action;
  // A working connector names each signal beside it that could not run ("...; status page not checked").
  if (r.cls == HealthClass::ok)
    for (const auto& f : r.findings)
      if (f.beside && f.cls == HealthClass::unknown) r.summary += "; " + f.detail;
}

}  // namespace

const char* to_string(HealthClass c) {
  const auto i = order(c);
  return i < k_names.size() ? k_names[i] : "unknown";
}

std::optional<HealthClass> parse_health_class(std::string_view name) {
  for (std::size_t i = 0; i < k_names.size(); ++i)
    if (name == k_names[i]) return k_classes[i];
  return std::nullopt;
}

std::span<const HealthClass> all_health_classes() {
  return k_classes;
}

const char* to_string(Severity s) {
  switch (s) {
    case Severity::ok:
      return "OK";
    case Severity::warning:
      return "WARNING";
    case Severity::critical:
      return "CRITICAL";
    case Severity::unknown:
      return "UNKNOWN";
  }
  return "UNKNOWN";
}

Severity severity_of(HealthClass c) {
  if (c == HealthClass::ok) return Severity::ok;
  if (c == HealthClass::unknown) return Severity::unknown;
  return order(c) <= order(HealthClass::webhook_broken) ? Severity::critical : Severity::warning;
}

Severity severity_of(const HealthReport& r, std::span<const HealthClass> warn_only) {
  const Severity s = severity_of(r.cls);
  if (rank(s) > rank(Severity::warning) && std::find(warn_only.begin(), warn_only.end(), r.cls) != warn_only.end())
    return Severity::warning;
  return s;
}

HealthReport classify(const std::string& connector, const std::string& type, ProbeObservation obs) {
  HealthReport r{connector, type};
  r.checked_at = now_ms();
  if (obs.redact) {
    obs.vendor_code = obs.redact(obs.vendor_code);
    obs.vendor_message = obs.redact(obs.vendor_message);
  }
  const std::string vendor = vendor_of(type);
  auto vendor_findings = obs.http_status >= 400 ? vendor_code_findings(vendor, obs.body) : std::vector<Finding>{};
  // The vendor's own code is more precise than its HTTP status (Graph sends 400 for a throttled app).
  if (vendor_findings.empty()) r.findings.push_back(status_finding(obs));
  for (auto& f : vendor_findings) r.findings.push_back(std::move(f));
  if (obs.transport_error.empty()) {
    for (auto& f : deprecation_findings(obs.headers, r.checked_at)) r.findings.push_back(std::move(f));
    for (auto& f : rate_limit_findings(obs.headers, r.checked_at)) r.findings.push_back(std::move(f));
    for (auto& f : api_version_findings(obs.headers, obs.api_version)) r.findings.push_back(std::move(f));
  }
  // When the endpoint stops being served: a Sunset header's date (RFC 8594), the earliest if several.
  // A Deprecation header's date is when it became deprecated (RFC 9745), which may be years past.
  for (const auto& f : r.findings)
    if (f.signal == "Sunset header" && f.at && (!r.sunset || *f.at < *r.sunset)) r.sunset = f.at;
  obs.body.clear();
  r.evidence = std::move(obs);
  settle_findings(r);
  return r;
}

void settle(HealthReport& r) {
  auto own = std::find_if(r.findings.begin(), r.findings.end(), [&](const Finding& f) { return f.cls == r.cls; });
  // An adapter that decided a class without a finding: its summary is the evidence.
  if (own == r.findings.end())
    r.findings.push_back({r.cls, "adapter", r.evidence.vendor_code, r.summary.empty() ? "no detail" : r.summary, ""});
  else if (r.action.empty())
    r.action = own->action;
  if (r.summary.empty()) r.summary = r.findings.back().detail;
  std::stable_sort(r.findings.begin(), r.findings.end(),
                   [](const Finding& a, const Finding& b) { return order(a.cls) < order(b.cls); });
}

void add_finding(HealthReport& report, Finding f) {
  report.findings.push_back(std::move(f));
  settle_findings(report);
}

void add_signal_finding(HealthReport& report, Finding f) {
  if (f.cls != HealthClass::ok && f.cls != HealthClass::unknown) return add_finding(report, std::move(f));
  f.beside = true;
  if (f.cls == HealthClass::unknown && report.cls == HealthClass::ok) report.summary += "; " + f.detail;
  report.findings.push_back(std::move(f));
  settle(report);
}

void require_vendor_body(HealthReport& report, bool understood, const std::string& expected) {
  const int st = report.evidence.http_status;
  if (understood || st < 200 || st >= 300) return;
  // Headroom and deprecations read from a stranger's headers mean nothing: only this finding stays.
  report.findings = {{HealthClass::unknown, "response body", "not " + expected,
                      fmt::format("HTTP {} from {}, but the body is not {}; something else answered (a proxy, a "
                                  "captive portal, or a wrong base_url)",
                                  report.evidence.http_status, report.evidence.url, expected),
                      "check base_url (a webhook target's url) and any proxy between chansync and the vendor"}};
  report.sunset.reset();
  settle_findings(report);
}

HealthReport stream_health(const std::string& connector, const std::string& type, const std::string& stream,
                           Timestamp last_pull_at, const std::string& error, const std::string& error_code,
                           std::size_t received) {
  HealthReport r{connector, type, stream};
  r.checked_at = now_ms();
  r.evidence.url = "state store: last pull of " + connector + "/" + stream;
  if (error.empty()) {
    r.findings.push_back({HealthClass::ok, "last pull", format_rfc3339(last_pull_at),
                          fmt::format("last pull {} completed ({} records)", format_rfc3339(last_pull_at), received),
                          ""});
    settle_findings(r);
    return r;
  }
  const auto cls = error_code == to_string(Errc::auth)           ? HealthClass::auth_failed
                   : error_code == to_string(Errc::unavailable)  ? HealthClass::unreachable
                   : error_code == to_string(Errc::rate_limited) ? HealthClass::rate_limited
                   : error_code == to_string(Errc::protocol)     ? HealthClass::schema_drift
                                                                 : HealthClass::unknown;
  r.findings.push_back({cls, "last pull", error_code,
                        fmt::format("last pull {} failed: {}; committed pages are kept, the next pull resumes",
                                    format_rfc3339(last_pull_at), error),
                        cls == HealthClass::schema_drift
                            ? "the vendor's answer no longer parses: report the error above (`chansync -vv pull " +
                                  connector + "` logs each request); `chansync state dead-letters " + connector +
                                  "` lists the records it could not map, with their raw payloads"
                            : "fix what the error names, then run `chansync pull " + connector + "`"});
  settle_findings(r);
  return r;
}

Severity overall(const std::vector<HealthReport>& reports, std::span<const HealthClass> warn_only) {
  Severity worst = Severity::ok;
  for (const auto& r : reports)
    if (rank(severity_of(r, warn_only)) > rank(worst)) worst = severity_of(r, warn_only);
  return worst;
}

void to_json(nlohmann::json& j, const Finding& f) {
  j = {{"class", to_string(f.cls)},
       {"signal", f.signal},
       {"value", f.value},
       {"detail", f.detail},
       {"action", f.action}};
  j["at"] = f.at ? nlohmann::json(format_rfc3339(*f.at)) : nlohmann::json(nullptr);
}

void to_json(nlohmann::json& j, const HealthReport& r) {
  nlohmann::json ev = {{"url", r.evidence.url},
                       {"http_status", r.evidence.http_status},
                       {"latency_ms", static_cast<std::int64_t>(r.evidence.latency_ms + 0.5)}};
  if (r.evidence.http_status > 0) {
    const auto& t = r.evidence.timings;
    auto ms = [](double v) { return static_cast<std::int64_t>(v + 0.5); };
    ev["timings_ms"] = {{"dns", ms(t.dns_ms)},
                        {"connect", ms(t.connect_ms)},
                        {"tls", ms(t.tls_ms)},
                        {"first_byte", ms(t.first_byte_ms)}};
  }
  if (!r.evidence.transport_error.empty()) ev["transport_error"] = r.evidence.transport_error;
  if (!r.evidence.vendor_code.empty()) ev["vendor_code"] = r.evidence.vendor_code;
  if (!r.evidence.vendor_message.empty()) ev["vendor_message"] = r.evidence.vendor_message;
  nlohmann::json headers = nlohmann::json::object();
  for (const char* name : {"sunset", "deprecation", "retry-after", "link", "warning", "x-hubspot-api-deprecated",
                           "facebook-api-version", "x-app-usage", "x-business-use-case-usage",
                           "x-hubspot-ratelimit-remaining", "x-hubspot-ratelimit-daily-remaining",
                           "x-ratelimit-remaining", "x-ratelimit-reset", "ratelimit", "ratelimit-policy"})
    if (auto it = r.evidence.headers.find(name); it != r.evidence.headers.end()) headers[name] = it->second;
  ev["headers"] = headers;
  j = {{"connector", r.connector},
       {"type", r.type},
       {"stream", r.stream.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.stream)},
       {"class", to_string(r.cls)},
       {"severity", to_string(severity_of(r.cls))},
       {"summary", r.summary},
       {"action", r.action},
       {"checked_at", format_rfc3339(r.checked_at)},
       {"findings", r.findings},
       {"evidence", ev}};
  j["sunset"] = r.sunset ? nlohmann::json(format_rfc3339(*r.sunset)) : nlohmann::json(nullptr);
  j["observed"] = r.observed ? nlohmann::json(to_string(*r.observed)) : nlohmann::json(nullptr);
  j["since"] = r.since ? nlohmann::json(format_rfc3339(*r.since)) : nlohmann::json(nullptr);
}

}  // namespace chansync
