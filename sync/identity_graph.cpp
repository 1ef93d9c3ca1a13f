#include "sync/identity_graph.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <numeric>
#include <span>

#include "sync/string_sort.hpp"

namespace chansync {
namespace {

// Lower rank joins first: decisions > CRM ids > platform-scoped ids > email > phone.
std::uint32_t priority(HandleKind kind) {
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

// A key is "name:value" for the name of its kind. The graph interns (kind, value) with the value
// viewed where the input holds it; the key is spelt out only for the result.
std::string_view key_of(std::uint8_t kind, std::string_view value, std::string& buf) {
  buf.assign(to_string(static_cast<HandleKind>(kind)));
  buf += ':';
  buf += value;
  return buf;
}

// Keys order by "name:" first (none is a prefix of another), then by value: order[kind] is the
// kind's place among them.
const std::vector<std::uint8_t>& kind_order() {
  static const std::vector<std::uint8_t> order = [] {
    auto kinds = handle_kinds();
    std::sort(kinds.begin(), kinds.end(),
              [](auto a, auto b) { return std::string(to_string(a)) + ':' < std::string(to_string(b)) + ':'; });
    std::vector<std::uint8_t> out(kinds.size());
    for (std::size_t i = 0; i < kinds.size(); ++i)
      out.at(static_cast<std::size_t>(kinds[i])) = static_cast<std::uint8_t>(i);
    return out;
  }();
  return order;
}

IdentityGraph::Edge make_edge(std::uint32_t rank, std::uint32_t handle, std::uint32_t a, std::uint32_t b) {
  return {std::uint64_t{rank} << 32 | handle, std::uint64_t{a} << 32 | b};
}

// Node numbers in key order from the numbers keys got as the input named them.
std::uint32_t renumbered(std::uint64_t packed, int shift, const PageVector<std::uint32_t>& rank) {
  return rank[static_cast<std::uint32_t>(packed >> shift)];
}

// Contacts in (connector, id) order so node numbering, and everything after, is input-order free;
// `connectors` gets their distinct connectors, sorted.
PageVector<const IdentityRecord*> sorted_contacts(const std::vector<IdentityRecord>& in,
                                                  std::vector<std::string>& connectors) {
  std::map<std::string_view, std::uint32_t> names;
  for (const auto& c : in) names.try_emplace(c.connector, 0);
  for (auto& [name, number] : names)
    number = static_cast<std::uint32_t>(connectors.size()), connectors.emplace_back(name);
  // Grouped by connector (a counting sort), then each group by id.
  PageVector<std::uint32_t> connector(in.size());
  std::vector<std::uint32_t> start(connectors.size() + 1, 0);
  for (std::size_t i = 0; i < in.size(); ++i) ++start[(connector[i] = names.find(in[i].connector)->second) + 1];
  std::partial_sum(start.begin(), start.end(), start.begin());
  PageVector<Keyed> v(in.size());
  std::vector<std::uint32_t> next(start.begin(), start.end() - 1);
  for (std::uint32_t i = 0; i < in.size(); ++i) v[next[connector[i]]++].item = i;
  for (std::size_t c = 0; c < connectors.size(); ++c)
    sort_by_string(std::span(v).subspan(start[c], start[c + 1] - start[c]),
                   [&](std::uint32_t i) { return std::string_view(in[i].id); });
  PageVector<const IdentityRecord*> out;
  out.reserve(v.size());
  for (const auto& k : v) out.push_back(&in[k.item]);
  return out;
}

constexpr char k_blocked = 1, k_unjoinable = 2;

// The graph as the input names it: keys numbered in first-seen order.
struct Draft {
  Interner keys;                   // (kind, value); the values are the input's or `record_values`
  PackedStrings record_values;     // "connector/id" of each contact in turn
  std::vector<char> rule;          // k_blocked | k_unjoinable, for the keys the rules name (interned first)
  PageVector<char> shared;         // per key interned by the time shared handles are known
  PageVector<std::uint32_t> made;  // per key: when the input made its node; k_none: no node
  PageVector<char> verified;
  std::uint32_t node_count = 0;
  PageVector<const IdentityRecord*> contacts;                   // sorted
  std::vector<std::string> connectors;                          // sorted
  PageVector<std::pair<std::uint32_t, std::uint32_t>> records;  // per contact: (its key, connector)
  PageVector<std::uint32_t> handle_keys;   // per handle of the contacts in turn: its key, k_none when it cannot join
  std::vector<IdentityGraph::Edge> links;  // vendors' links; node numbers are key numbers

  std::uint32_t intern(HandleKind kind, std::string_view value) {
    return keys.intern(value, static_cast<std::uint8_t>(kind));
  }
  HandleKind kind(std::uint32_t key) const { return static_cast<HandleKind>(keys.tag(key)); }
  bool less(std::uint32_t a, std::uint32_t b) const {
    const auto& order = kind_order();
    if (keys.tag(a) != keys.tag(b)) return order[keys.tag(a)] < order[keys.tag(b)];
    return keys[a] < keys[b];
  }
  bool has_rule(std::uint32_t key, char r) const { return key < rule.size() && (rule[key] & r); }
  bool is_shared(std::uint32_t key) const { return key < shared.size() && shared[key]; }
  // The first mention of a node decides whether it joins.
  void node(std::uint32_t key, bool is_verified) {
    if (made.size() <= key) {
      made.resize(keys.size(), k_none);
      verified.resize(keys.size());
    }
    if (made[key] != k_none) return;
    made[key] = node_count++;
    verified[key] = is_verified;
  }
};

// A handle listed on two records of the same CRM is shared (family landline, office inbox): it is
// reported and never joins.
void find_shared(Draft& d, std::vector<IdentityConflict>& conflicts) {
  struct Holder {
    std::uint32_t key, connector, contact;
    auto operator<=>(const Holder&) const = default;
  };
  PageVector<Holder> holders;
  holders.reserve(d.handle_keys.size());
  for (std::uint32_t ci = 0, hi = 0; ci < d.contacts.size(); ++ci)
    for (std::size_t h = 0; h < d.contacts[ci]->handles.size(); ++h, ++hi)
      if (const auto key = d.handle_keys[hi]; key != k_none && !d.has_rule(key, k_unjoinable))
        holders.push_back({key, d.records[ci].second, ci});
  std::sort(holders.begin(), holders.end());

  d.shared.assign(d.keys.size(), 0);
  for (std::uint32_t key = 0; key < d.rule.size(); ++key)
    if (d.rule[key] & k_unjoinable) d.shared[key] = 1;
  std::vector<std::pair<std::uint32_t, IdentityConflict>> found;  // (connector, conflict)
  std::vector<std::string> records;
  std::string buf;
  for (std::size_t i = 0; i < holders.size();) {
    std::size_t j = i;
    records.clear();
    // Contacts are in (connector, id) order, so equal records are adjacent and ascend as keys do.
    for (; j < holders.size() && holders[j].key == holders[i].key && holders[j].connector == holders[i].connector; ++j)
      if (const auto rec =
              key_of(static_cast<std::uint8_t>(HandleKind::crm_id), d.record_values[holders[j].contact], buf);
          records.empty() || records.back() != rec)
        records.emplace_back(rec);
    if (records.size() > 1) {
      d.shared[holders[i].key] = 1;
      const auto& connector = d.connectors[holders[i].connector];
      found.emplace_back(
          holders[i].connector,
          IdentityConflict{std::string(key_of(d.keys.tag(holders[i].key), d.keys[holders[i].key], buf)),
                           fmt::format("listed on {} records of {}", records.size(), connector), records});
    }
    i = j;
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return std::tie(a.second.node, a.first) < std::tie(b.second.node, b.first);
  });
  for (auto& [connector, conflict] : found) conflicts.push_back(std::move(conflict));
}

Draft draft(const IdentityInput& in, std::vector<IdentityConflict>& conflicts) {
  Draft d;
  d.contacts = sorted_contacts(in.contacts, d.connectors);
  const auto& contacts = d.contacts;

  std::size_t chars = 0, handles = 0;
  for (const IdentityRecord* c : contacts) {
    handles += c->handles.size();
    chars += c->connector.size() + 1 + c->id.size();
  }
  const std::size_t count = in.blocked.size() + in.unjoinable.size() + contacts.size() + handles +
                            in.conversation_handles.size() + 2 * in.links.size();
  d.keys.reserve(count);
  d.made.reserve(count), d.verified.reserve(count);
  d.records.reserve(contacts.size());
  d.handle_keys.reserve(handles);
  d.record_values.reserve(contacts.size(), chars);
  std::string buf;
  for (const IdentityRecord* c : contacts) {
    buf.assign(c->connector);
    buf += '/';
    buf += c->id;
    d.record_values.push_back(buf);
  }

  // A rule's key of a kind no handle has names no node.
  auto rule = [&](std::string_view key, char r) {
    const auto colon = key.find(':');
    const auto kind = handle_kind_from(key.substr(0, colon));
    if (colon == std::string_view::npos || !kind) return;
    const std::uint32_t i = d.intern(*kind, key.substr(colon + 1));
    d.rule.resize(d.keys.size());
    d.rule[i] |= r;
  };
  for (const auto& k : in.blocked) rule(k, k_blocked);
  for (const auto& k : in.unjoinable) rule(k, k_unjoinable);

  for (std::uint32_t ci = 0, connector = 0; ci < contacts.size(); ++ci) {
    const IdentityRecord* c = contacts[ci];
    while (d.connectors[connector] != c->connector) ++connector;
    d.records.emplace_back(d.intern(HandleKind::crm_id, d.record_values[ci]), connector);
    for (const auto& h : c->handles) {
      std::uint32_t key = h.verified ? d.intern(h.kind, h.value) : k_none;
      d.handle_keys.push_back(d.has_rule(key, k_blocked) ? k_none : key);
    }
  }
  find_shared(d, conflicts);

  // Nodes are made in this order (records and their handles, conversations, links); the edges of
  // the records are drawn once nodes are numbered by key (IdentityGraph::build).
  for (std::uint32_t ci = 0, hi = 0; ci < contacts.size(); ++ci) {
    d.node(d.records[ci].first, true);
    for (std::size_t h = 0; h < contacts[ci]->handles.size(); ++h)
      if (const std::uint32_t key = d.handle_keys[hi++]; key != k_none && !d.is_shared(key)) d.node(key, true);
  }
  for (const auto& h : in.conversation_handles) {
    const std::uint32_t key = d.intern(h.kind, h.value);
    if (!d.has_rule(key, k_blocked)) d.node(key, h.verified && !d.is_shared(key));
  }
  // A vendor's link joins like a CRM record's handles do, at the weaker handle's rank; a handle a CRM
  // lists on two records stays unjoined here too.
  for (const auto& [customer, linked] : in.links) {
    if (!customer.verified || !linked.verified) continue;
    const std::uint32_t a = d.intern(customer.kind, customer.value), b = d.intern(linked.kind, linked.value);
    if (a == b || d.has_rule(a, k_blocked) || d.has_rule(b, k_blocked) || d.is_shared(a) || d.is_shared(b)) continue;
    d.node(a, true);
    d.node(b, true);
    d.links.push_back(make_edge(std::max(priority(customer.kind), priority(linked.kind)), d.less(a, b) ? a : b, a, b));
  }
  return d;
}

// The key numbers of the nodes in key order: by kind (a counting sort), then each kind's values.
PageVector<std::uint32_t> key_order(const Draft& d) {
  const auto& order = kind_order();
  std::vector<std::uint32_t> start(order.size() + 1, 0);
  for (std::uint32_t key = 0; key < d.made.size(); ++key)
    if (d.made[key] != k_none) ++start[order[d.keys.tag(key)] + 1];
  std::partial_sum(start.begin(), start.end(), start.begin());
  PageVector<Keyed> v(start.back());
  std::vector<std::uint32_t> next(start.begin(), start.end() - 1);
  for (std::uint32_t key = 0; key < d.made.size(); ++key)
    if (d.made[key] != k_none) v[next[order[d.keys.tag(key)]]++].item = key;
  for (std::size_t k = 0; k + 1 < start.size(); ++k)
    sort_by_string(std::span(v).subspan(start[k], start[k + 1] - start[k]),
                   [&](std::uint32_t key) { return d.keys[key]; });
  PageVector<std::uint32_t> keys;
  keys.reserve(v.size());
  for (const auto& k : v) keys.push_back(k.item);
  return keys;
}

}  // namespace

IdentityGraph IdentityGraph::build(const IdentityInput& in, PackedStrings& nodes, std::vector<bool>& verified,
                                   std::vector<IdentityConflict>& conflicts) {
  Draft d = draft(in, conflicts);
  d.keys.drop_index();
  const std::size_t key_count = d.keys.size();
  // Number the nodes in key order: from here on, comparing numbers compares keys. Each part of the
  // draft goes once copied, so the draft and the graph are never both whole.
  PageVector<std::uint32_t> order = key_order(d);  // key number by node number
  const std::size_t n = order.size();
  std::size_t chars = 0;
  for (const auto key : order) chars += std::strlen(to_string(d.kind(key))) + 1 + d.keys[key].size();
  nodes = {};
  nodes.reserve(n, chars);
  PageVector<HandleKind> kind(n);
  std::string buf;
  for (std::uint32_t i = 0; i < n; ++i) {
    kind[i] = d.kind(order[i]);
    nodes.push_back(key_of(d.keys.tag(order[i]), d.keys[order[i]], buf));
  }
  d.keys = {}, d.record_values = {};

  IdentityGraph g;
  for (const auto& [limited, limit] : in.limits) g.m_limit_kinds.push_back(limited), g.m_limits.push_back(limit);
  const std::size_t kinds = g.m_limit_kinds.size();
  verified.assign(n, false);
  g.m_made.resize(n);
  g.m_counts.assign(n * kinds, 0);
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint32_t key = order[i];
    verified[i] = d.verified[key] != 0;
    g.m_made[i] = d.made[key];
    for (std::size_t k = 0; k < kinds; ++k)
      g.m_counts[i * kinds + k] = d.verified[key] && kind[i] == g.m_limit_kinds[k];
  }
  kind = {}, d.made = {}, d.verified = {};
  PageVector<std::uint32_t> rank(key_count, k_none);  // by key number
  for (std::uint32_t i = 0; i < n; ++i) rank[order[i]] = i;
  order = {};

