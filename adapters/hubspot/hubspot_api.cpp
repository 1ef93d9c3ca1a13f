#include "adapters/hubspot/hubspot_api.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "sync/digest.hpp"
#include "sync/timestamp.hpp"

namespace chansync::adapters::hubspot {
namespace {

std::string str(simdjson::ondemand::value v) {
  if (v.is_null()) return {};
  return std::string(std::string_view(v.get_string()));
}

}  // namespace

Result<ContactsPage> parse_contacts_page(std::string& body) {
  ContactsPage page;
  try {
    thread_local simdjson::ondemand::parser parser;
    body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
    auto doc = parser.iterate(simdjson::padded_string_view(body.data(), body.size(), body.capacity()));
    bool saw_results = false;
    for (auto field : doc.get_object()) {
      const std::string_view key = field.unescaped_key();
      if (key == "results") {
        saw_results = true;
        for (auto item : field.value().get_array()) {
          simdjson::ondemand::object obj = item.get_object();
          WireContact c;
          c.raw = obj.raw_json();
          obj.reset();
          for (auto f : obj) {
            const std::string_view k = f.unescaped_key();
            if (k == "id")
              c.id = str(f.value());
            else if (k == "archived")
              c.archived = bool(f.value().get_bool());
            else if (k == "updatedAt")
              c.updated_at = str(f.value());
            else if (k == "properties") {
              for (auto p : f.value().get_object()) {
                const std::string_view pk = p.unescaped_key();
                std::string* dst = pk == "email"                  ? &c.email
                                   : pk == "phone"                ? &c.phone
                                   : pk == "mobilephone"          ? &c.mobilephone
                                   : pk == "firstname"            ? &c.firstname
                                   : pk == "lastname"             ? &c.lastname
                                   : pk == "lastmodifieddate"     ? &c.lastmodifieddate
                                   : pk == "hs_merged_object_ids" ? &c.merged_object_ids
                                   : pk == "date_of_birth"        ? &c.date_of_birth
                                   : pk == "zip"                  ? &c.zip
                                   : pk == "city"                 ? &c.city
                                   : pk == "address"              ? &c.address
                                                                  : nullptr;
                if (dst) *dst = str(p.value());
              }
            }
          }
          if (c.id.empty())
            page.rejects.push_back({"", "contact without an id", std::string(c.raw)});
          else
            page.results.push_back(std::move(c));
        }
      } else if (key == "paging") {
        for (auto p : field.value().get_object())
          if (p.unescaped_key() == std::string_view("next"))
            for (auto n : p.value().get_object())
              if (n.unescaped_key() == std::string_view("after")) page.next_after = str(n.value());
      }
    }
    if (!saw_results) return fail(Errc::protocol, "HubSpot contacts page has no \"results\" array");
  } catch (const simdjson::simdjson_error& e) {
    return fail(Errc::protocol, fmt::format("HubSpot contacts page is not valid JSON ({})", e.what()));
  }
  return page;
}

MergedIds parse_merged_ids(std::string_view text, std::string_view own_id) {
  MergedIds out;
  constexpr std::string_view k_space = " \t\r\n";
  while (!text.empty()) {
    const auto semi = text.find(';');
    std::string_view piece = text.substr(0, semi);
    text = semi == std::string_view::npos ? std::string_view() : text.substr(semi + 1);
    const auto first = piece.find_first_not_of(k_space);
    if (first == std::string_view::npos) continue;
    piece = piece.substr(first, piece.find_last_not_of(k_space) - first + 1);
    if (!std::all_of(piece.begin(), piece.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      out.malformed.emplace_back(piece);
      continue;
    }
    if (piece == own_id || std::find(out.ids.begin(), out.ids.end(), piece) != out.ids.end()) continue;
    out.ids.emplace_back(piece);
  }
  return out;
}

std::string parse_error(const std::string& body) {
  std::string category, message, correlation;
  try {
    thread_local simdjson::ondemand::parser parser;
    simdjson::padded_string json(body);
    auto doc = parser.iterate(json);
    for (auto field : doc.get_object()) {
      const std::string_view key = field.unescaped_key();
      if (key == "category" || key == "errorType")
        category = str(field.value());
      else if (key == "message")
        message = str(field.value());
      else if (key == "correlationId")
        correlation = str(field.value());
    }
  } catch (const simdjson::simdjson_error&) {
    return {};
  }
  std::string out = category.empty() ? message : fmt::format("{}: {}", category, message);
  if (!out.empty() && !correlation.empty()) out += fmt::format(" (correlationId {})", correlation);
  return out;
}

bool is_search(const HttpRequest& req) {
  return req.method == "POST" && req.url.find("/search") != std::string::npos;
}

std::string shared_budgets(std::string base, const std::string& token) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  return token.empty() ? "" : "hubspot " + base + " " + sha256_hex(token);
}

SubBudget search_budget() {
  return {k_search_budget, k_budget_use * k_search_per_second, is_search};
}

RateReading rate_reading(const HttpRequest& req, const HttpResponse& resp) {
  if (resp.status == 429) {
    const auto j = nlohmann::json::parse(resp.body, nullptr, false);
    const std::string policy = j.is_object() ? j.value("policyName", "") : "";
    // Search answers without rate headers: a refusal is the only signal, so wait out the second and
    // pace slower from then on.
    if (policy == "SECONDLY") return {.budget = k_search_budget, .pause = std::chrono::seconds(1), .scale = 0.8};
  }
  const auto max = resp.headers.find("x-hubspot-ratelimit-max");
  const auto interval = resp.headers.find("x-hubspot-ratelimit-interval-milliseconds");
  // A search answered: the pace a refusal slowed comes back, 1% an answer (22 answers, some 6 s of
  // searches, undo one refusal), up to the seed (HttpClient::correct caps it).
  if (is_search(req) && resp.status < 400 && max == resp.headers.end())
    return {.budget = k_search_budget, .scale = 1.01};
  if (max == resp.headers.end() || interval == resp.headers.end()) return generic_reading(resp.headers, now_ms());
  Budget b;
  try {
    b.limit = std::stod(max->second);
    b.window = std::chrono::milliseconds(std::stoll(interval->second));
    if (auto r = resp.headers.find("x-hubspot-ratelimit-remaining"); r != resp.headers.end())
      b.remaining = std::stod(r->second);
  } catch (const std::exception&) {
    return {};
  }
  return pace_for(b);
}

bool daily_budget_spent(const HttpResponse& resp) {
  if (auto it = resp.headers.find("x-hubspot-ratelimit-daily-remaining"); it != resp.headers.end()) {
    try {
      if (std::stoll(it->second) <= 0) return true;
    } catch (const std::exception&) {
    }
  }
  if (resp.status != 429) return false;
  const auto j = nlohmann::json::parse(resp.body, nullptr, false);
  return j.is_object() && j.value("policyName", "") == "DAILY";
}

namespace {

std::string text_of(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return {};
  return v.dump();
}

std::vector<std::string> strings_of(const nlohmann::json& v) {
  std::vector<std::string> out;
  if (v.is_array())
    for (const auto& x : v) out.push_back(text_of(x));
  else if (!v.is_null())
    out.push_back(text_of(v));
  return out;
}

}  // namespace

Result<BatchAnswer> parse_batch(const std::string& body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("results") || !j["results"].is_array())
    return fail(Errc::protocol, "HubSpot's batch answer has no \"results\" array");
  BatchAnswer out;
  for (const auto& r : j["results"]) {
    if (!r.is_object()) continue;
    BatchObject o;
    o.id = text_of(r.contains("id") ? r["id"] : r.value("fromObjectId", nlohmann::json()));
    o.trace_id = text_of(r.value("objectWriteTraceId", nlohmann::json()));
    o.is_new = r.value("new", false);
    if (r.contains("properties") && r["properties"].is_object())
      for (const auto& [k, v] : r["properties"].items()) o.properties[k] = text_of(v);
    out.results.push_back(std::move(o));
  }
  for (const auto& e : j.value("errors", nlohmann::json::array())) {
    if (!e.is_object()) continue;
    BatchError be;
    be.category = text_of(e.value("category", nlohmann::json()));
    const std::string message = text_of(e.value("message", nlohmann::json()));
    be.text = be.category.empty() ? message : fmt::format("{}: {}", be.category, message);
    if (e.contains("context") && e["context"].is_object()) {
      be.trace_ids = strings_of(e["context"].value("objectWriteTraceId", nlohmann::json()));
      be.ids = strings_of(e["context"].value("ids", nlohmann::json()));
    }
    out.errors.push_back(std::move(be));
  }
  return out;
}

Result<PropertyInfo> parse_property(const std::string& body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string() || !j.contains("type"))
    return fail(Errc::protocol, "HubSpot's answer is not a property definition (no \"name\" and \"type\")");
  return PropertyInfo{j["name"].get<std::string>(), text_of(j["type"]), j.value("hasUniqueValue", false)};
}

std::optional<Timestamp> parse_daily_reset(const std::string& body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("results") || !j["results"].is_array()) return std::nullopt;
  for (const auto& r : j["results"])
    if (r.is_object() && r.contains("resetsAt") && r["resetsAt"].is_string())
      return parse_rfc3339(r["resetsAt"].get<std::string>());
  return std::nullopt;
}

}  // namespace chansync::adapters::hubspot
