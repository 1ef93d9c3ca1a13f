#pragma once
// Stage 4, pure: decide per person whether a target needs it, from the push ledger.
#include <string>

#include "sync/model.hpp"

namespace chansync {

enum class PlanAction { create, update, skip, remove };
const char* to_string(PlanAction a);

// (remove is planned by push_target for ledger entries whose person no longer exists.)
// create: the target never confirmed this person (no ledger entry); update: it confirmed different
// content; skip: it has exactly this content. `full` turns every skip into an update (re-send all).
PlanAction plan_action(const std::string& hash, const PushLedgerEntry* previous, bool full);

}  // namespace chansync
