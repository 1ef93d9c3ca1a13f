#pragma once
// How one Twilio Conversation (its participants and messages) becomes a chansync conversation: who
// the customer is, which channel, who wrote each message. Pure: no HTTP, no state.
#include <string>
#include <vector>

#include "adapters/twilio/twilio_conversations_api.hpp"
#include "sync/adapter.hpp"
#include "sync/normalize.hpp"

namespace chansync::adapters::twilio {

struct ConversationMapper {
  std::string connector;
  std::string default_scope;         // chat identities' namespace when a conversation names no service
  std::vector<std::string> own;      // the business's numbers, E.164
  std::vector<std::string> agents;   // agent_identities: chat identities of the business's people
  PhoneNormalizer* phone = nullptr;  // memoised, for the connector's default region

  // Appends `c` with its mapped messages to page.items, and a dead letter (the message's raw JSON)
  // for each message it cannot map: the conversation has no single customer (no participant but the
  // business, or several customers: a group), the customer's binding is not SMS or WhatsApp, the
  // message's date is unreadable, or its author is neither the customer, the system nor the
  // business. A conversation none of whose messages maps is not appended. Never fails.
  void map(const WireConversation& c, const std::vector<WireParticipant>& participants,
           const std::vector<WireConversationMessage>& messages, Page<Conversation>& page) const;

  // The handle value of chat identity `identity` in service `scope`: "<scope>:<identity>", with
  // whitespace and '%' percent-encoded.
  static std::string chat_value(const std::string& scope, const std::string& identity);
};

}  // namespace chansync::adapters::twilio
