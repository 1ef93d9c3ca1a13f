#pragma once
// Telegram Bot API wire format: the getUpdates and getMe envelopes ({"ok", "result"} or {"ok": false,
// "error_code", "description", "parameters"}) and the Update/Message fields chansync reads.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sync/error.hpp"
#include "sync/health.hpp"
#include "sync/model.hpp"

namespace chansync::adapters::telegram {

struct WireUser {
  std::int64_t id = 0;
  bool is_bot = false;
  std::string first_name, last_name, username;
};

struct WireMessage {
  std::int64_t message_id = 0;
  std::optional<WireUser> from;  // absent for channel posts
  std::int64_t chat_id = 0;
  std::string chat_type;  // private | group | supergroup | channel
  std::int64_t date = 0;  // unix seconds
  std::string text;       // text, else caption
  std::string media;      // "photo", "document report.pdf", ... ("" = none); see parse_updates
  // A shared contact (`contact`): its phone and the Telegram user it belongs to (0 = not a user).
  std::string contact_phone;
  std::int64_t contact_user_id = 0;
};

struct WireUpdate {
  std::int64_t update_id = 0;
  std::string kind;                    // "message", "edited_message", or whatever else came
  std::optional<WireMessage> message;  // for message / edited_message
  std::string raw;                     // the update exactly as received
};

struct UpdatesPage {
  std::vector<WireUpdate> updates;  // in update_id order as sent
  std::vector<DeadLetter> rejects;  // updates without an update_id or with a malformed message
  std::int64_t last_update_id = 0;  // highest update_id seen, rejects included (0 = none)
};

// Parses a successful getUpdates body. Errc::protocol when it is not {"ok": true, "result": [...]}.
Result<UpdatesPage> parse_updates(const std::string& body);

// Telegram's error envelope; error_code 0 when the body is not one.
struct WireError {
  int error_code = 0;
  std::string description;
  std::optional<std::int64_t> retry_after;  // parameters.retry_after (429)
};
WireError parse_error(const std::string& body);

// The bot of a getMe body; nullopt when the body is not {"ok": true, "result": {User}}.
std::optional<WireUser> parse_me(const std::string& body);

// getWebhookInfo's result: where Telegram pushes the bot's updates ("" = nowhere: getUpdates serves
// them) and how its last push went.
struct WebhookInfo {
  std::string url;
  std::int64_t pending_update_count = 0;
  std::int64_t last_error_date = 0;  // unix seconds, 0 = none
  std::string last_error_message;
};
// nullopt when the body is not {"ok": true, "result": {WebhookInfo}}.
std::optional<WebhookInfo> parse_webhook_info(const std::string& body);

// The "getWebhookInfo" finding of a bot chansync pulls with getUpdates, which works only while no
// webhook is set: a url → webhook_broken (Telegram refuses getUpdates with 409 and pushes the updates
// elsewhere), naming the url (`redact` applied: a webhook URL often carries the token), the last
// delivery error and its date, and the pending updates; no url → ok with the pending count. Pure.
Finding webhook_info_finding(const WebhookInfo& info, const std::function<std::string(std::string_view)>& redact);

}  // namespace chansync::adapters::telegram
