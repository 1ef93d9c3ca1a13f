#pragma once
// twilio-conversations: Twilio Conversations (conversations.twilio.com/v1), one chansync conversation
// per Twilio Conversation, its customer an SMS or WhatsApp participant or a chat user.
#include "adapters/registry.hpp"

namespace chansync::adapters::twilio {

AdapterType conversations_type();

}  // namespace chansync::adapters::twilio
