#include "sync/state_ledger.hpp"

#include <fmt/format.h>

#include <optional>

#include "sync/state_store.hpp"

namespace chansync {
namespace {

// Forgets the rows of persons a target has taken (or deleted) in a table keyed by (target,
// person_id), with one statement prepared for a whole batch, and none when the table holds nothing
// of the target (the usual case).
class Eraser {
 public:
  Eraser(SQLite::Database& db, const std::string& target, const char* table) : m_target(target) {
    SQLite::Statement any(db, fmt::format("SELECT EXISTS(SELECT 1 FROM {} WHERE target = ?)", table));
    any.bind(1, target);
    if (any.executeStep() && any.getColumn(0).getInt() != 0)
      m_st.emplace(db, fmt::format("DELETE FROM {} WHERE target = ? AND person_id = ?", table));
  }
  void operator()(const std::string& person_id) {
    if (!m_st) return;
    m_st->bind(1, m_target);
    m_st->bind(2, person_id);
    m_st->exec();
    m_st->reset();
  }

 private:
  const std::string& m_target;
  std::optional<SQLite::Statement> m_st;
};

struct FailureEraser : Eraser {
  FailureEraser(SQLite::Database& db, const std::string& target) : Eraser(db, target, "push_failures") {}
};
struct SentEraser : Eraser {
  SentEraser(SQLite::Database& db, const std::string& target) : Eraser(db, target, "push_sent") {}
};

PushFailure failure_row(SQLite::Statement& q, int first) {
  return {q.getColumn(first).getString(),    q.getColumn(first + 1).getString(), q.getColumn(first + 2).getInt(),
          q.getColumn(first + 3).getInt64(), q.getColumn(first + 4).getInt64(),  q.getColumn(first + 5).getString()};
}

// A target's ledger entries by person id; `condition` narrows them (SQL after the WHERE, "" for all).
std::map<std::string, PushLedgerEntry> entries_where(SQLite::Database& db, const std::string& target,
                                                     const char* condition) {
  std::map<std::string, PushLedgerEntry> out;
  SQLite::Statement q(db, fmt::format("SELECT person_id, hash, remote_id, fields, pushed_at, erased FROM push_ledger l "
                                      "WHERE target = ? {}",
                                      condition));
  q.bind(1, target);
  while (q.executeStep()) {
    std::string id = q.getColumn(0).getString();
    out.emplace(id,
                PushLedgerEntry{id, q.getColumn(1).getString(), q.getColumn(2).getString(), q.getColumn(3).getString(),
                                q.getColumn(4).getInt64(), q.getColumn(5).getInt() != 0});
  }
  return out;
}

}  // namespace

PushLedger::PushLedger(StateStore& store) : m_store(store) {}
PushLedger::~PushLedger() = default;

std::optional<PushLedgerEntry> PushLedger::entry(const std::string& target, const std::string& person_id) {
  if (!m_entry)
    m_entry = std::make_unique<SQLite::Statement>(
        m_store.db(), "SELECT hash, remote_id, fields, pushed_at FROM push_ledger WHERE target = ? AND person_id = ?");
  auto& q = *m_entry;
  q.reset();
  q.bind(1, target);
  q.bind(2, person_id);
  std::optional<PushLedgerEntry> out;
  if (q.executeStep())
    out = PushLedgerEntry{person_id, q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                          q.getColumn(3).getInt64()};
  q.reset();
  return out;
}

std::map<std::string, PushLedgerEntry> PushLedger::entries(const std::string& target) {
  return entries_where(m_store.db(), target, "");
}

std::map<std::string, PushLedgerEntry> PushLedger::orphans(const std::string& target) {
  auto out = entries_where(m_store.db(), target,
                           R"sql(AND NOT EXISTS(SELECT 1 FROM person_handles ph INDEXED BY person_handles_by_person
                                                    WHERE ph.person_id = l.person_id))sql");
  SQLite::Statement q(m_store.db(), R"sql(SELECT person_id, erased FROM push_sent s WHERE target = ?
    AND NOT EXISTS(SELECT 1 FROM person_handles ph INDEXED BY person_handles_by_person WHERE ph.person_id = s.person_id))sql");
  q.bind(1, target);
  while (q.executeStep()) {
    std::string id = q.getColumn(0).getString();
    out.try_emplace(id, PushLedgerEntry{id, "", "", "", 0, q.getColumn(1).getInt() != 0});
  }
  return out;
}

void PushLedger::note_sent(const std::string& target, const std::vector<std::string>& person_ids) {
  if (person_ids.empty()) return;
  SQLite::Transaction tx(m_store.db());
  SQLite::Statement st(m_store.db(), "INSERT OR IGNORE INTO push_sent(target, person_id, sent_at) VALUES(?, ?, ?)");
  const auto now = static_cast<int64_t>(now_ms());
  for (const auto& id : person_ids) {
    st.bind(1, target);
    st.bind(2, id);
    st.bind(3, now);
    st.exec();
    st.reset();
  }
  tx.commit();
}

