#include "sync/bulk_load.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

namespace chansync {
namespace {

constexpr const char* k_saved_indexes = "bulk_load_indexes";  // meta key: the dropped CREATE INDEX statements

// The unique index could not be built: some (connector, id) came more than once. Every row after the
// first of such an id is moved aside, the index is built, and the rows are replayed through the
// upserts in the order they arrived. Returns how many rows were moved.
// The plan is forced: one pass over messages in storage order, each row looked up among the repeated
// ids (an automatic index). Left to itself, SQLite read the table through messages_by_conversation
// (a random read per row) and scanned a connector's rows once per repeated id.
std::int64_t fold_repeats(StateStore& store, const std::string& unique_index) {
  auto& db = store.db();
  db.exec("DROP TABLE IF EXISTS temp.bulk_load_repeats");
  db.exec(R"sql(
    CREATE TEMP TABLE bulk_load_repeats AS
    SELECT m.*, m.rowid IN (SELECT row FROM bulk_load_receipts) AS receipt, m.rowid AS row
    FROM messages AS m NOT INDEXED
    CROSS JOIN (SELECT connector, id, min(rowid) AS first FROM messages NOT INDEXED
                GROUP BY connector, id HAVING count(*) > 1) AS d
      ON m.connector = d.connector AND m.id = d.id AND m.rowid > d.first)sql");
  const auto moved = db.exec("DELETE FROM messages WHERE rowid IN (SELECT row FROM temp.bulk_load_repeats)");
  db.exec(unique_index);
  {
    // Its columns are those replay_messages reads (the row's, then whether a receipt wrote it), then the rowid.
    SQLite::Statement rows(db, "SELECT * FROM temp.bulk_load_repeats ORDER BY row");
    store.records().replay_messages(rows);
  }
  db.exec("DROP TABLE temp.bulk_load_repeats");
  return moved;
}

}  // namespace

bool begin_bulk_load(StateStore& store, bool in_time_order) {
  auto& db = store.db();
  SQLite::Transaction tx(db);
  if (store.meta(k_saved_indexes)) return false;  // a load under way (killed): end_bulk_load comes first
  if (db.execAndGet("SELECT EXISTS(SELECT 1 FROM messages)").getInt() != 0) return false;
  // Indexes with SQL are the ones CREATE INDEX made: since schema 15 every index of messages, its
  // unique (connector, id) included. The index by revision is kept: every page's revision is the
  // highest yet, so its rows are appended to it.
  SQLite::Statement q(db,
                      "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages' "
                      "AND sql IS NOT NULL AND name != 'messages_by_rev' AND NOT (? AND name = 'messages_inbound') "
                      "ORDER BY name");
  q.bind(1, in_time_order ? 1 : 0);
  std::vector<std::string> names;
  nlohmann::json saved = nlohmann::json::array();
  while (q.executeStep()) {
    names.push_back(q.getColumn(0).getString());
    saved.push_back({{"name", names.back()}, {"sql", q.getColumn(1).getString()}});
  }
  if (names.empty()) return false;
  store.set_meta(k_saved_indexes, saved.dump());
  for (const auto& name : names) db.exec(fmt::format("DROP INDEX \"{}\"", name));
  tx.commit();
  spdlog::debug("bulk load: messages is empty; its {} indexes are built when the pull ends", names.size());
  return true;
}

namespace {

// end_bulk_load without its error handling: every SQLite error it meets, the reads and settings before
// the builds included, throws SQLite::Exception.
int build_saved_indexes(StateStore& store, const std::function<void()>& built_one) {
  const auto saved = store.meta(k_saved_indexes);
  if (!saved) return 0;
  const auto started = std::chrono::steady_clock::now();
  auto& db = store.db();
  // The sorts spill to temporary files past a small page cache instead of holding every index in
  // memory: at 1M messages the build takes 2–3 s and the pull's peak memory stays where the pull
  // itself put it (measured when the store's cache was 64 MiB: 128 MB, against 200 MB with the
  // store's own settings and temp_store = MEMORY). temp_store cannot change inside a transaction: set
  // before it, restored after. The sorts' runs are sorted and merged by helper threads too (SQLite's
  // PRAGMA threads): when the last page is in, the fetching thread and the vendor are idle. A 1M-message
  // pull on two cores built its indexes in 0.96-1.03 s with 2 helpers against 1.31-1.44 s with none
  // (the whole pull 7.3-7.8 s against 8.0-8.4 s); at 200k it made no difference (0.21-0.25 s). Two at
  // most, as measured: hardware_concurrency() counts the machine's cores, not a container's quota. Each
  // helper sorts in memory of its own, so the cache is 2 MiB, not the 4 MiB it was without them: the
  // same speed, and a 200k pull's peak 63-69 MB against 72 MB (at 1M the peak is not the sort: 81 MB).
  struct SortSettings {
    SQLite::Database& db;
    const std::string temp_store = db.execAndGet("PRAGMA temp_store").getString();
    const std::string cache_size = db.execAndGet("PRAGMA cache_size").getString();
    const std::string threads = db.execAndGet("PRAGMA threads").getString();
    explicit SortSettings(SQLite::Database& d) : db(d) {
      const unsigned cores = std::clamp(std::thread::hardware_concurrency(), 1u, 2u);
      db.exec(fmt::format("PRAGMA temp_store = FILE; PRAGMA cache_size = -2048; PRAGMA threads = {}", cores));
    }
    ~SortSettings() {
      try {
        db.exec(fmt::format("PRAGMA temp_store = {}; PRAGMA cache_size = {}; PRAGMA threads = {}", temp_store,
                            cache_size, threads));
      } catch (const SQLite::Exception& e) {
        spdlog::warn("bulk load: restoring the store's settings failed: {}", e.what());
      }
    }
  } sort_settings(db);
  // Unwinding from a failure leaves no transaction of its own open, also when the failure was in
  // BEGIN itself after it took effect (the Transaction then never existed to roll back). Destroyed
  // before the settings are restored, which cannot be inside a transaction.
  struct NoTransactionLeft {
    SQLite::Database& db;
    const bool open_before = sqlite3_get_autocommit(db.getHandle()) == 0;
    ~NoTransactionLeft() {
      if (!open_before && sqlite3_get_autocommit(db.getHandle()) == 0) try {
          db.exec("ROLLBACK");
        } catch (const SQLite::Exception& e) {
          spdlog::warn("bulk load: rolling back after a failure failed: {}", e.what());
        }
    }
  } no_transaction_left{db};
  int built = 0;
  {
    // An index that exists already (built by a run killed before the last, or made again by a
    // migration) is left as it is.
    SQLite::Statement exists(db, "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?");
    for (const auto& index : nlohmann::json::parse(*saved)) {
      exists.bind(1, index.at("name").get<std::string>());
      const bool there = exists.executeStep();
      exists.reset();
      if (there) continue;
      SQLite::Transaction tx(db);
      const auto sql = index.at("sql").get<std::string>();
      try {
        db.exec(sql);
      } catch (const SQLite::Exception& e) {
        if (e.getExtendedErrorCode() != SQLITE_CONSTRAINT_UNIQUE) throw;
        const auto moved = fold_repeats(store, sql);
        spdlog::debug("bulk load: {} messages repeated an id written before; replayed through the upserts", moved);
      }
      tx.commit();
      ++built;
      if (built_one) built_one();
    }
    SQLite::Transaction tx(db);
    store.records().replay_watermarks();
    db.exec("DELETE FROM bulk_load_receipts");
    db.exec(fmt::format("DELETE FROM meta WHERE key = '{}'", k_saved_indexes));
    tx.commit();
  }
  spdlog::debug("bulk load: built {} indexes of messages in {:.2f} s", built,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return built;
}

}  // namespace

int end_bulk_load(StateStore& store, const std::function<void()>& built_one) {
  try {
    return build_saved_indexes(store, built_one);
  } catch (const SQLite::Exception& e) {
    throw storage_failure(e, store.path(),
                          "building the indexes of its messages (SQLite sorts them in SQLITE_TMPDIR, else /var/tmp "
                          "or /tmp: that filesystem needs room too); the next command that takes the state lock "
                          "tries again");
  }
}

}  // namespace chansync
