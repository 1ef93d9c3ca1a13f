#pragma once
// Persons in the state store: the input the reconcile stage reads, its saved result, and person
// records streamed for merge and push.
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sync/model.hpp"

namespace chansync {

class StateStore;
struct IdentityInput;
struct IdentityResult;

struct ConflictRow {
  std::string node;
  std::string reason;
  std::vector<std::string> records;
};

class IdentityStore {
 public:
  explicit IdentityStore(StateStore& store) : m_store(store) {}

  // Everything the reconcile stage needs, read in one go.
  IdentityInput input(const std::vector<std::string>& blocked_keys);
  // The active (non-archived) CRM contacts, whole: what input() reads of them and their names and
  // attributes, for suggestions.
  std::vector<Contact> contacts();
  // Replaces assignments, adds new persons and aliases, records conflicts; one transaction. Writes
  // nothing (and keeps the revision) when the result equals what is stored.
  void save(const IdentityResult& result);
  // Reconcile's append-only path: each node (key, verified) becomes a person of its own with a
  // minted id, as save() of a full reconcile would store it. One transaction.
  void add_singletons(const std::vector<std::pair<std::string, bool>>& nodes, const std::function<std::string()>& mint);
  // Calls `fn` once per person in person_id order with its handles, contacts and messages (sorted).
  // With `changed_since`, only persons whose handles, contacts or messages changed after that
  // revision. A few persons are read by index, one at a time; a quarter of them or more in one pass
  // over every message, parted by person into scratch files beside the store (see MessageParts),
  // which holds a few MiB of messages at a time.
  // `more`, when given, is asked before each person: false ends the pass.
  void for_each_person(const std::function<void(PersonRecord&&)>& fn,
                       std::optional<std::int64_t> changed_since = std::nullopt,
                       const std::function<bool()>& more = {});
  // Persons holding a node. save() and add_singletons() keep the figure in meta, so a sync that
  // changed nothing does not count every node again; anything else that writes person_handles calls
  // forget_person_count() in its transaction (it is then counted).
  std::size_t person_count();
  void forget_person_count();
  // One person by id or alias; nullopt if unknown.
  std::optional<PersonRecord> person(const std::string& id_or_alias);
  // The person a retired id was merged into; nullopt when it is not an alias.
  std::optional<std::string> survivor_of(const std::string& retired_id);
  // The current id of a person named by id or retired id. Throws Failure(not_found), saying where
  // the ids are listed, when no such person has a handle or record now.
  std::string require_person(const std::string& id_or_alias);
  // The person a node (handle key or CRM record node) belongs to; nullopt when none.
  std::optional<std::string> holder(const std::string& node);
  // The nodes of a person, in key order.
  std::vector<std::string> nodes_of(const std::string& person_id);
  // The conflicts the last reconcile recorded.
  std::vector<ConflictRow> conflicts();

 private:
  std::vector<std::string> persons_changed_since(std::int64_t rev);
  std::optional<PersonRecord> load_person(const std::string& person_id);  // no alias lookup

  StateStore& m_store;
};

}  // namespace chansync
