#include "sync/reconcile.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>
#include <utility>

#include "sync/identity_graph.hpp"
#include "sync/interner.hpp"

namespace chansync {
namespace {

// The nodes of each cluster (a counting sort of out.person): cluster c is nodes
// members[offsets[c]] … members[offsets[c + 1] - 1], in key order.
struct Clusters {
  PageVector<std::uint32_t> offsets, members;
};

Clusters list_clusters(const std::vector<std::uint32_t>& person, std::size_t count) {
  Clusters c;
  c.offsets.assign(count + 1, 0);
  for (auto p : person) ++c.offsets[p + 1];
  std::partial_sum(c.offsets.begin(), c.offsets.end(), c.offsets.begin());
  c.members.resize(person.size());
  PageVector<std::uint32_t> next(c.offsets.begin(), c.offsets.end() - 1);
  for (std::uint32_t i = 0; i < person.size(); ++i) c.members[next[person[i]]++] = i;
  return c;
}

// For each node whose key a key-ordered map holds, fn(node, value): one pass over both sorted
// sequences instead of a tree lookup per node.
template <class Map, class Fn>
void for_each_match(const PackedStrings& nodes, const Map& map, Fn fn) {
  auto it = map.begin();
  for (std::size_t i = 0; i < nodes.size() && it != map.end(); ++i) {
    const std::string_view key = nodes[i];
    while (it != map.end() && std::string_view(it->first) < key) ++it;
    if (it != map.end() && it->first == key) fn(static_cast<std::uint32_t>(i), it->second);
  }
}

// Gives every cluster its person id: the previous id it wins, else a retired id its nodes held, else
// a fresh one. Fills out.person_ids, new_persons, aliases and revived.
void assign_ids(const IdentityInput& in, const std::function<std::string()>& mint, std::size_t count,
                IdentityResult& out) {
  out.person_ids.reserve(count, 0);
  if (in.previous.empty() && in.former.empty()) {
    for (std::size_t c = 0; c < count; ++c) {
      out.new_persons.push_back(static_cast<std::uint32_t>(c));
      out.person_ids.push_back(mint());
    }
    return;
  }
  const std::size_t n = out.nodes.size();
  Interner ids;  // previous and retired person ids
  PageVector<std::uint32_t> previous(n, k_none), former(n, k_none);
  PageVector<std::int64_t> since(n, 0);
  for_each_match(out.nodes, in.previous, [&](auto i, const std::string& id) { previous[i] = ids.intern(id); });
  for_each_match(out.nodes, in.since, [&](auto i, std::int64_t s) { since[i] = s; });
  for_each_match(out.nodes, in.former, [&](auto i, const std::string& id) { former[i] = ids.intern(id); });
  const Clusters clusters = list_clusters(out.person, count);

  // Each previous id goes to the cluster holding its oldest node (ties: most of its nodes, then the
  // first cluster), so a split leaves the id with the side that has the oldest record. Clusters are
  // visited in order, so an id's votes from one cluster arrive together.
  struct Tally {
    std::uint32_t cluster = k_none, nodes = 0;
    std::int64_t since = 0;
    bool beats(const Tally& best) const {
      return best.cluster == k_none || std::pair(since, -static_cast<std::int64_t>(nodes)) <
                                           std::pair(best.since, -static_cast<std::int64_t>(best.nodes));
    }
  };
  PageVector<Tally> best(ids.size()), current(ids.size());
  for (std::uint32_t c = 0; c < count; ++c)
    for (auto k = clusters.offsets[c]; k < clusters.offsets[c + 1]; ++k) {
      const std::uint32_t node = clusters.members[k], id = previous[node];
      if (id == k_none) continue;
      Tally& t = current[id];
      if (t.cluster != c) {
        if (t.cluster != k_none && t.beats(best[id])) best[id] = t;
        t = {c, 0, since[node]};
      }
      ++t.nodes;
      t.since = std::min(t.since, since[node]);
    }
  std::vector<std::pair<std::uint32_t, std::uint32_t>> claims;  // (cluster, id)
  std::vector<char> taken(ids.size(), 0);
  for (std::uint32_t id = 0; id < ids.size(); ++id) {
    if (current[id].cluster != k_none && current[id].beats(best[id])) best[id] = current[id];
    if (best[id].cluster == k_none) continue;
    claims.emplace_back(best[id].cluster, id);
    taken[id] = 1;
  }
  std::sort(claims.begin(), claims.end());

  auto seq = [&](std::string_view id) {
    auto it = in.person_seq.find(std::string(id));
    return it == in.person_seq.end() ? std::numeric_limits<std::int64_t>::max() : it->second;
  };
  std::vector<std::uint32_t> claimed;
  std::vector<std::pair<std::uint32_t, std::size_t>> formers;  // (retired id, nodes holding it)
  auto next_claim = claims.begin();
  for (std::uint32_t c = 0; c < count; ++c) {
    claimed.clear();
    for (; next_claim != claims.end() && next_claim->first == c; ++next_claim) claimed.push_back(next_claim->second);
    if (!claimed.empty()) {
      std::sort(claimed.begin(), claimed.end(),
                [&](auto a, auto b) { return std::pair(seq(ids[a]), ids[a]) < std::pair(seq(ids[b]), ids[b]); });
      out.person_ids.push_back(ids[claimed.front()]);
      for (std::size_t i = 1; i < claimed.size(); ++i) out.aliases[std::string(ids[claimed[i]])] = ids[claimed.front()];
      continue;
    }
    // A retired id its nodes held before a merge comes back (most nodes, then the least id).
    formers.clear();
    for (auto k = clusters.offsets[c]; k < clusters.offsets[c + 1]; ++k)
      if (const auto id = former[clusters.members[k]]; id != k_none && !taken[id]) {
        auto it = std::find_if(formers.begin(), formers.end(), [&](const auto& f) { return f.first == id; });
        if (it == formers.end())
          formers.emplace_back(id, 1);
        else
          ++it->second;
      }
    const auto revived = std::min_element(formers.begin(), formers.end(), [&](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : ids[a.first] < ids[b.first];
    });
    if (revived != formers.end()) {
      out.revived.emplace_back(ids[revived->first]);
      taken[revived->first] = 1;
      out.person_ids.push_back(ids[revived->first]);
    } else {
      out.new_persons.push_back(c);
      out.person_ids.push_back(mint());
    }
  }
}

}  // namespace

const char* to_string(IdentityDecision::Kind kind) {
  return kind == IdentityDecision::Kind::merge ? "merge" : "split";
}

IdentityLimits default_identity_limits() {
  return {{HandleKind::phone, 5}, {HandleKind::email, 5}};
}

std::string crm_node(const std::string& connector, const std::string& id) {
  return fmt::format("crm_id:{}/{}", connector, id);
}

std::string mint_person_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("p_{:016x}", rng());
}

