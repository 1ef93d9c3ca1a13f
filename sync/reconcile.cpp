#include "sync/reconcile.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <unordered_map>

namespace chansync {
namespace {

// Lower rank joins first: CRM ids > platform-scoped ids > email > phone.
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
  UnionFind uf;

  std::size_t node(const std::string& key, bool is_verified) {
    auto [it, inserted] = index.try_emplace(key, keys.size());
    if (inserted) {
      keys.push_back(key);
      verified.push_back(is_verified);
      crm_of.emplace_back();
      uf.add();
    }
    return it->second;
  }
};

}  // namespace

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

  struct Edge {
    int rank;
    std::string handle;
    std::size_t a, b;
  };
  std::vector<Edge> edges;
  for (const Contact* c : contacts) {
    const std::size_t rec = g.node(crm_node(c->connector, c->id), true);
    g.crm_of[rec][c->connector] = g.keys[rec];
    for (const auto& h : c->handles) {
      const std::string key = h.key();
      if (!h.verified || in.blocked.count(key) || shared.count(key)) continue;
      edges.push_back({priority(h.kind), key, rec, g.node(key, true)});
    }
  }
  for (const auto& h : in.conversation_handles) {
    const std::string key = h.key();
    if (in.blocked.count(key)) continue;
    g.node(key, h.verified && !shared.count(key));
  }
  // A vendor's link joins like a CRM record's handles do, at the weaker handle's rank; a handle a CRM
  // lists on two records stays unjoined here too.
  for (const auto& [customer, linked] : in.links) {
    const std::string a = customer.key(), b = linked.key();
    if (!customer.verified || !linked.verified || a == b) continue;
    if (in.blocked.count(a) || in.blocked.count(b) || shared.count(a) || shared.count(b)) continue;
    edges.push_back(
        {std::max(priority(customer.kind), priority(linked.kind)), std::min(a, b), g.node(a, true), g.node(b, true)});
  }
  std::sort(edges.begin(), edges.end(), [&](const Edge& x, const Edge& y) {
    return std::tie(x.rank, x.handle, g.keys[x.a]) < std::tie(y.rank, y.handle, g.keys[y.a]);
  });

  for (const auto& e : edges) {
    std::size_t ra = g.uf.find(e.a), rb = g.uf.find(e.b);
    if (ra == rb) continue;
    // Merge protection: never put two records of one CRM into one person.
    bool clash = false;
    for (const auto& [connector, record] : g.crm_of[rb]) {
      auto it = g.crm_of[ra].find(connector);
      if (it != g.crm_of[ra].end() && it->second != record) {
        out.conflicts.push_back({e.handle,
                                 fmt::format("would join two records of {}", connector),
                                 {std::min(it->second, record), std::max(it->second, record)}});
        clash = true;
        break;
      }
    }
    if (clash) continue;
    if (rb < ra) std::swap(ra, rb);  // the lower index survives: deterministic
    g.uf.attach(ra, rb);
    g.crm_of[ra].merge(g.crm_of[rb]);
    g.crm_of[rb].clear();
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

  // Each previous id goes to the cluster holding most of its old nodes (ties: first cluster).
  std::vector<std::pair<std::string, std::size_t>> votes;  // (previous id, cluster index), one per node
  for (std::size_t ci = 0; ci < ordered.size(); ++ci)
    for (std::size_t n : ordered[ci])
      if (auto it = in.previous.find(g.keys[n]); it != in.previous.end()) votes.emplace_back(it->second, ci);
  std::sort(votes.begin(), votes.end());
  std::vector<std::vector<std::string>> claimed(ordered.size());
  for (std::size_t i = 0; i < votes.size();) {
    std::size_t best = votes[i].second, best_count = 0;
    std::size_t j = i;
    while (j < votes.size() && votes[j].first == votes[i].first) {
      std::size_t k = j;
      while (k < votes.size() && votes[k] == votes[j]) ++k;
      if (k - j > best_count) best = votes[j].second, best_count = k - j;  // runs ascend: ties keep the first
      j = k;
    }
    claimed[best].push_back(votes[i].first);
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
      pid = mint();
      out.new_persons.push_back(pid);
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
