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
  }
  return "skip";
}

PlanAction plan_action(const std::string& person_id, const std::string& hash,
                       const std::map<std::string, std::string>& ledger, bool full) {
  const auto it = ledger.find(person_id);
  if (it == ledger.end()) return PlanAction::create;
  if (it->second != hash || full) return PlanAction::update;
  return PlanAction::skip;
}

}  // namespace chansync
