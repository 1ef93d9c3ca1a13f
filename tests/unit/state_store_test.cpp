#include "sync/state_store.hpp"

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "sync/bulk_load.hpp"
#include "sync/error.hpp"
#include "sync/reconcile.hpp"
#include "sync/state_lock.hpp"
#include "tests/support/temp_dir.hpp"

using namespace chansync;

namespace {

Conversation conversation(const std::string& id, int messages) {
  Conversation c{"sms", id, "sms", {HandleKind::phone, "+4915112345678", true}, "+4930123456", {}};
  for (int i = 0; i < messages; ++i)
    c.messages.push_back({"sms", id + "-m" + std::to_string(i), id, "sms", Direction::inbound, AuthorKind::customer,
                          "+4915112345678", 1000 + i, "hello"});
  return c;
}

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

TEST_CASE("migrations bring a new store to the current schema version") {
  StateStore s(":memory:");
  CHECK(s.schema_version() == 19);
  CHECK(s.records().streams().empty());
  // Health's reads of inbound messages (health_check.cpp, health_hourly.cpp) are covered by the
  // partial index of inbound messages.
  for (const char* q : {"SELECT channel, max(sent_at) FROM messages WHERE connector = ? AND direction = 'inbound' "
                        "GROUP BY channel",
                        "SELECT sent_at FROM messages WHERE connector = ? AND channel = ? AND direction = 'inbound' "
                        "AND sent_at >= ? ORDER BY sent_at",
                        "SELECT sent_at FROM messages WHERE connector = ? AND direction = 'inbound' AND sent_at >= ? "
                        "AND sent_at < ?"}) {
    INFO(q);
    SQLite::Statement plan(s.db(), std::string("EXPLAIN QUERY PLAN ") + q);
    REQUIRE(plan.executeStep());
    CHECK_THAT(plan.getColumn(3).getString(), Catch::Contains("COVERING INDEX messages_inbound"));
  }
}

TEST_CASE("an unknown persons revision is the store revision: a push then looks for deletions") {
  StateStore s(":memory:");
  s.set_meta("rev", "41");
  CHECK(s.persons_revision() == 41);
  CHECK(s.identity_input_revision() == 0);
  s.set_persons_revision(7);
  CHECK(s.persons_revision() == 7);
}

TEST_CASE("a page's records and its cursor commit together per stream; re-committing writes nothing") {
  StateStore s(":memory:");
  auto stats = s.records().commit_conversations("sms", "conversations", {conversation("c1", 3)}, {}, "cursor-1");
  CHECK(stats.received == 3);
  CHECK(stats.written == 3);  // messages only: one unit per figure
  CHECK(s.records().cursor("sms", "conversations") == "cursor-1");
  CHECK(s.records().cursor("sms", "other").empty());  // cursors are per stream
  stats =
      s.records().commit_conversations("sms", "conversations", {conversation("c1", 3)},
                                       {{"x", "bad date", R"({"sid": "x",  "date_sent":"yesterday"})"}}, "cursor-2");
  CHECK(stats.written == 0);
  CHECK(stats.rejected == 1);
  CHECK(s.count("messages") == 3);
  const auto dead = s.records().dead_letters("sms");
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].stream == "conversations");
  CHECK(dead[0].raw == R"({"sid": "x",  "date_sent":"yesterday"})");  // the bytes as given, spacing included
  CHECK(dead[0].error == "bad date");
  // The same record read again (Twilio's newest day is re-read every pull) is still one dead letter;
  // another bad record with the same id is a second.
  stats = s.records().commit_conversations("sms", "conversations", {},
                                           {{"x", "bad date", R"({"sid": "x",  "date_sent":"yesterday"})"},
                                            {"x", "bad date", R"({"sid": "x",  "date_sent":"today"})"}},
                                           "cursor-3");
  CHECK(stats.rejected == 2);  // what this pull could not map, as it reports
  CHECK(s.records().dead_letters("sms").size() == 2);
  CHECK(s.records().dead_letter_count("sms", "conversations") == 2);
  CHECK(s.records().dead_letters("sms", "other").empty());
  CHECK(s.records().dead_letters("", "", 1).size() == 1);
}