  g.m_crm_head.assign(n, k_none);
  g.m_crm.reserve(d.records.size());
  for (const auto& [key, connector] : d.records) {
    g.m_crm.push_back({connector, rank[key], k_none});
    g.add_records(rank[key], static_cast<std::uint32_t>(g.m_crm.size() - 1));
  }
  g.m_connectors = std::move(d.connectors);
  // A record joins each handle it lists, at the handle's rank.
  g.m_edges.reserve(d.handle_keys.size() + d.links.size());
  for (std::uint32_t ci = 0, hi = 0; ci < d.contacts.size(); ++ci)
    for (const auto& h : d.contacts[ci]->handles)
      if (const std::uint32_t key = d.handle_keys[hi++]; key != k_none && !d.is_shared(key))
        g.m_edges.push_back(make_edge(priority(h.kind), rank[key], rank[d.records[ci].first], rank[key]));
  for (const auto& e : d.links)
    g.m_edges.push_back(make_edge(static_cast<std::uint32_t>(e.hi >> 32), renumbered(e.hi, 0, rank),
                                  renumbered(e.lo, 32, rank), renumbered(e.lo, 0, rank)));
  d = {}, rank = {};
  g.m_parent.resize(n);
  std::iota(g.m_parent.begin(), g.m_parent.end(), 0u);
  return g;
}

