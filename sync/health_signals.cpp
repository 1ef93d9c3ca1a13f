#include "sync/health_signals.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

namespace chansync {
namespace {

using nlohmann::json;

const std::string* header(const HeaderMap& h, const char* name) {
  const auto it = h.find(name);
  return it == h.end() ? nullptr : &it->second;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits a list-valued field on commas outside <…> and "…".
std::vector<std::string_view> list_items(std::string_view v) {
  std::vector<std::string_view> out;
  bool angle = false, quote = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (c == '"' && !angle) quote = !quote;
    if (!quote && c == '<') angle = true;
    if (!quote && c == '>') angle = false;
    if (c == ',' && !angle && !quote) {
      out.push_back(trim(v.substr(start, i - start)));
      start = i + 1;
    }
  }
  out.push_back(trim(v.substr(start)));
  return out;
}

std::string days_left(Timestamp at, Timestamp now) {
  const auto days = (at - now) / 86'400'000;
  if (at >= now) return fmt::format("{} ({} days left)", format_date(at), days);
  return fmt::format("{} ({} days ago)", format_date(at), -days);
}

Finding deprecated(std::string signal, std::string value, std::string detail, std::optional<Timestamp> at = {}) {
  return {HealthClass::deprecated,
          std::move(signal),
          std::move(value),
          std::move(detail),
          "move to the successor the vendor's changelog names (a newer api_version or chansync release) before "
          "the sunset date",
          at};
}

// A budget with `used` of `limit` spent: rate_limited at 90% or more, else ok with the headroom.
Finding budget(std::string signal, double used_percent, std::string value, std::string what) {
  if (used_percent >= 90)
    return {HealthClass::rate_limited, std::move(signal), std::move(value),
            fmt::format("{} is {:.0f}% used; requests will be refused when it runs out", what, used_percent),
            "spread pulls out (a longer cron interval, fewer connectors on the same app or token) or ask the "
            "vendor for a higher limit"};
  return {HealthClass::ok, std::move(signal), std::move(value), fmt::format("{} is {:.0f}% used", what, used_percent),
          ""};
}

Finding auth(std::string signal, std::string value, std::string detail, std::string action) {
  return {HealthClass::auth_failed, std::move(signal), std::move(value), std::move(detail), std::move(action)};
}

std::vector<Finding> graph_codes(const json& doc) {
  const auto& e = doc.contains("error") ? doc["error"] : json();
  if (!e.is_object() || !e.contains("code") || !e["code"].is_number_integer()) return {};
  const int code = e["code"].get<int>();
  const int sub =
      e.contains("error_subcode") && e["error_subcode"].is_number_integer() ? e["error_subcode"].get<int>() : 0;
  const std::string value = sub ? fmt::format("{}/{}", code, sub) : std::to_string(code);
  const std::string msg = e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
  const std::string sig = "Graph error code";
  const std::string new_token =
      "generate a new long-lived token (a system user token does not expire) and put it where the connector "
      "reads its token";
  if (code == 190) {
    switch (sub) {
      case 458:
        return {auth(sig, value, "the user removed the app: its token no longer works (" + msg + ")",
                     "have a page admin add the app again and issue a new token")};
      case 459:
        return {auth(sig, value, "the user's account is checkpointed by Meta (" + msg + ")",
                     "the user must log in to Facebook and clear the checkpoint, then issue a new token")};
      case 460:
        return {
            auth(sig, value, "the user changed their password, which invalidated the token (" + msg + ")", new_token)};
      case 463:
        return {auth(sig, value, "the access token has expired (" + msg + ")", new_token)};
      case 464:
        return {auth(sig, value, "the token's user is unconfirmed (" + msg + ")",
                     "the user must confirm their Facebook account, then issue a new token")};
      case 467:
        return {auth(sig, value, "the access token is invalid (" + msg + ")", new_token)};
      default:
        return {auth(sig, value, "the access token was rejected (" + msg + ")", new_token)};
    }
  }
  if (code == 10 || (code >= 200 && code <= 299))
    return {auth(sig, value, "the access token lacks a permission (" + msg + ")",
                 "grant the permission the message names to the app/system user (Business Settings) and issue a "
                 "new token")};
  if (code == 368 || code == 131031)
    return {{HealthClass::restricted, sig, value,
             "Meta has restricted the account: blocked for a policy violation or locked (" + msg + ")",
             "see the account's status and appeal in Business Support Home (business.facebook.com)"}};
  // 80001-80014: Business Use Case limits, metered per page or account (adapters/meta/graph.cpp).
  if (code == 4 || code == 17 || code == 32 || code == 613 || code == 130429 || (code >= 80001 && code <= 80014))
    return {{HealthClass::rate_limited, sig, value, "Graph throttled the app (" + msg + ")",
             "wait: usage is a rolling one-hour window; pull less often if it recurs"}};
  if (code == 12)
    return {deprecated(sig, value, "a method or field is deprecated for the requested API version (" + msg + ")")};
  return {};
}

}  // namespace

std::string vendor_of(std::string_view type) {
  if (type.starts_with("meta-") || type.starts_with("whatsapp")) return "graph";
  if (type.starts_with("twilio")) return "twilio";
  if (type.starts_with("hubspot")) return "hubspot";
  if (type.starts_with("telegram")) return "telegram";
  return {};
}

std::vector<Finding> deprecation_findings(const HeaderMap& h, Timestamp now) {
  std::vector<Finding> out;
  if (const auto* d = header(h, "deprecation")) {
    std::optional<Timestamp> at;
    if (d->starts_with("@"))
      if (const auto n = header_number(std::string_view(*d).substr(1))) at = static_cast<Timestamp>(*n) * 1000;
    if (!at && *d != "true") at = parse_http_date(*d, now);  // draft-dalal-deprecation-header forms
    out.push_back(
        deprecated("Deprecation header", *d,
                   at ? "the endpoint is deprecated as of " + days_left(*at, now) : "the endpoint is deprecated", at));
  }
  if (const auto* s = header(h, "sunset")) {
    const auto at = parse_http_date(*s, now);
    out.push_back(deprecated("Sunset header", *s,
                             at ? "the endpoint will stop working on " + days_left(*at, now)
                                : "the endpoint announces a sunset (date unreadable)",
                             at));
  }
  if (const auto* l = header(h, "link"))
    for (const auto item : list_items(*l)) {
      const auto close = item.find('>');
      if (!item.starts_with('<') || close == std::string_view::npos) continue;
      const std::string params(item.substr(close + 1));
      for (const char* rel : {"deprecation", "sunset"})
        if (params.find(fmt::format("rel=\"{}\"", rel)) != std::string::npos ||
            params.find(fmt::format("rel={}", rel)) != std::string::npos)
          out.push_back(deprecated("Link header", std::string(item),
                                   fmt::format("the vendor links its {} notice: {}", rel, item.substr(1, close - 1))));
    }
  if (const auto* w = header(h, "warning"))
    for (const auto item : list_items(*w))
      if (item.starts_with("299"))
        out.push_back(deprecated("Warning header", std::string(item), "the vendor warns: " + std::string(item)));
  if (const auto* hs = header(h, "x-hubspot-api-deprecated"))
    out.push_back(deprecated("X-HubSpot-API-Deprecated header", *hs, "HubSpot marks the endpoint deprecated"));
  return out;
}

MetaUsage meta_usage(const HeaderMap& headers) {
  MetaUsage u;
  auto figures = [&](const json& o, const std::string& shown) {
    if (!o.is_object()) return;
    for (const char* k : {"call_count", "total_time", "total_cputime"})
      if (o.contains(k) && o[k].is_number() && o[k].get<double>() > u.percent) {
        u.percent = o[k].get<double>();
        u.which = shown + " " + k;
      }
    if (o.contains("estimated_time_to_regain_access") && o["estimated_time_to_regain_access"].is_number())
      u.regain_minutes = std::max(u.regain_minutes, o["estimated_time_to_regain_access"].get<int>());
  };
  auto read = [&](const char* name, const std::string& shown, bool per_business) {
    const auto* v = header(headers, name);
    if (!v) return;
    try {
      const auto j = json::parse(*v);
      if (!per_business) return figures(j, shown);
      // {"<business id>": [{"type": "messenger", "call_count": 28, ...}, ...], ...}
      if (j.is_object())
        for (const auto& [id, entries] : j.items())
          if (entries.is_array())
            for (const auto& e : entries) figures(e, shown);
    } catch (const json::exception&) {
    }
  };
  read("x-app-usage", "X-App-Usage", false);
  read("x-business-use-case-usage", "X-Business-Use-Case-Usage", true);
  return u;
}

std::vector<Finding> rate_limit_findings(const HeaderMap& h, Timestamp now) {
  std::vector<Finding> out;
  if (header(h, "x-app-usage") || header(h, "x-business-use-case-usage")) {
    const auto u = meta_usage(h);
    auto f = budget(u.which.empty() ? "X-App-Usage" : u.which, u.percent, fmt::format("{:.0f}%", u.percent),
                    "Meta's hourly usage");
    if (u.regain_minutes > 0) f.detail += fmt::format("; access returns in about {} min", u.regain_minutes);
    out.push_back(std::move(f));
  }
  // HubSpot's pairs: remaining of limit → a budget finding.
  auto pair = [&](const char* signal, const std::string* limit, const std::string* remaining, const char* what) {
    if (!limit || !remaining) return;
    const auto l = header_number(*limit), r = header_number(*remaining);
    if (!l || !r || *l <= 0) return;
    out.push_back(budget(signal, 100.0 * (*l - *r) / *l, fmt::format("{} of {} left", *remaining, *limit), what));
  };
  pair("X-HubSpot-RateLimit-Remaining", header(h, "x-hubspot-ratelimit-max"),
       header(h, "x-hubspot-ratelimit-remaining"), "HubSpot's per-interval request budget");
  pair("X-HubSpot-RateLimit-Daily-Remaining", header(h, "x-hubspot-ratelimit-daily"),
       header(h, "x-hubspot-ratelimit-daily-remaining"), "HubSpot's daily request budget");
  // X-RateLimit-* and the IETF fields, read as the HTTP client reads them to pace its requests.
  auto from_budget = [&](const char* signal, const std::optional<Budget>& b) {
    if (!b || !b->remaining) return;
    auto f = budget(signal, 100.0 * (b->limit - *b->remaining) / b->limit,
                    fmt::format("{} of {} left", *b->remaining, b->limit), "the request budget");
    // Whole seconds, rounded up: a wait named shorter than it is would be refused.
    if (b->reset && f.cls != HealthClass::ok)
      f.detail += fmt::format("; it resets in {} s", (b->reset->count() + 999) / 1000);
    out.push_back(std::move(f));
  };
  from_budget("X-RateLimit-Remaining", parse_x_ratelimit(h, now));
  from_budget(header(h, "ratelimit") ? "RateLimit" : "RateLimit-Remaining", parse_ietf_ratelimit(h));
  return out;
}

std::vector<Finding> vendor_code_findings(std::string_view vendor, std::string_view body) {
  json doc;
  try {
    doc = json::parse(body);
  } catch (const json::exception&) {
    return {};
  }
  if (!doc.is_object()) return {};
  if (vendor == "graph") return graph_codes(doc);
  if (vendor == "twilio" && doc.contains("code") && doc["code"].is_number_integer()) {
    const int code = doc["code"].get<int>();
    const std::string msg = doc.value("message", std::string());
    if (code == 20003)
      return {auth("Twilio error code", "20003", "Twilio refused the credentials (" + msg + ")",
                   "check account_sid and auth_token (with api_key_sid: that key and its secret) in the Twilio "
                   "Console; a rotated token or secret "
                   "must be updated where the connector reads it")};
    if (code == 20429)
      return {{HealthClass::rate_limited, "Twilio error code", "20429", "Twilio is throttling requests (" + msg + ")",
               "wait; pull less often or with fewer concurrent connectors on the account"}};
    return {};
  }
  if (vendor == "hubspot") {
    const std::string cat = doc.contains("category") && doc["category"].is_string() ? doc["category"].get<std::string>()
                            : doc.contains("errorType") && doc["errorType"].is_string()
                                ? doc["errorType"].get<std::string>()
                                : "";
    const std::string msg = doc.value("message", std::string());
    if (cat == "INVALID_AUTHENTICATION" || cat == "EXPIRED_AUTHENTICATION")
      return {auth("HubSpot error category", cat, "HubSpot refused the token (" + msg + ")",
                   "create a new private-app token (Settings → Integrations → Private Apps) and put it where the "
                   "connector reads it")};
    if (cat == "MISSING_SCOPES")
      return {auth("HubSpot error category", cat, "the token lacks a scope (" + msg + ")",
                   "add the scope the message names to the private app and use its new token")};
    if (cat == "RATE_LIMIT" || cat == "RATE_LIMITS")
      return {{HealthClass::rate_limited, "HubSpot error category", cat, "HubSpot refused a request: " + msg,
               "wait for the reset; a spent daily budget returns at midnight in the portal's time zone"}};
    return {};
  }
  if (vendor == "telegram" && doc.contains("error_code") && doc["error_code"].is_number_integer()) {
    const int code = doc["error_code"].get<int>();
    if (code == 401)
      return {auth("Telegram error_code", "401", "Telegram refused the bot token",
                   "get the current token from @BotFather (/token) and put it where the connector reads it")};
    if (code == 429)
      return {{HealthClass::rate_limited, "Telegram error_code", "429", "Telegram is throttling the bot",
               "wait the retry_after Telegram names"}};
  }
  return {};
}

std::vector<Finding> api_version_findings(const HeaderMap& h, const std::string& requested) {
  const auto* v = header(h, "facebook-api-version");
  if (!v || requested.empty() || trim(*v) == requested) return {};
  return {{HealthClass::gone, "facebook-api-version header", *v,
           fmt::format("Graph answered with {} although {} was requested: {} has expired and calls are being "
                       "upgraded to the oldest version still served",
                       *v, requested, requested),
           fmt::format("raise the connector's api_version to {} or newer after checking the changelog", *v)}};
}

Finding expiry_finding(const CredentialExpiry& e, Timestamp now, int warning_days) {
  const std::string signal = e.what + " expiry";
  const std::string date = format_rfc3339(e.at);
  constexpr Timestamp day = 24LL * 3'600'000;
  const auto days_left = (e.at - now + day - 1) / day;  // a part of a day counts as one
  if (e.at <= now)
    return {HealthClass::auth_failed,
            signal,
            date,
            fmt::format("the {} expired on {}: every call with it fails", e.what, date),
            e.action,
            e.at};
  if (e.at - now <= warning_days * day)
    return {HealthClass::deprecated,
            signal,
            date,
            fmt::format("the {} expires on {} ({} day{} left; warned {} days ahead, [health] expiry_warning_days)",
                        e.what, date, days_left, days_left == 1 ? "" : "s", warning_days),
            "before then: " + e.action,
            e.at};
  return {HealthClass::ok,
          signal,
          date,
          fmt::format("the {} expires on {} ({} days left)", e.what, date, days_left),
          "",
          e.at};
}

}  // namespace chansync