std::size_t IdentityResult::find(std::string_view node) const {
  return nodes.find_sorted(node);
}

std::string_view IdentityResult::person_of(std::string_view node) const {
  const std::size_t i = find(node);
  if (i == npos) throw std::out_of_range(fmt::format("no node {}", node));
  return person_id(i);
}

bool IdentityResult::is_verified(std::string_view node) const {
  const std::size_t i = find(node);
  if (i == npos) throw std::out_of_range(fmt::format("no node {}", node));
  return verified[i];
}

std::map<std::string, std::string> IdentityResult::assignment() const {
  std::map<std::string, std::string> out;
  for (std::size_t i = 0; i < nodes.size(); ++i) out.emplace_hint(out.end(), nodes[i], person_id(i));
  return out;
}

IdentityResult reconcile(const IdentityInput& in, const std::function<std::string()>& mint) {
  IdentityResult out;
  std::size_t count = 0;
  {
    IdentityGraph g = IdentityGraph::build(in, out.nodes, out.verified, out.conflicts);
    g.link(in, out.nodes, out.conflicts, in.trace ? &out.trace : nullptr);
    std::tie(out.person, count) = g.clusters();
  }  // the graph is freed before the ids are chosen
  assign_ids(in, mint, count, out);
  std::sort(out.conflicts.begin(), out.conflicts.end(),
            [](const auto& a, const auto& b) { return std::tie(a.node, a.records) < std::tie(b.node, b.records); });
  return out;
}

}  // namespace chansync
