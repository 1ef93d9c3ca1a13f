// Stores written by older versions of chansync (or by SQLite defaults) opened by this one: the
// schema migrations, on fixtures of real old stores.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "sync/bulk_load.hpp"
#include "sync/state_store.hpp"
#include "tests/support/temp_dir.hpp"

using namespace chansync;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
}

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("store") {}
};

}  // namespace

TEST_CASE("a new store has 16 KiB pages; an existing one keeps its own") {
  TempDir dir;
  const std::string fresh = (dir.path / "new.db").string(), old = (dir.path / "old.db").string();
  {
    SQLite::Database db(old, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    // WAL mode fixes the page size of a file without tables (one with tables and no schema version
    // would be another program's, which a StateStore refuses).
    db.exec("PRAGMA page_size = 4096; PRAGMA journal_mode = WAL");
  }
  StateStore a(fresh), b(old);
  CHECK(a.db().execAndGet("PRAGMA page_size").getInt() == 16384);
  CHECK(a.db().execAndGet("PRAGMA journal_mode").getString() == "wal");
  CHECK(b.db().execAndGet("PRAGMA page_size").getInt() == 4096);
  CHECK(b.schema_version() == 21);
}

namespace {

// A store at `dir` made from tests/fixtures/state/NAME.sql, which leaves it at schema `version`.
std::string fixture_store(const TempDir& dir, const std::string& name, int version) {
  const std::string path = (dir.path / (name + ".db")).string();
  SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec(read_file(std::string(CHANSYNC_SOURCE_DIR) + "/tests/fixtures/state/" + name + ".sql"));
  REQUIRE(db.execAndGet("PRAGMA user_version").getInt() == version);
  return path;
}

}  // namespace

TEST_CASE("a schema-17 store keeps one of each repeated dead letter; the same payload with another reason stays") {
  TempDir dir;
  const std::string path = (dir.path / "v17.db").string();
  { StateStore fresh(path); }
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec(
        "DROP INDEX dead_letters_by_record; DROP TABLE push_sent; DROP TABLE bulk_load_watermarks; "
        "ALTER TABLE push_ledger DROP COLUMN erased; PRAGMA user_version = 17");
    for (const char* row : {"('sms', 'conversations', 'SM1', 1, 'bad date', x'7b7d')",  // read again each pull
                            "('sms', 'conversations', 'SM1', 2, 'bad date', x'7b7d')",
                            "('sms', 'conversations', 'SM1', 3, 'bad date', x'7b7d')",
                            "('sms', 'conversations', 'SM1', 4, 'bad status', x'7b7d')",
                            "('sms', 'conversations', 'SM2', 5, 'bad date', x'7b7d')"})
      db.exec(std::string("INSERT INTO dead_letters(connector, stream, record_id, received_at, error, raw) VALUES") +
              row);
  }
  StateStore s(path);
  CHECK(s.schema_version() == 21);
  const auto dead = s.records().dead_letters("sms");
  REQUIRE(dead.size() == 3);
  CHECK(dead[2].received_at == 1);  // the first of the repeated ones is kept
  CHECK(dead[1].error == "bad status");
  CHECK(dead[0].record_id == "SM2");
}

