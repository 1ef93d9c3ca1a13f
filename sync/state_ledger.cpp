#include "sync/state_ledger.hpp"

#include "sync/state_store.hpp"

namespace chansync {

std::map<std::string, PushLedgerEntry> PushLedger::entries(const std::string& target) {
  std::map<std::string, PushLedgerEntry> out;
  SQLite::Statement q(m_store.db(), "SELECT person_id, hash, remote_id FROM push_ledger WHERE target = ?");
  q.bind(1, target);
  while (q.executeStep()) {
    std::string id = q.getColumn(0).getString();
    out.emplace(id, PushLedgerEntry{id, q.getColumn(1).getString(), q.getColumn(2).getString()});
  }
  return out;
}

void PushLedger::record(const std::string& target, const std::vector<PushLedgerEntry>& delivered) {
  if (delivered.empty()) return;
  SQLite::Transaction tx(m_store.db());
  SQLite::Statement st(m_store.db(), R"sql(
    INSERT INTO push_ledger(target, person_id, hash, remote_id, pushed_at) VALUES(?1, ?2, ?3, ?4, ?5)
    ON CONFLICT(target, person_id) DO UPDATE SET hash = excluded.hash, remote_id = excluded.remote_id,
      pushed_at = excluded.pushed_at)sql");
  const auto now = static_cast<int64_t>(now_ms());
  for (const auto& e : delivered) {
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

void PushLedger::forget(const std::string& target, const std::vector<std::string>& person_ids) {
  if (person_ids.empty()) return;
  SQLite::Transaction tx(m_store.db());
  SQLite::Statement st(m_store.db(), "DELETE FROM push_ledger WHERE target = ? AND person_id = ?");
  for (const auto& id : person_ids) {
    st.bind(1, target);
    st.bind(2, id);
    st.exec();
    st.reset();
  }
  tx.commit();
}

std::optional<std::int64_t> PushLedger::mark(const std::string& target) {
  if (auto v = m_store.meta("pushed:" + target)) return std::stoll(*v);
  return std::nullopt;
}

void PushLedger::set_mark(const std::string& target, std::int64_t revision) {
  m_store.set_meta("pushed:" + target, std::to_string(revision));
}

}  // namespace chansync