std::uint32_t IdentityGraph::find(std::uint32_t x) {
  while (m_parent[x] != x) x = m_parent[x] = m_parent[m_parent[x]];
  return x;
}

void IdentityGraph::add_records(std::uint32_t root, std::uint32_t list) {
  // Both lists ascend by connector; on a connector both hold, the record `root` has stays.
  std::uint32_t* link = &m_crm_head[root];
  for (std::uint32_t y = list; y != k_none;) {
    while (*link != k_none && m_crm[*link].connector < m_crm[y].connector) link = &m_crm[*link].next;
    const std::uint32_t next = m_crm[y].next;
    if (*link == k_none || m_crm[*link].connector != m_crm[y].connector) {
      m_crm[y].next = *link;
      *link = y;
    }
    y = next;
  }
}

// The rule that refuses the union of roots ra and rb through the edge (a, b), or "" when none does. A
// merge decision outranks the automatic protections, but never a split.
std::string IdentityGraph::refusal(const IdentityInput& in, std::int64_t decision, std::uint32_t a, std::uint32_t b,
                                   std::uint32_t ra, std::uint32_t rb, const PackedStrings& nodes,
                                   std::vector<std::string>& records) {
  if (auto sa = m_sides.find(ra), sb = m_sides.find(rb); sa != m_sides.end() && sb != m_sides.end())
    for (const auto& [d, side] : sa->second)
      for (const auto& [d2, side2] : sb->second)
        if (d == d2 && side != side2) return fmt::format("kept apart by split decision #{}", in.decisions[d].id);
  if (decision != 0) return {};
  for (std::uint32_t y = m_crm_head[rb]; y != k_none; y = m_crm[y].next)
    for (std::uint32_t x = m_crm_head[ra]; x != k_none && m_crm[x].connector <= m_crm[y].connector; x = m_crm[x].next)
      if (m_crm[x].connector == m_crm[y].connector && m_crm[x].record != m_crm[y].record) {
        const auto [lo, hi] = std::minmax(m_crm[x].record, m_crm[y].record);
        records = {std::string(nodes[lo]), std::string(nodes[hi])};
        return fmt::format("would join two records of {}", m_connectors[m_crm[y].connector]);
      }
  const std::size_t kinds = m_limit_kinds.size();
  for (std::size_t k = 0; k < kinds; ++k) {
    const std::size_t total = std::size_t{m_counts[ra * kinds + k]} + m_counts[rb * kinds + k];
    if (total > m_limits[k]) {
      records = {std::string(nodes[std::min(a, b)]), std::string(nodes[std::max(a, b)])};
      return fmt::format("would give one person {} {} handles (limit {})", total, to_string(m_limit_kinds[k]),
                         m_limits[k]);
    }
  }
  return {};
}

