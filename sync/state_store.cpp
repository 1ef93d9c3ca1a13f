#include "sync/state_store.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "sync/error.hpp"
#include "sync/model.hpp"

namespace chansync {
namespace {

// Migrations by PRAGMA user_version: entry i moves the schema from version i to i+1. Append only.
constexpr std::array<const char*, 21> k_migrations = {
    R"sql(
CREATE TABLE cursors(
  connector TEXT PRIMARY KEY, cursor TEXT NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE conversations(
  connector TEXT NOT NULL, id TEXT NOT NULL, channel TEXT NOT NULL,
  customer TEXT NOT NULL, customer_verified INTEGER NOT NULL, business TEXT NOT NULL,
  PRIMARY KEY(connector, id)) WITHOUT ROWID;
CREATE TABLE messages(
  connector TEXT NOT NULL, id TEXT NOT NULL, conversation TEXT NOT NULL, channel TEXT NOT NULL,
  direction TEXT NOT NULL, author_kind TEXT NOT NULL, author_handle TEXT NOT NULL,
  sent_at INTEGER NOT NULL, text TEXT NOT NULL,
  PRIMARY KEY(connector, id));
CREATE TABLE contacts(
  connector TEXT NOT NULL, id TEXT NOT NULL, first_name TEXT NOT NULL, last_name TEXT NOT NULL,
  handles TEXT NOT NULL, archived INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY(connector, id)) WITHOUT ROWID;
CREATE TABLE persons(
  person_id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, created_at INTEGER NOT NULL);
CREATE TABLE person_handles(
  node TEXT PRIMARY KEY, person_id TEXT NOT NULL, verified INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE person_aliases(
  alias TEXT PRIMARY KEY, person_id TEXT NOT NULL, retired_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE identity_conflicts(
  node TEXT NOT NULL, reason TEXT NOT NULL, records TEXT NOT NULL);
CREATE TABLE push_ledger(
  target TEXT NOT NULL, person_id TEXT NOT NULL, hash TEXT NOT NULL, remote_id TEXT NOT NULL,
  pushed_at INTEGER NOT NULL, PRIMARY KEY(target, person_id)) WITHOUT ROWID;
CREATE TABLE runs(
  id INTEGER PRIMARY KEY, command TEXT NOT NULL, started_at INTEGER NOT NULL,
  finished_at INTEGER, status TEXT, summary TEXT);
CREATE TABLE health_checks(
  connector TEXT NOT NULL, checked_at INTEGER NOT NULL, class TEXT NOT NULL, evidence TEXT NOT NULL);
CREATE TABLE dead_letters(
  id INTEGER PRIMARY KEY, connector TEXT NOT NULL, record_id TEXT NOT NULL, received_at INTEGER NOT NULL,
  error TEXT NOT NULL, raw BLOB NOT NULL);
)sql",
    // 2: change tracking. Every write that changes a row stamps it with a new store revision, so a sync
    // re-merges only the persons touched since a target's last push and skips an unchanged reconcile.
    // Revisions only grow, so the *_by_rev indexes are appended to, never written at random.
    // The other indexes serve per-person reads (`persons show`, pushing a few changed persons).
    R"sql(
ALTER TABLE messages ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE persons ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
CREATE INDEX messages_by_rev ON messages(rev);
CREATE INDEX conversations_by_customer ON conversations(customer);
CREATE INDEX contacts_by_rev ON contacts(rev);
CREATE INDEX persons_by_rev ON persons(rev);
CREATE INDEX messages_by_conversation ON messages(connector, conversation);
CREATE INDEX person_handles_by_person ON person_handles(person_id);
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
)sql",
    // 3: streams. A connector may have several streams (mailboxes, history + webhooks) and play several
    // roles; cursors, pull figures, dead letters and health are kept per (connector, stream). Until now
    // every connector had one role, so its cursor and dead letters belong to the stream named after
    // that role: "contacts" for a CRM (its records are contacts; its finished cursor's "since" is a
    // number of ms), "conversations" otherwise.
    R"sql(
CREATE TABLE streams(
  connector TEXT NOT NULL, stream TEXT NOT NULL, cursor TEXT NOT NULL DEFAULT '',
  updated_at INTEGER NOT NULL DEFAULT 0, last_pull_at INTEGER NOT NULL DEFAULT 0,
  pages INTEGER NOT NULL DEFAULT 0, requests INTEGER NOT NULL DEFAULT 0, received INTEGER NOT NULL DEFAULT 0,
  written INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '',
  error_code TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(connector, stream)) WITHOUT ROWID;
CREATE TEMP TABLE legacy_role AS
  SELECT connector, min(CASE
    WHEN EXISTS(SELECT 1 FROM contacts c WHERE c.connector = k.connector) THEN 'contacts'
    WHEN (CASE WHEN json_valid(k.cursor) THEN json_type(k.cursor, '$.since') END) = 'integer' THEN 'contacts'
    ELSE 'conversations' END) AS stream
  FROM (SELECT connector, cursor FROM cursors UNION ALL SELECT connector, '' FROM dead_letters) k
  GROUP BY connector;
INSERT INTO streams(connector, stream, cursor, updated_at)
  SELECT c.connector, r.stream, c.cursor, c.updated_at FROM cursors c JOIN legacy_role r USING(connector);
DROP TABLE cursors;
ALTER TABLE dead_letters ADD COLUMN stream TEXT NOT NULL DEFAULT '';
UPDATE dead_letters SET stream = (SELECT stream FROM legacy_role r WHERE r.connector = dead_letters.connector);
DROP TABLE legacy_role;
ALTER TABLE health_checks ADD COLUMN stream TEXT NOT NULL DEFAULT '';
CREATE INDEX health_checks_by_connector ON health_checks(connector, checked_at);
)sql",
    // 4: push diagnostics. The ledger keeps a per-field fingerprint of what each target got (push
    // --dry-run -v names the changed fields); push_failures counts the consecutive pushes a target
    // refused a person, so one it keeps refusing is parked instead of holding back the target's mark.
    R"sql(
ALTER TABLE push_ledger ADD COLUMN fields TEXT NOT NULL DEFAULT '';
CREATE TABLE push_failures(
  target TEXT NOT NULL, person_id TEXT NOT NULL, hash TEXT NOT NULL, runs INTEGER NOT NULL,
  first_at INTEGER NOT NULL, last_at INTEGER NOT NULL, error TEXT NOT NULL,
  PRIMARY KEY(target, person_id)) WITHOUT ROWID;
)sql",
    // 5: timeline entries gain a kind (message, call, handoff, event), a delivery status updated in
    // place (never backwards: see status_rank) and attachments (JSON text, '' for none); a
    // conversation keeps the vendor's name for its customer (Messenger name, Instagram username).
    // The defaults are what every earlier row meant.
    R"sql(
ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'message';
ALTER TABLE messages ADD COLUMN status TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN attachments TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN customer_name TEXT NOT NULL DEFAULT '';
)sql",
    // 6: a conversation keeps the other handles its vendor says are the same customer (JSON handles,
    // '' for none; reconcile joins them); a stream keeps the last problem the vendor reported inside
    // its data (WhatsApp's webhook errors) for health.
    R"sql(
ALTER TABLE conversations ADD COLUMN customer_links TEXT NOT NULL DEFAULT '';
ALTER TABLE streams ADD COLUMN notice TEXT NOT NULL DEFAULT '';
)sql",
    // 7: identity people can explain and undo. A node remembers when it was first assigned (a split
    // leaves the person id with the side holding the oldest node; 0 = before this version). The
    // decision journal keeps merges and splits people made, with the nodes each side had, until
    // undone. A conflict says whether a handle is shared or a union was refused. Tombstones are
    // salted digests of erased handles and records, so a later pull does not bring them back.
    R"sql(
