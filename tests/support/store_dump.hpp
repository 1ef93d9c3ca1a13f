#pragma once
// What pulls wrote to a state store, as sorted text rows per table, so two stores can be compared
// (an interrupted and resumed pull against an uninterrupted one). Bookkeeping that legitimately
// differs between runs is left out: store revisions, timestamps, pull figures.
#include <map>
#include <string>
#include <vector>

#include "sync/state_store.hpp"

namespace chansync::test {

// Table name → its rows, each rendered unambiguously (length-prefixed columns) and sorted:
// conversations, messages, contacts, dead_letters (with raw bytes), streams (cursor, last error).
std::map<std::string, std::vector<std::string>> pulled_state(StateStore& store);

}  // namespace chansync::test
