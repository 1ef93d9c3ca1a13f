#include "adapters/meta/graph.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace chansync::adapters::meta {
using nlohmann::json;

std::string graph_trace(const GraphError& e) {
  return fmt::format("Graph error {}{}: {} (fbtrace_id {})", e.code, e.subcode ? fmt::format("/{}", e.subcode) : "",
                     e.message, e.fbtrace_id);
}

std::optional<GraphError> parse_graph_error(const std::string& body) {
  try {
    const auto doc = json::parse(body);
    if (!doc.is_object() || !doc.contains("error") || !doc["error"].is_object()) return std::nullopt;
    const auto& e = doc["error"];
    GraphError out;
    out.code = e.value("code", 0);
    out.subcode = e.value("error_subcode", 0);
    out.type = field(e, "type");
    out.message = field(e, "message");
    out.fbtrace_id = field(e, "fbtrace_id");
    return out;
  } catch (const json::exception&) {
    return std::nullopt;  // a proxy's HTML page: the HTTP status alone has to do
  }
}

GraphErrorClass classify_graph_error(int code) {
  if (code == 190) return GraphErrorClass::auth;
  if (code == 10 || (code >= 200 && code <= 299)) return GraphErrorClass::permission;
  // 80001-80014: Business Use Case limits (80001 Pages, 80002 Instagram, 80006 Messenger, 80008
  // WhatsApp Business Management, ...), metered per page or account rather than per app.
  if (code == 4 || code == 17 || code == 32 || code == 613 || code == 130429 || (code >= 80001 && code <= 80014))
    return GraphErrorClass::rate_limited;
  if (code == 368 || code == 131031) return GraphErrorClass::restricted;
  if (code == 12) return GraphErrorClass::deprecated;
  return GraphErrorClass::other;
}

Error graph_error(const GraphError& e, int http_status, const GraphAdvice& advice) {
  const std::string trace = graph_trace(e);
  switch (classify_graph_error(e.code)) {
    case GraphErrorClass::auth:
      return {Errc::auth,
              fmt::format("the access token was rejected: it is invalid or expired ({}); {}", trace, advice.token_fix),
              advice.connector, http_status};
    case GraphErrorClass::permission:
      return {Errc::auth, fmt::format("the access token lacks a permission ({}); {}", trace, advice.permission_fix),
              advice.connector, http_status};
    case GraphErrorClass::rate_limited:
      return {
          Errc::rate_limited,
          fmt::format("Graph rate-limited the app ({}); run again later (usage is a rolling one-hour window)", trace),
          advice.connector, http_status, std::chrono::minutes(60)};
    case GraphErrorClass::restricted:
      return {Errc::auth,
              fmt::format("Meta has restricted the account ({}): it was blocked for a policy violation or locked; "
                          "see its status and appeal in Business Support Home (business.facebook.com)",
                          trace),
              advice.connector, http_status};
    case GraphErrorClass::deprecated:
      return {Errc::config,
              fmt::format("Graph says a method or field chansync uses is deprecated for API version {} ({}); "
                          "if {} is older than Meta's oldest served version, raise the connector's api_version; "
                          "otherwise report this with the fbtrace_id",
                          advice.api_version, trace, advice.api_version),
              advice.connector, http_status};
    case GraphErrorClass::other:
      break;
  }
  return {Errc::remote, fmt::format("Graph refused the request ({})", trace), advice.connector, http_status};
}

HealthReport probe_graph_object(HttpClient& http, const std::string& url, const std::string& type,
                                const GraphAdvice& advice, const std::string& object_id, const std::string& what,
                                std::string* body_out) {
  std::string body;
  auto obs = observe(http, {"GET", url}, &body);
  obs.api_version = advice.api_version;
  std::optional<GraphError> err;
  if (obs.http_status >= 400) err = parse_graph_error(body);
  if (err) {
    obs.vendor_code = err->subcode ? fmt::format("{}/{}", err->code, err->subcode) : std::to_string(err->code);
    obs.vendor_message = fmt::format("{} (fbtrace_id {})", err->message, err->fbtrace_id);
  }
  // The class comes from the error code (health_signals.hpp); the words from this adapter's advice.
  auto report = classify(advice.connector, type, std::move(obs));
  if (err && classify_graph_error(err->code) != GraphErrorClass::other)
    report.summary = graph_error(*err, report.evidence.http_status, advice).message;
  require_vendor_body(report, object_id_of(body) == object_id, what);
  if (body_out) *body_out = std::move(body);
  return report;
}

std::string field(const json& j, const char* key) {
  if (!j.is_object()) return {};
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump();
}

const json& member(const json& j, const std::string& key) {
  static const json k_none;
  if (!j.is_object()) return k_none;
  const auto it = j.find(key);
  return it == j.end() ? k_none : *it;
}

const json& array_at(const json& j, const std::string& key) {
  static const json k_empty = json::array();
  const json& v = member(j, key);
  return v.is_array() ? v : k_empty;
}

std::string raw_at(std::string_view text, const std::string& pointer) {
  try {
    simdjson::ondemand::parser parser;
    simdjson::padded_string padded(text);
    auto doc = parser.iterate(padded);
    simdjson::ondemand::value v = doc.at_pointer(pointer);
    switch (v.type()) {
      case simdjson::ondemand::json_type::object: {
        simdjson::ondemand::object obj = v.get_object();
        return std::string(std::string_view(obj.raw_json()));
      }
      case simdjson::ondemand::json_type::array: {
        simdjson::ondemand::array arr = v.get_array();
        return std::string(std::string_view(arr.raw_json()));
      }
      default:
        return std::string(std::string_view(v.raw_json_token()));
    }
  } catch (const simdjson::simdjson_error&) {
    return {};
  }
}

Conversation& conversation_in(Page<Conversation>& page, const Conversation& blank) {
  const auto it =
      std::find_if(page.items.begin(), page.items.end(), [&](const Conversation& c) { return c.id == blank.id; });
  if (it != page.items.end()) return *it;
  return page.items.emplace_back(blank);
}

std::string object_id_of(const std::string& body) {
  try {
    const auto doc = json::parse(body);
    return doc.is_object() ? field(doc, "id") : "";
  } catch (const json::exception&) {
    return {};
  }
}

std::optional<nlohmann::json> webhook_document(std::string_view payload, std::string_view object,
                                               Page<Conversation>& page) {
  auto whole = [&](std::string why) {
    page.rejects.push_back({"", std::move(why), std::string(payload)});
    return std::nullopt;
  };
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(payload);
  } catch (const nlohmann::json::exception& e) {
    return whole(fmt::format("webhook payload is not JSON ({})", e.what()));
  }
  if (field(doc, "object") != object)
    return whole(fmt::format("webhook payload of object \"{}\", not {}", field(doc, "object"), object));
  if (!member(doc, "entry").is_array()) return whole("webhook payload without an entry array");
  return doc;
}

}  // namespace chansync::adapters::meta
