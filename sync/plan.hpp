#pragma once
// Stage 4, pure: decide per person whether a target needs it, from the push ledger.
#include <map>
#include <string>

namespace chansync {

enum class PlanAction { create, update, skip };
const char* to_string(PlanAction a);

// create: the target never got this person; update: it got different content; skip: it has exactly
// this content. `full` turns every skip into an update (re-send everything).
PlanAction plan_action(const std::string& person_id, const std::string& hash,
                       const std::map<std::string, std::string>& ledger, bool full);

}  // namespace chansync