ALTER TABLE person_handles ADD COLUMN since INTEGER NOT NULL DEFAULT 0;
CREATE TABLE identity_decisions(
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, made_at INTEGER NOT NULL, reason TEXT NOT NULL,
  a_id TEXT NOT NULL, b_id TEXT NOT NULL, a_nodes TEXT NOT NULL, b_nodes TEXT NOT NULL,
  undone_at INTEGER, undo_note TEXT NOT NULL DEFAULT '');
CREATE TABLE tombstones(digest TEXT PRIMARY KEY, erased_at INTEGER NOT NULL) WITHOUT ROWID;
)sql",
    // 8: a contact keeps the attributes its CRM or export carries (birth date, postal code, city,
    // street; JSON text, '' for none: see attributes_to_json), which only feed identity suggestions.
    R"sql(
ALTER TABLE contacts ADD COLUMN attributes TEXT NOT NULL DEFAULT '';
)sql",
    // 9: health history. Every `chansync health` run is a row; each check names its run and keeps the
    // class its signals gave (observed) beside the class reported, which differs while a connector
    // that was failing is recovering. '' = before this version: the reported class is the observed.
    R"sql(
CREATE TABLE health_runs(
  id INTEGER PRIMARY KEY, started_at INTEGER NOT NULL, status TEXT NOT NULL, exit_code INTEGER NOT NULL,
  checks INTEGER NOT NULL, offline INTEGER NOT NULL DEFAULT 0);