TEST_CASE("a contact's attributes are stored, read back, and a change to them alone rewrites it") {
  StateStore s(":memory:");
  Contact c{"crm", "7", "Ada", "Lovelace", {{HandleKind::email, "ada@example.com", true}}};
  c.attributes = {"1815-12-10", "W1J 7NT", "London", "12 St James's Square"};
  REQUIRE(s.records().commit_contacts("crm", "contacts", {c}, {}, "1").written == 1);
  CHECK(s.records().contact("crm", "7")->attributes == c.attributes);
  CHECK(s.identity().contacts().at(0) == c);
  CHECK(s.identity().input({}).contacts == std::vector<IdentityRecord>{c});          // reconcile reads who, not what
  CHECK(s.records().commit_contacts("crm", "contacts", {c}, {}, "2").written == 0);  // unchanged
  const auto rev = s.revision();
  CHECK(s.identity_input_revision() == rev);

  c.attributes.city = "Marylebone";
  CHECK(s.records().commit_contacts("crm", "contacts", {c}, {}, "3").written == 1);
  CHECK(s.records().contact("crm", "7")->attributes.city == "Marylebone");
  CHECK(s.revision() > rev);  // the person is re-merged and re-pushed
  CHECK(s.identity_input_revision() == s.revision());
  c.attributes = {};
  CHECK(s.records().commit_contacts("crm", "contacts", {c}, {}, "4").written == 1);
  CHECK(s.records().contact("crm", "7")->attributes.empty());
  CHECK(s.db().execAndGet("SELECT attributes FROM contacts").getString().empty());  // none: ''
}

TEST_CASE("a re-pulled message with another status, kind or attachments is rewritten in place") {
  StateStore s(":memory:");
  auto c = conversation("c1", 1);
  c.messages[0].status = "delivered";
  REQUIRE(s.records().commit_conversations("sms", "conversations", {c}, {}, "1").written == 1);
  const auto rev = s.revision();

  c.messages[0].status = "read";
  CHECK(s.records().commit_conversations("sms", "conversations", {c}, {}, "2").written == 1);
  CHECK(s.records().message("sms", "c1-m0")->status == "read");
  CHECK(s.revision() > rev);  // the person is re-pushed

  c.messages[0].attachments = {{"image", "cat.jpg", "https://cdn.example/cat.jpg"}};
  c.messages[0].kind = MessageKind::event;
  CHECK(s.records().commit_conversations("sms", "conversations", {c}, {}, "3").written == 1);
  const auto m = s.records().message("sms", "c1-m0");
  REQUIRE(m);
  CHECK(m->kind == MessageKind::event);
  REQUIRE(m->attachments.size() == 1);
  CHECK(m->attachments[0] == Attachment{"image", "cat.jpg", "https://cdn.example/cat.jpg"});
  CHECK(s.count("messages") == 1);
}

TEST_CASE("a message's status never goes backwards; failed wins over every other") {
  StateStore s(":memory:");
  auto c = conversation("c1", 1);
  c.messages[0].status = "read";
  s.records().commit_conversations("sms", "conversations", {c}, {}, "1");
  c.messages[0].status = "delivered";  // an older webhook arriving late
  CHECK(s.records().commit_conversations("sms", "conversations", {c}, {}, "2").written == 0);
  CHECK(s.records().message("sms", "c1-m0")->status == "read");
  c.messages[0].status = "";  // a re-pull that knows no status keeps the known one
  CHECK(s.records().commit_conversations("sms", "conversations", {c}, {}, "3").written == 0);
  CHECK(s.records().message("sms", "c1-m0")->status == "read");
  c.messages[0].status = "failed";
  CHECK(s.records().commit_conversations("sms", "conversations", {c}, {}, "4").written == 1);
  c.messages[0].status = "read";
  CHECK(s.records().commit_conversations("sms", "conversations", {c}, {}, "5").written == 0);
  CHECK(s.records().message("sms", "c1-m0")->status == "failed");
}

TEST_CASE("a conversation's vendor name names a person no contact names") {
  StateStore s(":memory:");
  auto c = conversation("c1", 1);
  c.customer_name = "Ada Lovelace";
  s.records().commit_conversations("sms", "conversations", {c}, {}, "1");
  s.identity().save(reconcile(s.identity().input({}), [] { return std::string("p_00000000000000a1"); }));
  std::vector<PersonRecord> all;
  s.identity().for_each_person([&](PersonRecord&& p) { all.push_back(std::move(p)); });
  REQUIRE(all.size() == 1);
  CHECK(all[0].display_name == "Ada Lovelace");
  CHECK(s.identity().person(all[0].person_id)->display_name == "Ada Lovelace");  // the by-id read agrees
}

