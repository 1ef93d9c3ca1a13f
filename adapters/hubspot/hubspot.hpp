#pragma once
// hubspot-contacts: contacts from HubSpot CRM v3 (list, then incremental search on lastmodifieddate).
#include "adapters/registry.hpp"

namespace chansync::adapters::hubspot {

AdapterType type();

}  // namespace chansync::adapters::hubspot
