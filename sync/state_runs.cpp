#include "sync/state_runs.hpp"

#include "sync/state_store.hpp"

namespace chansync {

std::int64_t RunLog::begin(const std::string& command) {
  SQLite::Statement st(m_store.db(), "INSERT INTO runs(command, started_at) VALUES(?, ?)");
  st.bind(1, command);
  st.bind(2, static_cast<int64_t>(now_ms()));
  st.exec();
  return m_store.db().getLastInsertRowid();
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
  SQLite::Statement st(
      m_store.db(), "INSERT INTO health_checks(connector, stream, checked_at, class, evidence) VALUES(?, ?, ?, ?, ?)");
  st.bind(1, row.connector);
  st.bind(2, row.stream);
  st.bind(3, static_cast<int64_t>(row.checked_at));
  st.bind(4, row.cls);
  st.bind(5, row.evidence_json);
  st.exec();
}

std::vector<HealthRow> RunLog::health(const std::string& connector, std::size_t limit) {
  std::vector<HealthRow> out;
  SQLite::Statement q(m_store.db(), R"sql(SELECT connector, stream, checked_at, class, evidence FROM health_checks
    WHERE connector = ? ORDER BY checked_at DESC, rowid DESC LIMIT ?)sql");
  q.bind(1, connector);
  q.bind(2, static_cast<int64_t>(limit));
  while (q.executeStep())
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getInt64(),
                   q.getColumn(3).getString(), q.getColumn(4).getString()});
  return out;
}

}  // namespace chansync