ALTER TABLE health_checks ADD COLUMN run_id INTEGER;
ALTER TABLE health_checks ADD COLUMN observed TEXT NOT NULL DEFAULT '';
CREATE INDEX health_checks_by_stream ON health_checks(connector, stream, checked_at);
CREATE INDEX health_checks_by_time ON health_checks(checked_at);
)sql",
    // 10: when each stream's last pull that completed ended, beside its last pull whatever the outcome
    // (for "no successful pull since" alerts). A completed last pull before this version counts.
    R"sql(
ALTER TABLE streams ADD COLUMN last_ok_at INTEGER NOT NULL DEFAULT 0;
UPDATE streams SET last_ok_at = last_pull_at WHERE error = '';
)sql",
    // 11: health reads each channel's inbound messages by time (silence) on every check.
    R"sql(
CREATE INDEX messages_inbound ON messages(connector, direction, channel, sent_at);
)sql",
    // 12: how many records each of a stream's last completed pulls received (the newest 64), so
    // health can tell a stream whose pulls stopped returning records from one that is usually empty.
    R"sql(
CREATE TABLE pull_history(
  connector TEXT NOT NULL, stream TEXT NOT NULL, ended_at INTEGER NOT NULL, received INTEGER NOT NULL,
  PRIMARY KEY(connector, stream, ended_at)) WITHOUT ROWID;
)sql",
    // 13: a conversation row carries the revision that last changed it, so reconcile's append-only
    // path reads only the conversations written since the last reconcile. Rows from before count as
    // written now: a reconcile that has not seen them yet still finds them.
    R"sql(
ALTER TABLE conversations ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET rev = coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'rev'), 0);
CREATE INDEX conversations_by_rev ON conversations(rev);
)sql",
    // 14: health reads inbound messages alone, so their index holds nothing else: half the entries to
    // build after a first pull and to keep on every write. `direction` stays in it (constant there) so
    // the reads are covered by the index. A first pull under way (bulk_load.cpp) dropped the old one.
    R"sql(
DROP INDEX IF EXISTS messages_inbound;
CREATE INDEX messages_inbound ON messages(connector, channel, sent_at, direction) WHERE direction = 'inbound';
)sql",
    // 15: a message's (connector, id) is unique by an index of its own instead of the table's primary
    // key, so that a first pull (bulk_load.cpp) can leave it out like the others and build it once at
    // the end: a vendor's ids are random, and keeping their index while 1M rows arrive cost as much as
    // writing the rows. Rowids are kept (a pass over messages reads them in that order). The rows a
    // bulk load wrote as receipts are listed in bulk_load_receipts until it ends.
    R"sql(
CREATE TABLE messages_v15(
  connector TEXT NOT NULL, id TEXT NOT NULL, conversation TEXT NOT NULL, channel TEXT NOT NULL,
  direction TEXT NOT NULL, author_kind TEXT NOT NULL, author_handle TEXT NOT NULL,
  sent_at INTEGER NOT NULL, text TEXT NOT NULL, rev INTEGER NOT NULL DEFAULT 0,
  kind TEXT NOT NULL DEFAULT 'message', status TEXT NOT NULL DEFAULT '', attachments TEXT NOT NULL DEFAULT '');
