#pragma once
// The JSON text nlohmann::json(record).dump() prints for the record chansync pushes (model.cpp's
// to_json: keys in sorted order, no spaces, non-ASCII kept), written straight from the record.
// Building the json tree first was most of a push's cost; model_test checks the two agree byte for
// byte, so the push ledger's content hashes stay what they were.
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "sync/model.hpp"

namespace chansync {

// The record's members but updated_at, as JSON text each; nullopt when a string is not UTF-8 (which
// nlohmann::json refuses).
struct PersonJsonMembers {
  std::string contacts, display_name, handles, messages, person_id;
};
std::optional<PersonJsonMembers> person_json_members(const PersonRecord& p);

// The whole record as one line of JSON, exactly nlohmann::json(p).dump(); text that is not UTF-8
// throws nlohmann::json::type_error as dump() does.
std::string person_json(const PersonRecord& p);
// The same line from the record's members and its updated_at.
std::string person_json(const PersonJsonMembers& m, Timestamp updated_at);
// What that line holds before its updated_at member, in order: each member's key text (with the
// brace or comma before it) and the member.
using PersonJsonPart = std::pair<std::string_view, const std::string*>;
std::array<PersonJsonPart, 5> person_json_parts(const PersonJsonMembers& m);

}  // namespace chansync
