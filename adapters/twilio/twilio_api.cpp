#include "adapters/twilio/twilio_api.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <string_view>
#include <utility>

namespace chansync::adapters::twilio {
namespace {

std::string as_string(simdjson::ondemand::value v) {
  if (v.is_null()) return {};
  if (v.type() == simdjson::ondemand::json_type::number) return std::string(simdjson::to_json_string(v).value());
  return std::string(std::string_view(v.get_string()));
}

// The message fields chansync reads; everything else on the resource is skipped unparsed.
constexpr std::pair<std::string_view, std::string WireMessage::*> k_fields[] = {
    {"sid", &WireMessage::sid},
    {"from", &WireMessage::from},
    {"to", &WireMessage::to},
    {"body", &WireMessage::body},
    {"direction", &WireMessage::direction},
    {"date_sent", &WireMessage::date_sent},
    {"date_created", &WireMessage::date_created},
};

}  // namespace

Result<MessagesPage> parse_messages_page(std::string& body) {
  MessagesPage page;
  try {
    thread_local simdjson::ondemand::parser parser;
    body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
    auto doc = parser.iterate(simdjson::padded_string_view(body.data(), body.size(), body.capacity()));
    bool saw_messages = false;
    for (auto field : doc.get_object()) {
      const std::string_view key = field.unescaped_key();
      if (key == "messages") {
        saw_messages = true;
        for (auto item : field.value().get_array()) {
          simdjson::ondemand::object obj = item.get_object();
          WireMessage m;
          m.raw = obj.raw_json();
          obj.reset();
          for (auto f : obj) {
            const std::string_view k = f.unescaped_key();
            for (const auto& [name, member] : k_fields)
              if (k == name) {
                m.*member = as_string(f.value());
                break;
              }
          }
          if (m.sid.empty() || m.from.empty() || m.to.empty() || m.direction.empty())
            page.rejects.push_back({m.sid, "message lacks sid, from, to or direction", std::string(m.raw)});
          else
            page.messages.push_back(std::move(m));
        }
      } else if (key == "next_page_uri") {
        auto v = field.value();
        if (!v.is_null()) {
          std::string_view uri;
          if (v.get_string().get(uri) != simdjson::SUCCESS)
            return fail(Errc::protocol, "Messages.json: next_page_uri is neither a string nor null");
          page.next_page_uri = std::string(uri);
        }
      }
    }
    if (!saw_messages) return fail(Errc::protocol, "Messages.json page has no \"messages\" array");
  } catch (const simdjson::simdjson_error& e) {
    return fail(Errc::protocol, fmt::format("Messages.json page is not valid JSON ({})", e.what()));
  }
  return page;
}

WireError parse_error(const std::string& body) {
  WireError out;
  try {
    thread_local simdjson::ondemand::parser parser;
    simdjson::padded_string json(body);
    auto doc = parser.iterate(json);
    for (auto field : doc.get_object()) {
      const std::string_view key = field.unescaped_key();
      if (key == "code")
        out.code = as_string(field.value());
      else if (key == "message")
        out.message = as_string(field.value());
    }
  } catch (const simdjson::simdjson_error&) {
    // Not JSON (a proxy's HTML page): the HTTP status alone has to do.
  }
  return out;
}

std::string account_sid_of(const std::string& body) {
  try {
    thread_local simdjson::ondemand::parser parser;
    simdjson::padded_string json(body);
    auto doc = parser.iterate(json);
    for (auto field : doc.get_object())
      if (field.unescaped_key() == std::string_view("sid")) return as_string(field.value());
  } catch (const simdjson::simdjson_error&) {
  }
  return {};
}

}  // namespace chansync::adapters::twilio
