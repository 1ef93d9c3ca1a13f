#pragma once
// The state store: one SQLite file (WAL) holding cursors, pulled records, identities, the push
// ledger, run history and health history. Secrets are never written here.
// Every commit_* call is one transaction: a page's records and its cursor land together or not at all.
// One thread at a time: the connection is opened without SQLite's per-call mutex.
#include <SQLiteCpp/SQLiteCpp.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sync/model.hpp"

namespace chansync {

// A record an adapter could not map (bad date, missing field): kept with its raw bytes, never dropped.
struct DeadLetter {
  std::string record_id;  // vendor id if known
  std::string error;
  std::string raw;
};

struct PageStats {
  std::size_t received = 0;  // records on the page
  std::size_t written = 0;   // rows inserted or changed (0 for a page of known, unchanged records)
  std::size_t rejected = 0;  // dead letters
};

struct CursorRow {
  std::string connector;
  std::string cursor;
  Timestamp updated_at = 0;
};

struct PushLedgerEntry {
  std::string person_id;
  std::string hash;
  std::string remote_id;
};

struct HealthRow {
  std::string connector;
  Timestamp checked_at = 0;
  std::string cls;
  std::string evidence_json;
};

struct IdentityInput;
struct IdentityResult;

class StateStore {
 public:
  // Opens (creating the file and its directory if needed) and migrates to the current schema.
  // ":memory:" gives a private in-memory store (tests). Throws Failure(Errc::state) with the path and
  // the SQLite message when the file cannot be opened or is not a chansync state store.
  explicit StateStore(const std::string& path);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // Schema version after migrations (PRAGMA user_version).
  int schema_version();

  // The saved cursor of a connector; "" when it has never completed a page (full pull).
  std::string cursor(const std::string& connector);
  std::vector<CursorRow> cursors();
  // Forgets a connector's cursor so the next pull is a full pull. Records stay. Returns false if
  // the connector had no cursor.
  bool reset_cursor(const std::string& connector);

  // Upserts a page of conversations (and their messages) or contacts, stores rejects as dead letters
  // and saves next_cursor — all in one transaction. Re-committing the same page writes nothing.
  PageStats commit_conversations(const std::string& connector, const std::vector<Conversation>& page,
                                 const std::vector<DeadLetter>& rejects, const std::string& next_cursor);
  PageStats commit_contacts(const std::string& connector, const std::vector<Contact>& page,
                            const std::vector<DeadLetter>& rejects, const std::string& next_cursor);

  // The store revision: bumped by every transaction that changes a record or an identity. Rows carry
  // the revision that last changed them, so "what changed since revision R" is an indexed query.
  std::int64_t revision();
  // Small named values (revision, reconcile and push marks).
  std::optional<std::string> meta(const std::string& key);
  void set_meta(const std::string& key, const std::string& value);

  // Counts for `state show`; count() of one of those tables.
  std::map<std::string, std::int64_t> counts();
  std::int64_t count(const char* table);

  // --- identity (state_identity.cpp) ---
  // Everything the reconcile stage needs, read in one go.
  IdentityInput identity_input(const std::vector<std::string>& blocked_keys);
  // Replaces assignments, adds new persons and aliases, records conflicts; one transaction.
  void save_identity(const IdentityResult& result);
  // Calls `fn` once per person in person_id order with its handles, contacts and messages (sorted).
  // Streams: only one person's messages are in memory at a time. With `changed_since`, only persons
  // whose handles, contacts or messages changed after that revision.
  void for_each_person(const std::function<void(PersonRecord&&)>& fn,
                       std::optional<std::int64_t> changed_since = std::nullopt);
  std::size_t person_count();
  // One person by id or alias; nullopt if unknown.
  std::optional<PersonRecord> person(const std::string& id_or_alias);

  // --- push ledger ---
  std::map<std::string, std::string> ledger(const std::string& target);  // person_id → content hash
  void record_push(const std::string& target, const std::vector<PushLedgerEntry>& entries);

  // --- runs and health ---
  std::int64_t begin_run(const std::string& command);
  void finish_run(std::int64_t run_id, const std::string& status, const std::string& summary_json);
  void record_health(const HealthRow& row);

  SQLite::Database& db() { return m_db; }

 private:
  void migrate();
  std::size_t upsert_contact(const Contact& c, std::int64_t rev);
  std::vector<std::string> persons_changed_since(std::int64_t rev);
  std::optional<PersonRecord> load_person(const std::string& person_id);  // no alias lookup

  SQLite::Database m_db;
  struct Statements;
  std::unique_ptr<Statements> m_st;
};

}  // namespace chansync
