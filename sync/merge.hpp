#pragma once
// Stage 3, pure: one person record per identity cluster.
#include <string>
#include <vector>

#include "sync/model.hpp"

namespace chansync {

// Builds the person record: handles deduplicated and sorted by key (contacts' own handles included),
// contacts sorted by (connector, id), messages sorted by (sent_at, connector, id) and deduplicated by
// (connector, id). display_name is the first named contact's name, else `vendor_name` (what a
// messaging app calls the customer: a Messenger name, an Instagram username), else the first
// handle's value. updated_at is the newest message or contact change.
PersonRecord merge_person(std::string person_id, std::vector<Handle> handles, std::vector<Contact> contacts,
                          std::vector<Message> messages, std::string vendor_name = {});

}  // namespace chansync