TEST_CASE("a receipt moves a held message's status and nothing else; for an unknown message it stores one") {
  StateStore s(":memory:");
  auto c = conversation("c1", 1);
  c.messages[0].direction = Direction::outbound;
  c.messages[0].status = "sent";
  s.records().commit_conversations("wa", "webhooks", {c}, {}, "1");
  Conversation receipts = c;
  receipts.messages.clear();
  Message r{"wa", "c1-m0", "c1", "sms", Direction::outbound, AuthorKind::agent, "+4930123456", 99999, ""};
  r.status = "read";
  receipts.receipts = {r};
  CHECK(s.records().commit_conversations("wa", "webhooks", {receipts}, {}, "2").written == 1);
  auto m = s.records().message("wa", "c1-m0");
  REQUIRE(m);
  CHECK(m->status == "read");
  CHECK(m->text == "hello");  // the receipt knows no text and takes none away
  CHECK(m->sent_at == 1000);  // nor the time
  r.status = "delivered";     // late
  receipts.receipts = {r};
  CHECK(s.records().commit_conversations("wa", "webhooks", {receipts}, {}, "3").written == 0);
  CHECK(s.records().message("wa", "c1-m0")->status == "read");
  // WhatsApp never sends the business's own messages: a receipt is all that is known of it.
  r.id = "wamid.unknown";
  r.status = "delivered";
  receipts.receipts = {r};
  CHECK(s.records().commit_conversations("wa", "webhooks", {receipts}, {}, "4").received == 1);
  m = s.records().message("wa", "wamid.unknown");
  REQUIRE(m);
  CHECK(m->status == "delivered");
  CHECK(m->direction == Direction::outbound);
  CHECK(m->text.empty());
  CHECK(m->sent_at == 99999);
}

TEST_CASE("a payload that knows no name keeps the stored one; a message stays in its first conversation") {
  StateStore s(":memory:");
  auto c = conversation("c1", 1);
  c.customer_name = "Sheena Nelson";
  s.records().commit_conversations("wa", "webhooks", {c}, {}, "1");
  const auto rev = s.revision();
  c.customer_name = "";  // a status webhook carries no contacts
  c.messages.clear();
  CHECK(s.records().commit_conversations("wa", "webhooks", {c}, {}, "2").written == 0);
  CHECK(s.revision() == rev);  // nothing changed: no reconcile, no push
  SQLite::Statement q(s.db(), "SELECT customer_name FROM conversations WHERE id = 'c1'");
  REQUIRE(q.executeStep());
  CHECK(q.getColumn(0).getString() == "Sheena Nelson");
  // The same message (one mid) from Messenger's history, filed there under another conversation id.
  auto history = conversation("t_1", 0);
  history.messages = conversation("c1", 1).messages;
  history.messages[0].conversation = "t_1";
  CHECK(s.records().commit_conversations("wa", "conversations", {history}, {}, "3").written == 0);
  CHECK(s.records().message("wa", "c1-m0")->conversation == "c1");
}

TEST_CASE("a conversation's customer links accumulate and join the linked handles into one person") {
  StateStore s(":memory:");
  auto c = conversation("c1", 1);
  const Handle bsuid{HandleKind::whatsapp_bsuid, "1029384756:US.13491208655302741918", true};
  c.customer_links = {bsuid};
  s.records().commit_conversations("wa", "webhooks", {c}, {}, "1");
  c.customer_links.clear();  // a later payload that names only the number takes the link away from no one
  s.records().commit_conversations("wa", "webhooks", {c}, {}, "2");
  // A BSUID-only thread: the customer hid the number.
  Conversation hidden{"wa", "c2", "whatsapp", bsuid, "+4930123456", {}};
  hidden.messages.push_back(
      {"wa", "m-hidden", "c2", "whatsapp", Direction::inbound, AuthorKind::customer, bsuid.value, 5000, "still me"});
  s.records().commit_conversations("wa", "webhooks", {hidden}, {}, "3");
  const auto in = s.identity().input({});
  REQUIRE(in.links.size() == 1);
  CHECK(in.links[0].second == bsuid);
  int n = 0;
  s.identity().save(reconcile(in, [&] { return "p_" + std::string(15, '0') + std::to_string(++n); }));
  std::vector<PersonRecord> all;
  s.identity().for_each_person([&](PersonRecord&& p) { all.push_back(std::move(p)); });
  REQUIRE(all.size() == 1);
  CHECK(all[0].messages.size() == 2);
  CHECK(std::count(all[0].handles.begin(), all[0].handles.end(), bsuid) == 1);
}

