#pragma once
// The calls of Chatwoot's Application API (swagger/tag_groups/application_swagger.json, vendored in
// tests/contract/specs/) the chatwoot sink makes, and the parsing of their answers. Every call sends
// the `api_access_token` header and reads the JSON Chatwoot answers; the parsers accept both what a
// Chatwoot server sends and the shapes the spec documents (they differ, e.g. for a created contact).
//
// Every call returns an Error for a non-2xx answer: Errc::auth (401/403), rate_limited (429 after
// retries), unavailable (5xx after retries, or no answer), remote for the other 4xx with Chatwoot's
// own error text and the status in Error::http_status; Errc::protocol for a 2xx whose body is not
// the documented shape. Only requests safe to repeat are retried (see each call).
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "adapters/http.hpp"

namespace chansync::adapters::chatwoot {

// Chatwoot's MessageFinder serves a conversation's messages 20 at a time, newest last.
inline constexpr std::size_t k_messages_page = 20;
// The contact search serves 15 contacts a page.
inline constexpr std::size_t k_contacts_page = 15;

// The contact fields chansync sets; an empty email or phone_number is left out of the request,
// unless cleared: sent empty, which Chatwoot stores as none (an address chansync set there that the
// person no longer has).
struct ContactFields {
  std::string identifier;  // the person_id
  std::string name;
  std::string email;
  std::string phone_number;  // E.164
  bool clear_email = false, clear_phone = false;
};

struct WireContact {
  std::int64_t id = 0;
  std::string identifier, name, email, phone_number;
};

struct WireConversation {
  std::int64_t id = 0;  // the account's conversation number, used in paths
  std::int64_t inbox_id = 0;
  std::string source_key;  // additional_attributes.chansync_source_id, "" when not chansync's
};

struct WireMessage {
  std::int64_t id = 0;
  std::string content;
  std::string chansync_id;     // content_attributes.chansync_id: the message chansync posted, "" if none
  bool chansync_note = false;  // content_attributes.chansync_note: a note chansync posted
};

struct NewMessage {
  std::string content;
  const char* message_type = "incoming";  // "incoming" (the customer) or "outgoing" (the business)
  bool is_private = false;                // a private note, seen by agents only
  nlohmann::json content_attributes = nlohmann::json::object();
};

struct WireInbox {
  std::int64_t id = 0;
  std::string name, channel_type;  // channel_type "Channel::Api" for an API inbox
};

struct ApiOptions {
  std::string connector;  // the target's name, for messages
  std::string base_url;   // without a trailing slash
  std::int64_t account_id = 0;
  std::int64_t inbox_id = 0;
  std::string token;  // api_access_token; never logged
  Sleeper sleep;
};

class Api {
 public:
  explicit Api(ApiOptions opts);

