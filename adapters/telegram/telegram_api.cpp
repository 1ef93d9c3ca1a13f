#include "adapters/telegram/telegram_api.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <simdjson.h>

#include <string_view>
#include <vector>

namespace chansync::adapters::telegram {
namespace {

using simdjson::dom::element;

std::string str(element e, std::string_view key) {
  std::string_view v;
  return e[key].get_string().get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
}

std::int64_t int64(element e, std::string_view key) {
  std::int64_t v = 0;
  return e[key].get_int64().get(v) == simdjson::SUCCESS ? v : 0;
}

std::optional<WireUser> user(element e) {
  if (!e.is_object() || int64(e, "id") == 0) return std::nullopt;
  WireUser u{int64(e, "id"), false, str(e, "first_name"), str(e, "last_name"), str(e, "username")};
  bool is_bot = false;
  if (e["is_bot"].get_bool().get(is_bot) == simdjson::SUCCESS) u.is_bot = is_bot;
  return u;
}

// What kind of attachment a message carries: its kind, then a space and its name when it has one.
std::string media_of(element m) {
  // A venue message carries its location too: venue first.
  for (const char* kind : {"photo", "video", "voice", "audio", "video_note", "animation", "sticker", "venue",
                           "location", "poll", "dice"}) {
    element e;
    if (m[kind].get(e) != simdjson::SUCCESS) continue;
    const std::string_view k = kind;
    if (k == "sticker" && !str(e, "emoji").empty()) return "sticker " + str(e, "emoji");
    if (k == "venue") {
      std::string name = str(e, "title");
      if (const auto address = str(e, "address"); !address.empty()) name += (name.empty() ? "" : ", ") + address;
      return name.empty() ? "location" : "location " + name;
    }
    return kind;
  }
  element doc;
  if (m["document"].get(doc) == simdjson::SUCCESS) {
    const auto name = str(doc, "file_name");
    return name.empty() ? "document" : "document " + name;
  }
  return {};
}

// Maps one Update; a message that lacks what every message has is reported in `error`.
WireUpdate update(element u, std::string raw, std::string& error) {
  WireUpdate out;
  out.raw = std::move(raw);
  out.update_id = int64(u, "update_id");
  simdjson::dom::object obj;
  if (u.get_object().get(obj) != simdjson::SUCCESS) {
    error = "update is not a JSON object";
    return out;
  }
  for (auto field : obj) {
    if (field.key == "update_id") continue;
    out.kind = std::string(field.key);
    break;
  }
  if (out.kind != "message" && out.kind != "edited_message") return out;
  element m = u[out.kind];
  WireMessage msg;
  msg.message_id = int64(m, "message_id");
  element from;
  if (m["from"].get(from) == simdjson::SUCCESS) msg.from = user(from);
  element chat;
  if (m["chat"].get(chat) == simdjson::SUCCESS) {
    msg.chat_id = int64(chat, "id");
    msg.chat_type = str(chat, "type");
  }
  msg.date = int64(m, "date");
  msg.text = str(m, "text");
  if (msg.text.empty()) msg.text = str(m, "caption");
  msg.media = media_of(m);
  // What a message without words says: a location's coordinates as WhatsApp's are kept
  // ("latitude,longitude"), a poll's question and options.
  element where, poll;
  double latitude = 0, longitude = 0;
  if (msg.text.empty() && m["location"].get(where) == simdjson::SUCCESS &&
      where["latitude"].get_double().get(latitude) == simdjson::SUCCESS &&
      where["longitude"].get_double().get(longitude) == simdjson::SUCCESS)
    msg.text = fmt::format("{},{}", latitude, longitude);
  if (msg.text.empty() && m["poll"].get(poll) == simdjson::SUCCESS) {
    std::vector<std::string> options;
    simdjson::dom::array list;
    if (poll["options"].get_array().get(list) == simdjson::SUCCESS)
      for (element o : list) options.push_back(str(o, "text"));
    msg.text = options.empty() ? str(poll, "question")
                               : fmt::format("{} ({})", str(poll, "question"), fmt::join(options, " / "));
  }
  element contact;
  if (m["contact"].get(contact) == simdjson::SUCCESS) {
    msg.contact_phone = str(contact, "phone_number");
    msg.contact_user_id = int64(contact, "user_id");
  }
  if (msg.message_id == 0 || msg.chat_id == 0 || msg.date == 0)
    error = fmt::format("{} lacks message_id, chat.id or date", out.kind);
  else
    out.message = std::move(msg);
  return out;
}

}  // namespace

Result<UpdatesPage> parse_updates(const std::string& body) {
  UpdatesPage page;
  try {
    thread_local simdjson::ondemand::parser parser;
    thread_local simdjson::dom::parser dom;
    simdjson::padded_string json(body);
    auto doc = parser.iterate(json);
    bool ok = false, saw_result = false;
    for (auto field : doc.get_object()) {
      const std::string_view key = field.unescaped_key();
      if (key == "ok") {
        ok = field.value().get_bool();
      } else if (key == "result") {
        saw_result = true;
        for (auto item : field.value().get_array()) {
          simdjson::ondemand::object obj;
          if (item.get_object().get(obj) != simdjson::SUCCESS) {
            page.rejects.push_back({"", "update is not a JSON object", std::string(item.raw_json_token().value())});
            continue;
          }
          std::string raw(obj.raw_json().value());
          std::string error;
          auto u = update(dom.parse(raw), raw, error);
          page.last_update_id = std::max(page.last_update_id, u.update_id);
          if (u.update_id == 0) error = "update has no update_id";
          if (!error.empty())
            page.rejects.push_back({u.update_id ? std::to_string(u.update_id) : "", error, std::move(u.raw)});
          else
            page.updates.push_back(std::move(u));
        }
      }
    }
    if (!ok || !saw_result)
      return fail(Errc::protocol, "getUpdates answered without \"ok\": true and a \"result\" array");
  } catch (const simdjson::simdjson_error& e) {
    return fail(Errc::protocol, fmt::format("getUpdates answer is not valid JSON ({})", e.what()));
  }
  return page;
}

WireError parse_error(const std::string& body) {
  WireError out;
  simdjson::dom::parser dom;
  element doc;
  if (dom.parse(body).get(doc) != simdjson::SUCCESS || !doc.is_object()) return out;
  out.error_code = static_cast<int>(int64(doc, "error_code"));
  out.description = str(doc, "description");
  std::int64_t retry = 0;
  if (doc.at_pointer("/parameters/retry_after").get_int64().get(retry) == simdjson::SUCCESS) out.retry_after = retry;
  return out;
}

std::optional<WireUser> parse_me(const std::string& body) {
  simdjson::dom::parser dom;
  element doc;
  bool ok = false;
  if (dom.parse(body).get(doc) != simdjson::SUCCESS || doc["ok"].get_bool().get(ok) != simdjson::SUCCESS || !ok)
    return std::nullopt;
  element result;
  if (doc["result"].get(result) != simdjson::SUCCESS) return std::nullopt;
  return user(result);
}

std::optional<WebhookInfo> parse_webhook_info(const std::string& body) {
  simdjson::dom::parser dom;
  element doc, result;
  bool ok = false;
  if (dom.parse(body).get(doc) != simdjson::SUCCESS || doc["ok"].get_bool().get(ok) != simdjson::SUCCESS || !ok ||
      doc["result"].get(result) != simdjson::SUCCESS || !result.is_object())
    return std::nullopt;
  return WebhookInfo{str(result, "url"), int64(result, "pending_update_count"), int64(result, "last_error_date"),
                     str(result, "last_error_message")};
}

Finding webhook_info_finding(const WebhookInfo& info, const std::function<std::string(std::string_view)>& redact) {
  constexpr const char* signal = "getWebhookInfo";
  if (info.url.empty())
    return {HealthClass::ok, signal, "no webhook",
            fmt::format("no webhook is set, so getUpdates receives the bot's updates ({} pending)",
                        info.pending_update_count),
            ""};
  const std::string url = redact(info.url);
  std::string last_error;
  if (info.last_error_date)
    last_error = fmt::format("; its last delivery failed {}: {}", format_rfc3339(info.last_error_date * 1000),
                             redact(info.last_error_message));
  return {HealthClass::webhook_broken, signal, "webhook " + url,
          fmt::format("a webhook is set for the bot ({}): Telegram pushes the updates there and refuses getUpdates, "
                      "so chansync receives none{}; {} updates pending",
                      url, last_error, info.pending_update_count),
          "if chansync is to receive the bot's messages, remove the webhook (deleteWebhook); a bot has one receiver, "
          "so the program that set it stops receiving them"};
}

}  // namespace chansync::adapters::telegram
