#include "adapters/twilio/twilio_api.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

namespace chansync::adapters::twilio {
namespace {

std::string as_string(simdjson::ondemand::value v) {
  if (v.is_null()) return {};
  if (v.type() == simdjson::ondemand::json_type::number) return std::string(simdjson::to_json_string(v).value());
  return std::string(std::string_view(v.get_string()));
}

// The fields chansync reads of each resource; everything else on it is skipped unparsed.
template <class W>
using Fields = std::initializer_list<std::pair<std::string_view, std::string W::*>>;

const Fields<WireMessage> k_message_fields = {
    {"sid", &WireMessage::sid},
    {"from", &WireMessage::from},
    {"to", &WireMessage::to},
    {"body", &WireMessage::body},
    {"direction", &WireMessage::direction},
    {"date_sent", &WireMessage::date_sent},
    {"date_created", &WireMessage::date_created},
    {"status", &WireMessage::status},
    {"num_media", &WireMessage::num_media},
};

const Fields<WireCall> k_call_fields = {
    {"sid", &WireCall::sid},
    {"from", &WireCall::from},
    {"to", &WireCall::to},
    {"direction", &WireCall::direction},
    {"status", &WireCall::status},
    {"start_time", &WireCall::start_time},
    {"end_time", &WireCall::end_time},
    {"date_created", &WireCall::date_created},
    {"duration", &WireCall::duration},
    {"parent_call_sid", &WireCall::parent_call_sid},
};

// One page of the list resource `resource` ("Messages.json") whose records are in the array `key`.
// `missing` names what a record lacks when it cannot be mapped ("" = it has what it needs).
template <class W, class Missing>
Result<ListPage<W>> parse_list_page(std::string& body, std::string_view resource, std::string_view key,
                                    const Fields<W>& fields, Missing missing) {
  ListPage<W> page;
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
          simdjson::ondemand::object obj = item.get_object();
          W w;
          w.raw = obj.raw_json();
          obj.reset();
          for (auto f : obj) {
            const std::string_view name = f.unescaped_key();
            for (const auto& [n, member] : fields)
              if (name == n) {
                w.*member = as_string(f.value());
                break;
              }
          }
          if (const std::string why = missing(w); !why.empty())
            page.rejects.push_back({w.sid, why, std::string(w.raw)});
          else
            page.items.push_back(std::move(w));
        }
      } else if (k == "next_page_uri") {
        auto v = field.value();
        if (!v.is_null()) {
          std::string_view uri;
          if (v.get_string().get(uri) != simdjson::SUCCESS)
            return fail(Errc::protocol, fmt::format("{}: next_page_uri is neither a string nor null", resource));
          page.next_page_uri = std::string(uri);
        }
      }
    }
    if (!saw_items) return fail(Errc::protocol, fmt::format("{} page has no \"{}\" array", resource, key));
  } catch (const simdjson::simdjson_error& e) {
    return fail(Errc::protocol, fmt::format("{} page is not valid JSON ({})", resource, e.what()));
  }
  return page;
}

}  // namespace

Result<MessagesPage> parse_messages_page(std::string& body) {
  return parse_list_page<WireMessage>(body, "Messages.json", "messages", k_message_fields, [](const WireMessage& m) {
    return m.sid.empty() || m.from.empty() || m.to.empty() || m.direction.empty()
               ? std::string("message lacks sid, from, to or direction")
               : std::string();
  });
}

std::string peek_next_page_uri(std::string_view body) {
  // Searched from the end: Twilio writes members in alphabetical order, so the page's own comes after
  // its records ("calls", "messages"), a few hundred bytes from the end. Quotes inside JSON strings
  // are escaped, so no record's text can hold the quoted key.
  constexpr std::string_view key = "\"next_page_uri\"";
  const auto at = body.rfind(key);
  if (at == std::string_view::npos) return {};
  std::size_t i = at + key.size();
  const auto skip_space = [&] {
    while (i < body.size() && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')) ++i;
  };
  skip_space();
  if (i >= body.size() || body[i] != ':') return {};
  ++i;
  skip_space();
  if (i >= body.size() || body[i] != '"') return {};
  const std::size_t start = i++;
  for (bool escaped = false; i < body.size(); ++i) {
    if (escaped)
      escaped = false;
    else if (body[i] == '\\')
      escaped = true;
    else if (body[i] == '"')
      break;
  }
  if (i >= body.size()) return {};
  std::string uri(body.substr(start + 1, i - start - 1));
  // "\/" and "\u0026" are the same URI as "/" and "&" (the page's parser decodes them too).
  if (uri.find('\\') != std::string::npos) try {
      uri = nlohmann::json::parse(body.substr(start, i - start + 1)).get<std::string>();
    } catch (const nlohmann::json::exception&) {
      return {};
    }
  return uri.starts_with("/") ? uri : std::string();
}

Result<CallsPage> parse_calls_page(std::string& body) {
  return parse_list_page<WireCall>(body, "Calls.json", "calls", k_call_fields, [](const WireCall& c) {
    // `to` may be empty: a Voice SDK call's own leg, from the agent's browser to the TwiML app.
    return c.sid.empty() || c.direction.empty() ? std::string("call lacks sid or direction") : std::string();
  });
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

bool concurrency_refused(const HttpResponse& resp) {
  return resp.status == 429 && parse_error(resp.body).code == "20429";
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
