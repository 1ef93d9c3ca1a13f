#pragma once
// Why a person is one person (persons explain) and where identities disagree (persons conflicts).
// Both read the store; explain replays reconcile with its trace on, so what it shows is the rule set
// that reconcile applies, not a second account of it.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sync/reconcile.hpp"
#include "sync/run.hpp"
#include "sync/state_decisions.hpp"

namespace chansync {

class StateStore;

// One node of a person and where it was seen.
struct NodeEvidence {
  std::string node;  // "phone:+49…", "crm_id:hubspot/101"
  bool verified = true;
  std::int64_t since = 0;                                           // first assigned (ms; 0 unknown)
  std::vector<std::pair<std::string, std::int64_t>> conversations;  // connector → conversations it is the customer of
  std::vector<std::string> listed_on;                               // CRM records that list this handle
  std::string name;                                                 // a CRM record's contact name
};

struct Explanation {
  std::string person_id;
  std::vector<std::string> aliases;  // retired ids that now mean this person
  std::vector<NodeEvidence> nodes;
  std::vector<IdentityEdge> links;                             // edges inside the person, joined or already joined
  std::vector<IdentityEdge> refused;                           // refused edges that touch the person, with the rule
  std::vector<std::pair<std::string, std::string>> elsewhere;  // node across a refused edge → its person
  std::vector<IdentityConflict> shared;  // handles of this person listed on several records of one CRM
  std::vector<DecisionRow> decisions;    // every decision (active or not) about its nodes
  // The stored identities differ from what reconcile would make of the store now (records or rules
  // changed since the last reconcile): the explanation is of the latter.
  bool stale = false;
};

// Throws Failure(not_found) for an unknown person.
Explanation explain_person(StateStore& store, const std::vector<Endpoint>& connectors, const IdentityRules& rules,
                           const std::string& id_or_alias);

// A conflict as `persons conflicts` lists it.
struct ConflictView {
  std::string node;
  std::string kind;  // "shared" (a handle several records list) or "refused" (a union a protection refused)
  std::string reason;
  std::vector<std::string> records;
  std::vector<std::string> persons;  // the distinct persons involved now
};
// The conflicts the last reconcile recorded, most persons involved first.
std::vector<ConflictView> list_conflicts(StateStore& store);

}  // namespace chansync
