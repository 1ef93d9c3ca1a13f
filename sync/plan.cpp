#include "sync/plan.hpp"

namespace chansync {

const char* to_string(PlanAction a) {
  switch (a) {
    case PlanAction::create:
      return "create";
    case PlanAction::update:
      return "update";
    case PlanAction::skip:
      return "skip";
    case PlanAction::remove:
      return "delete";
  }
  return "skip";
}

PlanAction plan_action(const std::string& hash, const PushLedgerEntry* previous, bool full) {
  if (!previous) return PlanAction::create;
  if (previous->hash != hash || full) return PlanAction::update;
  return PlanAction::skip;
}

}  // namespace chansync
