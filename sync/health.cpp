#include "sync/health.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "sync/error.hpp"

namespace chansync {

const char* to_string(HealthClass c) {
  switch (c) {
    case HealthClass::unreachable:
      return "unreachable";
    case HealthClass::auth_failed:
      return "auth_failed";
    case HealthClass::gone:
      return "gone";
    case HealthClass::rate_limited:
      return "rate_limited";
    case HealthClass::deprecated:
      return "deprecated";
    case HealthClass::ok:
      return "ok";
    case HealthClass::unknown:
      return "unknown";
  }
  return "unknown";
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
  switch (c) {
    case HealthClass::unreachable:
    case HealthClass::auth_failed:
    case HealthClass::gone:
      return Severity::critical;
    case HealthClass::rate_limited:
    case HealthClass::deprecated:
      return Severity::warning;
    case HealthClass::ok:
      return Severity::ok;
    case HealthClass::unknown:
      return Severity::unknown;
  }
  return Severity::unknown;
}

HealthReport classify(const std::string& connector, const std::string& type, ProbeObservation obs) {
  HealthReport r{connector, type};
  r.checked_at = now_ms();
  auto header = [&](const char* name) -> const std::string* {
    auto it = obs.headers.find(name);
    return it == obs.headers.end() ? nullptr : &it->second;
  };
  // RFC 8594 Sunset is an HTTP-date; RFC 9745 Deprecation is "@<unix seconds>".
  if (const auto* s = header("sunset")) r.sunset = parse_http_date(*s);
  if (const auto* d = header("deprecation"); d && !r.sunset && d->starts_with("@")) {
    try {
      r.sunset = std::stoll(d->substr(1)) * 1000;
    } catch (const std::exception&) {
    }
  }
  const std::string vendor = obs.vendor_code.empty() ? "" : fmt::format(" (vendor code {})", obs.vendor_code);
  const int st = obs.http_status;
  if (!obs.transport_error.empty()) {
    r.cls = HealthClass::unreachable;
    r.summary = fmt::format("cannot reach {}: {}", obs.url, obs.transport_error);
  } else if (st == 401 || st == 403) {
    r.cls = HealthClass::auth_failed;
    r.summary =
        fmt::format("credentials rejected (HTTP {}){}; check the token/secret this connector reads", st, vendor);
  } else if (st == 410) {
    r.cls = HealthClass::gone;
    r.summary = fmt::format("endpoint gone (HTTP 410){}; the API version was retired", vendor);
  } else if (st == 429) {
    r.cls = HealthClass::rate_limited;
    const auto* ra = header("retry-after");
    r.summary = fmt::format("rate limited (HTTP 429){}{}", vendor, ra ? ", Retry-After " + *ra : "");
  } else if (st >= 500) {
    r.cls = HealthClass::unreachable;
    r.summary = fmt::format("server error (HTTP {}){}", st, vendor);
  } else if (st >= 200 && st < 300) {
    if (header("sunset") || header("deprecation")) {
      r.cls = HealthClass::deprecated;
      const auto days = r.sunset ? (*r.sunset - r.checked_at) / 86'400'000 : 0;
      r.summary = r.sunset
                      ? fmt::format("endpoint is deprecated; sunset {} ({} days left)", format_date(*r.sunset), days)
                      : "endpoint is deprecated (no sunset date given)";
    } else {
      r.cls = HealthClass::ok;
      r.summary = fmt::format("ok (HTTP {}, {:.0f} ms)", st, obs.latency_ms);
    }
  } else {
    r.cls = HealthClass::unknown;
    r.summary = fmt::format("unexpected HTTP {}{}", st, vendor);
  }
  r.evidence = std::move(obs);
  return r;
}

void require_vendor_body(HealthReport& report, bool understood, const std::string& expected) {
  if (understood || report.cls != HealthClass::ok) return;
  report.cls = HealthClass::unknown;
  report.summary = fmt::format(
      "HTTP {} from {}, but the body is not {}; something else answered (a proxy, a "
      "captive portal, or a wrong base_url)",
      report.evidence.http_status, report.evidence.url, expected);
}

HealthReport stream_health(const std::string& connector, const std::string& type, const std::string& stream,
                           Timestamp last_pull_at, const std::string& error, const std::string& error_code,
                           std::size_t received) {
  HealthReport r{connector, type, stream};
  r.checked_at = now_ms();
  r.evidence.url = "state store: last pull of " + connector + "/" + stream;
  if (error.empty()) {
    r.cls = HealthClass::ok;
    r.summary = fmt::format("last pull {} completed ({} records)", format_rfc3339(last_pull_at), received);
    return r;
  }
  r.cls = error_code == to_string(Errc::auth)           ? HealthClass::auth_failed
          : error_code == to_string(Errc::unavailable)  ? HealthClass::unreachable
          : error_code == to_string(Errc::rate_limited) ? HealthClass::rate_limited
                                                        : HealthClass::unknown;
  r.summary = fmt::format("last pull {} failed: {}; committed pages are kept, the next pull resumes",
                          format_rfc3339(last_pull_at), error);
  return r;
}

Severity overall(const std::vector<HealthReport>& reports) {
  auto rank = [](Severity s) {
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
  };
  Severity worst = Severity::ok;
  for (const auto& r : reports)
    if (rank(severity_of(r.cls)) > rank(worst)) worst = severity_of(r.cls);
  return worst;
}

void to_json(nlohmann::json& j, const HealthReport& r) {
  nlohmann::json ev = {{"url", r.evidence.url},
                       {"http_status", r.evidence.http_status},
                       {"latency_ms", static_cast<std::int64_t>(r.evidence.latency_ms + 0.5)}};
  if (!r.evidence.transport_error.empty()) ev["transport_error"] = r.evidence.transport_error;
  if (!r.evidence.vendor_code.empty()) ev["vendor_code"] = r.evidence.vendor_code;
  if (!r.evidence.vendor_message.empty()) ev["vendor_message"] = r.evidence.vendor_message;
  nlohmann::json headers = nlohmann::json::object();
  for (const char* name : {"sunset", "deprecation", "retry-after", "link"})
    if (auto it = r.evidence.headers.find(name); it != r.evidence.headers.end()) headers[name] = it->second;
  ev["headers"] = headers;
  j = {{"connector", r.connector},
       {"type", r.type},
       {"stream", r.stream.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.stream)},
       {"class", to_string(r.cls)},
       {"severity", to_string(severity_of(r.cls))},
       {"summary", r.summary},
       {"checked_at", format_rfc3339(r.checked_at)},
       {"evidence", ev}};
  j["sunset"] = r.sunset ? nlohmann::json(format_rfc3339(*r.sunset)) : nlohmann::json(nullptr);
}

}  // namespace chansync
