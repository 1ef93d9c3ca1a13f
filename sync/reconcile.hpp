#pragma once
// Stage 2, pure: the identity graph. Nodes are handle keys ("phone:+49…", "email:a@b.de") and CRM
// records ("crm_id:crm/123"); union-find joins them in a fixed priority order so the result never
// depends on input order. Decisions people made (merge, split) come first and outrank the automatic
// rules; the protections (two records of one CRM, per-kind limits) refuse a union and say why.
// person_ids are stable across runs: a person split in two keeps its id on the side that stays (by
// a split decision, else with its CRM records, else with most of its handles); when persons merge,
// the oldest id survives and the others become aliases; an undone merge gives the merged-away id back.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sync/model.hpp"
#include "sync/packed_strings.hpp"

namespace chansync {

// A decision a person made about identities, recorded in the journal (persons merge / split).
struct IdentityDecision {
  enum class Kind { merge, split };
  std::int64_t id = 0;
  Kind kind = Kind::merge;
  // merge: the nodes of the two persons, joined whatever the automatic rules say.
  // split: `a` is what was split off, `b` the rest of the person, kept one person; no union ever
  // joins the two sides.
  std::vector<std::string> a, b;
};
const char* to_string(IdentityDecision::Kind kind);

// Per-kind limits on one person's verified handles ([identity] limits): a union that would exceed
// one is refused, so a typo'd number on a CRM record cannot glue many people together.
using IdentityLimits = std::map<HandleKind, std::size_t>;
IdentityLimits default_identity_limits();  // 5 phones, 5 emails

// The [identity] rules of the configuration.
struct IdentityRules {
  // [identity] blocked: handle keys ("phone:+4930000000", "email:info@example.com") that join no one,
  // normalised as the adapters normalise what they pull.
  std::vector<std::string> blocked;
  IdentityLimits limits = default_identity_limits();  // [identity] limits
  // [identity] auto_merge_above: suggestions at least this probable are merged as decisions; unset,
  // suggestions are only listed.
  std::optional<double> auto_merge_above;
};

// A CRM record as reconcile sees it: which record it is and the handles it lists. Its names and
// attributes feed only suggestions, which read whole Contacts.
struct IdentityRecord {
  std::string connector, id;
  std::vector<Handle> handles;
  IdentityRecord() = default;
  IdentityRecord(std::string connector, std::string id, std::vector<Handle> handles)
      : connector(std::move(connector)), id(std::move(id)), handles(std::move(handles)) {}
  IdentityRecord(const Contact& c) : connector(c.connector), id(c.id), handles(c.handles) {}  // NOLINT: implicit
  friend bool operator==(const IdentityRecord&, const IdentityRecord&) = default;
};

struct IdentityInput {
  std::vector<IdentityRecord> contacts;      // active (non-archived) CRM records
  std::vector<Handle> conversation_handles;  // distinct customer handles of stored conversations
  // Handles a vendor says are one customer (Conversation::customer_links): (customer, linked handle).
  std::vector<std::pair<Handle, Handle>> links;
  std::map<std::string, std::string> previous;     // node → person_id from the last reconcile
  std::map<std::string, std::int64_t> since;       // node → when it was first assigned (ms; 0 = unknown)
  std::map<std::string, std::int64_t> person_seq;  // person_id → creation order (lower = older)
  // node → a retired person id it belonged to before a merge that is now undone; a cluster that would
  // get a new id takes it back instead (an undone merge returns the merged-away person's id).
  std::map<std::string, std::string> former;
  // node → the retired id a merge still in force took it from: taken back only by a cluster that
  // would get a new id, which a split of what the merge brought in makes (never a vote against the
  // survivor, whose own nodes these are while the merge holds).
  std::map<std::string, std::string> former_in_force;
  std::set<std::string> blocked;  // handle keys that never identify a customer (the business's own)
  // Handle keys that identify only themselves ([identity] blocked: an office switchboard, a shared
  // inbox): their conversations are a person of their own, and they join nothing.
  std::set<std::string> unjoinable;
  IdentityLimits limits = default_identity_limits();
  std::vector<IdentityDecision> decisions;  // active ones, oldest first
  bool trace = false;                       // fill IdentityResult::trace (persons explain)
};

struct IdentityConflict {
  std::string node;  // the handle key that would have joined them
  std::string reason;
  std::vector<std::string> records;  // the records (or, for a limit, the nodes) it would have joined
  friend bool operator==(const IdentityConflict&, const IdentityConflict&) = default;
};

// One edge of the graph as reconcile weighed it (IdentityInput::trace).
struct IdentityEdge {
  std::string a, b;       // node keys: a record and its handle, a vendor's two handles, two decided nodes
  std::string handle;     // the handle that joins them ("" for a decision)
  std::int64_t decision;  // the decision that made the edge, 0 for the automatic rules
  enum class Outcome { joined, already, refused } outcome;
  std::string why;  // refused: the rule that refused it
};

// What reconcile made of the graph, compact: a million nodes are two buffers of strings and three
// arrays, not a million map entries (reconcile's time and memory at that size went mostly into
// those). Node i is nodes[i]; persons are numbered in the order of their least node key.
struct IdentityResult {
  PackedStrings nodes;                         // every node key, sorted (byte order, as std::string compares)
  std::vector<std::uint32_t> person;           // person[i]: the index in person_ids of node i's person
  PackedStrings person_ids;                    // person_ids[p]: the id of person p
  std::vector<bool> verified;                  // verified[i]: node i joins (false: kept for display only)
  std::vector<std::uint32_t> new_persons;      // persons (indices in person_ids) minted this run, in mint order
  std::map<std::string, std::string> aliases;  // retired person_id → surviving person_id
  std::vector<std::string> revived;            // retired ids given back to a cluster of their own
  std::vector<IdentityConflict> conflicts;
  std::vector<IdentityEdge> trace;  // with IdentityInput::trace, every edge in the order weighed

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  std::size_t person_count() const { return person_ids.size(); }
  // The index of a node key in `nodes` by binary search; npos when it is no node.
  std::size_t find(std::string_view node) const;
  bool contains(std::string_view node) const { return find(node) != npos; }
  // The person id of node i.
  std::string_view person_id(std::size_t i) const { return person_ids[person[i]]; }
  // The person id of a node key, and whether it joins; std::out_of_range when it is no node.
  std::string_view person_of(std::string_view node) const;
  bool is_verified(std::string_view node) const;
  // node → person_id as a map, for small results (tests, a previous assignment built by hand).
  std::map<std::string, std::string> assignment() const;
};

// Node key of a CRM record.
std::string crm_node(const std::string& connector, const std::string& id);

// Builds the identity graph. `mint` returns a fresh random person_id each call. Pure otherwise.
IdentityResult reconcile(const IdentityInput& in, const std::function<std::string()>& mint);

// A fresh random person id: "p_" + 16 lower-case hex digits.
std::string mint_person_id();

}  // namespace chansync