TEST_CASE("a schema-2 store migrates: cursors and dead letters move to the stream of the connector's role") {
  TempDir dir;
  const std::string path = fixture_store(dir, "v2", 2);
  // The conversation's id: a message row held it until schema 16, its conversation's key since.
  const auto message_rows = [](SQLite::Database& db, const char* conversation) {
    std::vector<std::string> out;
    SQLite::Statement q(
        db, fmt::format("SELECT rowid, connector, id, {}, sent_at, text FROM messages m ORDER BY rowid", conversation));
    while (q.executeStep())
      out.push_back(fmt::format("{}|{}|{}|{}|{}|{}", q.getColumn(0).getInt64(), q.getColumn(1).getString(),
                                q.getColumn(2).getString(), q.getColumn(3).getString(), q.getColumn(4).getInt64(),
                                q.getColumn(5).getString()));
    return out;
  };
  std::vector<std::string> before;
  {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    before = message_rows(db, "conversation");
  }
  StateStore s(path);
  CHECK(s.schema_version() == 21);
  const auto rows = s.records().streams();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].connector == "crm");
  CHECK(rows[0].stream == "contacts");
  CHECK(rows[0].cursor == R"({"since":1779568000000})");
  CHECK(rows[1].connector == "sms");
  CHECK(rows[1].stream == "conversations");
  CHECK(rows[1].cursor == R"({"since":"2026-05-23"})");
  const auto dead = s.records().dead_letters();
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].stream == "conversations");
  CHECK(s.count("messages") == 8);
  CHECK(s.identity().person_count() == 8);
  CHECK(s.ledger().entries("out").size() == 8);
  CHECK(s.runs().health("sms").size() == 1);
  CHECK(s.runs().health("sms")[0].stream.empty());
  const auto anna = s.records().contact("crm", "1001");  // schema 8: contacts carry no attributes yet
  REQUIRE(anna);
  CHECK(anna->first_name == "Anna");
  CHECK(anna->attributes.empty());
  // Schema 13: conversations from before carry the store's revision, as if written now.
  const auto conversations = s.db().execAndGet("SELECT count(*) FROM conversations").getInt();
  CHECK(conversations > 0);
  CHECK(s.db().execAndGet(fmt::format("SELECT count(*) FROM conversations WHERE rev = {}", s.revision())).getInt() ==
        conversations);
  // Schema 14: the index of inbound messages holds those alone.
  CHECK(s.db()
            .execAndGet("SELECT count(*) FROM messages INDEXED BY messages_inbound WHERE direction = 'inbound'")
            .getInt() == s.db().execAndGet("SELECT count(*) FROM messages WHERE direction = 'inbound'").getInt());
  CHECK_THAT(s.db().execAndGet("SELECT sql FROM sqlite_master WHERE name = 'messages_inbound'").getString(),
             Catch::Contains("WHERE direction = 'inbound'"));
  // Schema 15: messages keep their rows and rowids; (connector, id) is unique by an index of its own.
  // Schema 16: each names its conversation by key.
  CHECK(message_rows(s.db(), "(SELECT c.id FROM conversations c WHERE c.key = m.conversation)") == before);
  CHECK(s.db().execAndGet("SELECT count(*) FROM messages WHERE typeof(conversation) = 'integer'").getInt() == 8);
  CHECK(s.db().execAndGet("PRAGMA freelist_count").getInt() == 0);  // the old tables' pages given back
  CHECK_THAT(s.db().execAndGet("SELECT sql FROM sqlite_master WHERE name = 'messages_by_conversation'").getString(),
             Catch::Contains("ON messages(conversation)"));
  // Every person's messages, read by index and in one pass (MessageParts), are the 8 there were.
  std::vector<Message> by_index, in_pass;
  s.identity().for_each_person([&](PersonRecord&& p) {
    in_pass.insert(in_pass.end(), p.messages.begin(), p.messages.end());
    const auto again = s.identity().person(p.person_id);
    REQUIRE(again);
    by_index.insert(by_index.end(), again->messages.begin(), again->messages.end());
  });
  CHECK(in_pass.size() == 8);
  CHECK(by_index == in_pass);
  for (const auto& m : in_pass) CHECK(s.records().message(m.connector, m.id) == m);
  CHECK_THAT(s.db().execAndGet("SELECT sql FROM sqlite_master WHERE name = 'messages_by_id'").getString(),
             Catch::Contains("CREATE UNIQUE INDEX"));
  CHECK_FALSE(s.records().bulk_loading());
  const auto id = s.db().execAndGet("SELECT id FROM messages WHERE connector = 'sms' LIMIT 1").getString();
  CHECK(s.records().message("sms", id));
  CHECK_THROWS(s.db().exec("INSERT INTO messages SELECT * FROM messages LIMIT 1"));
  CHECK(s.count("messages") == 8);
}

