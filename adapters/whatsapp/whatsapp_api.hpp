#pragma once
// WhatsApp Cloud API wire format: the `messages` webhook payload (messages, statuses and errors of
// one business phone number) and the phone number object of GET /{phone-number-id}. Pure: no HTTP.
#include <optional>
#include <string>
#include <string_view>

#include "sync/adapter.hpp"
#include "sync/normalize.hpp"

namespace chansync::adapters::whatsapp {

// The connector a payload is mapped for: its name and the one business phone number it receives.
struct Receiver {
  std::string connector;
  std::string phone_number_id;
  // Phone numbers normalised so far (a spool drain sees each customer's many times); nullptr:
  // normalise every one. The caller keeps it from being used by two mappings at once.
  PhoneNormalizer* phone = nullptr;
};

// Maps one webhook payload into `page` (WebhookReceiver::map_webhook's contract):
// - each inbound message becomes a Message of the conversation "<phone_number_id>:<customer>",
//   whose customer is the sender's phone (wa_id, E.164) or, for a user who hides their number, the
//   business-scoped user id (kind whatsapp_bsuid, "<WABA id>:<BSUID>"); a BSUID sent beside a wa_id
//   goes to customer_links. Types without text (reactions, system messages, unknown types) are kept
//   as events;
// - each status becomes a receipt of that conversation; a failed one's errors are also notices;
// - the payload's own errors are notices;
// - a change for another phone number, a message or status without id, sender or a readable
//   timestamp is a dead letter with its raw bytes; a payload that is not JSON, or not of object
//   "whatsapp_business_account", is one dead letter with the whole payload.
// Changes of other fields than "messages" are not this connector's data and are skipped.
void map_payload(std::string_view payload, const Receiver& receiver, Page<Conversation>& page);

// GET /{phone-number-id}?fields=id,display_phone_number,verified_name.
struct PhoneNumber {
  std::string id;
  std::string display_phone_number;  // as WhatsApp writes it: "+1 555-078-3881"
  std::string verified_name;
};
// nullopt when the body is not a phone number object.
std::optional<PhoneNumber> parse_phone_number(const std::string& body);

}  // namespace chansync::adapters::whatsapp
