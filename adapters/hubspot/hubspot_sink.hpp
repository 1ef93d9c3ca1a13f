#pragma once
// hubspot: writes merged persons into HubSpot CRM (the hubspot-contacts source reads the same API).
//
// Per push batch, in groups of at most 100 persons (HubSpot's batch limit):
//   POST /crm/v3/objects/contacts/batch/read    by id_property: each contact's noted-through mark
//   POST /crm/v3/objects/contacts/batch/upsert  by id_property = person_id (name, email, phone)
//   POST /crm/v3/objects/notes/batch/upsert     by note_id_property: the messages after the mark
//   POST /crm/v4/associations/notes/contacts/batch/create   note → contact (type 202)
//   POST /crm/v3/objects/contacts/batch/update  the new mark
// Every step is an upsert or a read keyed by values derived from the record, so each request is safe
// to repeat and a push repeated after any failure or crash ends in the same contacts and notes; the
// mark moves only after its notes are stored and associated. Persons merged away are archived
// (POST /crm/v3/objects/contacts/batch/archive). The remote id is HubSpot's contact id.
#include "adapters/registry.hpp"

namespace chansync::adapters::hubspot {

AdapterType sink_type();

}  // namespace chansync::adapters::hubspot