std::set<std::string> PushLedger::unconfirmed(const std::string& target) {
  std::set<std::string> out;
  SQLite::Statement q(m_store.db(), "SELECT person_id FROM push_sent WHERE target = ?");
  q.bind(1, target);
  while (q.executeStep()) out.insert(q.getColumn(0).getString());
  return out;
}

void PushLedger::record(const std::string& target, const std::vector<PushLedgerEntry>& delivered) {
  if (delivered.empty()) return;
  SQLite::Transaction tx(m_store.db());
  SQLite::Statement st(m_store.db(), R"sql(
    INSERT INTO push_ledger(target, person_id, hash, remote_id, pushed_at, fields) VALUES(?1, ?2, ?3, ?4, ?5, ?6)
    ON CONFLICT(target, person_id) DO UPDATE SET hash = excluded.hash, remote_id = excluded.remote_id,
      pushed_at = excluded.pushed_at, fields = excluded.fields, erased = 0)sql");
  FailureEraser forget_failures(m_store.db(), target);
  SentEraser forget_sent(m_store.db(), target);
  const auto now = static_cast<int64_t>(now_ms());
  for (const auto& e : delivered) {
    st.bind(1, target);
    st.bind(2, e.person_id);
    st.bind(3, e.hash);
    st.bind(4, e.remote_id);
    st.bind(5, now);
    st.bind(6, e.fields);
    st.exec();
    st.reset();
    forget_failures(e.person_id);
    forget_sent(e.person_id);
  }
  tx.commit();
}

void PushLedger::forget(const std::string& target, const std::vector<std::string>& person_ids) {
  if (person_ids.empty()) return;
  SQLite::Transaction tx(m_store.db());
  SQLite::Statement st(m_store.db(), "DELETE FROM push_ledger WHERE target = ? AND person_id = ?");
  FailureEraser forget_failures(m_store.db(), target);
  SentEraser forget_sent(m_store.db(), target);
  for (const auto& id : person_ids) {
    st.bind(1, target);
    st.bind(2, id);
    st.exec();
    st.reset();
    forget_failures(id);
    forget_sent(id);
  }
  tx.commit();
}

std::map<std::string, PushFailure> PushLedger::failures(const std::string& target) {
  std::map<std::string, PushFailure> out;
  SQLite::Statement q(m_store.db(),
                      "SELECT person_id, hash, runs, first_at, last_at, error FROM push_failures WHERE target = ?");
  q.bind(1, target);
  while (q.executeStep()) {
    auto f = failure_row(q, 0);
    out.emplace(f.person_id, std::move(f));
  }
  return out;
}

void PushLedger::record_failures(const std::string& target, const std::vector<PushFailure>& refused) {
  if (refused.empty()) return;
  SQLite::Transaction tx(m_store.db());
  SQLite::Statement st(m_store.db(), R"sql(
    INSERT INTO push_failures(target, person_id, hash, runs, first_at, last_at, error) VALUES(?1, ?2, ?3, 1, ?4, ?4, ?5)
    ON CONFLICT(target, person_id) DO UPDATE SET
      runs = CASE WHEN hash = excluded.hash THEN runs + 1 ELSE 1 END,
      first_at = CASE WHEN hash = excluded.hash THEN first_at ELSE excluded.first_at END,
      hash = excluded.hash, last_at = excluded.last_at, error = excluded.error)sql");
  const auto now = static_cast<int64_t>(now_ms());
  for (const auto& f : refused) {
    st.bind(1, target);
    st.bind(2, f.person_id);
    st.bind(3, f.hash);
    st.bind(4, now);
    st.bind(5, f.error);
    st.exec();
    st.reset();
  }
  tx.commit();
}

std::vector<std::pair<std::string, PushFailure>> PushLedger::parked() {
  std::vector<std::pair<std::string, PushFailure>> out;
  SQLite::Statement q(m_store.db(), R"sql(
    SELECT target, person_id, hash, runs, first_at, last_at, error FROM push_failures WHERE runs >= ?
    ORDER BY target, person_id)sql");
  q.bind(1, k_park_after);
  while (q.executeStep()) out.emplace_back(q.getColumn(0).getString(), failure_row(q, 1));
  return out;
}

std::optional<std::int64_t> PushLedger::mark(const std::string& target) {
  if (auto v = m_store.meta("pushed:" + target)) return std::stoll(*v);
  return std::nullopt;
}

void PushLedger::set_mark(const std::string& target, std::int64_t revision) {
  m_store.set_meta("pushed:" + target, std::to_string(revision));
}

}  // namespace chansync
