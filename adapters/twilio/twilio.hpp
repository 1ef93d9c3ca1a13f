#pragma once
// twilio-messaging: SMS/WhatsApp messages from Twilio's 2010 REST API, grouped into conversations.
#include "adapters/registry.hpp"

namespace chansync::adapters::twilio {

AdapterType type();

}  // namespace chansync::adapters::twilio
