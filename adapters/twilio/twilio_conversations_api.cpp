#include "adapters/twilio/twilio_conversations_api.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <string_view>
#include <utility>

#include "adapters/ondemand_text.hpp"

namespace chansync::adapters::twilio {
namespace {

using simdjson::ondemand::json_type;

bool is_object(simdjson::ondemand::value& v) {
  return v.type() == json_type::object;
}

// {"type": "sms", "address": "+4915…", "proxy_address": "+4930…"}
void read_binding(simdjson::ondemand::value v, WireParticipant& p) {
  if (!is_object(v)) return;
  for (auto f : v.get_object()) {
    const std::string_view k = f.unescaped_key();
    if (k == "type")
      p.binding_type = text_of(f.value());
    else if (k == "address")
      p.address = text_of(f.value());
    else if (k == "proxy_address")
      p.proxy_address = text_of(f.value());
  }
}

// [{"sid": "ME…", "content_type": "image/jpeg", "filename": "car.jpg", "size": 42056}, ...]
void read_media(simdjson::ondemand::value v, std::vector<Attachment>& out) {
  if (v.type() != json_type::array) return;
  for (auto item : v.get_array()) {
    simdjson::ondemand::value m = item.value();
    if (!is_object(m)) continue;
    std::string content_type, filename;
    for (auto f : m.get_object()) {
      const std::string_view k = f.unescaped_key();
      if (k == "content_type")
        content_type = text_of(f.value());
      else if (k == "filename")
        filename = text_of(f.value());
    }
    const std::string type = content_type.starts_with("image/")   ? "image"
                             : content_type.starts_with("video/") ? "video"
                             : content_type.starts_with("audio/") ? "audio"
                                                                  : "file";
    out.push_back({type, filename, ""});
  }
}

void read_delivery(simdjson::ondemand::value v, WireDelivery& d) {
  static const std::pair<std::string_view, std::string WireDelivery::*> k_fields[] = {
      {"sent", &WireDelivery::sent},
      {"delivered", &WireDelivery::delivered},
      {"read", &WireDelivery::read},
      {"failed", &WireDelivery::failed},
      {"undelivered", &WireDelivery::undelivered}};
  if (!is_object(v)) return;
  for (auto f : v.get_object()) {
    const std::string_view k = f.unescaped_key();
    for (const auto& [name, member] : k_fields)
      if (k == name) {
        d.*member = text_of(f.value());
        break;
      }
  }
}

void read_field(std::string_view k, simdjson::ondemand::value v, WireConversation& c) {
  if (k == "sid")
    c.sid = text_of(v);
  else if (k == "chat_service_sid")
    c.chat_service_sid = text_of(v);
  else if (k == "date_created")
    c.date_created = text_of(v);
  else if (k == "date_updated")
    c.date_updated = text_of(v);
}

void read_field(std::string_view k, simdjson::ondemand::value v, WireParticipant& p) {
  if (k == "sid")
    p.sid = text_of(v);
  else if (k == "identity")
    p.identity = text_of(v);
  else if (k == "messaging_binding")
    read_binding(v, p);
}

void read_field(std::string_view k, simdjson::ondemand::value v, WireConversationMessage& m) {
  if (k == "sid")
    m.sid = text_of(v);
  else if (k == "author")
    m.author = text_of(v);
  else if (k == "body")
    m.body = text_of(v);
  else if (k == "date_created")
    m.date_created = text_of(v);
  else if (k == "media")
    read_media(v, m.media);
  else if (k == "delivery")
    read_delivery(v, m.delivery);
}

template <class W>
void set_raw(W& w, std::string_view raw) {
  if constexpr (requires { w.raw; }) w.raw = raw;
}

// One page of the list whose records are in the array `key`; `sid_required`: a record without a
// sid is a reject.
template <class W>
Result<V1Page<W>> parse_page(std::string& body, std::string_view key, bool sid_required) {
  V1Page<W> page;
  try {
    thread_local simdjson::ondemand::parser parser;
    body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
    auto doc = parser.iterate(simdjson::padded_string_view(body.data(), body.size(), body.capacity()));
    bool saw_items = false;
    for (auto field : doc.get_object()) {
      const std::string_view k = field.unescaped_key();
      if (k == key) {
        saw_items = true;
        for (auto item : field.value().get_array()) {
          simdjson::ondemand::value v = item.value();
          if (!is_object(v)) {
            page.rejects.push_back({"", fmt::format("an element of \"{}\" is not an object", key),
                                    std::string(simdjson::to_json_string(v).value())});
            continue;
          }
          simdjson::ondemand::object obj = v.get_object();
          const std::string_view raw = obj.raw_json();
          obj.reset();
          W w;
          set_raw(w, raw);
          for (auto f : obj) read_field(f.unescaped_key(), f.value(), w);
          if (sid_required && w.sid.empty())
            page.rejects.push_back({"", fmt::format("an element of \"{}\" has no sid", key), std::string(raw)});
          else
            page.items.push_back(std::move(w));
        }
      } else if (k == "meta") {
        simdjson::ondemand::value meta = field.value();
        if (!is_object(meta)) continue;
        for (auto m : meta.get_object()) {
          if (m.unescaped_key() != std::string_view("next_page_url")) continue;
          simdjson::ondemand::value v = m.value();
          if (v.is_null()) continue;
          std::string_view url;
          if (v.get_string().get(url) != simdjson::SUCCESS)
            return fail(Errc::protocol, fmt::format("{} page: meta.next_page_url is neither a string nor null", key));
          page.next_page_url = std::string(url);
        }
      }
    }
    if (!saw_items) return fail(Errc::protocol, fmt::format("{} page has no \"{}\" array", key, key));
  } catch (const simdjson::simdjson_error& e) {
    return fail(Errc::protocol, fmt::format("{} page is not valid JSON ({})", key, e.what()));
  }
  return page;
}

}  // namespace

Result<V1Page<WireConversation>> parse_conversations_page(std::string& body) {
  return parse_page<WireConversation>(body, "conversations", true);
}

Result<V1Page<WireParticipant>> parse_participants_page(std::string& body) {
  return parse_page<WireParticipant>(body, "participants", false);
}

Result<V1Page<WireConversationMessage>> parse_conversation_messages_page(std::string& body) {
  return parse_page<WireConversationMessage>(body, "messages", true);
}

ResourceSids resource_sids_of(const std::string& body) {
  ResourceSids out;
  try {
    thread_local simdjson::ondemand::parser parser;
    simdjson::padded_string json(body);
    auto doc = parser.iterate(json);
    for (auto field : doc.get_object()) {
      const std::string_view k = field.unescaped_key();
      if (k == "sid")
        out.sid = text_of(field.value());
      else if (k == "account_sid")
        out.account_sid = text_of(field.value());
    }
  } catch (const simdjson::simdjson_error&) {
    return {};
  }
  return out;
}

}  // namespace chansync::adapters::twilio
