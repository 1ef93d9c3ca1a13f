// RecordStore, the side commands read: streams (cursors, each pull's record and history), dead
// letters, and one stored message or contact. The page writes are in state_records.cpp.
#include <fmt/format.h>

#include "sync/state_records.hpp"
#include "sync/state_rows.hpp"
#include "sync/state_store.hpp"

namespace chansync {

std::string RecordStore::cursor(const std::string& connector, const std::string& stream) {
  SQLite::Statement q(m_store.db(), "SELECT cursor FROM streams WHERE connector = ? AND stream = ?");
  q.bind(1, connector);
  q.bind(2, stream);
  return q.executeStep() ? q.getColumn(0).getString() : std::string();
}

std::vector<StreamRow> RecordStore::streams() {
  std::vector<StreamRow> out;
  SQLite::Statement q(m_store.db(), R"sql(SELECT connector, stream, cursor, updated_at, last_pull_at, pages, requests,
    received, written, rejected, error, error_code, notice, last_ok_at FROM streams ORDER BY connector, stream)sql");
  while (q.executeStep()) {
    StreamRow r{q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                q.getColumn(3).getInt64(), q.getColumn(4).getInt64()};
    r.last_pull = {static_cast<std::size_t>(q.getColumn(5).getInt64()),
                   static_cast<std::size_t>(q.getColumn(6).getInt64()),
                   static_cast<std::size_t>(q.getColumn(7).getInt64()),
                   static_cast<std::size_t>(q.getColumn(8).getInt64()),
                   static_cast<std::size_t>(q.getColumn(9).getInt64()),
                   q.getColumn(10).getString(),
                   q.getColumn(11).getString(),
                   q.getColumn(12).getString()};
    r.last_ok_at = q.getColumn(13).getInt64();
    out.push_back(std::move(r));
  }
  return out;
}

std::size_t RecordStore::reset(const std::string& connector, const std::optional<std::string>& stream) {
  SQLite::Statement q(m_store.db(), stream ? "UPDATE streams SET cursor = '' WHERE connector = ?1 AND stream = ?2 "
                                             "AND cursor != ''"
                                           : "UPDATE streams SET cursor = '' WHERE connector = ?1 AND cursor != ''");
  q.bind(1, connector);
  if (stream) q.bind(2, *stream);
  return static_cast<std::size_t>(q.exec());
}

void RecordStore::record_pull(const std::string& connector, const std::string& stream, const StreamPull& p) {
  const auto at = static_cast<int64_t>(now_ms());
  SQLite::Transaction tx(m_store.db());
  SQLite::Statement st(m_store.db(), R"sql(
    INSERT INTO streams(connector, stream, last_pull_at, pages, requests, received, written, rejected, error,
                        error_code, notice, last_ok_at)
    VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, CASE WHEN ?9 = '' THEN ?3 ELSE 0 END)
    ON CONFLICT(connector, stream) DO UPDATE SET last_pull_at = excluded.last_pull_at, pages = excluded.pages,
      last_ok_at = CASE WHEN excluded.error = '' THEN excluded.last_pull_at ELSE last_ok_at END,
      requests = excluded.requests, received = excluded.received, written = excluded.written,
      rejected = excluded.rejected, error = excluded.error, error_code = excluded.error_code,
      notice = CASE WHEN excluded.notice != '' THEN excluded.notice ELSE notice END)sql");
  st.bind(1, connector);
  st.bind(2, stream);
  st.bind(3, at);
  st.bind(4, static_cast<int64_t>(p.pages));
  st.bind(5, static_cast<int64_t>(p.requests));
  st.bind(6, static_cast<int64_t>(p.received));
  st.bind(7, static_cast<int64_t>(p.written));
  st.bind(8, static_cast<int64_t>(p.rejected));
  st.bind(9, p.error);
  st.bind(10, p.error_code);
  st.bind(11, p.notice);
  st.exec();
  if (!p.error.empty()) return tx.commit();
  // Later than the stream's newest entry even within one millisecond: each completed pull is a row.
  SQLite::Statement h(m_store.db(), R"sql(INSERT INTO pull_history(connector, stream, ended_at, received)
    VALUES(?1, ?2, max(?3, coalesce((SELECT max(ended_at) + 1 FROM pull_history WHERE connector = ?1 AND stream = ?2),
                                    0)), ?4))sql");
  h.bind(1, connector);
  h.bind(2, stream);
  h.bind(3, at);
  h.bind(4, static_cast<int64_t>(p.received));
  h.exec();
  SQLite::Statement prune(m_store.db(), R"sql(DELETE FROM pull_history WHERE connector = ?1 AND stream = ?2 AND
    ended_at < (SELECT ended_at FROM pull_history WHERE connector = ?1 AND stream = ?2
                ORDER BY ended_at DESC LIMIT 1 OFFSET 63))sql");
  prune.bind(1, connector);
  prune.bind(2, stream);
  prune.exec();
  tx.commit();
}

