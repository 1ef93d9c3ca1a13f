#include "sync/state_store.hpp"

#include <fmt/format.h>

#include <array>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "sync/error.hpp"

namespace chansync {
namespace {

// Migrations by PRAGMA user_version: entry i moves the schema from version i to i+1. Append only.
constexpr std::array<const char*, 2> k_migrations = {
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
)sql"};

SQLite::Database open_db(const std::string& path) {
  try {
    if (path != ":memory:") {
      const auto dir = std::filesystem::path(path).parent_path();
      if (!dir.empty()) std::filesystem::create_directories(dir);
    }
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX);
    db.setBusyTimeout(5000);
    return db;
  } catch (const std::exception& e) {
    throw Failure(Errc::state, fmt::format("cannot open state store {}: {}; check the path ([state] path, "
                                           "--state) and its directory's permissions",
                                           path, e.what()));
  }
}

}  // namespace

struct StateStore::Statements {
  SQLite::Statement upsert_conversation, upsert_message, upsert_contact, save_cursor, dead_letter;
  explicit Statements(SQLite::Database& db)
      : upsert_conversation(db, R"sql(
          INSERT INTO conversations(connector, id, channel, customer, customer_verified, business)
          VALUES(?1, ?2, ?3, ?4, ?5, ?6)
          ON CONFLICT(connector, id) DO UPDATE SET channel = excluded.channel, customer = excluded.customer,
            customer_verified = excluded.customer_verified, business = excluded.business
          WHERE (channel, customer, customer_verified, business) IS NOT
                (excluded.channel, excluded.customer, excluded.customer_verified, excluded.business))sql"),
        upsert_message(db, R"sql(
          INSERT INTO messages(connector, id, conversation, channel, direction, author_kind, author_handle,
                               sent_at, text, rev)
          VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
          ON CONFLICT(connector, id) DO UPDATE SET conversation = excluded.conversation,
            channel = excluded.channel, direction = excluded.direction, author_kind = excluded.author_kind,
            author_handle = excluded.author_handle, sent_at = excluded.sent_at, text = excluded.text,
            rev = excluded.rev
          WHERE (conversation, channel, direction, author_kind, author_handle, sent_at, text) IS NOT
                (excluded.conversation, excluded.channel, excluded.direction, excluded.author_kind,
                 excluded.author_handle, excluded.sent_at, excluded.text))sql"),
        upsert_contact(db, R"sql(
          INSERT INTO contacts(connector, id, first_name, last_name, handles, archived, updated_at, rev)
          VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
          ON CONFLICT(connector, id) DO UPDATE SET first_name = excluded.first_name,
            last_name = excluded.last_name, handles = excluded.handles, archived = excluded.archived,
            updated_at = excluded.updated_at, rev = excluded.rev
          WHERE (first_name, last_name, handles, archived, updated_at) IS NOT
                (excluded.first_name, excluded.last_name, excluded.handles, excluded.archived,
                 excluded.updated_at))sql"),
        save_cursor(db, R"sql(
          INSERT INTO cursors(connector, cursor, updated_at) VALUES(?1, ?2, ?3)
          ON CONFLICT(connector) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at)sql"),
        dead_letter(db, R"sql(
          INSERT INTO dead_letters(connector, record_id, received_at, error, raw) VALUES(?1, ?2, ?3, ?4, ?5))sql") {}
};

StateStore::StateStore(const std::string& path) : m_db(open_db(path)) {
  try {
    m_db.exec("PRAGMA journal_mode = WAL");
    m_db.exec("PRAGMA synchronous = NORMAL");
    m_db.exec("PRAGMA foreign_keys = ON");
    m_db.exec("PRAGMA cache_size = -65536");  // 64 MiB: bulk page commits stay in memory
    m_db.exec("PRAGMA temp_store = MEMORY");
    m_db.exec("PRAGMA wal_autocheckpoint = 16384");
    migrate();
    m_st = std::make_unique<Statements>(m_db);
  } catch (const Failure&) {
    throw;
  } catch (const std::exception& e) {
    throw Failure(Errc::state, fmt::format("state store {} is not usable: {}; if it is not a chansync state "
                                           "file, point [state] path or --state elsewhere",
                                           path, e.what()));
  }
}

