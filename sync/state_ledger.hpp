#pragma once
// The push ledger: per target and person, the content hash and remote id the target confirmed,
// and the target's push mark (the store revision its last complete push covered).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sync/model.hpp"

namespace chansync {

class StateStore;

class PushLedger {
 public:
  explicit PushLedger(StateStore& store) : m_store(store) {}

  // Every entry of a target, by person id.
  std::map<std::string, PushLedgerEntry> entries(const std::string& target);
  // Records confirmed deliveries (insert or replace); one transaction.
  void record(const std::string& target, const std::vector<PushLedgerEntry>& delivered);
  // Forgets persons the target confirmed deleting; one transaction.
  void forget(const std::string& target, const std::vector<std::string>& person_ids);

  // The revision the target's last complete push covered; nullopt when it never completed one.
  std::optional<std::int64_t> mark(const std::string& target);
  void set_mark(const std::string& target, std::int64_t revision);

 private:
  StateStore& m_store;
};

}  // namespace chansync