INSERT INTO messages_v15(rowid, connector, id, conversation, channel, direction, author_kind, author_handle, sent_at,
                         text, rev, kind, status, attachments)
  SELECT rowid, connector, id, conversation, channel, direction, author_kind, author_handle, sent_at, text, rev, kind,
         status, attachments FROM messages;
DROP TABLE messages;
ALTER TABLE messages_v15 RENAME TO messages;
CREATE UNIQUE INDEX messages_by_id ON messages(connector, id);
CREATE INDEX messages_by_conversation ON messages(connector, conversation);
CREATE INDEX messages_by_rev ON messages(rev);
CREATE INDEX messages_inbound ON messages(connector, channel, sent_at, direction) WHERE direction = 'inbound';
CREATE TABLE bulk_load_receipts(row INTEGER PRIMARY KEY);
)sql",
    // 16: a message names its conversation by the conversation's integer key, not by its vendor id
    // again: a vendor's conversation ids are 30-odd characters, repeated in every message and in
    // messages_by_conversation. A first pull of 200k messages made a store of 48 MB instead of
    // 61 MB, and built that index in less than half the time. A message whose conversation has no row
    // (none should) gets an empty one: it stays no one's, as it was. Its indexes are made after
    // this step (k_message_indexes_16), or by end_bulk_load when a first pull is under way.
    R"sql(
CREATE TABLE conversations_v16(
  key INTEGER PRIMARY KEY, connector TEXT NOT NULL, id TEXT NOT NULL, channel TEXT NOT NULL,
  customer TEXT NOT NULL, customer_verified INTEGER NOT NULL, business TEXT NOT NULL,
  customer_name TEXT NOT NULL DEFAULT '', customer_links TEXT NOT NULL DEFAULT '', rev INTEGER NOT NULL DEFAULT 0);
INSERT INTO conversations_v16(connector, id, channel, customer, customer_verified, business, customer_name,
                              customer_links, rev)
  SELECT connector, id, channel, customer, customer_verified, business, customer_name, customer_links, rev
  FROM conversations ORDER BY connector, id;
INSERT INTO conversations_v16(connector, id, channel, customer, customer_verified, business, rev)
  SELECT connector, conversation, min(channel), '', 0, '', max(rev) FROM messages m
  WHERE NOT EXISTS(SELECT 1 FROM conversations c WHERE c.connector = m.connector AND c.id = m.conversation)
  GROUP BY connector, conversation;
DROP TABLE conversations;
ALTER TABLE conversations_v16 RENAME TO conversations;
CREATE UNIQUE INDEX conversations_by_id ON conversations(connector, id);
CREATE INDEX conversations_by_customer ON conversations(customer);
CREATE INDEX conversations_by_rev ON conversations(rev);
CREATE TABLE messages_v16(
  connector TEXT NOT NULL, id TEXT NOT NULL, conversation INTEGER NOT NULL, channel TEXT NOT NULL,
  direction TEXT NOT NULL, author_kind TEXT NOT NULL, author_handle TEXT NOT NULL,
  sent_at INTEGER NOT NULL, text TEXT NOT NULL, rev INTEGER NOT NULL DEFAULT 0,
  kind TEXT NOT NULL DEFAULT 'message', status TEXT NOT NULL DEFAULT '', attachments TEXT NOT NULL DEFAULT '');
INSERT INTO messages_v16(rowid, connector, id, conversation, channel, direction, author_kind, author_handle, sent_at,
                         text, rev, kind, status, attachments)
  SELECT m.rowid, m.connector, m.id, c.key, m.channel, m.direction, m.author_kind, m.author_handle, m.sent_at, m.text,
         m.rev, m.kind, m.status, m.attachments
  FROM messages m NOT INDEXED CROSS JOIN conversations c ON c.connector = m.connector AND c.id = m.conversation;
DROP TABLE messages;
ALTER TABLE messages_v16 RENAME TO messages;
)sql",
    // 17: the index of person_handles by person holds a row's whole content (node, the key, and
    // verified) in node order within a person, as before: the pass that loads every person for a push
    // read `verified` from the table, one key lookup per handle at random, which at 1M messages
    // (140k handles) took 0.12 s against 0.03 s covered, and grew faster than the store (0.01 s at 200k).
    R"sql(
