#pragma once
// Twilio Conversations v1 wire format (conversations.twilio.com): the Conversations, Participants and
// Messages list pages, with their absolute meta.next_page_url, and the resources the probe reads.
#include <string>
#include <string_view>
#include <vector>

#include "sync/error.hpp"
#include "sync/model.hpp"

namespace chansync::adapters::twilio {

struct WireConversation {
  std::string sid;               // CH…
  std::string chat_service_sid;  // IS…: the Conversations service it belongs to
  std::string date_created;      // ISO 8601
  std::string date_updated;
  std::string_view raw;  // the conversation's JSON exactly as received; points into the page body
};

// A participant reaches the conversation either through a messaging binding (SMS, WhatsApp, ...:
// binding_type, address and proxy_address set) or as a chat user (identity set).
struct WireParticipant {
  std::string sid;  // MB…
  std::string identity;
  std::string binding_type;   // "sms", "whatsapp", "messenger", ...
  std::string address;        // the participant's own address: "+4915…" or "whatsapp:+4915…"
  std::string proxy_address;  // the business's address it is reached through
};

// Delivery summary of a message to the non-chat participants: "all", "some" or "none" per status.
struct WireDelivery {
  std::string sent, delivered, read, failed, undelivered;
};

struct WireConversationMessage {
  std::string sid;     // IM…
  std::string author;  // the participant's identity or address; "system" (or null) for API-sent messages
  std::string body;
  std::string date_created;
  std::vector<Attachment> media;  // type from content_type, name = filename; no URL (media need auth)
  WireDelivery delivery;
  std::string_view raw;  // points into the page body
};

// One page of a v1 list: its records, dead letters for records lacking a sid, and the absolute
// meta.next_page_url ("" when null: the last page).
template <class W>
struct V1Page {
  std::vector<W> items;
  std::vector<DeadLetter> rejects;
  std::string next_page_url;
};

// Parse one page in place with simdjson On-Demand: `body` gets simdjson's padding as spare capacity
// (contents unchanged) and must outlive the page, whose `raw` views point into it. Errc::protocol
// when the body is not the documented shape (not JSON, no "conversations"/"participants"/"messages"
// array, a next_page_url that is neither a string nor null). Conversations and messages without a
// sid are rejects; participants without one are kept (only their identity or address matters).
Result<V1Page<WireConversation>> parse_conversations_page(std::string& body);
Result<V1Page<WireParticipant>> parse_participants_page(std::string& body);
Result<V1Page<WireConversationMessage>> parse_conversation_messages_page(std::string& body);

// "sid" and "account_sid" of a single resource (GET /v1/Configuration, /v1/Services/{Sid}); empty
// strings when the body is not one.
struct ResourceSids {
  std::string sid, account_sid;
};
ResourceSids resource_sids_of(const std::string& body);

}  // namespace chansync::adapters::twilio
