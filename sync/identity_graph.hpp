#pragma once
// The identity graph inside reconcile (sync/reconcile.hpp has the rules it applies). Every key is
// interned once; nodes are then numbered in key order, so comparing two numbers compares two keys,
// and edges are pairs of integers. Nothing on this path allocates per node.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sync/interner.hpp"
#include "sync/packed_strings.hpp"
#include "sync/page_vector.hpp"
#include "sync/reconcile.hpp"

namespace chansync {

class IdentityGraph {
 public:
  // The graph of `in` without its decisions: nodes (their keys sorted into `nodes`, whether each
  // joins into `verified`) and the automatic edges. A handle listed on two records of one CRM is
  // reported in `conflicts` and joins nothing.
  static IdentityGraph build(const IdentityInput& in, PackedStrings& nodes, std::vector<bool>& verified,
                             std::vector<IdentityConflict>& conflicts);
  // Adds the decisions' edges and weighs every edge in order: decisions, then by rank, handle key and
  // node keys. Refused unions go to `conflicts` (a split only to the trace); every edge to `trace`
  // when it is not null.
  void link(const IdentityInput& in, const PackedStrings& nodes, std::vector<IdentityConflict>& conflicts,
            std::vector<IdentityEdge>* trace);
  // Each node's cluster, clusters numbered in order of their least node; and how many there are.
  std::pair<std::vector<std::uint32_t>, std::size_t> clusters();

  // Sorted as (hi, lo), edges come in the order the automatic rules weigh them.
  struct Edge {
    std::uint64_t hi;  // rank << 32 | handle node
    std::uint64_t lo;  // a << 32 | b
    friend auto operator<=>(const Edge&, const Edge&) = default;
  };
  struct CrmEntry {
    std::uint32_t connector, record, next;  // a cluster's record of one CRM; next: k_none ends the list
  };

 private:
  std::uint32_t find(std::uint32_t x);
  std::string refusal(const IdentityInput& in, std::int64_t decision, std::uint32_t a, std::uint32_t b,
                      std::uint32_t ra, std::uint32_t rb, const PackedStrings& nodes,
                      std::vector<std::string>& records);
  void join(std::uint32_t ra, std::uint32_t rb);
  // Merges the records of `list` (a CrmEntry chain ascending by connector) into root's.
  void add_records(std::uint32_t root, std::uint32_t list);

  PageVector<std::uint32_t> m_parent;  // union-find by node number
  // Node numbers in the order the input made the nodes: of two roots, the one made first survives.
  PageVector<std::uint32_t> m_made;
  std::vector<HandleKind> m_limit_kinds;
  std::vector<std::size_t> m_limits;      // per limit kind
  PageVector<std::uint32_t> m_counts;     // verified handles per root and limit kind
  std::vector<std::string> m_connectors;  // sorted; CrmEntry::connector indexes it
  PageVector<std::uint32_t> m_crm_head;   // per root: its records, sorted by connector
  PageVector<CrmEntry> m_crm;
  // Split sides per root: (decision index, side 0|1). Few nodes carry any, so a map.
  std::unordered_map<std::uint32_t, std::vector<std::pair<std::size_t, int>>> m_sides;
  PageVector<Edge> m_edges;
};

}  // namespace chansync