void IdentityGraph::join(std::uint32_t ra, std::uint32_t rb) {
  if (m_made[rb] < m_made[ra]) std::swap(ra, rb);  // the node made first survives: deterministic
  m_parent[rb] = ra;
  add_records(ra, std::exchange(m_crm_head[rb], k_none));
  const std::size_t kinds = m_limit_kinds.size();
  for (std::size_t k = 0; k < kinds; ++k) m_counts[ra * kinds + k] += m_counts[rb * kinds + k];
  if (auto sb = m_sides.find(rb); sb != m_sides.end()) {
    auto moved = std::move(sb->second);
    m_sides.erase(sb);
    auto& sa = m_sides[ra];
    sa.insert(sa.end(), moved.begin(), moved.end());
    std::sort(sa.begin(), sa.end());
    sa.erase(std::unique(sa.begin(), sa.end()), sa.end());
  }
}

void IdentityGraph::link(const IdentityInput& in, const PackedStrings& nodes, std::vector<IdentityConflict>& conflicts,
                         std::vector<IdentityEdge>* trace) {
  // Decisions. A split marks its two sides, so no union ever joins them, and keeps the rest (its b
  // side) one person where what held it together was the node split off (a CRM record listing a
  // phone and an email): a chain through the rest, weighed after the automatic rules and under
  // their protections, so it only reconnects what would fall apart. A merge joins every node of one
  // person with every node of the other (so a later split of one node leaves the rest merged).
  // Only nodes that still exist count: a decision about records that are gone does nothing.
  struct Decided {
    std::int64_t decision;
    std::uint32_t a, b;
    auto operator<=>(const Decided&) const = default;
  };
  std::vector<Decided> decided, kept;
  for (std::size_t d = 0; d < in.decisions.size(); ++d) {
    const auto& dec = in.decisions[d];
    std::vector<std::uint32_t> a, b;
    for (const auto& k : dec.a)
      if (auto i = nodes.find_sorted(k); i != PackedStrings::npos) a.push_back(static_cast<std::uint32_t>(i));
    for (const auto& k : dec.b)
      if (auto i = nodes.find_sorted(k); i != PackedStrings::npos) b.push_back(static_cast<std::uint32_t>(i));
    if (dec.kind == IdentityDecision::Kind::split) {
      for (auto x : a) m_sides[x].emplace_back(d, 0);
      for (auto y : b) m_sides[y].emplace_back(d, 1);
      for (std::size_t i = 1; i < b.size(); ++i) kept.push_back({dec.id, b[i - 1], b[i]});
    } else {
      for (auto x : a)
        for (auto y : b) decided.push_back({dec.id, x, y});
    }
  }
  std::sort(decided.begin(), decided.end());
  std::sort(m_edges.begin(), m_edges.end());

  // `protect`: the automatic rules' protections apply to a decision's edge too (a split's chain).
  auto weigh = [&](std::uint32_t a, std::uint32_t b, std::uint32_t handle, std::int64_t decision,
                   bool protect = false) {
    const std::uint32_t ra = find(a), rb = find(b);
    auto traced = [&](IdentityEdge::Outcome outcome, std::string why = {}) {
      if (trace)
        trace->push_back({std::string(nodes[a]), std::string(nodes[b]),
                          handle == k_none ? std::string() : std::string(nodes[handle]), decision, outcome,
                          std::move(why)});
    };
    if (ra == rb) return traced(IdentityEdge::Outcome::already);
    std::vector<std::string> records;
    std::string why = refusal(in, protect ? 0 : decision, a, b, ra, rb, nodes, records);
    if (!why.empty()) {
      // A split is a person's decision, not a conflict to resolve: it is only traced.
      if (!records.empty())
        conflicts.push_back({handle == k_none ? std::string() : std::string(nodes[handle]), why, std::move(records)});
      return traced(IdentityEdge::Outcome::refused, std::move(why));
    }
    join(ra, rb);
    traced(IdentityEdge::Outcome::joined);
  };
  for (const auto& e : decided) weigh(e.a, e.b, k_none, e.decision);
  for (const auto& e : m_edges)
    weigh(static_cast<std::uint32_t>(e.lo >> 32), static_cast<std::uint32_t>(e.lo), static_cast<std::uint32_t>(e.hi),
          0);
  for (const auto& e : kept) weigh(e.a, e.b, k_none, e.decision, true);
  m_edges = {};
}

std::pair<std::vector<std::uint32_t>, std::size_t> IdentityGraph::clusters() {
  // Numbered on first sight in node order: a cluster's number follows its least key, as its members do.
  const std::size_t n = m_parent.size();
  std::vector<std::uint32_t> person(n);
  auto& number = m_made;  // per root; m_made is done with once every edge is weighed
  std::fill(number.begin(), number.end(), k_none);
  std::uint32_t count = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint32_t root = find(i);
    if (number[root] == k_none) number[root] = count++;
    person[i] = number[root];
  }
  return {std::move(person), count};
}

}  // namespace chansync
