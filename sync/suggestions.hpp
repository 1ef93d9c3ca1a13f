#pragma once
// Suggestions over the state store: the persons reconcile makes of it, as profiles for the scorer
// (sync/suggest.hpp), listed for `persons suggestions` or merged automatically above
// [identity] auto_merge_above, as decisions in the journal that `persons undo` reverses.
#include <string>
#include <unordered_map>
#include <vector>

#include "sync/reconcile.hpp"
#include "sync/run.hpp"
#include "sync/suggest.hpp"

namespace chansync {

class StateStore;

// One profile per person of `result`, in person index order: its CRM records' names and attributes
// (`contacts`: the records of the input `result` was made from, whole), the names vendors gave its
// handles (`node_names`: handle key → names), its verified phones and emails. Unverified handles
// (placeholders, role addresses, invalid numbers) and handles in a conflict are no evidence.
std::vector<SuggestProfile> person_profiles(
    const std::vector<Contact>& contacts, const IdentityResult& result,
    const std::unordered_map<std::string, std::vector<std::string>>& node_names);

struct SuggestionsReport {
  std::vector<SuggestProfile> profiles;  // person_id set; indexed by the suggestions
  SuggestResult result;
  bool stale = false;  // stored identities differ from what reconcile makes of the store now
};

// The persons reconcile makes of the store now and the pairs worth merging. Pairs a split decision
// keeps apart are never suggested.
SuggestionsReport list_suggestions(StateStore& store, const std::vector<Endpoint>& connectors,
                                   const IdentityRules& rules, const SuggestOptions& options);

// Records a merge decision for every pair at or above `threshold` among the persons of `result` (saved
// in the store), except pairs a person already separated (an undone merge or a split touching both).
// Returns how many it recorded.
std::size_t auto_merge(StateStore& store, const IdentityResult& result, double threshold);

}  // namespace chansync