DROP INDEX IF EXISTS person_handles_by_person;
CREATE INDEX person_handles_by_person ON person_handles(person_id, node, verified);
)sql",
    // 18: a record each pull reads again (Twilio's newest day, a file ingested twice) is one dead
    // letter, not one more per pull: the first is kept, and the index finds it.
    R"sql(
CREATE INDEX dead_letters_by_record ON dead_letters(connector, stream, record_id, error);
DELETE FROM dead_letters AS d WHERE EXISTS(SELECT 1 FROM dead_letters e WHERE e.connector = d.connector AND
  e.stream = d.stream AND e.record_id = d.record_id AND e.error = d.error AND e.raw = d.raw AND e.id < d.id);
)sql",
    // 19: persons sent to a target that did not (yet) confirm them: killed before the answer was
    // recorded, or a failure after the target had acted. Such a person may be on the target, so once
    // gone (merged away) it is deleted there like a confirmed one.
    R"sql(
CREATE TABLE push_sent(target TEXT NOT NULL, person_id TEXT NOT NULL, sent_at INTEGER NOT NULL,
  PRIMARY KEY(target, person_id)) WITHOUT ROWID;
)sql",
    // 20: persons `chansync erase` took out, until each target confirms their deletion: a target that
    // can delete for good (HubSpot's GDPR delete) does so for them instead of a restorable archive.
    R"sql(
ALTER TABLE push_ledger ADD COLUMN erased INTEGER NOT NULL DEFAULT 0;
ALTER TABLE push_sent ADD COLUMN erased INTEGER NOT NULL DEFAULT 0;
)sql",
    // 21: receipts naming no message (Messenger's read and delivery watermarks) that came while a bulk
    // load had left out messages_by_conversation: applied, in arrival order, when the load ends.
    R"sql(
CREATE TABLE bulk_load_watermarks(connector TEXT NOT NULL, customer TEXT NOT NULL, status TEXT NOT NULL,
  at INTEGER NOT NULL, rev INTEGER NOT NULL);
)sql"};

// The indexes of messages since schema 16, by name (bulk_load.cpp saves and rebuilds them the same way).
constexpr std::array<std::pair<const char*, const char*>, 4> k_message_indexes_16 = {{
    {"messages_by_id", "CREATE UNIQUE INDEX messages_by_id ON messages(connector, id)"},
    {"messages_by_conversation", "CREATE INDEX messages_by_conversation ON messages(conversation)"},
    {"messages_by_rev", "CREATE INDEX messages_by_rev ON messages(rev)"},
    {"messages_inbound",
     "CREATE INDEX messages_inbound ON messages(connector, channel, sent_at, direction) WHERE direction = 'inbound'"},
}};

// chansync_later_status(stored, incoming): later_status() for SQL, so the upsert that rewrites a
// changed message keeps the one status order the model defines.
void later_status_sql(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const auto text = [](sqlite3_value* v) {
    const auto* p = sqlite3_value_text(v);
    return p ? std::string_view(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_value_bytes(v)))
             : std::string_view();
  };
  const auto out = later_status(text(argv[0]), text(argv[1]));
  sqlite3_result_text(ctx, out.data(), static_cast<int>(out.size()), SQLITE_TRANSIENT);
}

// `create`: make the file (and its directory) when missing.
SQLite::Database open_db(const std::string& path, bool create = true) {
  if (path != ":memory:" && create) {
    const auto dir = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec)
      throw Failure(Errc::cant_write, fmt::format("cannot create the state store's directory {}: {}; check the path "
                                                  "([state] path, --state) and its parent's permissions",
                                                  dir.string(), ec.message()));
    // The store holds customers' messages: a new one is readable by its owner alone. SQLite makes
    // the -wal and -shm files with the store's permissions. An empty file is an empty database.
    if (const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600); fd >= 0) ::close(fd);
  }
  // SQLite's allocation statistics take a global mutex on every allocation; chansync never reads them
  // (SQLite recommends this off for speed). It must be set before SQLite initialises: later, it fails
  // harmlessly with SQLITE_MISUSE.
  static const int no_memstatus = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)no_memstatus;
  try {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | (create ? SQLite::OPEN_CREATE : 0) | SQLite::OPEN_NOMUTEX);
    db.setBusyTimeout(5000);
    return db;
  } catch (const SQLite::Exception& e) {
    throw storage_failure(e, path, "opening it");
  }
}

}  // namespace