TEST_CASE("a stream keeps the last notice the vendor reported") {
  StateStore s(":memory:");
  s.records().record_pull("wa", "webhooks", {1, 0, 1, 1, 0, "", "", "131047: Re-engagement message"});
  s.records().record_pull("wa", "webhooks", {1, 0, 1, 1, 0, "", "", ""});  // a quiet pull keeps it
  const auto rows = s.records().streams();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].last_pull.notice == "131047: Re-engagement message");
}

TEST_CASE("state reset forgets one stream's cursor or every stream's of a connector") {
  StateStore s(":memory:");
  s.records().commit_conversations("mail", "INBOX", {}, {}, "i-1");
  s.records().commit_conversations("mail", "Sent", {}, {}, "s-1");
  s.records().commit_conversations("sms", "conversations", {}, {}, "x");
  CHECK(s.records().reset("mail", "INBOX") == 1);
  CHECK(s.records().cursor("mail", "INBOX").empty());
  CHECK(s.records().cursor("mail", "Sent") == "s-1");
  CHECK(s.records().reset("mail", "INBOX") == 0);  // already reset
  CHECK(s.records().reset("mail") == 1);
  CHECK(s.records().cursor("mail", "Sent").empty());
  CHECK(s.records().cursor("sms", "conversations") == "x");
}

TEST_CASE("a stream's last pull is recorded with its figures and error") {
  StateStore s(":memory:");
  s.records().record_pull("crm", "contacts", {2, 3, 150, 20, 1, ""});
  s.records().record_pull("sms", "conversations", {0, 5, 0, 0, 0, "HTTP 500 after retries", "unavailable"});
  const auto rows = s.records().streams();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].connector == "crm");
  CHECK(rows[0].last_pull.received == 150);
  CHECK(rows[0].last_pull.requests == 3);
  CHECK(rows[0].last_pull_at > 0);
  CHECK(rows[1].last_pull.error == "HTTP 500 after retries");
  CHECK(rows[1].last_pull.error_code == "unavailable");
  CHECK(rows[1].cursor.empty());
}

TEST_CASE("the records of a stream's last 64 completed pulls are kept, newest first") {
  StateStore s(":memory:");
  for (std::size_t i = 0; i < 70; ++i) s.records().record_pull("sms", "conversations", {1, 1, i, i, 0, ""});
  s.records().record_pull("sms", "conversations", {0, 5, 0, 0, 0, "HTTP 500 after retries", "unavailable"});
  s.records().record_pull("crm", "contacts", {1, 1, 7, 7, 0, ""});
  const auto sms = s.records().pull_history("sms", "conversations");
  REQUIRE(sms.size() == 64);  // within one millisecond too: each pull is a row; the failed one is none
  CHECK(sms.front().received == 69);
  CHECK(sms.back().received == 6);
  CHECK(sms.front().ended_at > sms.back().ended_at);
  const auto crm = s.records().pull_history("crm", "contacts");
  REQUIRE(crm.size() == 1);
  CHECK(crm[0].received == 7);
  CHECK(crm[0].ended_at > 0);
  CHECK(s.records().pull_history("crm", "other").empty());
}