std::vector<PullRecord> RecordStore::pull_history(const std::string& connector, const std::string& stream) {
  std::vector<PullRecord> out;
  SQLite::Statement q(
      m_store.db(),
      "SELECT ended_at, received FROM pull_history WHERE connector = ? AND stream = ? ORDER BY ended_at DESC");
  q.bind(1, connector);
  q.bind(2, stream);
  while (q.executeStep())
    out.push_back({q.getColumn(0).getInt64(), static_cast<std::size_t>(q.getColumn(1).getInt64())});
  return out;
}

std::vector<DeadLetterRow> RecordStore::dead_letters(const std::string& connector, const std::string& stream,
                                                     std::size_t limit) {
  std::vector<DeadLetterRow> out;
  SQLite::Statement q(m_store.db(), R"sql(SELECT connector, stream, record_id, received_at, error, raw
    FROM dead_letters WHERE (?1 = '' OR connector = ?1) AND (?2 = '' OR stream = ?2) ORDER BY id DESC LIMIT ?3)sql");
  q.bind(1, connector);
  q.bind(2, stream);
  q.bind(3, limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(limit));
  while (q.executeStep()) {
    const auto raw = q.getColumn(5);
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                   q.getColumn(3).getInt64(), q.getColumn(4).getString(),
                   std::string(static_cast<const char*>(raw.getBlob()), static_cast<std::size_t>(raw.getBytes()))});
  }
  return out;
}

std::size_t RecordStore::dead_letter_count(const std::string& connector, const std::string& stream) {
  SQLite::Statement q(
      m_store.db(), "SELECT count(*) FROM dead_letters WHERE (?1 = '' OR connector = ?1) AND (?2 = '' OR stream = ?2)");
  q.bind(1, connector);
  q.bind(2, stream);
  q.executeStep();
  return static_cast<std::size_t>(q.getColumn(0).getInt64());
}

std::optional<Message> RecordStore::message(const std::string& connector, const std::string& id) {
  SQLite::Statement q(m_store.db(),
                      fmt::format("SELECT {} FROM messages m JOIN conversations c ON c.key = m.conversation "
                                  "WHERE m.connector = ? AND m.id = ?",
                                  k_message_cols));
  q.bind(1, connector);
  q.bind(2, id);
  if (!q.executeStep()) return std::nullopt;
  return read_message(q, 0);
}

std::optional<Contact> RecordStore::contact(const std::string& connector, const std::string& id) {
  SQLite::Statement q(m_store.db(),
                      fmt::format("SELECT {} FROM contacts c WHERE c.connector = ? AND c.id = ?", k_contact_cols));
  q.bind(1, connector);
  q.bind(2, id);
  if (!q.executeStep()) return std::nullopt;
  return read_contact(q, 0);
}

}  // namespace chansync