StateStore::~StateStore() = default;

int StateStore::schema_version() {
  return m_db.execAndGet("PRAGMA user_version").getInt();
}

void StateStore::migrate() {
  const int current = schema_version();
  const int target = static_cast<int>(k_migrations.size());
  if (current > target)
    throw Failure(Errc::state, fmt::format("state store schema version {} is newer than this chansync "
                                           "understands ({}); upgrade chansync",
                                           current, target));
  for (int v = current; v < target; ++v) {
    SQLite::Transaction tx(m_db);
    m_db.exec(k_migrations[static_cast<std::size_t>(v)]);
    m_db.exec(fmt::format("PRAGMA user_version = {}", v + 1));
    tx.commit();
  }
}

std::string StateStore::cursor(const std::string& connector) {
  SQLite::Statement q(m_db, "SELECT cursor FROM cursors WHERE connector = ?");
  q.bind(1, connector);
  return q.executeStep() ? q.getColumn(0).getString() : std::string();
}

std::vector<CursorRow> StateStore::cursors() {
  std::vector<CursorRow> out;
  SQLite::Statement q(m_db, "SELECT connector, cursor, updated_at FROM cursors ORDER BY connector");
  while (q.executeStep())
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getInt64()});
  return out;
}

bool StateStore::reset_cursor(const std::string& connector) {
  SQLite::Statement q(m_db, "DELETE FROM cursors WHERE connector = ?");
  q.bind(1, connector);
  return q.exec() > 0;
}

namespace {

void bind_dead_letters(SQLite::Statement& st, const std::string& connector, const std::vector<DeadLetter>& rejects) {
  for (const auto& d : rejects) {
    st.bind(1, connector);
    st.bind(2, d.record_id);
    st.bind(3, static_cast<int64_t>(now_ms()));
    st.bind(4, d.error);
    st.bind(5, d.raw.data(), static_cast<int>(d.raw.size()));
    st.exec();
    st.reset();
  }
}

std::string handles_json(const std::vector<Handle>& handles) {
  return nlohmann::json(handles).dump();
}

}  // namespace

PageStats StateStore::commit_conversations(const std::string& connector, const std::vector<Conversation>& page,
                                           const std::vector<DeadLetter>& rejects, const std::string& next_cursor) {
  PageStats stats{0, 0, rejects.size()};
  SQLite::Transaction tx(m_db);
  const std::int64_t rev = revision() + 1;
  auto& cs = m_st->upsert_conversation;
  auto& ms = m_st->upsert_message;
  for (const auto& c : page) {
    cs.bind(1, connector);
    cs.bind(2, c.id);
    cs.bind(3, c.channel);
    cs.bind(4, c.customer.key());
    cs.bind(5, c.customer.verified ? 1 : 0);
    cs.bind(6, c.business);
    stats.written += static_cast<std::size_t>(cs.exec());
    cs.reset();
    for (const auto& m : c.messages) {
      ++stats.received;
      ms.bind(1, connector);
      ms.bind(2, m.id);
      ms.bind(3, m.conversation);
      ms.bind(4, m.channel);
      ms.bind(5, to_string(m.direction));
      ms.bind(6, to_string(m.author_kind));
      ms.bind(7, m.author_handle);
      ms.bind(8, static_cast<int64_t>(m.sent_at));
      ms.bind(9, m.text);
      ms.bind(10, static_cast<int64_t>(rev));
      stats.written += static_cast<std::size_t>(ms.exec());
      ms.reset();
    }
  }
  if (stats.written > 0) set_meta("rev", std::to_string(rev));
  bind_dead_letters(m_st->dead_letter, connector, rejects);
  auto& cur = m_st->save_cursor;
  cur.bind(1, connector);
  cur.bind(2, next_cursor);
  cur.bind(3, static_cast<int64_t>(now_ms()));
  cur.exec();
  cur.reset();
  tx.commit();
  return stats;
}