  // The contact whose identifier is exactly `identifier` (the search matches substrings of names,
  // emails, phones and identifiers: every result page is checked), or nullopt. GET, retried.
  Result<std::optional<WireContact>> find_contact(const std::string& identifier);
  // Creates a contact in the inbox and returns its id. Retried on a 5xx: Chatwoot keeps identifiers
  // unique per account, so a repeat cannot duplicate the contact, only fail with 422 (the caller then
  // finds it by identifier).
  Result<std::int64_t> create_contact(const ContactFields& fields);
  // Sets the fields on contact `id`. PUT, retried; 404 when Chatwoot no longer has it.
  Result<void> update_contact(std::int64_t id, const ContactFields& fields);
  Result<WireContact> get_contact(std::int64_t id);
  // Deletes the contact and, in Chatwoot, its conversations. DELETE, retried; 404 when gone.
  Result<void> delete_contact(std::int64_t id);
  // Merges contact `mergee` into `base` (POST actions/contact_merge, documented at
  // developers.chatwoot.com/api-reference/contacts/merge-contacts; not yet in the spec vendored
  // here): its conversations, notes and labels move to `base`, which takes the fields it lacks, and
  // `mergee` is deleted. Retried: a repeat after a merge that happened finds `mergee` gone (404).
  Result<void> merge_contacts(std::int64_t base, std::int64_t mergee);
  // The contact's conversations (Chatwoot lists the newest 20), in every inbox.
  Result<std::vector<WireConversation>> contact_conversations(std::int64_t contact_id);
  // Opens a conversation for the contact in the inbox with a contact_inbox of `source_id`, marked
  // with additional_attributes.chansync_source_id = source_id. Not retried after a 5xx: Chatwoot
  // would open a second conversation.
  Result<std::int64_t> create_conversation(std::int64_t contact_id, const std::string& source_id,
                                           const std::string& channel);
  // The conversation's messages, oldest first, read from the newest back page by page (`before`)
  // until `enough` (given what was read so far) says so or the first message is reached.
  Result<std::vector<WireMessage>> messages(std::int64_t conversation_id,
                                            const std::function<bool(const std::vector<WireMessage>&)>& enough);
  // Posts one message and returns the id Chatwoot gave it (0 when the answer names none). Not retried
  // after a 5xx (Chatwoot has no idempotency key for messages).
  // When Chatwoot's answer shows the message stored without the content_attributes sent (an old
  // Chatwoot), returns Errc::remote and attributes_dropped() keeps saying so: chansync could not
  // recognise its messages later and would post them again on every push.
  Result<std::int64_t> post_message(std::int64_t conversation_id, const NewMessage& message);
  // Deletes a message: Chatwoot keeps it as "This message was deleted", without its attachments and
  // content_attributes. DELETE, retried; 404 when gone.
  Result<void> delete_message(std::int64_t conversation_id, std::int64_t message_id);
  const std::optional<Error>& attributes_dropped() const { return m_attributes_dropped; }

  // GET of the inbox (a cheap authenticated read of the account and inbox), for the probe.
  HttpRequest inbox_request() const;
  HttpClient& http() { return m_http; }

 private:
  std::string url(const std::string& rest) const;
  HttpRequest request(std::string method, const std::string& rest, const nlohmann::json* body = nullptr) const;
  Result<HttpResponse> call(const HttpRequest& req, const std::string& what);

  // Waits, when needed, so that conversation `id` gets no more than k_conversation_per_minute
  // messages in any minute. Errc::interrupted when a stop signal ends the wait.
  Result<void> pace_conversation(std::int64_t id);

  ApiOptions m_opts;
  HttpClient m_http;
  std::optional<Error> m_attributes_dropped;
  std::map<std::int64_t, std::deque<std::chrono::steady_clock::time_point>> m_posted;  // by conversation, last minute
};

// Chatwoot refuses a message ("422 Too many messages") to a conversation that had
// CONVERSATION_MESSAGE_PER_MINUTE_LIMIT (200 by default) in the minute before: a long history is
// posted at most this many a minute to each conversation.
inline constexpr std::size_t k_conversation_per_minute = 180;

// The inbox of a GET inbox answer; nullopt when the body is not one (no numeric id).
std::optional<WireInbox> parse_inbox(const std::string& body);

// `text` as Chatwoot's Liquid rendering of an outgoing message leaves it: the "{" of each "{{" and
// "{%" outside `backtick` spans written as the Liquid string literal {{ '{' }}.
std::string liquid_literal(const std::string& text);

// The most characters of content Chatwoot keeps in a message.
inline constexpr std::size_t k_max_content = 150'000;
// The content to send for a message's `text`: through liquid_literal() when `outgoing`, and cut, saying
// so, when it would be longer than k_max_content once sent.
std::string message_content(const std::string& text, bool outgoing);

// Chatwoot's own words from an error body: {"message":...}, {"error":...}, {"errors":[...]} (strings,
// or {"field","message"} objects as the spec documents), {"description":...}; else the body's first
// 200 bytes on one line.
std::string error_text(const std::string& body);

}  // namespace chansync::adapters::chatwoot
