#pragma once
// A person as the hubspot target writes it on a HubSpot contact, and how verify compares what
// HubSpot holds with what chansync sent.
#include <map>
#include <string>

#include "sync/model.hpp"

namespace chansync::adapters::hubspot {

// What chansync writes on the person's contact: the name a CRM record splits (else the display name
// split at its first space) and the first valid email and phone. Empty values are left out: chansync
// never clears what someone typed into HubSpot.
std::map<std::string, std::string> contact_fields(const PersonRecord& p);

// `value` of contact property `field` as verify compares it: a phone's digits (and a leading +)
// only, since HubSpot may show it formatted; an email lower-cased.
std::string comparable(const std::string& field, const std::string& value);

}  // namespace chansync::adapters::hubspot
