#include "sync/reconcile.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <random>
#include <unordered_map>

namespace chansync {
namespace {

// Lower rank joins first: decisions > CRM ids > platform-scoped ids > email > phone.
constexpr int k_decision_rank = -1;
int priority(HandleKind kind) {
  switch (kind) {
    case HandleKind::crm_id:
      return 0;
    case HandleKind::whatsapp_bsuid:
    case HandleKind::messenger_psid:
    case HandleKind::instagram_igsid:
    case HandleKind::telegram_id:
    case HandleKind::chat_identity:
      return 1;
    case HandleKind::email:
      return 2;
    case HandleKind::phone:
      return 3;
  }
  return 4;
}

class UnionFind {
 public:
  std::size_t add() {
    m_parent.push_back(m_parent.size());
    return m_parent.size() - 1;
  }
  std::size_t find(std::size_t x) {
    while (m_parent[x] != x) x = m_parent[x] = m_parent[m_parent[x]];
    return x;
  }
  // Attaches b's root under a's root; the caller decides which survives.
  void attach(std::size_t a_root, std::size_t b_root) { m_parent[b_root] = a_root; }

 private:
  std::vector<std::size_t> m_parent;
};

struct Graph {
  std::vector<std::string> keys;
  std::unordered_map<std::string, std::size_t> index;
  std::vector<bool> verified;
  // CRM records per root: connector → record node, for merge protection.
  std::vector<std::map<std::string, std::string>> crm_of;
  // Verified handles per root and limited kind (limit_kinds.size() counters per node).
  std::vector<HandleKind> limit_kinds;
  std::vector<std::uint32_t> counts;
  // Split sides per root: (decision index, side 0|1). Few nodes carry any, so a map.
  std::unordered_map<std::size_t, std::vector<std::pair<std::size_t, int>>> sides;
  UnionFind uf;

