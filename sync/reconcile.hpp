#pragma once
// Stage 2, pure: the identity graph. Nodes are handle keys ("phone:+49…", "email:a@b.de") and CRM
// records ("crm_id:crm/123"); union-find joins them in a fixed priority order so the result never
// depends on input order. person_ids are stable across runs: a cluster keeps the oldest id any of
// its nodes had; ids of clusters that merged into it become aliases.
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "sync/model.hpp"

namespace chansync {

struct IdentityInput {
  std::vector<Contact> contacts;             // active (non-archived) CRM records
  std::vector<Handle> conversation_handles;  // distinct customer handles of stored conversations
  // Handles a vendor says are one customer (Conversation::customer_links): (customer, linked handle).
  std::vector<std::pair<Handle, Handle>> links;
  std::map<std::string, std::string> previous;     // node → person_id from the last reconcile
  std::map<std::string, std::int64_t> person_seq;  // person_id → creation order (lower = older)
  std::set<std::string> blocked;                   // handle keys that never identify a customer (the business's own)
  // Handle keys that identify only themselves ([identity] blocked: an office switchboard, a shared
  // inbox): their conversations are a person of their own, and they join nothing.
  std::set<std::string> unjoinable;
};

struct IdentityConflict {
  std::string node;  // the handle key that would have joined them
  std::string reason;
  std::vector<std::string> records;  // CRM record nodes involved
  friend bool operator==(const IdentityConflict&, const IdentityConflict&) = default;
};

struct IdentityResult {
  std::map<std::string, std::string> assignment;  // node → person_id, for every node
  std::map<std::string, bool> verified;           // node → joinable (false: kept for display only)
  std::vector<std::string> new_persons;           // minted this run, in mint order
  std::map<std::string, std::string> aliases;     // retired person_id → surviving person_id
  std::vector<IdentityConflict> conflicts;
  std::size_t person_count = 0;
};

// Node key of a CRM record.
std::string crm_node(const std::string& connector, const std::string& id);

// Builds the identity graph. `mint` returns a fresh random person_id each call. Pure otherwise.
IdentityResult reconcile(const IdentityInput& in, const std::function<std::string()>& mint);

// A fresh random person id: "p_" + 16 lower-case hex digits.
std::string mint_person_id();

}  // namespace chansync