StateStore::StateStore(const std::string& path) : m_path(path), m_db(open_db(path)) {
  set_up(false);
}

StateStore::StateStore(const std::string& path, BesideWriter) : m_path(path), m_db(open_db(path, false)) {
  set_up(true);
}

void StateStore::set_up(bool beside_writer) {
  const std::string& path = m_path;
  try {
    // Another program's SQLite database is not taken over (the pragmas below would already change
    // it): a store has a schema version, and a new file has no tables. One statement, one snapshot,
    // so a store another chansync is creating right now is not mistaken for a foreign one.
    {
      SQLite::Statement q(m_db, "SELECT (SELECT user_version FROM pragma_user_version), count(*) FROM sqlite_master");
      q.executeStep();
      if (q.getColumn(0).getInt() == 0 && q.getColumn(1).getInt() > 0)
        throw Failure(Errc::state, fmt::format("{} is an SQLite database of another program (it has tables but no "
                                               "chansync schema version); it was left as it is: point [state] path "
                                               "or --state at a new file",
                                               path));
      // Beside the lock holder nothing is set up or upgraded: the holder did that, or will.
      if (beside_writer && q.getColumn(0).getInt() < static_cast<int>(k_migrations.size()))
        throw Failure(Errc::locked,
                      q.getColumn(1).getInt() == 0
                          ? std::string("it is being made")
                          : fmt::format("it has schema version {}, which this chansync reads only after upgrading it "
                                        "to {} under the lock",
                                        q.getColumn(0).getInt(), k_migrations.size()));
      // Nor is a newer chansync's store touched (its journal mode, its pragmas).
      refuse_newer(q.getColumn(0).getInt());
    }
    if (!beside_writer) set_up_file();
    m_db.exec("PRAGMA foreign_keys = ON");
    // 16 MiB. The operating system caches the file too, so a bigger cache only moved memory: at 1M
    // messages a 64 MiB one made the first pull no faster (17.4–18.8 s against 17.1–20.7 s; it spent
    // half the system time) nor push --full (12.9–13.7 s against 12.2–12.9 s), and added 50 MB to
    // each and to an incremental sync (108 MB against 58 MB).
    m_db.exec("PRAGMA cache_size = -16384");
    m_db.createFunction("chansync_later_status", 2, true, nullptr, later_status_sql);
    // Migrations that build indexes of a large table sort in temporary files, not in memory.
    if (!beside_writer) migrate();
    m_db.exec("PRAGMA temp_store = MEMORY");
    m_records = std::make_unique<RecordStore>(*this);
    m_identity = std::make_unique<IdentityStore>(*this);
    m_ledger = std::make_unique<PushLedger>(*this);
    m_runs = std::make_unique<RunLog>(*this);
    m_decisions = std::make_unique<DecisionJournal>(*this);
  } catch (const Failure&) {
    throw;
  } catch (const SQLite::Exception& e) {
    const int code = e.getErrorCode() & 0xff;
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT || code == SQLITE_ERROR)
      throw Failure(Errc::state, fmt::format("state store {} is not usable: {}; if it is not a chansync state "
                                             "file, point [state] path or --state elsewhere",
                                             path, e.what()));
    throw storage_failure(e, path, "preparing it");
  }
}