TEST_CASE("a failing page commit leaves neither records nor cursor behind") {
  StateStore s(":memory:");
  s.records().commit_conversations("sms", "conversations", {conversation("c1", 1)}, {}, "before");
  s.db().exec(
      "CREATE TRIGGER boom BEFORE INSERT ON messages WHEN NEW.id = 'c2-m1' BEGIN SELECT RAISE(ABORT, 'disk full'); "
      "END");
  CHECK_THROWS(s.records().commit_conversations("sms", "conversations", {conversation("c2", 2)}, {}, "after"));
  CHECK(s.records().cursor("sms", "conversations") == "before");
  CHECK(s.count("messages") == 1);
}

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
  CHECK(b.schema_version() == 19);
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
    db.exec("DROP INDEX dead_letters_by_record; DROP TABLE push_sent; PRAGMA user_version = 17");
    for (const char* row : {"('sms', 'conversations', 'SM1', 1, 'bad date', x'7b7d')",  // read again each pull
                            "('sms', 'conversations', 'SM1', 2, 'bad date', x'7b7d')",
                            "('sms', 'conversations', 'SM1', 3, 'bad date', x'7b7d')",
                            "('sms', 'conversations', 'SM1', 4, 'bad status', x'7b7d')",
                            "('sms', 'conversations', 'SM2', 5, 'bad date', x'7b7d')"})
      db.exec(std::string("INSERT INTO dead_letters(connector, stream, record_id, received_at, error, raw) VALUES") +
              row);
  }
  StateStore s(path);
  CHECK(s.schema_version() == 19);
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
  CHECK(s.schema_version() == 19);
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
  CHECK(s.schema_version() == 19);
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

TEST_CASE("a store that cannot be written or whose disk is full says so, with the exit code's class") {
  StateStore s(":memory:");
  SECTION("read-only") {
    s.db().exec("PRAGMA query_only = 1");
    try {
      s.records().commit_conversations("sms", "conversations", {conversation("c1", 1)}, {}, "x");
      FAIL("no exception");
    } catch (const SQLite::Exception& e) {
      const Failure f = storage_failure(e, "/var/lib/x.db", "committing page 1 of sms/conversations");
      CHECK(f.error().code == Errc::cant_write);
      CHECK_THAT(f.error().message, Catch::Contains("/var/lib/x.db") && Catch::Contains("writable"));
    }
  }
  SECTION("full") {
    // max_page_count caps the database: the next page that needs space fails with SQLITE_FULL.
    const auto pages = s.db().execAndGet("PRAGMA page_count").getInt();
    s.db().exec("PRAGMA max_page_count = " + std::to_string(pages + 1));
    std::vector<Conversation> big;
    for (int i = 0; i < 50; ++i) big.push_back(conversation("c" + std::to_string(i), 20));
    try {
      s.records().commit_conversations("sms", "conversations", big, {}, "x");
      FAIL("no exception");
    } catch (const SQLite::Exception& e) {
      const Failure f = storage_failure(e, "/var/lib/x.db", "committing page 1 of sms/conversations");
      CHECK(f.error().code == Errc::io);
      CHECK_THAT(f.error().message, Catch::Contains("disk is full") && Catch::Contains("Free space"));
    }
    CHECK(s.records().cursor("sms", "conversations").empty());
  }
}

TEST_CASE("a state path whose directory cannot be created is a cant_write failure naming it") {
  TempDir dir;
  const auto file = dir.path / "file";
  std::ofstream(file) << "x";
  try {
    StateStore s((file / "sub" / "state.db").string());  // a directory under a regular file
    FAIL("no exception");
  } catch (const Failure& f) {
    CHECK(f.error().code == Errc::cant_write);
    CHECK_THAT(f.error().message, Catch::Contains(file.string()));
  }
}

TEST_CASE("a second lock on the same state fails with a message naming the holder") {
  const std::string path = "/tmp/chansync-lock-test-" + std::to_string(::getpid()) + ".db";
  // The lock file stays beside a state store by design; this test's goes with it.
  struct Remove {
    std::string file;
    ~Remove() { std::filesystem::remove(file + ".lock"); }
  } remove{path};
  auto first = StateLock::acquire(path, "sync");
  REQUIRE(first);
  auto second = StateLock::acquire(path, "pull");
  REQUIRE_FALSE(second);
  CHECK(second.error().code == Errc::locked);
  CHECK_THAT(second.error().message, Catch::Contains("pid " + std::to_string(::getpid())) && Catch::Contains("sync"));
}