std::size_t StateStore::upsert_contact(const Contact& c, std::int64_t rev) {
  auto& st = m_st->upsert_contact;
  st.bind(1, c.connector);
  st.bind(2, c.id);
  st.bind(3, c.first_name);
  st.bind(4, c.last_name);
  st.bind(5, handles_json(c.handles));
  st.bind(6, c.archived ? 1 : 0);
  st.bind(7, static_cast<int64_t>(c.updated_at));
  st.bind(8, static_cast<int64_t>(rev));
  const auto n = static_cast<std::size_t>(st.exec());
  st.reset();
  return n;
}

PageStats StateStore::commit_contacts(const std::string& connector, const std::vector<Contact>& page,
                                      const std::vector<DeadLetter>& rejects, const std::string& next_cursor) {
  PageStats stats{page.size(), 0, rejects.size()};
  SQLite::Transaction tx(m_db);
  const std::int64_t rev = revision() + 1;
  for (const auto& c : page) {
    Contact copy = c;
    copy.connector = connector;
    stats.written += upsert_contact(copy, rev);
  }
  if (stats.written > 0) set_meta("rev", std::to_string(rev));
  bind_dead_letters(m_st->dead_letter, connector, rejects);
  auto& cur = m_st->save_cursor;
  cur.bind(1, connector);
  cur.bind(2, next_cursor);
  cur.bind(3, static_cast<int64_t>(now_ms()));
  cur.exec();
  cur.reset();
  tx.commit();
  return stats;
}

std::map<std::string, std::int64_t> StateStore::counts() {
  std::map<std::string, std::int64_t> out;
  for (const char* table : {"messages", "conversations", "contacts", "persons", "person_aliases", "identity_conflicts",
                            "dead_letters", "push_ledger", "runs"})
    out[table] = count(table);
  return out;
}

std::int64_t StateStore::count(const char* table) {
  return m_db.execAndGet(fmt::format("SELECT count(*) FROM {}", table)).getInt64();
}

std::map<std::string, std::string> StateStore::ledger(const std::string& target) {
  std::map<std::string, std::string> out;
  SQLite::Statement q(m_db, "SELECT person_id, hash FROM push_ledger WHERE target = ?");
  q.bind(1, target);
  while (q.executeStep()) out.emplace(q.getColumn(0).getString(), q.getColumn(1).getString());
  return out;
}

void StateStore::record_push(const std::string& target, const std::vector<PushLedgerEntry>& entries) {
  SQLite::Transaction tx(m_db);
  SQLite::Statement st(m_db, R"sql(
    INSERT INTO push_ledger(target, person_id, hash, remote_id, pushed_at) VALUES(?1, ?2, ?3, ?4, ?5)
    ON CONFLICT(target, person_id) DO UPDATE SET hash = excluded.hash, remote_id = excluded.remote_id,
      pushed_at = excluded.pushed_at)sql");
  const auto now = static_cast<int64_t>(now_ms());
  for (const auto& e : entries) {
    st.bind(1, target);
    st.bind(2, e.person_id);
    st.bind(3, e.hash);
    st.bind(4, e.remote_id);
    st.bind(5, now);
    st.exec();
    st.reset();
  }
  tx.commit();
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

std::int64_t StateStore::begin_run(const std::string& command) {
  SQLite::Statement st(m_db, "INSERT INTO runs(command, started_at) VALUES(?, ?)");
  st.bind(1, command);
  st.bind(2, static_cast<int64_t>(now_ms()));
  st.exec();
  return m_db.getLastInsertRowid();
}

void StateStore::finish_run(std::int64_t run_id, const std::string& status, const std::string& summary_json) {
  SQLite::Statement st(m_db, "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?");
  st.bind(1, static_cast<int64_t>(now_ms()));
  st.bind(2, status);
  st.bind(3, summary_json);
  st.bind(4, static_cast<int64_t>(run_id));
  st.exec();
}

void StateStore::record_health(const HealthRow& row) {
  SQLite::Statement st(m_db, "INSERT INTO health_checks(connector, checked_at, class, evidence) VALUES(?, ?, ?, ?)");
  st.bind(1, row.connector);
  st.bind(2, static_cast<int64_t>(row.checked_at));
  st.bind(3, row.cls);
  st.bind(4, row.evidence_json);
  st.exec();
}

}  // namespace chansync
