#pragma once
// whatsapp-cloud: conversations of one WhatsApp Business phone number on Meta's Cloud API. The
// Cloud API keeps no history to pull: messages and delivery statuses arrive only as webhooks
// (`chansync listen`), which the pipeline reads from the connector's spool and this adapter maps.
#include "adapters/registry.hpp"

namespace chansync::adapters::whatsapp {

AdapterType type();

}  // namespace chansync::adapters::whatsapp
