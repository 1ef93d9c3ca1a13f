#include "tests/support/store_dump.hpp"

#include <algorithm>
#include <initializer_list>

namespace chansync::test {
namespace {

// Records have no query method that lists them all, so their tables are read directly; the columns
// are named so that a schema change which drops one fails here loudly.
constexpr std::pair<const char*, const char*> k_record_tables[] = {
    {"conversations", "SELECT connector, id, channel, customer, customer_verified, business FROM conversations"},
    {"messages",
     "SELECT m.connector, m.id, c.id, m.channel, m.direction, m.author_kind, m.author_handle, m.sent_at, m.text "
     "FROM messages m LEFT JOIN conversations c ON c.key = m.conversation"},
    {"contacts", "SELECT connector, id, first_name, last_name, handles, archived, updated_at FROM contacts"},
};

std::string row_of(std::initializer_list<std::string> columns) {
  std::string row;
  for (const auto& c : columns) row += std::to_string(c.size()) + ":" + c + " ";
  return row;
}

}  // namespace

std::map<std::string, std::vector<std::string>> pulled_state(StateStore& store) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [table, sql] : k_record_tables) {
    auto& rows = out[table];
    SQLite::Statement q(store.db(), sql);
    while (q.executeStep()) {
      std::string row;
      for (int i = 0; i < q.getColumnCount(); ++i) {
        const auto col = q.getColumn(i);
        const std::string v = col.isNull() ? "NULL" : col.getString();
        row += std::to_string(v.size()) + ":" + v + " ";
      }
      rows.push_back(std::move(row));
    }
  }
  auto& dead_letters = out["dead_letters"];
  for (const auto& d : store.records().dead_letters())
    dead_letters.push_back(row_of({d.connector, d.stream, d.record_id, d.error, d.raw}));
  auto& streams = out["streams"];
  for (const auto& s : store.records().streams())
    streams.push_back(row_of({s.connector, s.stream, s.cursor, s.last_pull.error}));
  for (auto& [table, rows] : out) std::sort(rows.begin(), rows.end());
  return out;
}

}  // namespace chansync::test