TEST_CASE("a schema-15 store killed in a first pull migrates, and its indexes are built by end_bulk_load") {
  TempDir dir;
  const std::string path = fixture_store(dir, "v15_bulk_load", 15);
  StateStore s(path);
  CHECK(s.schema_version() == 21);
  // SM2 is stored twice: the unique index could not be made yet, so the migration made none.
  CHECK(s.records().bulk_loading());
  CHECK(
      s.db().execAndGet("SELECT count(*) FROM sqlite_master WHERE tbl_name = 'messages' AND type = 'index'").getInt() ==
      0);
  CHECK(s.count("messages") == 5);
  CHECK(end_bulk_load(s) == 4);
  CHECK_FALSE(s.records().bulk_loading());
  CHECK_THAT(s.db().execAndGet("SELECT sql FROM sqlite_master WHERE name = 'messages_by_conversation'").getString(),
             Catch::Contains("ON messages(conversation)"));
  CHECK(s.count("messages") == 4);
  // The receipt moved SM2's status forward and kept its text.
  const auto sm2 = s.records().message("sms", "SM2");
  REQUIRE(sm2);
  CHECK(sm2->conversation == "CH1");
  CHECK(sm2->text == "Guten Tag");
  CHECK(sm2->status == "read");
  CHECK(s.records().message("sms", "SM3")->conversation == "CH2");
  // SM9's conversation had no row: it has an empty one now, of no customer.
  const auto sm9 = s.records().message("sms", "SM9");
  REQUIRE(sm9);
  CHECK(sm9->conversation == "CH9");
  CHECK(s.db().execAndGet("SELECT customer FROM conversations WHERE id = 'CH9'").getString().empty());
  CHECK(s.records().cursor("sms", "conversations") == R"({"page":2})");
}

TEST_CASE("an upgrade killed between its rewrite and its VACUUM gives the space back on the next open") {
  TempDir dir;
  const std::string path = (dir.path / "state.db").string();
  {
    StateStore store(path);
    // What step 16 leaves: the old pages free, and the note it commits with the step.
    store.db().exec(
        "CREATE TABLE filler(x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
        "WHERE i < 20000) INSERT INTO filler SELECT randomblob(200) FROM n; DROP TABLE filler");
    store.set_meta("vacuum_pending", "1");
    CHECK(store.db().execAndGet("PRAGMA freelist_count").getInt() > 100);
  }
  StateStore store(path);
  CHECK(store.db().execAndGet("PRAGMA freelist_count").getInt() == 0);
  CHECK_FALSE(store.meta("vacuum_pending"));
}

TEST_CASE("a store of a newer schema is refused before anything of it is changed, its journal mode included") {
  TempDir dir;
  const std::string path = (dir.path / "state.db").string();
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA journal_mode = DELETE; CREATE TABLE t(x); PRAGMA user_version = 999");
  }
  try {
    StateStore store(path);
    FAIL("a newer store was opened");
  } catch (const Failure& f) {
    CHECK(f.error().code == Errc::state);
    CHECK_THAT(f.what(), Catch::Contains("newer than this chansync"));
  }
  SQLite::Database db(path);
  CHECK(db.execAndGet("PRAGMA journal_mode").getString() == "delete");
  CHECK(db.execAndGet("PRAGMA user_version").getInt() == 999);
}

TEST_CASE("beside a run holding the lock, a store is read as it is: never made, set up or upgraded") {
  TempDir dir;
  const std::string path = (dir.path / "state.db").string();
  auto errc_of = [&] {
    try {
      StateStore beside(path, StateStore::BesideWriter{});
    } catch (const Failure& f) {
      return std::optional(f.error().code);
    }
    return std::optional<Errc>();
  };
  SECTION("one the holder is still making is left to it") {
    { SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE); }
    CHECK(errc_of() == Errc::locked);
    SQLite::Database db(path);
    CHECK(db.execAndGet("SELECT count(*) FROM sqlite_master").getInt() == 0);  // nothing was made in it
  }
  SECTION("what the holder commits is seen; an older schema waits for the lock, a newer one is refused") {
    StateStore holder(path);
    holder.set_meta("seen", "1");
    {
      StateStore beside(path, StateStore::BesideWriter{});
      CHECK(beside.meta("seen") == "1");
      holder.set_meta("seen", "2");
      CHECK(beside.meta("seen") == "2");
    }
    const int current = holder.schema_version();
    holder.db().exec(fmt::format("PRAGMA user_version = {}", current - 1));
    CHECK(errc_of() == Errc::locked);
    CHECK(holder.schema_version() == current - 1);  // not upgraded from beside
    holder.db().exec(fmt::format("PRAGMA user_version = {}", current + 1));
    CHECK(errc_of() == Errc::state);
  }
  SECTION("a missing store is not made") {
    CHECK(errc_of().has_value());
    CHECK_FALSE(std::filesystem::exists(path));
  }
}
