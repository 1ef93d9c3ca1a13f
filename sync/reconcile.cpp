#include "sync/reconcile.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>
#include <tuple>
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

// Gives every cluster its person id. Previous ids are handed out oldest first (person_seq), each to
// the best cluster holding its nodes that no older id took. Best is, in order: the side a split
// decision left the person on (what is split off leaves), the side holding the person's own CRM
// records, the side where its own nodes most outnumber those an undone merge had brought in (those
// take back the id they had before it), most nodes, the oldest node. An id whose every cluster an
// older id took merged into the best of them and becomes an alias. A cluster no previous id took
// takes back a retired id its nodes held before a merge, else a fresh one. Fills out.person_ids,
// new_persons, aliases and revived.
void assign_ids(const IdentityInput& in, const std::function<std::string()>& mint, std::size_t count,
                IdentityResult& out) {
  out.person_ids.reserve(count, 0);
  if (in.previous.empty() && in.former.empty() && in.former_in_force.empty()) {
    for (std::size_t c = 0; c < count; ++c) {
      out.new_persons.push_back(static_cast<std::uint32_t>(c));
      out.person_ids.push_back(mint());
    }
    return;
  }
  const std::size_t n = out.nodes.size();
  Interner ids;  // previous and retired person ids
  PageVector<std::uint32_t> previous(n, k_none), former(n, k_none), held(n, k_none);
  PageVector<std::int64_t> since(n, 0);
  for_each_match(out.nodes, in.previous, [&](auto i, const std::string& id) { previous[i] = ids.intern(id); });
  for_each_match(out.nodes, in.since, [&](auto i, std::int64_t s) { since[i] = s; });
  for_each_match(out.nodes, in.former, [&](auto i, const std::string& id) { former[i] = ids.intern(id); });
  for_each_match(out.nodes, in.former_in_force, [&](auto i, const std::string& id) { held[i] = ids.intern(id); });
  // The latest split naming a node says whether it stayed with the person or was split off.
  std::vector<std::pair<std::uint32_t, bool>> stayed;
  for (const auto& d : in.decisions)
    if (d.kind == IdentityDecision::Kind::split)
      for (const bool rest : {false, true})
        for (const auto& key : rest ? d.b : d.a)
          if (const auto i = out.nodes.find_sorted(key); i != PackedStrings::npos)
            stayed.emplace_back(static_cast<std::uint32_t>(i), rest);
  PageVector<char> stays(stayed.empty() ? 0 : n, 0);
  for (const auto& [i, rest] : stayed) stays[i] = rest;
  const Clusters clusters = list_clusters(out.person, count);

  // One vote per (previous id, cluster holding its nodes). Clusters are visited in order, so an id's
  // nodes in one cluster arrive together.
  struct Vote {
    std::uint32_t id, cluster, stay = 0, crm = 0, own = 0, nodes = 0;
    std::int64_t since = std::numeric_limits<std::int64_t>::max();
    // Best first. Nodes an undone merge had brought in count against: their cluster is the person
    // that merge retired.
    auto rank() const {
      const auto i = [](std::uint32_t x) { return std::int64_t{x}; };
      return std::tuple(-i(stay), -i(crm), i(nodes) - 2 * i(own), -i(nodes), since, cluster);
    }
  };
  std::vector<Vote> votes;
  PageVector<std::uint32_t> open(ids.size(), k_none);  // each id's vote in the cluster being visited
  for (std::uint32_t c = 0; c < count; ++c)
    for (auto k = clusters.offsets[c]; k < clusters.offsets[c + 1]; ++k) {
      const std::uint32_t node = clusters.members[k], id = previous[node];
      if (id == k_none) continue;
      if (open[id] == k_none || votes[open[id]].cluster != c) {
        open[id] = static_cast<std::uint32_t>(votes.size());
        votes.push_back({id, c});
      }
      Vote& v = votes[open[id]];
      ++v.nodes;
      v.since = std::min(v.since, since[node]);
      if (!stays.empty() && stays[node]) ++v.stay;
      if (former[node] != k_none && former[node] != id) continue;
      ++v.own;
      if (out.nodes[node].starts_with("crm_id:")) ++v.crm;
    }
  // Most ids have one cluster that no other id votes for: it is theirs. The others are settled oldest
  // id first, which is the only order in which the contested ones need their person_seq looked up.
  PageVector<std::uint32_t> voters(count, 0), ballots(ids.size(), 0), owner(count, k_none);
  for (const auto& v : votes) {
    ++voters[v.cluster];
    ++ballots[v.id];
  }
  std::vector<Vote> contested;
  for (const auto& v : votes)
    if (ballots[v.id] == 1 && voters[v.cluster] == 1)
      owner[v.cluster] = v.id;
    else
      contested.push_back(v);
  std::vector<std::int64_t> seq(ids.size());
  for (const auto& v : contested) {
    const auto it = in.person_seq.find(std::string(ids[v.id]));
    seq[v.id] = it == in.person_seq.end() ? std::numeric_limits<std::int64_t>::max() : it->second;
  }
  std::sort(contested.begin(), contested.end(), [&](const Vote& a, const Vote& b) {
    if (a.id != b.id) return std::pair(seq[a.id], ids[a.id]) < std::pair(seq[b.id], ids[b.id]);
    return a.rank() < b.rank();
  });
  for (auto v = contested.begin(); v != contested.end();) {
    const auto end = std::find_if(v, contested.end(), [&](const Vote& w) { return w.id != v->id; });
    if (const auto free = std::find_if(v, end, [&](const Vote& w) { return owner[w.cluster] == k_none; }); free != end)
      owner[free->cluster] = free->id;
    else
      out.aliases[std::string(ids[v->id])] = ids[owner[v->cluster]];
    v = end;
  }

  std::vector<std::pair<std::uint32_t, std::size_t>> formers;  // (retired id, nodes holding it)
  for (std::uint32_t c = 0; c < count; ++c) {
    if (owner[c] != k_none) {
      out.person_ids.push_back(ids[owner[c]]);
      continue;
    }
    // A retired id its nodes held before a merge comes back (most nodes, then the least id): one
    // undone, or one still in force whose nodes a split took out.
    formers.clear();
    for (auto k = clusters.offsets[c]; k < clusters.offsets[c + 1]; ++k)
      if (const auto node = clusters.members[k], id = former[node] != k_none ? former[node] : held[node];
          id != k_none && !ballots[id]) {
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
      ballots[revived->first] = 1;
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
