#pragma once
// ndjson: writes one person record per line to a file (appended, fsynced) or to stdout.
#include "adapters/registry.hpp"

namespace chansync::adapters::ndjson {

AdapterType type();

}  // namespace chansync::adapters::ndjson
