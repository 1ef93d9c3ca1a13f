#pragma once
// Stage 4, pure: decide per person whether a target needs it, from the push ledger.
#include <string>
#include <vector>

#include "sync/model.hpp"

namespace chansync {

enum class PlanAction { create, update, skip, remove, parked };
const char* to_string(PlanAction a);

// (remove is planned by push_target for ledger entries whose person no longer exists.)
// create: the target never confirmed this person (no ledger entry); update: it confirmed different
// content; skip: it has exactly this content; parked: it refused exactly this content on the last
// k_park_after pushes (`failed`, nullptr when none). `full` turns every skip into an update and
// retries parked persons.
PlanAction plan_action(const std::string& hash, const PushLedgerEntry* previous, bool full,
                       const PushFailure* failed = nullptr);

// Per-field fingerprint of a record ("display_name=…;handles=…/3;…"), kept in the push ledger so a
// dry run can name the fields that changed since the target's copy.
std::string field_fingerprint(const PersonRecord& p);

// content_hash() and field_fingerprint() of one record from one serialisation, and the record's line
// of JSON (person_json) made on the way: a push needs the first two for every person it plans and a
// JSON sink the line of every person it sends, and building that text is most of what a push costs.
struct PersonDigest {
  std::string hash, fields;
  std::string json;  // "" when the record holds text that is not UTF-8 (the sink reports it)
};
PersonDigest digest(const PersonRecord& p);
// digest() of each record, in order: the same values, from two records hashed side by side.
std::vector<PersonDigest> digests(const std::vector<const PersonRecord*>& records);
// The fields of `now` that differ from `before` (a field_fingerprint): "display_name",
// "messages (+2)", "handles (3 -> 2)". Empty when `before` is "" (unknown) or nothing differs.
std::vector<std::string> changed_fields(const std::string& before, const PersonRecord& now);

}  // namespace chansync
