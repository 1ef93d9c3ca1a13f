#pragma once
// chatwoot: delivers each person to a Chatwoot account through its Application API
// (documented for users in chansync-adapters(7)):
//   contact       one per person, identifier = person_id; name, phone_number (E.164) and email set
//                 when valid. Its id is the person's remote id in the push ledger.
//   conversation  one per (person, channel) in an API-channel inbox, with the stable source_id
//                 "chansync:<person_id>:<channel>" (also in additional_attributes.chansync_source_id).
//   messages      the customer's as incoming, the business's as outgoing, each once, with the
//                 original id and time in content_attributes (chansync_id, external_created_at).
//   note          a private note in each conversation naming the person's other channels, posted
//                 again only when that changes.
// The timeline's delivery (what is read back, posted and deleted): chatwoot_timeline.hpp.
// A person merged away has its contact merged into the survivor's (contact_merge); one gone without
// a survivor has its contact deleted, with its conversations.
#include "adapters/registry.hpp"

namespace chansync::adapters::chatwoot {

AdapterType type();

}  // namespace chansync::adapters::chatwoot
