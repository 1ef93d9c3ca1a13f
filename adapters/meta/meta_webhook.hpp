#pragma once
// Messenger and Instagram messaging webhooks ({"object": "page" | "instagram", "entry": [{"id",
// "time", "messaging": [...]}]}), mapped to the same handles and message ids (mids) as the Graph
// history mapping (meta.cpp), so a message seen both ways is one message of one person. Webhooks
// carry no Graph conversation id (t_…): their conversation is "<page_id>:<customer id>", and a
// message keeps the conversation that first brought it (the store never moves it). Pure: no HTTP.
#include <string>
#include <string_view>

#include "sync/adapter.hpp"

namespace chansync::adapters::meta {

// Who a payload is mapped for.
struct WebhookTarget {
  std::string connector;
  std::string object;   // "page" (Messenger) or "instagram"
  std::string channel;  // "messenger" / "instagram", as the history mapping
  HandleKind handle;    // messenger_psid / instagram_igsid
  std::string page_id;  // the connector's page_id: handles are "<page_id>:<customer id>"
  std::string account;  // Instagram: the professional account's id ("": entries of any account are mapped)
};

// Maps one payload into `page` (WebhookReceiver::map_webhook's contract). Per messaging event:
// - message: a Message keyed by its mid in conversation "<page_id>:<customer id>", where the customer
//   is the side that is not the business (entry.id); is_echo messages are the business's own
//   (outbound, author agent). Attachments keep their payload url. A message with neither text nor
//   attachments (deleted, unsupported) is an event;
// - delivery: receipts "delivered" for its mids, and its watermark (Conversation::watermarks);
// - read: a receipt "read" for its mid (Instagram), or Messenger's watermark; a page's watermarks
//   of one customer and status are one, the latest;
// - reaction, postback, edit: events from the customer;
// - anything else (optins, referrals) is skipped.
// A Messenger entry for another page is a dead letter; so is an event without sender, recipient or
// timestamp, and a message without a mid (each with its raw bytes). Instagram entries carry the
// account's own id: one for another account than `account` is a dead letter; without `account` (not
// known without a Graph call) all are mapped.
void map_messaging_payload(std::string_view payload, const WebhookTarget& target, Page<Conversation>& page);

}  // namespace chansync::adapters::meta
