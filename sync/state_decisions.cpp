#include "sync/state_decisions.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "sync/error.hpp"
#include "sync/model.hpp"
#include "sync/state_store.hpp"
#include "sync/timestamp.hpp"

namespace chansync {
namespace {

constexpr const char* k_cols = "id, kind, made_at, reason, a_id, b_id, a_nodes, b_nodes, undone_at, undo_note";

DecisionRow read_row(SQLite::Statement& q) {
  DecisionRow r;
  r.id = q.getColumn(0).getInt64();
  r.kind = q.getColumn(1).getString() == "split" ? IdentityDecision::Kind::split : IdentityDecision::Kind::merge;
  r.made_at = q.getColumn(2).getInt64();
  r.reason = q.getColumn(3).getString();
  r.a_id = q.getColumn(4).getString();
  r.b_id = q.getColumn(5).getString();
  r.a_nodes = nlohmann::json::parse(q.getColumn(6).getString()).get<std::vector<std::string>>();
  r.b_nodes = nlohmann::json::parse(q.getColumn(7).getString()).get<std::vector<std::string>>();
  if (!q.getColumn(8).isNull()) r.undone_at = q.getColumn(8).getInt64();
  r.undo_note = q.getColumn(9).getString();
  return r;
}

// The undo note of a split a later merge superseded; undoing that merge finds the split by it.
std::string superseded_note(std::int64_t merge_id) {
  return fmt::format("superseded by merge #{}", merge_id);
}

bool meets(const std::vector<std::string>& nodes, const std::set<std::string>& side) {
  return std::any_of(nodes.begin(), nodes.end(), [&](const auto& n) { return side.count(n) > 0; });
}

}  // namespace

std::vector<DecisionRow> DecisionJournal::list() {
  std::vector<DecisionRow> out;
  SQLite::Statement q(m_store.db(), fmt::format("SELECT {} FROM identity_decisions ORDER BY id", k_cols));
  while (q.executeStep()) out.push_back(read_row(q));
  return out;
}

std::optional<DecisionRow> DecisionJournal::get(std::int64_t id) {
  SQLite::Statement q(m_store.db(), fmt::format("SELECT {} FROM identity_decisions WHERE id = ?", k_cols));
  q.bind(1, static_cast<int64_t>(id));
  if (!q.executeStep()) return std::nullopt;
  return read_row(q);
}

std::vector<IdentityDecision> DecisionJournal::active() {
  std::vector<IdentityDecision> out;
  for (auto& r : list())
    if (!r.undone_at) out.push_back({r.id, r.kind, std::move(r.a_nodes), std::move(r.b_nodes)});
  return out;
}

void DecisionJournal::former_ids(std::map<std::string, std::string>& undone,
                                 std::map<std::string, std::string>& in_force) {
  SQLite::Statement q(m_store.db(), R"sql(SELECT a_id, b_id, a_nodes, b_nodes, undone_at IS NOT NULL
    FROM identity_decisions d WHERE kind = 'merge' ORDER BY id)sql");
  SQLite::Statement retired(m_store.db(), "SELECT 1 FROM person_aliases WHERE alias = ?");
  while (q.executeStep())
    for (int side = 0; side < 2; ++side) {
      const std::string id = q.getColumn(side).getString();
      retired.bind(1, id);
      const bool is_retired = retired.executeStep();
      retired.reset();
      if (!is_retired) continue;
      auto& out = q.getColumn(4).getInt() ? undone : in_force;
      for (auto& node : nlohmann::json::parse(q.getColumn(2 + side).getString()).get<std::vector<std::string>>())
        out.insert_or_assign(std::move(node), id);  // a later merge's view of a node wins
    }
}

DecisionRow DecisionJournal::insert(DecisionRow row) {
  SQLite::Statement st(m_store.db(), R"sql(INSERT INTO identity_decisions(kind, made_at, reason, a_id, b_id,
    a_nodes, b_nodes) VALUES(?, ?, ?, ?, ?, ?, ?))sql");
  st.bind(1, to_string(row.kind));
  st.bind(2, static_cast<int64_t>(row.made_at));
  st.bind(3, row.reason);
  st.bind(4, row.a_id);
  st.bind(5, row.b_id);
  st.bind(6, nlohmann::json(row.a_nodes).dump());
  st.bind(7, nlohmann::json(row.b_nodes).dump());
  st.exec();
  row.id = m_store.db().getLastInsertRowid();
  return row;
}

void DecisionJournal::mark_undone(std::int64_t id, const std::string& note) {
  SQLite::Statement st(m_store.db(), "UPDATE identity_decisions SET undone_at = ?, undo_note = ? WHERE id = ?");
  st.bind(1, static_cast<int64_t>(now_ms()));
  st.bind(2, note);
  st.bind(3, static_cast<int64_t>(id));
  st.exec();
}

