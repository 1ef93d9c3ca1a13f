#include "adapters/meta/graph_health.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

namespace chansync::adapters::meta {
namespace {

using nlohmann::json;

// Why a Graph answer cannot be read, for "... not checked: <why>"; "" when it is a 2xx JSON object.
std::string unreadable(int status, const std::string& body, const std::string& error, const json& doc) {
  if (!error.empty()) return error;
  if (const auto e = parse_graph_error(body))
    return fmt::format("Graph error {}{}: {} (HTTP {}, fbtrace_id {})", e->code,
                       e->subcode ? fmt::format("/{}", e->subcode) : "", e->message, status, e->fbtrace_id);
  if (status < 200 || status >= 300) return fmt::format("HTTP {}: {}", status, body_excerpt(body, 120));
  if (!doc.is_object()) return "the answer is not Graph's JSON: " + body_excerpt(body, 120);
  return "";
}

Timestamp seconds_at(const json& data, const char* key) {
  const auto& v = member(data, key);
  return v.is_number_integer() ? v.get<std::int64_t>() * 1000 : 0;
}

}  // namespace

Finding subscription_finding(int status, const std::string& body, const std::string& error, const std::string& what,
                             const std::string& field) {
  constexpr const char* signal = "webhook subscription";
  const auto doc = json::parse(body, nullptr, false);
  const auto why = unreadable(status, body, error, doc);
  if (!why.empty() || !member(doc, "data").is_array())
    return {HealthClass::unknown, signal, status ? fmt::format("HTTP {}", status) : "no answer",
            fmt::format("webhook subscription not checked: subscribed_apps of {}: {}", what,
                        why.empty() ? "no data array" : why),
            "the token needs pages_manage_metadata (a Page) or whatsapp_business_management (a WhatsApp Business "
            "Account) to read the subscription"};
  std::vector<std::string> apps, with_field;
  for (const auto& app : array_at(doc, "data")) {
    // WhatsApp nests the app under whatsapp_business_api_data; a Page lists it flat.
    const auto& inner = member(app, "whatsapp_business_api_data");
    const auto& a = inner.is_object() ? inner : app;
    const std::string name = meta::field(a, "name").empty() ? meta::field(a, "id") : meta::field(a, "name");
    apps.push_back(name);
    const auto& fields = array_at(app, "subscribed_fields");
    if (std::any_of(fields.begin(), fields.end(), [&](const json& f) { return f.is_string() && f == field; }))
      with_field.push_back(name);
  }
  const std::string fix = fmt::format(
      "subscribe the app again: App Dashboard > Webhooks (or POST /{{id}}/subscribed_apps{}); until then Meta sends "
      "this connector nothing and customer messages only show up in the next history pull, if at all",
      field.empty() ? "" : "?subscribed_fields=" + field);
  if (apps.empty())
    return {HealthClass::webhook_broken, signal, "no app subscribed",
            fmt::format("no app is subscribed to the webhooks of {}: Meta delivers no webhook for it", what), fix};
  if (!field.empty() && with_field.empty())
    return {HealthClass::webhook_broken, signal, fmt::format("no app has {}", field),
            fmt::format("{} sends webhooks to {} but none of them subscribes the field \"{}\": no message webhooks "
                        "arrive",
                        what, fmt::join(apps, ", "), field),
            fix};
  const std::string receivers = fmt::format("{}", fmt::join(field.empty() ? apps : with_field, ", "));
  return {HealthClass::ok, signal, receivers,
          fmt::format("{} sends its {}webhooks to {}", what, field.empty() ? "" : field + " ", receivers), ""};
}

void add_token_findings(HealthReport& report, int status, const std::string& body, const std::string& error,
                        std::span<const std::string> needed, const std::string& renew) {
  constexpr const char* signal = "debug_token";
  const auto doc = json::parse(body, nullptr, false);
  const auto& data = member(doc, "data");
  if (const auto why = unreadable(status, body, error, doc); !why.empty() || !data.is_object()) {
    add_signal_finding(report, {HealthClass::unknown, signal, status ? fmt::format("HTTP {}", status) : "no answer",
                                "token not checked: debug_token: " + (why.empty() ? "no data object" : why),
                                "the token's expiry and scopes could not be read; the probe above still counts"});
    return;
  }
  if (member(data, "is_valid") == false) {
    const auto& e = member(data, "error");
    const std::string code = e.is_object() ? fmt::format("{}/{}", meta::field(e, "code"), meta::field(e, "subcode"))
                                           : std::string("is_valid false");
    add_finding(report, {HealthClass::auth_failed, signal, code,
                         fmt::format("debug_token says the access token is not valid: {}",
                                     e.is_object() ? meta::field(e, "message") : "no reason given"),
                         renew});
    return;
  }
  std::vector<std::string> missing;
  const auto& scopes = array_at(data, "scopes");
  for (const auto& s : needed)
    if (std::none_of(scopes.begin(), scopes.end(), [&](const json& have) { return have.is_string() && have == s; }))
      missing.push_back(s);
  if (!missing.empty())
    add_finding(report, {HealthClass::auth_failed, "token scopes", fmt::format("missing {}", fmt::join(missing, ", ")),
                         fmt::format("the access token lacks {} (it has: {}): the calls that need {} fail",
                                     fmt::join(missing, ", "), scopes.empty() ? "none" : scopes.dump(),
                                     missing.size() == 1 ? "it" : "them"),
                         "grant the missing permission to the app, then " + renew});
  else if (!needed.empty())
    add_signal_finding(report, {HealthClass::ok, "token scopes", fmt::format("{}", fmt::join(needed, ", ")),
                                fmt::format("the access token has {}", fmt::join(needed, ", ")), ""});
  if (const auto at = seconds_at(data, "expires_at"))
    report.expiries.push_back({"access token", at, renew});
  else
    add_signal_finding(report, {HealthClass::ok, "access token expiry", "never",
                                "debug_token says the access token does not expire", ""});
  if (const auto at = seconds_at(data, "data_access_expires_at"))
    report.expiries.push_back(
        {"data access", at,
         "a person with a role on the app must log in again (Meta renews data access for 90 days), then " + renew});
}

GraphAnswer graph_get(HttpClient& http, const std::string& url) {
  GraphAnswer out;
  auto resp = http.send_once({"GET", url});
  if (!resp) {
    out.error = http.redact(resp.error().message);
    return out;
  }
  out.status = resp->status;
  out.body = http.redact(resp->body);
  return out;
}

}  // namespace chansync::adapters::meta
