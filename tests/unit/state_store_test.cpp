#include "sync/state_store.hpp"

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "sync/error.hpp"
#include "sync/reconcile.hpp"
#include "sync/state_lock.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/unit/store_conversation.hpp"

using namespace chansync;
using test::conversation;

namespace {

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("store") {}
};

}  // namespace

TEST_CASE("migrations bring a new store to the current schema version") {
  StateStore s(":memory:");
  CHECK(s.schema_version() == 21);
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
    ~Remove() {
      std::filesystem::remove(file + ".lock");
      std::filesystem::remove(file);
    }
  } remove{path};
  std::ofstream(path) << "";  // the store the symlink below points at
  auto first = StateLock::acquire(path, "sync");
  REQUIRE(first);
  auto second = StateLock::acquire(path, "pull");
  REQUIRE_FALSE(second);
  CHECK(second.error().code == Errc::locked);
  CHECK_THAT(second.error().message, Catch::Contains("pid " + std::to_string(::getpid())) && Catch::Contains("sync"));
  // The same store by another path (a symlink to it) is the same lock.
  const std::string link = path + "-link";
  std::filesystem::remove(link);
  std::filesystem::create_symlink(path, link);
  auto by_link = StateLock::acquire(link, "pull");
  std::filesystem::remove(link);
  REQUIRE_FALSE(by_link);
  CHECK(by_link.error().code == Errc::locked);
  // A symlink to a store not made yet (its first run): the lock is beside the target all the same.
  const std::string fresh = path + "-fresh";
  std::filesystem::create_symlink(fresh, link);
  {
    auto through_link = StateLock::acquire(link, "sync");
    REQUIRE(through_link);
    auto direct = StateLock::acquire(fresh, "pull");
    CHECK_FALSE(direct);
  }
  std::filesystem::remove(link);
  std::filesystem::remove(fresh + ".lock");
  CHECK_FALSE(std::filesystem::exists(link + ".lock"));
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