DecisionRow DecisionJournal::merge(const std::string& a, const std::string& b, const std::string& reason) {
  std::string ida = m_store.identity().require_person(a), idb = m_store.identity().require_person(b);
  if (ida == idb)
    throw Failure(Errc::usage, fmt::format("{} and {} are already one person ({}); nothing to merge", a, b, ida));
  // The older person first: its id is the one that survives.
  SQLite::Statement seq(m_store.db(), "SELECT seq FROM persons WHERE person_id = ?");
  auto seq_of = [&](const std::string& id) {
    seq.bind(1, id);
    const auto out = seq.executeStep() ? seq.getColumn(0).getInt64() : std::numeric_limits<std::int64_t>::max();
    seq.reset();
    return out;
  };
  if (std::pair(seq_of(idb), idb) < std::pair(seq_of(ida), ida)) std::swap(ida, idb);
  DecisionRow row{.kind = IdentityDecision::Kind::merge,
                  .made_at = static_cast<std::int64_t>(now_ms()),
                  .reason = reason,
                  .a_id = ida,
                  .b_id = idb,
                  .a_nodes = m_store.identity().nodes_of(ida),
                  .b_nodes = m_store.identity().nodes_of(idb)};
  SQLite::Transaction tx(m_store.db());
  row = insert(std::move(row));
  // A split that keeps these two apart yields to the newer decision.
  const std::set<std::string> sa(row.a_nodes.begin(), row.a_nodes.end()), sb(row.b_nodes.begin(), row.b_nodes.end());
  for (const auto& d : active())
    if (d.kind == IdentityDecision::Kind::split &&
        ((meets(d.a, sa) && meets(d.b, sb)) || (meets(d.a, sb) && meets(d.b, sa))))
      mark_undone(d.id, superseded_note(row.id));
  tx.commit();
  return row;
}

DecisionRow DecisionJournal::split(const std::string& person, const std::string& node, const std::string& reason) {
  const std::string id = m_store.identity().require_person(person);
  auto nodes = m_store.identity().nodes_of(id);
  const auto it = std::find(nodes.begin(), nodes.end(), node);
  if (it == nodes.end()) {
    const auto other = m_store.identity().holder(node);
    throw Failure(Errc::usage,
                  other ? fmt::format("{} belongs to {}, not to {}; split it from that person", node, *other, id)
                        : fmt::format("no person has {}; `chansync persons show {}` lists what {} has", node, id, id));
  }
  nodes.erase(it);
  if (nodes.empty())
    throw Failure(Errc::usage, fmt::format("{} is all {} has; there is nothing to split it from", node, id));
  DecisionRow row{.kind = IdentityDecision::Kind::split,
                  .made_at = static_cast<std::int64_t>(now_ms()),
                  .reason = reason,
                  .a_id = id,
                  .a_nodes = {node},
                  .b_nodes = std::move(nodes)};
  SQLite::Transaction tx(m_store.db());
  row = insert(std::move(row));
  tx.commit();
  return row;
}

DecisionRow DecisionJournal::undo(std::int64_t id) {
  auto row = get(id);
  if (!row)
    throw Failure(Errc::not_found,
                  fmt::format("no decision #{}; `chansync persons decisions` lists them with their ids", id));
  if (row->undone_at)
    throw Failure(Errc::usage, fmt::format("decision #{} no longer applies ({}); nothing to undo", id,
                                           row->undo_note.empty() ? "undone" : row->undo_note));
  // A later merge made while this one held took both its sides as one person, and joins them still:
  // undoing this one would change nothing, so it is refused, naming the merge to undo first.
  if (row->kind == IdentityDecision::Kind::merge) {
    for (const auto& d : active())
      if (d.id > id && d.kind == IdentityDecision::Kind::merge) {
        std::set<std::string> later(d.a.begin(), d.a.end());
        later.insert(d.b.begin(), d.b.end());
        if (meets(row->a_nodes, later) && meets(row->b_nodes, later))
          throw Failure(Errc::usage,
                        fmt::format("merge #{} was made after #{} and took both of its sides as one person, so "
                                    "undoing #{} alone would change nothing: undo #{} first, then #{} (and merge "
                                    "again what should stay), or split the handle that should go",
                                    d.id, id, id, d.id, id));
      }
  }
  SQLite::Transaction tx(m_store.db());
  mark_undone(id, "undone");
  // The splits this merge superseded apply again: undoing the merge puts back what was before it.
  if (row->kind == IdentityDecision::Kind::merge) {
    SQLite::Statement st(m_store.db(),
                         "UPDATE identity_decisions SET undone_at = NULL, undo_note = '' WHERE kind = 'split' AND "
                         "undo_note = ?");
    st.bind(1, superseded_note(id));
    st.exec();
  }
  tx.commit();
  return *get(id);
}

std::vector<DecisionRow> DecisionJournal::touching(const std::set<std::string>& nodes) {
  std::vector<DecisionRow> out;
  for (auto& d : list())
    if (meets(d.a_nodes, nodes) || meets(d.b_nodes, nodes)) out.push_back(std::move(d));
  return out;
}

std::string DecisionJournal::digest() {
  // Which decisions are undone, not how many: undoing a merge re-activates the split it superseded,
  // which leaves the count as it was.
  SQLite::Statement q(m_store.db(),
                      "SELECT count(*), coalesce(max(id), 0), (SELECT coalesce(group_concat(id, '.'), '') FROM "
                      "(SELECT id FROM identity_decisions WHERE undone_at IS NOT NULL ORDER BY id)) FROM "
                      "identity_decisions");
  q.executeStep();
  return fmt::format("d{}.{}.u{}", q.getColumn(0).getInt64(), q.getColumn(1).getInt64(), q.getColumn(2).getString());
}

}  // namespace chansync