TEST_CASE("saving identities writes only the rows that changed and marks only the persons they touch") {
  StateStore s(":memory:");
  const Handle a{HandleKind::phone, "+4915112345601", true}, b{HandleKind::phone, "+4915112345602", true},
      c{HandleKind::phone, "+4915112345603", true}, d{HandleKind::phone, "+4915112345604", true};
  IdentityInput in;
  in.conversation_handles = {a, b, c, d};
  int n = 0;
  const auto mint = [&] { return "p" + std::to_string(++n); };
  const auto first = reconcile(in, mint);
  s.identity().save(first);
  const auto rev = s.revision();
  in.previous = first.assignment();
  for (std::size_t p = 0; p < first.person_count(); ++p)
    in.person_seq[std::string(first.person_ids[p])] = static_cast<std::int64_t>(p);
  const auto same = reconcile(in, mint);
  REQUIRE(same.assignment() == first.assignment());
  s.identity().save(same);
  CHECK(s.revision() == rev);  // nothing changed: nothing written

  // A record lists a and b (one person now); c's conversations are gone; d is as it was.
  Contact record;
  record.connector = "crm";
  record.id = "1";
  record.handles = {a, b};
  in.contacts = {record};
  in.conversation_handles = {a, b, d};
  const auto second = reconcile(in, mint);
  s.identity().save(second);
  CHECK(s.revision() == rev + 1);

  std::map<std::string, std::string> rows;
  SQLite::Statement q(s.db(), "SELECT node, person_id FROM person_handles");
  while (q.executeStep()) rows[q.getColumn(0).getString()] = q.getColumn(1).getString();
  CHECK(rows == second.assignment());
  std::set<std::string> marked;
  SQLite::Statement m(s.db(), "SELECT person_id FROM persons WHERE rev > ?");
  m.bind(1, rev);
  while (m.executeStep()) marked.insert(m.getColumn(0).getString());
  const std::string pa(first.person_of(a.key())), pb(first.person_of(b.key())), pc(first.person_of(c.key()));
  CHECK(marked == std::set<std::string>{pa, pb, pc});  // gained nodes, lost b, lost c; d's person untouched
}

TEST_CASE("a first save of thousands of identities builds the person index again and numbers persons in order") {
  StateStore s(":memory:");
  const auto index_sql = [&] {
    return s.db()
        .execAndGet("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'person_handles_by_person'")
        .getString();
  };
  const std::string made = index_sql();
  IdentityInput in;
  for (int i = 0; i < 3000; ++i) in.conversation_handles.push_back({HandleKind::phone, fmt::format("+49151{:08}", i)});
  int n = 0;
  // Ids that do not sort as they are minted, so the insert order (by id) differs from the numbering.
  const auto mint = [&] { return fmt::format("p_{:016x}", (++n * 2654435761u) % 1000003u); };
  const auto first = reconcile(in, mint);
  REQUIRE(first.new_persons.size() == 3000);
  s.identity().save(first);
  CHECK(index_sql() == made);  // dropped for the inserts and made again, the same
  std::map<std::string, std::string> rows;
  SQLite::Statement q(s.db(), "SELECT node, person_id FROM person_handles");
  while (q.executeStep()) rows[q.getColumn(0).getString()] = q.getColumn(1).getString();
  CHECK(rows == first.assignment());
  // seq follows the result's order of new persons, whatever order the rows were inserted in.
  SQLite::Statement seq(s.db(), "SELECT seq FROM persons WHERE person_id = ?");
  for (std::size_t k : {std::size_t{0}, std::size_t{1}, std::size_t{1500}, std::size_t{2999}}) {
    seq.bind(1, std::string(first.person_ids[first.new_persons[k]]));
    REQUIRE(seq.executeStep());
    CHECK(seq.getColumn(0).getInt64() == static_cast<std::int64_t>(k) + 1);
    seq.reset();
  }
  CHECK(s.db().execAndGet("PRAGMA integrity_check").getString() == "ok");

  // A few more (no rebuild): found by person through the index.
  in.previous = first.assignment();
  for (int i = 3000; i < 3010; ++i)
    in.conversation_handles.push_back({HandleKind::phone, fmt::format("+49151{:08}", i)});
  const auto second = reconcile(in, mint);
  s.identity().save(second);
  CHECK(s.db().execAndGet("SELECT count(*) FROM person_handles").getInt() == 3010);
  CHECK(s.db().execAndGet("SELECT max(seq) FROM persons").getInt() == 3010);
  const std::string last(second.person_of(fmt::format("phone:+49151{:08}", 3009)));
  CHECK(s.identity().nodes_of(last) == std::vector<std::string>{fmt::format("phone:+49151{:08}", 3009)});
  CHECK(s.db().execAndGet("PRAGMA integrity_check").getString() == "ok");
}
