#pragma once
// The decision journal: merges and splits people made (`persons merge`, `persons split`). Each keeps
// the nodes both sides had when it was made, so it still means the same after later syncs; reconcile
// applies the active ones before its automatic rules. Undoing one keeps its row, marked undone.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sync/reconcile.hpp"

namespace chansync {

class StateStore;

struct DecisionRow {
  std::int64_t id = 0;
  IdentityDecision::Kind kind = IdentityDecision::Kind::merge;
  std::int64_t made_at = 0;  // ms since the epoch
  std::string reason;
  // merge: the surviving person first; split: the person split and "" (the side split off gets its id
  // when reconcile runs).
  std::string a_id, b_id;
  std::vector<std::string> a_nodes, b_nodes;  // see IdentityDecision
  std::optional<std::int64_t> undone_at;
  std::string undo_note;  // why it stopped applying: undone by hand, or superseded by a later decision
};

class DecisionJournal {
 public:
  explicit DecisionJournal(StateStore& store) : m_store(store) {}

  // The decisions reconcile applies, oldest first.
  std::vector<IdentityDecision> active();
  // node → the person id it had when a merge retired that id, for ids that are still retired: of
  // undone merges in `undone`, of merges in force in `in_force`.
  void former_ids(std::map<std::string, std::string>& undone, std::map<std::string, std::string>& in_force);
  std::vector<DecisionRow> list();  // all, oldest first
  std::optional<DecisionRow> get(std::int64_t id);
  // Every decision (active or not) that names one of `nodes` on either side.
  std::vector<DecisionRow> touching(const std::set<std::string>& nodes);

  // Records that persons `a` and `b` (ids or retired ids) are one person. An active split that keeps
  // the two apart is superseded. Throws Failure(not_found) for an unknown person, Failure(usage) when
  // both are already one person.
  DecisionRow merge(const std::string& a, const std::string& b, const std::string& reason);
  // Records that `node` (a handle key or a CRM record node) is not the person `person`. Throws
  // Failure(not_found) when the person is unknown, Failure(usage) when the node is not theirs or is
  // all they have.
  DecisionRow split(const std::string& person, const std::string& node, const std::string& reason);
  // Marks a decision undone. Throws Failure(not_found) for an unknown id, Failure(usage) when it no
  // longer applies.
  DecisionRow undo(std::int64_t id);
  // Bumped by every change, so an unchanged reconcile can tell that decisions changed.
  std::string digest();

 private:
  DecisionRow insert(DecisionRow row);
  void mark_undone(std::int64_t id, const std::string& note);

  StateStore& m_store;
};

}  // namespace chansync
