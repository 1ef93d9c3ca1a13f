#include "tests/support/store_dump.hpp"

#include <algorithm>

namespace chansync::test {
namespace {

// There is no query method listing every stored record, so the tables are read directly; the
// columns are named so that a schema change which drops one fails here loudly.
constexpr std::pair<const char*, const char*> k_tables[] = {
    {"conversations", "SELECT connector, id, channel, customer, customer_verified, business FROM conversations"},
    {"messages",
     "SELECT connector, id, conversation, channel, direction, author_kind, author_handle, sent_at, text FROM "
     "messages"},
    {"contacts", "SELECT connector, id, first_name, last_name, handles, archived, updated_at FROM contacts"},
    {"dead_letters", "SELECT connector, stream, record_id, error, raw FROM dead_letters"},
    {"streams", "SELECT connector, stream, cursor, error FROM streams"},
};

}  // namespace

std::map<std::string, std::vector<std::string>> pulled_state(StateStore& store) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [table, sql] : k_tables) {
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
    std::sort(rows.begin(), rows.end());
  }
  return out;
}

}  // namespace chansync::test
