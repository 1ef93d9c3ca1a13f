#include "sync/suggestions.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "sync/state_decisions.hpp"
#include "sync/state_store.hpp"

namespace chansync {
namespace {

// The names vendors gave customers, by handle key (a Messenger name, an email's From name).
std::unordered_map<std::string, std::vector<std::string>> vendor_names(StateStore& store) {
  std::unordered_map<std::string, std::vector<std::string>> out;
  SQLite::Statement q(store.db(),
                      "SELECT DISTINCT customer, customer_name FROM conversations WHERE customer_name != '' "
                      "ORDER BY customer, customer_name");
  while (q.executeStep()) out[q.getColumn(0).getString()].push_back(q.getColumn(1).getString());
  return out;
}

// Person index pairs (lower first) that decisions in `rows` separate: a split's two sides, and the two
// sides of a merge someone undid.
std::set<std::pair<std::size_t, std::size_t>> separated(const std::vector<DecisionRow>& rows,
                                                        const IdentityResult& result) {
  std::set<std::pair<std::size_t, std::size_t>> out;
  const auto persons_of = [&](const std::vector<std::string>& nodes) {
    std::set<std::size_t> ps;
    for (const auto& n : nodes)
      if (const auto i = result.find(n); i != IdentityResult::npos) ps.insert(result.person[i]);
    return ps;
  };
  for (const auto& d : rows) {
    const bool split = d.kind == IdentityDecision::Kind::split && !d.undone_at;
    const bool undone_merge = d.kind == IdentityDecision::Kind::merge && d.undone_at;
    if (!split && !undone_merge) continue;
    for (const auto p : persons_of(d.a_nodes))
      for (const auto q : persons_of(d.b_nodes))
        if (p != q) out.emplace(std::min(p, q), std::max(p, q));
  }
  return out;
}

SuggestResult suggest_apart(std::span<const SuggestProfile> profiles, const SuggestOptions& options,
                            const std::set<std::pair<std::size_t, std::size_t>>& apart) {
  return suggest(profiles, options, [&](std::size_t a, std::size_t b) { return apart.contains({a, b}); });
}

}  // namespace

std::vector<SuggestProfile> person_profiles(
    const std::vector<Contact>& records, const IdentityResult& result,
    const std::unordered_map<std::string, std::vector<std::string>>& node_names) {
  std::vector<SuggestProfile> out(result.person_count());
  for (std::size_t p = 0; p < out.size(); ++p) out[p].person_id = std::string(result.person_ids[p]);
  std::unordered_map<std::string, const Contact*> contacts;
  for (const auto& c : records) contacts.emplace(crm_node(c.connector, c.id), &c);
  const auto add_name = [](SuggestProfile& p, const std::string& name) {
    if (!name.empty() && std::find(p.names.begin(), p.names.end(), name) == p.names.end()) p.names.push_back(name);
  };
  // A handle reconcile refused to join through (a landline on two records of one CRM, a number past a
  // limit) is no evidence here either: it would suggest every member of a family.
  std::set<std::string_view> disputed;
  for (const auto& c : result.conflicts) disputed.insert(c.node);
  for (std::size_t i = 0; i < result.nodes.size(); ++i) {
    const std::string_view node = result.nodes[i];
    auto& p = out[result.person[i]];
    if (node.starts_with("crm_id:")) {
      if (const auto it = contacts.find(std::string(node)); it != contacts.end()) {
        const Contact& c = *it->second;
        add_name(p, c.display_name());
        // Two records of one person disagreeing on an attribute: the first record's value stands.
        const auto take = [](std::string& to, const std::string& from) {
          if (to.empty()) to = from;
        };
        take(p.birth_date, c.attributes.birth_date);
        take(p.postal_code, c.attributes.postal_code);
        take(p.city, c.attributes.city);
        take(p.street, c.attributes.street);
      }
      continue;
    }
    if (!result.verified[i] || disputed.contains(node)) continue;
    if (const auto it = node_names.find(std::string(node)); it != node_names.end())
      for (const auto& n : it->second) add_name(p, n);
    if (node.starts_with("phone:")) p.phones.emplace_back(node.substr(6));
    if (node.starts_with("email:")) p.emails.emplace_back(node.substr(6));
  }
  return out;
}

SuggestionsReport list_suggestions(StateStore& store, const std::vector<Endpoint>& connectors,
                                   const IdentityRules& rules, const SuggestOptions& options) {
  SuggestionsReport out;
  const IdentityInput input = identity_input(store, connectors, rules);
  const IdentityResult result = reconcile(input, mint_person_id);
  out.stale = result.assignment() != input.previous;
  out.profiles = person_profiles(store.identity().contacts(), result, vendor_names(store));
  // An undone merge is someone's "not one person": listed again it could never be dismissed.
  out.result = suggest_apart(out.profiles, options, separated(store.decisions().list(), result));
  return out;
}

std::size_t auto_merge(StateStore& store, const IdentityResult& result, double threshold) {
  const auto profiles = person_profiles(store.identity().contacts(), result, vendor_names(store));
  SuggestOptions options;
  options.min_score = threshold;
  const auto apart = separated(store.decisions().list(), result);
  const auto found = suggest_apart(profiles, options, apart);
  // Pairs of persons an earlier, likelier pair already brought together need no decision of their own,
  // and a pair whose merge would bring together two persons kept apart (A and C un-merged, B like
  // both) is left to a person: checked group against group, not only pair by pair.
  std::vector<std::size_t> root(profiles.size());
  std::iota(root.begin(), root.end(), std::size_t{0});
  std::vector<std::vector<std::size_t>> members(profiles.size());
  for (std::size_t i = 0; i < members.size(); ++i) members[i] = {i};
  const auto find = [&](std::size_t x) {
    while (root[x] != x) x = root[x] = root[root[x]];
    return x;
  };
  const auto kept_apart = [&](std::size_t ra, std::size_t rb) {
    for (const auto x : members[ra])
      for (const auto y : members[rb])
        if (apart.contains({std::min(x, y), std::max(x, y)})) return true;
    return false;
  };
  std::size_t recorded = 0;
  for (const auto& s : found.suggestions) {
    const auto ra = find(s.a), rb = find(s.b);
    if (ra == rb || kept_apart(ra, rb)) continue;
    root[rb] = ra;
    members[ra].insert(members[ra].end(), members[rb].begin(), members[rb].end());
    members[rb].clear();
    const auto& a = profiles[s.a].person_id;
    const auto& b = profiles[s.b].person_id;
    const auto row = store.decisions().merge(
        a, b,
        fmt::format("suggestion with match probability {:.4f} >= [identity] auto_merge_above {}", s.probability,
                    threshold));
    spdlog::info("merged {} and {} (decision #{}): match probability {:.4f}; `chansync persons undo {}` reverses it", a,
                 b, row.id, s.probability, row.id);
    ++recorded;
  }
  return recorded;
}

}  // namespace chansync
