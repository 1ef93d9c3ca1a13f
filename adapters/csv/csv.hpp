#pragma once
// csv-contacts: contacts from a CSV file (a CRM export, any list of people), its columns mapped by
// the config. The file's SHA-256 is the cursor: an unchanged file is not read again.
#include "adapters/registry.hpp"

namespace chansync::adapters::csv {

AdapterType type();

}  // namespace chansync::adapters::csv
