#pragma once
// twilio-calls: voice calls from Twilio's 2010 REST API (Calls.json), one timeline entry per call in
// a conversation per customer number.
#include "adapters/registry.hpp"

namespace chansync::adapters::twilio {

AdapterType calls_type();

}  // namespace chansync::adapters::twilio
