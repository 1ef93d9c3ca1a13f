#include "sync/state_runs.hpp"

#include <fmt/format.h>

#include "sync/state_store.hpp"

namespace chansync {

namespace {

// Deletes the rows of `table` (id INTEGER PRIMARY KEY, a time column `at` that grows with the id)
// older than `cutoff`: those before the first that is not. Reading from the first row, that stops
// at the first kept one, so it costs about what it deletes.
void prune_before(SQLite::Database& db, const char* table, const char* at, std::int64_t cutoff) {
  SQLite::Statement st(db, fmt::format("DELETE FROM {0} WHERE id < (SELECT id FROM {0} WHERE {1} >= ? ORDER BY id "
                                       "LIMIT 1)",
                                       table, at));
  st.bind(1, cutoff);
  st.exec();
}

}  // namespace

std::int64_t RunLog::begin(const std::string& command) {
  const auto now = static_cast<std::int64_t>(now_ms());
  SQLite::Transaction tx(m_store.db());
  SQLite::Statement st(m_store.db(), "INSERT INTO runs(command, started_at) VALUES(?, ?)");
  st.bind(1, command);
  st.bind(2, now);
  st.exec();
  const auto id = m_store.db().getLastInsertRowid();
  prune_before(m_store.db(), "runs", "started_at", now - k_history_ms);
  tx.commit();
  return id;
}

void RunLog::finish(std::int64_t run_id, const std::string& status, const std::string& summary_json) {
  SQLite::Statement st(m_store.db(), "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?");
  st.bind(1, static_cast<int64_t>(now_ms()));
  st.bind(2, status);
  st.bind(3, summary_json);
  st.bind(4, static_cast<int64_t>(run_id));
  st.exec();
}

void RunLog::record_health(const HealthRow& row) {
  SQLite::Statement st(m_store.db(), R"sql(INSERT INTO health_checks(connector, stream, checked_at, class, evidence,
    observed, run_id) VALUES(?, ?, ?, ?, ?, ?, ?))sql");
  st.bind(1, row.connector);
  st.bind(2, row.stream);
  st.bind(3, static_cast<int64_t>(row.checked_at));
  st.bind(4, row.cls);
  st.bind(5, row.evidence_json);
  st.bind(6, row.observed);
  if (row.run_id)
    st.bind(7, static_cast<int64_t>(row.run_id));
  else
    st.bind(7);
  st.exec();
}

std::int64_t RunLog::record_health_run(const HealthRun& run, std::vector<HealthRow> rows) {
  SQLite::Transaction tx(m_store.db());
  SQLite::Statement st(m_store.db(),
                       "INSERT INTO health_runs(started_at, status, exit_code, checks, offline) VALUES(?, ?, ?, ?, ?)");
  st.bind(1, static_cast<int64_t>(run.started_at));
  st.bind(2, run.status);
  st.bind(3, run.exit_code);
  st.bind(4, static_cast<int64_t>(rows.size()));
  st.bind(5, run.offline ? 1 : 0);
  st.exec();
  const auto id = m_store.db().getLastInsertRowid();
  for (auto& row : rows) {
    row.run_id = id;
    record_health(row);
  }
  const auto cutoff = static_cast<std::int64_t>(run.started_at) - k_history_ms;
  prune_before(m_store.db(), "health_runs", "started_at", cutoff);
  SQLite::Statement prune(m_store.db(), R"sql(DELETE FROM health_checks WHERE rowid IN
    (SELECT rowid FROM health_checks WHERE checked_at < ? ORDER BY checked_at LIMIT ?))sql");
  prune.bind(1, cutoff);
  prune.bind(2, k_prune_batch);
  prune.exec();
  tx.commit();
  return id;
}

namespace {
constexpr const char* k_health_columns =
    "connector, stream, checked_at, class, evidence, observed, coalesce(run_id, 0)";

HealthRow health_row(SQLite::Statement& q) {
  return {q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getInt64(), q.getColumn(3).getString(),
          q.getColumn(4).getString(), q.getColumn(5).getString(), q.getColumn(6).getInt64()};
}
}  // namespace

std::vector<HealthRow> RunLog::health_of(const std::string& connector, const std::string& stream, std::size_t limit) {
  std::vector<HealthRow> out;
  SQLite::Statement q(m_store.db(), fmt::format(R"sql(SELECT {} FROM health_checks WHERE connector = ? AND stream = ?
    ORDER BY checked_at DESC, rowid DESC LIMIT ?)sql",
                                                k_health_columns));
  q.bind(1, connector);
  q.bind(2, stream);
  q.bind(3, static_cast<int64_t>(limit));
  while (q.executeStep()) out.push_back(health_row(q));
  return out;
}

std::vector<HealthRow> RunLog::health_since(Timestamp from) {
  std::vector<HealthRow> out;
  SQLite::Statement q(m_store.db(), fmt::format(R"sql(
    SELECT {0} FROM health_checks h WHERE checked_at >= ?1
       OR rowid = (SELECT rowid FROM health_checks p WHERE p.connector = h.connector AND p.stream = h.stream
                   AND p.checked_at < ?1 ORDER BY p.checked_at DESC, p.rowid DESC LIMIT 1)
    ORDER BY checked_at, rowid)sql",
                                                k_health_columns));
  q.bind(1, static_cast<int64_t>(from));
  while (q.executeStep()) out.push_back(health_row(q));
  return out;
}

std::vector<HealthRow> RunLog::health(const std::string& connector, std::size_t limit) {
  std::vector<HealthRow> out;
  SQLite::Statement q(m_store.db(), fmt::format(R"sql(SELECT {} FROM health_checks
    WHERE connector = ? ORDER BY checked_at DESC, rowid DESC LIMIT ?)sql",
                                                k_health_columns));
  q.bind(1, connector);
  q.bind(2, static_cast<int64_t>(limit));
  while (q.executeStep()) out.push_back(health_row(q));
  return out;
}

}  // namespace chansync
