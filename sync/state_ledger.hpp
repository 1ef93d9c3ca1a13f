#pragma once
// The push ledger: per target and person, the content hash and remote id the target confirmed,
// the target's push mark (the store revision its last complete push covered), and the persons the
// target keeps refusing (push_failures; parked after k_park_after pushes).
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sync/model.hpp"

namespace SQLite {
class Statement;
}

namespace chansync {

class StateStore;

class PushLedger {
 public:
  explicit PushLedger(StateStore& store);
  ~PushLedger();

  // Every entry of a target, by person id.
  std::map<std::string, PushLedgerEntry> entries(const std::string& target);
  // The entries of persons that no longer exist (merged into another, or left without any record):
  // one indexed probe per entry, no list of the live persons. Persons sent but never confirmed
  // (note_sent) are among them, with an entry that has no hash and no remote id.
  std::map<std::string, PushLedgerEntry> orphans(const std::string& target);
  // Notes persons about to be sent to a target: until it confirms them (record, forget), it may hold
  // what this batch sends or what it held before, whatever comes back (a kill before the answer is
  // recorded, a failure after the target acted). One transaction.
  void note_sent(const std::string& target, const std::vector<std::string>& person_ids);
  // The persons noted as sent to a target and not confirmed since: their entry's hash (kept, since
  // a sink may key a delivery by it) need not be what the target holds, so they are sent again even
  // when their content has gone back to it (an undo, a vendor's correction).
  std::set<std::string> unconfirmed(const std::string& target);
  // One person's entry, nullopt when the target holds none: read by index, so a push of a few
  // changed persons reads only theirs.
  std::optional<PushLedgerEntry> entry(const std::string& target, const std::string& person_id);
  // Records confirmed deliveries (insert or replace) and clears their failures and sent notes; one
  // transaction.
  void record(const std::string& target, const std::vector<PushLedgerEntry>& delivered);
  // Forgets persons the target confirmed deleting (entries, failures, sent notes); one transaction.
  void forget(const std::string& target, const std::vector<std::string>& person_ids);

  // The persons a target refused on its latest pushes, by person id.
  std::map<std::string, PushFailure> failures(const std::string& target);
  // Counts one more refused push per person: `runs` goes up when the refused content (hash) is the
  // one refused before, and starts again at 1 when it changed. One transaction.
  void record_failures(const std::string& target, const std::vector<PushFailure>& refused);
  // Every target's parked persons (runs >= k_park_after), by target then person id.
  std::vector<std::pair<std::string, PushFailure>> parked();

  // The revision the target's last complete push covered; nullopt when it never completed one.
  std::optional<std::int64_t> mark(const std::string& target);
  void set_mark(const std::string& target, std::int64_t revision);

 private:
  StateStore& m_store;
  std::unique_ptr<SQLite::Statement> m_entry;  // entry()'s, prepared on first use
};

}  // namespace chansync