void StateStore::set_up_file() {
  // 16 KiB pages for a new store (an existing one keeps its own: the size is fixed once a table is
  // made, and WAL mode fixes it too, so this comes first). A store is read and written mostly in
  // runs of rows and whole-index sorts: at a million messages, fewer and fuller pages made a first
  // pull's writes 9% and its index builds 20% faster than SQLite's default 4 KiB (sqlite3 .import
  // and CREATE INDEX of the same rows: 2.89 → 2.63 s and 3.1 → 2.5 s; 8 KiB and 64 KiB gained less).
  m_db.exec("PRAGMA page_size = 16384");
  m_db.exec("PRAGMA journal_mode = WAL");
  m_db.exec("PRAGMA synchronous = NORMAL");
  // Deleted rows are overwritten with zeros, not left in free pages: what `chansync erase` deletes
  // must not be readable from the file after. Debian's SQLite is built with this on; others are not.
  m_db.exec("PRAGMA secure_delete = ON");
  // The log is copied into the file once it holds 64 MiB, whatever the page size.
  const int page_size = m_db.execAndGet("PRAGMA page_size").getInt();
  m_db.exec(fmt::format("PRAGMA wal_autocheckpoint = {}", (64 << 20) / std::max(page_size, 512)));
}

StateStore::~StateStore() = default;

int StateStore::schema_version() {
  return m_db.execAndGet("PRAGMA user_version").getInt();
}

void StateStore::refuse_newer(int current) {
  const int target = static_cast<int>(k_migrations.size());
  if (current > target)
    throw Failure(Errc::state, fmt::format("state store {} has schema version {}, newer than this chansync "
                                           "understands ({}); upgrade chansync",
                                           m_path, current, target));
}

