#pragma once
// The state store: one SQLite file (WAL) holding cursors, pulled records, identities, the push
// ledger, run history and health history. Secrets are never written here.
// StateStore owns the connection, the migrations and the store revision; each seam of the data has
// its own small class reached through it: records() (streams, cursors, pages, dead letters),
// identity() (persons), decisions() (merges and splits people made), ledger() (what each target was sent), runs() (run
// and health history). One thread at a time: the connection is opened without SQLite's per-call mutex.
#include <SQLiteCpp/SQLiteCpp.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "sync/error.hpp"
#include "sync/state_decisions.hpp"
#include "sync/state_identity.hpp"
#include "sync/state_ledger.hpp"
#include "sync/state_records.hpp"
#include "sync/state_runs.hpp"

namespace chansync {

class StateStore {
 public:
  // Opens (creating the file and its directory if needed) and migrates to the current schema.
  // ":memory:" gives a private in-memory store (tests). Throws Failure with the path and the SQLite
  // message when the file cannot be opened (Errc::cant_write when it cannot be created or written,
  // Errc::io on a full disk, Errc::state when it is not a chansync state store).
  explicit StateStore(const std::string& path);
  // Beside a run that holds the state lock, for commands that only read (cli/session.hpp,
  // Needs::store_read): they see what that run has committed so far. The store is not created, set up
  // or migrated: one at an older schema version than this chansync's, or not yet made, is
  // Errc::locked (the upgrade waits until this chansync holds the lock); a newer one is Errc::state.
  struct BesideWriter {};
  StateStore(const std::string& path, BesideWriter);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  const std::string& path() const { return m_path; }
  // Schema version after migrations (PRAGMA user_version).
  int schema_version();

  RecordStore& records() { return *m_records; }
  IdentityStore& identity() { return *m_identity; }
  PushLedger& ledger() { return *m_ledger; }
  RunLog& runs() { return *m_runs; }
  DecisionJournal& decisions() { return *m_decisions; }

  // The store revision: bumped by every transaction that changes a record or an identity. Rows carry
  // the revision that last changed them, so "what changed since revision R" is an indexed query.
  std::int64_t revision();
  // The revision at which what identities are made of last changed (a conversation's customer, a
  // contact, an erasure); 0 before any did. New messages alone do not move it, so reconcile can tell
  // that nothing about who is who changed.
  std::int64_t identity_input_revision();
  // The revision at which the stored persons last changed (saved identities, an erasure).
  std::int64_t persons_revision();
  // The revision at which identity inputs last changed other than by conversations of customers no
  // stored conversation had (a changed customer, links, a contact, an erasure). While it stays below
  // the last reconcile's input revision, new customers are all that changed: each is a new person of
  // its own (reconcile's append-only path).
  std::int64_t identity_shape_revision();
  void set_identity_input_revision(std::int64_t rev, bool new_customers_only = false);
  void set_persons_revision(std::int64_t rev);
  // Small named values (revision, reconcile and push marks).
  std::optional<std::string> meta(const std::string& key);
  void set_meta(const std::string& key, const std::string& value);

  // Row counts of the record tables, for `state show`; count() of one of those tables.
  std::map<std::string, std::int64_t> counts();
  std::int64_t count(const char* table);

  // The raw connection, for the component classes (and a test that injects a failing trigger).
  SQLite::Database& db() { return m_db; }

 private:
  void set_up(bool beside_writer);
  void set_up_file();  // the file's settings (page size, WAL): by the lock holder only
  void migrate();
  void refuse_newer(int version);  // Failure(Errc::state) for a schema newer than this chansync's

  std::string m_path;
  SQLite::Database m_db;
  std::unique_ptr<RecordStore> m_records;
  std::unique_ptr<IdentityStore> m_identity;
  std::unique_ptr<PushLedger> m_ledger;
  std::unique_ptr<RunLog> m_runs;
  std::unique_ptr<DecisionJournal> m_decisions;
};

// Turns a SQLite failure while `doing` something into a Failure that says what to do: a full disk
// or I/O error → Errc::io (exit 74), a read-only or uncreatable file → Errc::cant_write (exit 73),
// a store locked by another process past the busy timeout → Errc::locked, anything else → Errc::state.
Failure storage_failure(const SQLite::Exception& e, const std::string& path, const std::string& doing);

}  // namespace chansync
