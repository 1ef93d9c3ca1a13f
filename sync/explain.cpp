#include "sync/explain.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "sync/error.hpp"
#include "sync/run.hpp"
#include "sync/state_store.hpp"

namespace chansync {
namespace {

NodeEvidence evidence(StateStore& store, const std::string& node, bool verified, std::int64_t since) {
  NodeEvidence e{.node = node, .verified = verified, .since = since};
  if (node.starts_with("crm_id:")) {
    const auto slash = node.find('/');  // crm_id:CONNECTOR/ID; connector names have no '/'
    SQLite::Statement q(store.db(), "SELECT first_name, last_name FROM contacts WHERE connector = ? AND id = ?");
    q.bind(1, node.substr(7, slash - 7));
    q.bind(2, node.substr(slash + 1));
    if (q.executeStep()) {
      e.name = q.getColumn(0).getString();
      const std::string last = q.getColumn(1).getString();
      if (!last.empty()) e.name += (e.name.empty() ? "" : " ") + last;
    }
    return e;
  }
  {
    SQLite::Statement q(store.db(),
                        "SELECT connector, count(*) FROM conversations WHERE customer = ? GROUP BY connector ORDER BY "
                        "connector");
    q.bind(1, node);
    while (q.executeStep()) e.conversations.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getInt64());
  }
  {
    // Contacts keep their handles as JSON; a record lists this handle when one of them has its key.
    const auto colon = node.find(':');
    SQLite::Statement q(store.db(), R"sql(SELECT c.connector, c.id FROM contacts c, json_each(c.handles) h
      WHERE c.archived = 0 AND json_extract(h.value, '$.kind') = ? AND json_extract(h.value, '$.value') = ?
      ORDER BY c.connector, c.id)sql");
    q.bind(1, node.substr(0, colon));
    q.bind(2, node.substr(colon + 1));
    while (q.executeStep()) e.listed_on.push_back(crm_node(q.getColumn(0).getString(), q.getColumn(1).getString()));
  }
  return e;
}

}  // namespace

Explanation explain_person(StateStore& store, const std::vector<Endpoint>& connectors, const IdentityRules& rules,
                           const std::string& id_or_alias) {
  Explanation out;
  out.person_id = store.identity().require_person(id_or_alias);
  std::set<std::string> stored;
  std::map<std::string, std::int64_t> since;
  {
    SQLite::Statement q(store.db(), "SELECT node, since FROM person_handles WHERE person_id = ?");
    q.bind(1, out.person_id);
    while (q.executeStep()) {
      stored.insert(q.getColumn(0).getString());
      since[q.getColumn(0).getString()] = q.getColumn(1).getInt64();
    }
  }
  {
    SQLite::Statement q(store.db(), "SELECT alias FROM person_aliases WHERE person_id = ? ORDER BY alias");
    q.bind(1, out.person_id);
    while (q.executeStep()) out.aliases.push_back(q.getColumn(0).getString());
  }

  // Replay reconcile with its trace. Ids minted in the replay are placeholders: it saves nothing.
  IdentityInput in = identity_input(store, connectors, rules);
  in.trace = true;
  int minted = 0;
  const IdentityResult r = reconcile(in, [&] { return fmt::format("(new person {})", ++minted); });
  // The person now: the nodes reconcile gives the id, else (the id would go) those its stored nodes get.
  std::set<std::string> nodes;
  const auto ids = r.person_ids.views();
  if (const auto p = std::ranges::find(ids, out.person_id); p != ids.end())
    for (std::size_t i = 0; i < r.nodes.size(); ++i)
      if (r.person[i] == static_cast<std::uint32_t>(p - ids.begin())) nodes.emplace(r.nodes[i]);
  if (nodes.empty())
    for (const auto& n : stored)
      if (r.contains(n)) nodes.insert(n);
  out.stale = nodes != stored;

  for (const auto& n : nodes) {
    const auto i = r.find(n);
    out.nodes.push_back(evidence(store, n, i == IdentityResult::npos || r.verified[i], since.count(n) ? since[n] : 0));
  }
  std::set<std::string> elsewhere;
  for (const auto& e : r.trace) {
    const bool in_a = nodes.count(e.a) > 0, in_b = nodes.count(e.b) > 0;
    if (!in_a && !in_b) continue;
    if (e.outcome == IdentityEdge::Outcome::refused) {
      out.refused.push_back(e);
      if (!in_a) elsewhere.insert(e.a);
      if (!in_b) elsewhere.insert(e.b);
    } else if (in_a && in_b) {
      out.links.push_back(e);
    }
  }
  for (const auto& n : elsewhere) {
    std::string pid = store.identity().holder(n).value_or("");
    if (const auto i = r.find(n); pid.empty() && i != IdentityResult::npos) pid = r.person_id(i);
    out.elsewhere.emplace_back(n, pid);
  }
  for (const auto& c : r.conflicts)
    if (c.reason.starts_with("listed on") &&
        (nodes.count(c.node) ||
         std::any_of(c.records.begin(), c.records.end(), [&](const auto& rec) { return nodes.count(rec) > 0; })))
      out.shared.push_back(c);
  std::set<std::string> touched = nodes;
  touched.insert(stored.begin(), stored.end());
  out.decisions = store.decisions().touching(touched);
  for (auto& d : store.decisions().list())  // and those made about it whose nodes are all gone
    if ((d.a_id == out.person_id || d.b_id == out.person_id) &&
        std::none_of(out.decisions.begin(), out.decisions.end(), [&](const auto& x) { return x.id == d.id; }))
      out.decisions.push_back(std::move(d));
  std::sort(out.decisions.begin(), out.decisions.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

std::vector<ConflictView> list_conflicts(StateStore& store) {
  std::vector<ConflictView> out;
  for (auto& c : store.identity().conflicts()) {
    ConflictView v{.node = c.node,
                   .kind = c.reason.starts_with("listed on") ? "shared" : "refused",
                   .reason = c.reason,
                   .records = c.records};
    std::set<std::string> persons;
    for (const auto& n : c.records)
      if (auto p = store.identity().holder(n)) persons.insert(*p);
    if (auto p = store.identity().holder(c.node)) persons.insert(*p);
    v.persons.assign(persons.begin(), persons.end());
    out.push_back(std::move(v));
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tuple(b.persons.size(), a.node) < std::tuple(a.persons.size(), b.node);
  });
  return out;
}

}  // namespace chansync