void StateStore::migrate() {
  const int current = schema_version();
  const int target = static_cast<int>(k_migrations.size());
  refuse_newer(current);
  // A store made by an older chansync: some steps rewrite a table (15: messages; 16: conversations
  // and messages), a few seconds per million rows, once (16 with the VACUUM below: 11 s at 1M messages).
  if (current > 0 && current < target)
    spdlog::info("upgrading the state store {} from schema version {} to {}", m_path, current, target);
  for (int v = current; v < target; ++v) {
    // IMMEDIATE: the write lock is taken first, and the version read again under it. Another chansync
    // (health needs no state lock) may have opened the same new or older store at the same moment
    // and made this step already.
    SQLite::Transaction tx(m_db, SQLite::TransactionBehavior::IMMEDIATE);
    if (schema_version() > v) {
      tx.commit();
      continue;
    }
    m_db.exec(k_migrations[static_cast<std::size_t>(v)]);
    if (v + 1 == 16) {
      // During a first pull (bulk_load.cpp) the messages may repeat an id, which the unique index
      // refuses: the pull's list of indexes to build is replaced instead, and end_bulk_load builds
      // them (the command that opened the store calls it next).
      nlohmann::json saved = nlohmann::json::array();
      for (const auto& [name, sql] : k_message_indexes_16) saved.push_back({{"name", name}, {"sql", sql}});
      SQLite::Statement pending(m_db, "UPDATE meta SET value = ? WHERE key = 'bulk_load_indexes'");
      pending.bind(1, saved.dump());
      if (pending.exec() == 0)
        for (const auto& index : k_message_indexes_16) m_db.exec(index.second);
    }
    // The space step 16 frees is given back below, also by a later run when this one is killed
    // before: the note is committed with the step.
    if (v + 1 == 16 && current > 0)
      m_db.exec(
          "INSERT INTO meta(key, value) VALUES('vacuum_pending', '1') "
          "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    m_db.exec(fmt::format("PRAGMA user_version = {}", v + 1));
    tx.commit();
  }
  // The rewritten tables' old pages are left free in the file, which would stay larger than before the
  // upgrade (1M messages: 440 MB, against 311 MB before and 247 MB vacuumed, which took about 4 s).
  // Without it the store works the same, and new rows reuse the pages.
  if (meta("vacuum_pending")) {
    try {
      m_db.exec("VACUUM");
      m_db.exec("DELETE FROM meta WHERE key = 'vacuum_pending'");
    } catch (const SQLite::Exception& e) {
      spdlog::warn(
          "state store {}: giving back the space the upgrade freed failed ({}); the store works as it "
          "is, and new rows reuse that space. `sqlite3 {} VACUUM` gives it back, with free space "
          "for a copy of the store in its directory and in the temporary directory",
          m_path, e.what(), m_path);
    }
  }
}

std::map<std::string, std::int64_t> StateStore::counts() {
  std::map<std::string, std::int64_t> out;
  for (const char* table : {"messages", "conversations", "contacts", "persons", "person_aliases", "identity_conflicts",
                            "identity_decisions", "dead_letters", "push_ledger", "push_failures", "runs"})
    out[table] = count(table);
  return out;
}

std::int64_t StateStore::count(const char* table) {
  return m_db.execAndGet(fmt::format("SELECT count(*) FROM {}", table)).getInt64();
}

std::optional<std::string> StateStore::meta(const std::string& key) {
  SQLite::Statement q(m_db, "SELECT value FROM meta WHERE key = ?");
  q.bind(1, key);
  if (!q.executeStep()) return std::nullopt;
  return q.getColumn(0).getString();
}

void StateStore::set_meta(const std::string& key, const std::string& value) {
  SQLite::Statement st(
      m_db, "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  st.bind(1, key);
  st.bind(2, value);
  st.exec();
}

std::int64_t StateStore::revision() {
  const auto v = meta("rev");
  return v ? std::stoll(*v) : 0;
}

std::int64_t StateStore::identity_input_revision() {
  const auto v = meta("identity_input_rev");
  return v ? std::stoll(*v) : 0;
}

std::int64_t StateStore::persons_revision() {
  // A store from before it was kept: persons may have changed at any revision (push's deletion pass
  // then runs as it always did, until the next reconcile that changes persons sets it).
  const auto v = meta("persons_rev");
  return v ? std::stoll(*v) : revision();
}

std::int64_t StateStore::identity_shape_revision() {
  // A store from before it was kept: any input change may have been one.
  const auto v = meta("identity_shape_rev");
  return v ? std::stoll(*v) : identity_input_revision();
}

void StateStore::set_identity_input_revision(std::int64_t rev, bool new_customers_only) {
  if (!new_customers_only)
    set_meta("identity_shape_rev", std::to_string(rev));
  else if (!meta("identity_shape_rev"))  // from here on it is kept: until now, it is the input revision
    set_meta("identity_shape_rev", std::to_string(identity_input_revision()));
  set_meta("identity_input_rev", std::to_string(rev));
}

void StateStore::set_persons_revision(std::int64_t rev) {
  set_meta("persons_rev", std::to_string(rev));
}

namespace {

// Under 1 MiB left for this user on the store's filesystem. SQLite reports a write into a full disk
// as SQLITE_FULL, but failing to make or grow its -wal and -shm files as an I/O error.
bool no_space_left(const std::string& path) {
  struct statvfs v {};
  const auto dir = std::filesystem::path(path).parent_path();
  if (::statvfs(dir.empty() ? "." : dir.c_str(), &v) != 0) return false;
  return static_cast<unsigned long long>(v.f_bavail) * v.f_frsize < (1ULL << 20);
}

}  // namespace

Failure storage_failure(const SQLite::Exception& e, const std::string& path, const std::string& doing) {
  int code = e.getErrorCode() & 0xff;  // the primary result code
  if (code == SQLITE_IOERR && no_space_left(path)) code = SQLITE_FULL;
  switch (code) {
    case SQLITE_FULL:
      return Failure(Errc::io, fmt::format("state store {}: the disk is full while {} ({}); nothing of the "
                                           "interrupted step was kept. Free space on that filesystem (or move "
                                           "[state] path) and run again: it resumes where it stopped",
                                           path, doing, e.what()));
    case SQLITE_IOERR:
      return Failure(Errc::io, fmt::format("state store {}: I/O error while {} ({}); check the disk and the "
                                           "filesystem (dmesg), then run again: committed pages are kept",
                                           path, doing, e.what()));
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      return Failure(Errc::cant_write, fmt::format("state store {} cannot be written while {} ({}); check that "
                                                   "the file and its directory are writable by this user and "
                                                   "not on a read-only mount, or point [state] path elsewhere",
                                                   path, doing, e.what()));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Failure(Errc::locked, fmt::format("state store {} is busy (another process holds it) while {}; run "
                                               "again when it has finished",
                                               path, doing));
    default:
      return Failure(Errc::state, fmt::format("state store {}: {} failed: {}; if the store is damaged (`sqlite3 {} "
                                              "'PRAGMA quick_check'` reports errors), restore a backup, or move it "
                                              "aside and pull again",
                                              path, doing, e.what(), path));
  }
}

}  // namespace chansync
