#include "adapters/meta/meta_api.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "adapters/meta/graph.hpp"
#include "sync/health_signals.hpp"

namespace chansync::adapters::meta {
namespace {

using nlohmann::json;

// Dead letters keep a record's bytes exactly as Graph sent them, which nlohmann cannot give back:
// simdjson On-Demand finds them. The raw text of the object at `key` of the object `text` ("" if none).
std::string raw_object(std::string_view text, std::string_view key) {
  try {
    simdjson::ondemand::parser parser;
    simdjson::padded_string padded(text);
    auto doc = parser.iterate(padded);
    for (auto field : doc.get_object())
      if (field.unescaped_key().value() == key) {
        auto v = field.value();
        if (v.type() != simdjson::ondemand::json_type::object) return {};
        simdjson::ondemand::object obj = v.get_object();
        return std::string(std::string_view(obj.raw_json()));
      }
  } catch (const simdjson::simdjson_error&) {
  }
  return {};
}

// The raw text of each element of the array at `key` of the object `text`.
std::vector<std::string> raw_items(std::string_view text, std::string_view key) {
  std::vector<std::string> out;
  try {
    simdjson::ondemand::parser parser;
    simdjson::padded_string padded(text);
    auto doc = parser.iterate(padded);
    for (auto field : doc.get_object())
      if (field.unescaped_key().value() == key) {
        for (auto item : field.value().get_array()) {
          auto v = item.value();
          if (v.type() == simdjson::ondemand::json_type::object) {
            simdjson::ondemand::object obj = v.get_object();
            out.emplace_back(std::string_view(obj.raw_json()));
          } else
            out.emplace_back(simdjson::to_json_string(v).value());
        }
        break;
      }
  } catch (const simdjson::simdjson_error&) {
  }
  return out;
}

// A Graph attachment: {"id", "mime_type", "name", "size", "image_data": {"url", ...},
// "video_data": {"url", ...}, "file_url"}. Instagram sends the same shape.
Attachment attachment(const json& a) {
  Attachment out;
  out.name = field(a, "name");
  const std::string mime = field(a, "mime_type");
  if (a.contains("image_data")) {
    out.type = mime == "image/gif" ? "gif" : "image";
    out.url = field(a["image_data"], "url");
  } else if (a.contains("video_data")) {
    out.type = "video";
    out.url = field(a["video_data"], "url");
  } else if (mime.starts_with("image/")) {
    out.type = "image";
  } else if (mime.starts_with("video/")) {
    out.type = "video";
  } else if (mime.starts_with("audio/")) {
    out.type = "audio";
  } else {
    out.type = "file";
  }
  if (out.url.empty()) out.url = field(a, "file_url");
  if (out.url.empty() && a.contains("payload") && a["payload"].is_object()) out.url = field(a["payload"], "url");
  return out;
}

// `raws`: the raw text of each element of `data`, in order.
void read_messages(const json& data, const std::vector<std::string>& raws, std::vector<WireMessage>& out,
                   std::vector<DeadLetter>& rejects) {
  if (!data.is_array()) return;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const auto& m = data[i];
    WireMessage w;
    w.raw = i < raws.size() ? raws[i] : m.dump();
    if (!m.is_object()) {
      rejects.push_back({"", "message is not a JSON object", w.raw});
      continue;
    }
    w.id = field(m, "id");
    w.created_time = field(m, "created_time");
    if (m.contains("from") && m["from"].is_object()) w.from_id = field(m["from"], "id");
    w.text = field(m, "message");
    if (m.contains("attachments") && m["attachments"].contains("data"))
      for (const auto& a : m["attachments"]["data"])
        if (a.is_object()) w.attachments.push_back(attachment(a));
    if (w.id.empty() || w.from_id.empty()) {
      rejects.push_back({w.id, "message lacks id or from.id", w.raw});
      continue;
    }
    out.push_back(std::move(w));
  }
}

std::string paging_next(const json& j) {
  if (!j.contains("paging") || !j["paging"].is_object()) return {};
  return field(j["paging"], "next");
}

}  // namespace

Result<ConversationsPage> parse_conversations_page(const std::string& body) {
  ConversationsPage page;
  try {
    const auto doc = json::parse(body);
    if (!doc.is_object() || !doc.contains("data") || !doc["data"].is_array())
      return fail(Errc::protocol, "Graph conversations page has no \"data\" array");
    const auto raws = raw_items(body, "data");
    for (std::size_t i = 0; i < doc["data"].size(); ++i) {
      const auto& c = doc["data"][i];
      WireConversation w;
      w.raw = i < raws.size() ? raws[i] : c.dump();
      w.id = c.is_object() ? field(c, "id") : "";
      if (w.id.empty()) {
        page.rejects.push_back({"", "conversation lacks an id", w.raw});
        continue;
      }
      w.updated_time = field(c, "updated_time");
      if (c.contains("participants") && c["participants"].contains("data"))
        for (const auto& p : c["participants"]["data"]) {
          const std::string name = field(p, "name");
          w.participants.push_back({field(p, "id"), name.empty() ? field(p, "username") : name});
        }
      if (c.contains("messages") && c["messages"].is_object()) {
        std::vector<DeadLetter> rejects;
        read_messages(c["messages"].value("data", json::array()), raw_items(raw_object(w.raw, "messages"), "data"),
                      w.messages, rejects);
        page.rejects.insert(page.rejects.end(), rejects.begin(), rejects.end());
        w.messages_next = paging_next(c["messages"]);
      }
      page.conversations.push_back(std::move(w));
    }
    if (doc.contains("paging") && doc["paging"].is_object()) {
      const auto& p = doc["paging"];
      if (p.contains("cursors") && p["cursors"].is_object()) page.after = field(p["cursors"], "after");
      page.has_next = !field(p, "next").empty();
    }
  } catch (const json::exception& e) {
    return fail(Errc::protocol, fmt::format("Graph conversations page is not valid JSON ({})", e.what()));
  }
  if (page.has_next && page.after.empty())
    return fail(Errc::protocol, "Graph conversations page has paging.next but no paging.cursors.after");
  return page;
}

Result<std::vector<WireMessage>> parse_messages_page(const std::string& body, std::string& next,
                                                     std::vector<DeadLetter>& rejects) {
  std::vector<WireMessage> out;
  try {
    const auto doc = json::parse(body);
    if (!doc.is_object() || !doc.contains("data") || !doc["data"].is_array())
      return fail(Errc::protocol, "Graph messages page has no \"data\" array");
    read_messages(doc["data"], raw_items(body, "data"), out, rejects);
    next = paging_next(doc);
  } catch (const json::exception& e) {
    return fail(Errc::protocol, fmt::format("Graph messages page is not valid JSON ({})", e.what()));
  }
  return out;
}

Usage parse_usage(const std::map<std::string, std::string>& headers) {
  const auto u = meta_usage(headers);  // read in one place, for pulls and health alike
  return {u.percent, u.regain_minutes, u.which};
}

std::string instagram_account_of(const std::string& body) {
  try {
    const auto doc = json::parse(body);
    if (doc.is_object() && doc.contains("instagram_business_account"))
      return field(doc["instagram_business_account"], "id");
  } catch (const json::exception&) {
  }
  return {};
}

}  // namespace chansync::adapters::meta