  std::size_t node(const std::string& key, bool is_verified, HandleKind kind) {
    auto [it, inserted] = index.try_emplace(key, keys.size());
    if (inserted) {
      keys.push_back(key);
      verified.push_back(is_verified);
      crm_of.emplace_back();
      for (auto k : limit_kinds) counts.push_back(is_verified && k == kind ? 1 : 0);
      uf.add();
    }
    return it->second;
  }
  std::size_t find(const std::string& key) const {
    auto it = index.find(key);
    return it == index.end() ? std::numeric_limits<std::size_t>::max() : it->second;
  }
};

struct Edge {
  int rank;
  std::string handle;
  std::size_t a, b;
  std::int64_t decision = 0;
};

// The rule that refuses the union of roots ra and rb through edge e, or "" when none does. A merge
// decision outranks the automatic protections, but never a split.
std::string refusal(Graph& g, const IdentityInput& in, const Edge& e, std::size_t ra, std::size_t rb,
                    std::vector<std::string>& records) {
  if (auto sa = g.sides.find(ra), sb = g.sides.find(rb); sa != g.sides.end() && sb != g.sides.end())
    for (const auto& [d, side] : sa->second)
      for (const auto& [d2, side2] : sb->second)
        if (d == d2 && side != side2) return fmt::format("kept apart by split decision #{}", in.decisions[d].id);
  if (e.decision != 0) return {};
  for (const auto& [connector, record] : g.crm_of[rb]) {
    auto it = g.crm_of[ra].find(connector);
    if (it != g.crm_of[ra].end() && it->second != record) {
      records = {std::min(it->second, record), std::max(it->second, record)};
      return fmt::format("would join two records of {}", connector);
    }
  }
  const std::size_t n = g.limit_kinds.size();
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t total = g.counts[ra * n + k] + g.counts[rb * n + k];
    const std::size_t limit = in.limits.at(g.limit_kinds[k]);
    if (total > limit) {
      records = {std::min(g.keys[e.a], g.keys[e.b]), std::max(g.keys[e.a], g.keys[e.b])};
      return fmt::format("would give one person {} {} handles (limit {})", total, to_string(g.limit_kinds[k]), limit);
    }
  }
  return {};
}

void join(Graph& g, std::size_t ra, std::size_t rb) {
  if (rb < ra) std::swap(ra, rb);  // the lower index survives: deterministic
  g.uf.attach(ra, rb);
  g.crm_of[ra].merge(g.crm_of[rb]);
  g.crm_of[rb].clear();
  const std::size_t n = g.limit_kinds.size();
  for (std::size_t k = 0; k < n; ++k) g.counts[ra * n + k] += g.counts[rb * n + k];
  if (auto sb = g.sides.find(rb); sb != g.sides.end()) {
    auto& sa = g.sides[ra];
    sa.insert(sa.end(), sb->second.begin(), sb->second.end());
    std::sort(sa.begin(), sa.end());
    sa.erase(std::unique(sa.begin(), sa.end()), sa.end());
    g.sides.erase(rb);
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

IdentityResult reconcile(const IdentityInput& in, const std::function<std::string()>& mint) {
  IdentityResult out;
  Graph g;
  for (const auto& [kind, limit] : in.limits) g.limit_kinds.push_back(kind);

  // Contacts in (connector, id) order so node numbering, and everything after, is input-order free.
  std::vector<const Contact*> contacts;
  for (const auto& c : in.contacts) contacts.push_back(&c);
  std::sort(contacts.begin(), contacts.end(), [](const Contact* a, const Contact* b) {
    return std::tie(a->connector, a->id) < std::tie(b->connector, b->id);
  });

  // A handle listed on two records of the same CRM is shared (family landline, office inbox):
  // it is reported and never joins.
  std::map<std::string, std::map<std::string, std::set<std::string>>> holders;  // key → connector → records
  for (const Contact* c : contacts)
    for (const auto& h : c->handles)
      if (h.verified && !in.blocked.count(h.key()) && !in.unjoinable.count(h.key()))
        holders[h.key()][c->connector].insert(crm_node(c->connector, c->id));
  std::set<std::string> shared = in.unjoinable;
  for (const auto& [key, by_connector] : holders)
    for (const auto& [connector, records] : by_connector)
      if (records.size() > 1) {
        shared.insert(key);
        out.conflicts.push_back({key,
                                 fmt::format("listed on {} records of {}", records.size(), connector),
                                 {records.begin(), records.end()}});
      }

  std::vector<Edge> edges;
  for (const Contact* c : contacts) {
    const std::size_t rec = g.node(crm_node(c->connector, c->id), true, HandleKind::crm_id);
    g.crm_of[rec][c->connector] = g.keys[rec];
    for (const auto& h : c->handles) {
      const std::string key = h.key();
      if (!h.verified || in.blocked.count(key) || shared.count(key)) continue;
      edges.push_back({priority(h.kind), key, rec, g.node(key, true, h.kind)});
    }
  }
  for (const auto& h : in.conversation_handles) {
    const std::string key = h.key();
    if (in.blocked.count(key)) continue;
    g.node(key, h.verified && !shared.count(key), h.kind);
  }
  // A vendor's link joins like a CRM record's handles do, at the weaker handle's rank; a handle a CRM
  // lists on two records stays unjoined here too.
  for (const auto& [customer, linked] : in.links) {
    const std::string a = customer.key(), b = linked.key();
    if (!customer.verified || !linked.verified || a == b) continue;
    if (in.blocked.count(a) || in.blocked.count(b) || shared.count(a) || shared.count(b)) continue;
    edges.push_back({std::max(priority(customer.kind), priority(linked.kind)), std::min(a, b),
                     g.node(a, true, customer.kind), g.node(b, true, linked.kind)});
  }

  // Decisions. A split marks its two sides, so no union ever joins them; a merge joins every node of
  // one person with every node of the other (so a later split of one node leaves the rest merged).
  // Only nodes that still exist count: a decision about records that are gone does nothing.
  for (std::size_t d = 0; d < in.decisions.size(); ++d) {
    const auto& dec = in.decisions[d];
    std::vector<std::size_t> a, b;
    for (const auto& k : dec.a)
      if (auto n = g.find(k); n < g.keys.size()) a.push_back(n);
    for (const auto& k : dec.b)
      if (auto n = g.find(k); n < g.keys.size()) b.push_back(n);
    if (dec.kind == IdentityDecision::Kind::split) {
      for (auto n : a) g.sides[n].emplace_back(d, 0);
      for (auto n : b) g.sides[n].emplace_back(d, 1);
    } else {
      for (auto x : a)
        for (auto y : b) edges.push_back({k_decision_rank, "", x, y, dec.id});
    }
  }
  std::sort(edges.begin(), edges.end(), [&](const Edge& x, const Edge& y) {
    return std::tie(x.rank, x.decision, x.handle, g.keys[x.a], g.keys[x.b]) <
           std::tie(y.rank, y.decision, y.handle, g.keys[y.a], g.keys[y.b]);
  });

  for (const auto& e : edges) {
    const std::size_t ra = g.uf.find(e.a), rb = g.uf.find(e.b);
    auto traced = [&](IdentityEdge::Outcome outcome, std::string why = {}) {
      if (in.trace) out.trace.push_back({g.keys[e.a], g.keys[e.b], e.handle, e.decision, outcome, std::move(why)});
    };
    if (ra == rb) {
      traced(IdentityEdge::Outcome::already);
      continue;
    }
    std::vector<std::string> records;
    std::string why = refusal(g, in, e, ra, rb, records);
    if (!why.empty()) {
      // A split is a person's decision, not a conflict to resolve: it is only traced.
      if (!records.empty()) out.conflicts.push_back({e.handle, why, std::move(records)});
      traced(IdentityEdge::Outcome::refused, std::move(why));
      continue;
    }
    join(g, ra, rb);
    traced(IdentityEdge::Outcome::joined);
  }

  // Clusters, each listed by its members in key order.
  std::map<std::size_t, std::vector<std::size_t>> clusters;
  for (std::size_t i = 0; i < g.keys.size(); ++i) clusters[g.uf.find(i)].push_back(i);
  std::vector<std::vector<std::size_t>> ordered;
  for (auto& [root, members] : clusters) {
    std::sort(members.begin(), members.end(), [&](auto a, auto b) { return g.keys[a] < g.keys[b]; });
    ordered.push_back(std::move(members));
  }
  std::sort(ordered.begin(), ordered.end(), [&](const auto& a, const auto& b) { return g.keys[a[0]] < g.keys[b[0]]; });

  // Each previous id goes to the cluster holding its oldest node (ties: most of its nodes, then the
  // first cluster), so a split leaves the id with the side that has the oldest record.
  struct Vote {
    std::string id;
    std::size_t cluster;
    std::int64_t since;
    auto operator<=>(const Vote&) const = default;
  };
  std::vector<Vote> votes;
  for (std::size_t ci = 0; ci < ordered.size(); ++ci)
    for (std::size_t n : ordered[ci])
      if (auto it = in.previous.find(g.keys[n]); it != in.previous.end()) {
        auto s = in.since.find(g.keys[n]);
        votes.push_back({it->second, ci, s == in.since.end() ? 0 : s->second});
      }
  std::sort(votes.begin(), votes.end());  // by id, cluster, since
  std::vector<std::vector<std::string>> claimed(ordered.size());
  std::set<std::string> taken;
  for (std::size_t i = 0; i < votes.size();) {
    std::size_t j = i, best = votes[i].cluster, best_count = 0;
    std::int64_t best_since = std::numeric_limits<std::int64_t>::max();
    while (j < votes.size() && votes[j].id == votes[i].id) {
      std::size_t k = j;
      while (k < votes.size() && votes[k].id == votes[j].id && votes[k].cluster == votes[j].cluster) ++k;
      // votes[j] has this cluster's oldest node; clusters ascend, so ties keep the first.
      if (std::pair(votes[j].since, -static_cast<std::int64_t>(k - j)) <
          std::pair(best_since, -static_cast<std::int64_t>(best_count)))
        best = votes[j].cluster, best_count = k - j, best_since = votes[j].since;
      j = k;
    }
    claimed[best].push_back(votes[i].id);
    taken.insert(votes[i].id);
    i = j;
  }

  auto seq = [&](const std::string& id) {
    auto it = in.person_seq.find(id);
    return it == in.person_seq.end() ? std::numeric_limits<std::int64_t>::max() : it->second;
  };
  for (std::size_t ci = 0; ci < ordered.size(); ++ci) {
    auto& ids = claimed[ci];
    std::sort(ids.begin(), ids.end(),
              [&](const auto& a, const auto& b) { return std::pair(seq(a), a) < std::pair(seq(b), b); });
    std::string pid;
    if (ids.empty()) {
      // A retired id its nodes held before a merge comes back (most nodes, then the least id).
      std::map<std::string, std::size_t> former;
      for (std::size_t n : ordered[ci])
        if (auto it = in.former.find(g.keys[n]); it != in.former.end() && !taken.count(it->second))
          ++former[it->second];
      for (const auto& [id, count] : former)
        if (pid.empty() || count > former[pid]) pid = id;
      if (!pid.empty()) {
        out.revived.push_back(pid);
        taken.insert(pid);
      } else {
        pid = mint();
        out.new_persons.push_back(pid);
      }
    } else {
      pid = ids.front();
      for (std::size_t i = 1; i < ids.size(); ++i) out.aliases[ids[i]] = pid;
    }
    for (std::size_t n : ordered[ci]) {
      out.assignment[g.keys[n]] = pid;
      out.verified[g.keys[n]] = g.verified[n];
    }
  }
  out.person_count = ordered.size();
  std::sort(out.conflicts.begin(), out.conflicts.end(),
            [](const auto& a, const auto& b) { return std::tie(a.node, a.records) < std::tie(b.node, b.records); });
  return out;
}

}  // namespace chansync
