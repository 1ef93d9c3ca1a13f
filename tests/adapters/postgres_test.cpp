// The postgres target against a real PostgreSQL server the tests start (tests/support/pg_server.hpp):
// tables and migrations, upserts, deletions, text round trips, verify, probe, secrets. The failure
// cases (a server or chansync killed mid-push, concurrent migrations) are in postgres_crash_test.cpp.
#include <catch2/catch.hpp>
#include <set>

#include "sync/push.hpp"
#include "sync/reconcile.hpp"
#include "tests/adapters/postgres_support.hpp"

using namespace chansync;
using namespace chansync::test;

TEST_CASE("postgres creates its schema and tables on the first push; migrating again changes nothing", "[postgres]") {
  const Db db = fresh_db();
  const std::vector<PersonRecord> persons = {pg_person(1)};
  REQUIRE(pg_value(db.dsn, "SELECT count(*) FROM pg_namespace WHERE nspname = 'chansync'") == "0");
  auto first = pg_adapter(db.dsn)->sink()->push(pg_items(persons));
  REQUIRE(first);
  CHECK(statuses(*first) == std::vector{S::created});

  const auto tables = pg_query(db.dsn,
                               "SELECT table_name FROM information_schema.tables WHERE table_schema = 'chansync' "
                               "ORDER BY table_name");
  CHECK(tables == std::vector<std::vector<std::string>>{
                      {"person_contacts"}, {"person_handles"}, {"persons"}, {"schema_version"}, {"timeline"}});
  // Every child table cascades from persons.
  CHECK(pg_value(db.dsn,
                 "SELECT string_agg(t.relname || '->' || r.relname || ':' || confdeltype::text, ' ' ORDER BY t.relname)"
                 " FROM pg_constraint JOIN pg_class t ON t.oid = conrelid JOIN pg_class r ON r.oid = confrelid"
                 " WHERE contype = 'f' AND connamespace = 'chansync'::regnamespace") ==
        "person_contacts->persons:c person_handles->persons:c timeline->persons:c");
  CHECK(pg_value(db.dsn, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'chansync'") == "9");
  CHECK(pg_value(db.dsn, "SELECT string_agg(version::text, ',' ORDER BY version) FROM chansync.schema_version") ==
        "1,2");

  // A later run (a new adapter, so it migrates again) leaves the tables and their rows as they were.
  const std::vector<PersonRecord> more = {pg_person(2)};
  REQUIRE(pg_adapter(db.dsn)->sink()->push(pg_items(more)));
  CHECK(pg_value(db.dsn, "SELECT string_agg(version::text, ',' ORDER BY version) FROM chansync.schema_version") ==
        "1,2");
  CHECK(count(db, "persons") == "2");
  CHECK(person_rows(db, pid_of(1)) == "1 2 1 3");
}

TEST_CASE("postgres timeline rows carry kind, status and attachments; verify compares them", "[postgres]") {
  const Db db = fresh_db();
  auto adapter = pg_adapter(db.dsn);
  auto& sink = *adapter->sink();
  PersonRecord p = pg_person(1);
  p.messages[0].status = "read";
  p.messages[0].attachments = {{"image", "cat.jpg", "https://cdn.example/cat.jpg"}};
  p.messages[1].kind = MessageKind::call;
  const std::vector<PersonRecord> v1 = {p};
  REQUIRE(sink.push(pg_items(v1)));
  CHECK(pg_value(db.dsn,
                 "SELECT string_agg(kind || '/' || coalesce(status, '-') || '/' || "
                 "jsonb_array_length(attachments), ' ' ORDER BY sent_at) FROM chansync.timeline") ==
        "message/read/1 call/-/0 message/-/0");
  CHECK(pg_value(db.dsn, "SELECT attachments->0->>'url' FROM chansync.timeline WHERE status = 'read'") ==
        "https://cdn.example/cat.jpg");
  auto same = sink.verify(pg_items(v1, true));
  REQUIRE(same);
  CHECK((*same)[0].state == VerifyOutcome::State::same);

  pg_query(db.dsn, "UPDATE chansync.timeline SET status = 'delivered' WHERE status = 'read'");
  auto edited = sink.verify(pg_items(v1, true));
  REQUIRE(edited);
  CHECK((*edited)[0].state == VerifyOutcome::State::edited);
  CHECK_THAT((*edited)[0].detail, Catch::Contains("status"));
}

TEST_CASE("postgres copies new persons straight into the tables; times of any year read back exactly", "[postgres]") {
  const Db db = fresh_db();
  auto adapter = pg_adapter(db.dsn);
  auto& sink = *adapter->sink();
  // The session's staging tables, seen from another session while the adapter's is open.
  const auto staging = [&] {
    return pg_value(db.dsn,
                    "SELECT count(*) FROM pg_class WHERE relname = 'chansync_persons' AND relpersistence = 't'");
  };
  PersonRecord early = pg_person(1);
  early.messages[0].sent_at = -86'400'001;          // 1969-12-30T23:59:59.999Z
  early.messages[1].sent_at = -62'135'596'800'000;  // 0001-01-01T00:00:00.000Z, the first the copy can spell
  early.messages[2].status = "delivered";
  early.contacts[0].updated_at = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z, the last
  const std::vector<PersonRecord> v1 = {early, pg_person(2)};
  auto first = sink.push(pg_items(v1));
  REQUIRE(first);
  CHECK(statuses(*first) == std::vector{S::created, S::created});
  CHECK(staging() == "0");  // copied, not staged
  CHECK(pg_value(db.dsn,
                 "SELECT string_agg(coalesce(status, '-'), ' ' ORDER BY sent_at) FROM chansync.timeline "
                 "WHERE person_id = '" +
                     early.person_id + "'") == "- - delivered");
  CHECK(pg_value(db.dsn,
                 "SELECT to_char(min(sent_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') FROM "
                 "chansync.timeline") == "0001-01-01 00:00:00.000");
  auto same = sink.verify(pg_items(v1, true));
  REQUIRE(same);
  for (const auto& v : *same) {
    INFO(v.person_id << ": " << v.detail);
    CHECK(v.state == VerifyOutcome::State::same);
  }

  // A year the copy cannot spell: the batch goes through the staging tables, which take any.
  PersonRecord late = pg_person(3);
  late.messages[0].sent_at = 253'402'300'800'000;  // 10000-01-01
  late.messages[1].sent_at = 999'999'999'999'123;  // a bogus vendor time: year 33658, to the millisecond
  const std::vector<PersonRecord> v2 = {late};
  auto second = sink.push(pg_items(v2));
  REQUIRE(second);
  CHECK(statuses(*second) == std::vector{S::created});
  CHECK(staging() == "1");
  CHECK(pg_value(db.dsn,
                 "SELECT to_char(max(sent_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM "
                 "chansync.timeline") == "33658-09-27 01:46:39.123000");
  auto read = sink.verify(pg_items(v2, true));
  REQUIRE(read);
  CHECK((*read)[0].state == VerifyOutcome::State::same);

  // New to the ledger but there already (a push whose ledger was lost), beside a new person: the copy
  // is rolled back and the staging tables tell them apart.
  const std::vector<PersonRecord> v3 = {pg_person(2), pg_person(4)};
  auto third = adapter->sink()->push(pg_items(v3));
  REQUIRE(third);
  CHECK(statuses(*third) == std::vector{S::unchanged, S::created});
  CHECK(count(db, "persons") == "4");
  CHECK(person_rows(db, pid_of(2)) == "1 2 1 3");
  CHECK(person_rows(db, pid_of(4)) == "1 2 1 3");
}

TEST_CASE("postgres migrates version-1 tables in place: rows kept, timeline columns added", "[postgres]") {
  const Db db = fresh_db();
  const std::vector<PersonRecord> persons = {pg_person(1)};
  REQUIRE(pg_adapter(db.dsn)->sink()->push(pg_items(persons)));
  // What chansync with schema 1 left behind.
  pg_query(db.dsn, "ALTER TABLE chansync.timeline DROP COLUMN kind, DROP COLUMN status, DROP COLUMN attachments");
  pg_query(db.dsn, "DELETE FROM chansync.schema_version WHERE version = 2");

  auto adapter = pg_adapter(db.dsn);
  auto verified = adapter->sink()->verify(pg_items(persons, true));  // read-only: reads the old columns
  REQUIRE(verified);
  CHECK((*verified)[0].state == VerifyOutcome::State::same);
  CHECK(pg_value(db.dsn, "SELECT string_agg(version::text, ',') FROM chansync.schema_version") == "1");
  REQUIRE(adapter->sink()->push(pg_items(persons)));  // unchanged content: only the migration happens
  verified = adapter->sink()->verify(pg_items(persons, true));
  REQUIRE(verified);
  CHECK((*verified)[0].state == VerifyOutcome::State::same);  // old rows read as kind message, no status
  CHECK(pg_value(db.dsn, "SELECT string_agg(version::text, ',' ORDER BY version) FROM chansync.schema_version") ==
        "1,2");
  CHECK(pg_value(db.dsn,
                 "SELECT count(*) FROM chansync.timeline WHERE kind = 'message' AND status IS NULL AND "
                 "attachments = '[]'") == "3");
}

TEST_CASE("postgres upserts in place: one row per person, child rows replaced, created and updated told apart",
          "[postgres]") {
  const Db db = fresh_db();
  auto adapter = pg_adapter(db.dsn);
  auto& sink = *adapter->sink();
  const std::vector<PersonRecord> v1 = {pg_person(1), pg_person(2)};
  auto first = sink.push(pg_items(v1));
  REQUIRE(first);
  CHECK(statuses(*first) == std::vector{S::created, S::created});

  PersonRecord changed = pg_person(1, 4, "again");  // a fourth message, every text changed
  changed.display_name = "Kim Lee";
  changed.handles.pop_back();
  changed.contacts.clear();
  const std::vector<PersonRecord> v2 = {changed, pg_person(3)};
  std::vector<PushItem> items = pg_items(v2);
  items[0].previous = PushLedgerEntry{changed.person_id, content_hash(v1[0]), ""};
  auto second = sink.push(items);
  REQUIRE(second);
  CHECK(statuses(*second) == std::vector{S::updated, S::created});
  CHECK(count(db, "persons") == "3");
  CHECK(person_rows(db, changed.person_id) == "1 1 0 4");
  CHECK(person_rows(db, pid_of(2)) == "1 2 1 3");  // untouched
  CHECK(pg_value(db.dsn, "SELECT display_name FROM chansync.persons WHERE person_id = '" + changed.person_id + "'") ==
        "Kim Lee");
  CHECK(pg_value(db.dsn, "SELECT string_agg(text, '|' ORDER BY sent_at) FROM chansync.timeline WHERE person_id = '" +
                             changed.person_id + "'") == "again 0|again 1|again 2|again 3");
  auto verified = sink.verify(pg_items(v2, true));
  REQUIRE(verified);
  for (const auto& v : *verified) CHECK(v.state == VerifyOutcome::State::same);

  // The same content again: without a ledger entry (a re-run after a crash) it is left alone; with
  // one (only push --full sends that) it is rewritten.
  const std::string pushed_at = "SELECT pushed_at FROM chansync.persons WHERE person_id = '" + pid_of(3) + "'";
  const std::string before = pg_value(db.dsn, pushed_at);
  auto again = sink.push(pg_items(v2));
  REQUIRE(again);
  CHECK(statuses(*again) == std::vector{S::unchanged, S::unchanged});
  CHECK(pg_value(db.dsn, pushed_at) == before);
  auto forced = sink.push(pg_items(v2, true));
  REQUIRE(forced);
  CHECK(statuses(*forced) == std::vector{S::updated, S::updated});
  CHECK(pg_value(db.dsn, "SELECT pushed_at > '" + before + "' FROM chansync.persons WHERE person_id = '" + pid_of(3) +
                             "'") == "t");
  CHECK(count(db, "persons") == "3");
  CHECK(count(db, "timeline") == "10");
}

TEST_CASE("postgres deletes a person merged away, and its rows with it", "[postgres]") {
  const Db db = fresh_db();
  StateStore store(":memory:");
  auto conversation = [](const std::string& id, const std::string& number) {
    Conversation c{"sms", id, "sms", {HandleKind::phone, number, true}, "+4930123456", {}};
    c.messages.push_back({"sms", id + "-m", id, "sms", Direction::inbound, AuthorKind::customer, number,
                          1'700'000'000'000, "hi from " + id});
    return c;
  };
  store.records().commit_conversations(
      "sms", "conversations", {conversation("c1", "+4915112345671"), conversation("c2", "+4915112345672")}, {}, "x");
  int n = 0;
  auto reconcile_now = [&] {
    store.identity().save(reconcile(store.identity().input({}), [&] { return pid_of(++n); }));
  };
  reconcile_now();
  auto adapter = pg_adapter(db.dsn);
  const auto first = push_target("db", *adapter->sink(), store, {});
  REQUIRE_FALSE(first.error);
  REQUIRE(first.created == 2);
  REQUIRE(count(db, "persons") == "2");

  // A CRM contact holding both numbers makes them one person; the younger id is merged away.
  store.records().commit_contacts(
      "crm", "contacts",
      {{"crm", "7", "Anna", "Weber", {{HandleKind::phone, "+4915112345671"}, {HandleKind::phone, "+4915112345672"}}}},
      {}, "x");
  reconcile_now();
  REQUIRE(store.identity().person_count() == 1);
  const std::string survivor = store.db().execAndGet("SELECT person_id FROM person_handles LIMIT 1").getString();
  const std::string gone = survivor == pid_of(1) ? pid_of(2) : pid_of(1);
  const auto second = push_target("db", *adapter->sink(), store, {});
  INFO((second.error ? second.error->describe() : ""));
  REQUIRE_FALSE(second.error);
  CHECK(second.deleted == 1);
  CHECK(second.updated == 1);
  CHECK(person_rows(db, gone) == "0 0 0 0");
  CHECK(person_rows(db, survivor) == "1 2 1 2");  // both conversations' messages
  CHECK(store.ledger().entries("db").count(gone) == 0);
}

TEST_CASE("postgres stores tricky text exactly; a value PostgreSQL cannot hold fails only its person", "[postgres]") {
  const Db db = fresh_db();
  const std::vector<std::string> texts = {"tab\there",
                                          "line\nbreak",
                                          "cr\r\nlf",
                                          "back\\slash",
                                          "\\N",
                                          "\\.",
                                          "\\",
                                          "it's \"quoted\"",
                                          "émoji 👋🏽 and 🇩🇪",
                                          "עברית mixed",
                                          "e\u0301 combining",
                                          "",
                                          std::string(100'000, 'x'),
                                          "\x01\x02\x7f control",
                                          "trailing backslash\\"};
  std::vector<PersonRecord> persons;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    auto p = pg_person(static_cast<int>(i), 1);
    p.display_name = texts[i];
    p.messages[0].text = texts[i];
    p.contacts[0].first_name = texts[i];
    p.handles[0].value = "x" + texts[i].substr(0, 200) + "@example.com";
    persons.push_back(std::move(p));
  }
  // Free text PostgreSQL cannot hold (a NUL byte, bytes that are not UTF-8) is stored with U+FFFD in
  // their place, so that one mail keeps no person out; a key (a handle, an id) that cannot be is
  // refused with the person.
  auto nul = pg_person(90, 2);
  nul.messages[1].text = std::string("before\0after", 12);
  auto latin1 = pg_person(91, 1);
  latin1.display_name = "M\xfcller";  // ISO-8859-1, not UTF-8
  auto bad_key = pg_person(92, 1);
  bad_key.handles[0].value = std::string("x\0y@example.com", 15);
  persons.push_back(nul);
  persons.push_back(latin1);
  persons.push_back(bad_key);

  auto adapter = pg_adapter(db.dsn);
  auto out = adapter->sink()->push(pg_items(persons));
  REQUIRE(out);
  REQUIRE(out->size() == persons.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    INFO("text " << i);
    CHECK((*out)[i].status == S::created);
    const std::string id = pid_of(static_cast<int>(i));
    CHECK(pg_value(db.dsn, "SELECT display_name FROM chansync.persons WHERE person_id = '" + id + "'") == texts[i]);
    CHECK(pg_value(db.dsn, "SELECT text FROM chansync.timeline WHERE person_id = '" + id + "'") == texts[i]);
    CHECK(pg_value(db.dsn, "SELECT name FROM chansync.person_contacts WHERE person_id = '" + id + "'") ==
          (texts[i].empty() ? "Lee " + std::to_string(i) : texts[i] + " Lee " + std::to_string(i)));
  }
  CHECK(out->at(texts.size()).status == S::created);
  CHECK(pg_value(db.dsn, "SELECT text FROM chansync.timeline WHERE message_id = 'm90-1'") ==
        "before\xEF\xBF\xBD"
        "after");
  CHECK(out->at(texts.size() + 1).status == S::created);
  CHECK(pg_value(db.dsn, "SELECT display_name FROM chansync.persons WHERE person_id = '" + pid_of(91) + "'") ==
        "M\xEF\xBF\xBDller");
  const auto& refused = out->at(texts.size() + 2);
  CHECK(refused.status == S::failed);
  REQUIRE(refused.error);
  CHECK_THAT(refused.error->message,
             Catch::Contains("NUL") && Catch::Contains("person_handles") && Catch::Contains("column value"));
  CHECK(person_rows(db, pid_of(92)) == "0 0 0 0");
  CHECK(count(db, "persons") == std::to_string(texts.size() + 2));

  // Read back by verify() too: the stored copy equals what was sent, byte for byte.
  persons.resize(texts.size() + 2);  // the repaired ones too
  auto verified = adapter->sink()->verify(pg_items(persons, true));
  REQUIRE(verified);
  for (const auto& v : *verified) {
    INFO(v.person_id << ": " << v.detail);
    CHECK(v.state == VerifyOutcome::State::same);
  }
}

TEST_CASE("a constraint the server enforces fails only the person breaking it, with the server's message",
          "[postgres]") {
  const Db db = fresh_db();
  auto adapter = pg_adapter(db.dsn);
  const std::vector<PersonRecord> seed = {pg_person(9)};
  REQUIRE(adapter->sink()->push(pg_items(seed)));
  // A DBA's own rule on the target, which chansync knows nothing about.
  pg_query(db.dsn, "ALTER TABLE chansync.timeline ADD CONSTRAINT no_spam CHECK (text NOT LIKE 'SPAM%')");
  const std::vector<PersonRecord> persons = {pg_person(1), pg_person(2, 3, "SPAM"), pg_person(3)};
  auto out = adapter->sink()->push(pg_items(persons));
  REQUIRE(out);
  CHECK(statuses(*out) == std::vector{S::created, S::failed, S::created});
  REQUIRE((*out)[1].error);
  CHECK((*out)[1].error->code == Errc::remote);
  CHECK_THAT((*out)[1].error->message, Catch::Contains("no_spam") && Catch::Contains("23514"));
  // The server's DETAIL quotes the failing row: the person's number and message stay out of the
  // error, which is logged and kept in the state store.
  CHECK_THAT((*out)[1].error->message, !Catch::Contains("SPAM") && !Catch::Contains(persons[1].handles[0].value));
  CHECK(person_rows(db, pid_of(1)) == "1 2 1 3");
  CHECK(person_rows(db, pid_of(2)) == "0 0 0 0");  // not half-written
  CHECK(person_rows(db, pid_of(3)) == "1 2 1 3");
}

TEST_CASE("postgres verify reports a row deleted by hand missing, and an UPDATE by hand edited", "[postgres]") {
  const Db db = fresh_db();
  auto adapter = pg_adapter(db.dsn);
  REQUIRE(adapter->sink()->readable());
  const std::vector<PersonRecord> persons = {pg_person(1), pg_person(2), pg_person(3), pg_person(4)};
  REQUIRE(adapter->sink()->push(pg_items(persons)));
  pg_query(db.dsn, fmt::format("DELETE FROM chansync.persons WHERE person_id = '{}';"
                               "UPDATE chansync.persons SET display_name = 'Someone Else' WHERE person_id = '{}';"
                               "UPDATE chansync.timeline SET text = 'edited' WHERE message_id = 'm3-0';"
                               "DELETE FROM chansync.timeline WHERE message_id = 'm3-2';"
                               "UPDATE chansync.person_handles SET verified = false WHERE person_id = '{}'",
                               pid_of(1), pid_of(2), pid_of(4)));
  auto out = adapter->sink()->verify(pg_items(persons, true));
  REQUIRE(out);
  REQUIRE(out->size() == 4);
  CHECK((*out)[0].state == VerifyOutcome::State::missing);
  CHECK((*out)[0].detail == "no persons row");
  CHECK((*out)[1].state == VerifyOutcome::State::edited);
  CHECK((*out)[1].detail == "display_name");
  CHECK((*out)[2].state == VerifyOutcome::State::edited);
  CHECK((*out)[2].detail == "timeline: 1 row missing, 1 row edited (text)");
  CHECK((*out)[3].state == VerifyOutcome::State::edited);
  CHECK((*out)[3].detail == "handles: 2 rows edited (verified)");

  // A database chansync never wrote to holds none of them.
  auto empty = pg_adapter(fresh_db().dsn)->sink()->verify(pg_items(persons, true));
  REQUIRE(empty);
  CHECK(empty->at(0).state == VerifyOutcome::State::missing);
  CHECK_THAT(empty->at(0).detail, Catch::Contains("no chansync tables"));
}

TEST_CASE("postgres probe: reachable, no tables yet, a refused login, no server, a user who may not create",
          "[postgres]") {
  const Db db = fresh_db();
  auto fresh = pg_adapter(db.dsn)->probe();
  CHECK(fresh.cls == HealthClass::ok);
  CHECK_THAT(fresh.summary, Catch::Contains("created on the first push"));
  CHECK(pg_value(db.dsn, "SELECT count(*) FROM pg_namespace WHERE nspname = 'chansync'") == "0");  // read-only
  const std::vector<PersonRecord> persons = {pg_person(1)};
  REQUIRE(pg_adapter(db.dsn)->sink()->push(pg_items(persons)));
  const auto after = pg_adapter(db.dsn)->probe();
  CHECK(after.cls == HealthClass::ok);
  CHECK_THAT(after.summary, Catch::Contains("version 2"));
  CHECK_THAT(after.evidence.url, Catch::StartsWith("postgresql://") && !Catch::Contains("password"));

  const std::string wrong = db.dsn.substr(0, db.dsn.find("password=")) + "password=wrong-pw-1b2c dbname=" + db.name;
  CHECK(pg_adapter(wrong)->probe().cls == HealthClass::auth_failed);
  auto refused = pg_adapter(wrong)->sink()->push(pg_items(persons));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == Errc::auth);
  CHECK_THAT(refused.error().message, Catch::Contains("password authentication failed"));

  const std::string nowhere = "host=/nonexistent-chansync-dir port=5432 user=x password=y dbname=z";
  CHECK(pg_adapter(nowhere)->probe().cls == HealthClass::unreachable);
  auto down = pg_adapter(nowhere)->sink()->push(pg_items(persons));
  REQUIRE_FALSE(down);
  CHECK(down.error().code == Errc::unavailable);
  CHECK_THAT(down.error().message, Catch::Contains("/nonexistent-chansync-dir") && Catch::Contains("pg_isready"));

  auto no_db = pg_adapter(PgServer::shared().dsn("no_such_db"))->sink()->push(pg_items(persons));
  REQUIRE_FALSE(no_db);
  CHECK(no_db.error().code == Errc::config);

  // A role that may log in but not create a schema: the probe says so, a push is an auth error.
  pg_query(db.dsn, "CREATE ROLE reader LOGIN PASSWORD 'reader-pw'");
  const std::string reader = fmt::format("host={} port=5432 user=reader password=reader-pw dbname={}",
                                         PgServer::shared().socket_dir().string(), db.name);
  const auto denied = pg_adapter(reader, "reader_schema")->probe();
  CHECK(denied.cls == HealthClass::auth_failed);
  CHECK_THAT(denied.summary, Catch::Contains("may not create the tables of schema reader_schema"));
  auto pushed = pg_adapter(reader, "reader_schema")->sink()->push(pg_items(persons));
  REQUIRE_FALSE(pushed);
  CHECK(pushed.error().code == Errc::auth);
  CHECK_THAT(pushed.error().message, Catch::Contains("permission denied") && Catch::Contains("42501") &&
                                         Catch::Contains("CREATE on the database"));

  // Least privilege. A writer granted USAGE and SELECT, INSERT, UPDATE, DELETE on a current schema
  // pushes (no DDL is sent); one granted SELECT alone is told by the probe; the owner of a schema a
  // DBA made, still empty, may create the tables though it may not create schemas.
  const auto as = [&](const std::string& user) {
    return fmt::format("host={} port=5432 user={} password=pw-{} dbname={}", PgServer::shared().socket_dir().string(),
                       user, user, db.name);
  };
  const std::string writer = "w_" + db.name, select_only = "s_" + db.name, owner = "o_" + db.name;
  for (const auto& role : {writer, select_only, owner})
    pg_query(db.dsn, fmt::format("CREATE ROLE {} LOGIN PASSWORD 'pw-{}'", role, role));
  pg_query(db.dsn, fmt::format("GRANT USAGE ON SCHEMA chansync TO {0}, {1}; "
                               "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA chansync TO {0}; "
                               "GRANT SELECT ON ALL TABLES IN SCHEMA chansync TO {1}; "
                               "CREATE SCHEMA owned AUTHORIZATION {2}",
                               writer, select_only, owner));
  CHECK(pg_adapter(as(writer))->probe().cls == HealthClass::ok);
  const std::vector<PersonRecord> more = {pg_person(1, 2), pg_person(2)};
  auto by_writer = pg_adapter(as(writer))->sink()->push(pg_items(more));
  REQUIRE(by_writer);
  for (const auto& o : *by_writer) CHECK(o.status != PushOutcome::Status::failed);
  CHECK(count(db, "persons") == "2");
  const auto read_only = pg_adapter(as(select_only))->probe();
  CHECK(read_only.cls == HealthClass::auth_failed);
  CHECK_THAT(read_only.summary, Catch::Contains("may not read and write the tables of schema chansync"));
  // Its push is refused on the tables, and told what to grant for them (no CREATE: the tables exist).
  auto by_reader = pg_adapter(as(select_only))->sink()->push(pg_items({pg_person(3)}));
  REQUIRE_FALSE(by_reader);
  CHECK(by_reader.error().code == Errc::auth);
  CHECK_THAT(by_reader.error().message,
             Catch::Contains("42501") && Catch::Contains("USAGE on the schema") && !Catch::Contains("CREATE"));
  // A role whose statement_timeout is shorter than a batch takes is told so, as a config error.
  pg_query(db.dsn, fmt::format("ALTER ROLE {} SET statement_timeout = 1", writer));
  std::vector<PersonRecord> many;
  for (int i = 100; i < 1100; ++i) many.push_back(pg_person(i, 3));
  auto timed_out = pg_adapter(as(writer))->sink()->push(pg_items(many));
  REQUIRE_FALSE(timed_out);
  CHECK(timed_out.error().code == Errc::config);
  CHECK_THAT(timed_out.error().message, Catch::Contains("57014") && Catch::Contains("statement_timeout"));
  const auto owned = pg_adapter(as(owner), "owned")->probe();
  CHECK(owned.cls == HealthClass::ok);
  CHECK_THAT(owned.summary, Catch::Contains("created on the first push"));
  REQUIRE(pg_adapter(as(owner), "owned")->sink()->push(pg_items(persons)));
}

TEST_CASE("postgres refuses a schema that is not a plain lower-case identifier and a malformed DSN", "[postgres]") {
  auto refused = [](const std::string& dsn, const std::string& schema) {
    try {
      pg_adapter(dsn, schema);
    } catch (const Failure& f) {
      CHECK(f.error().code == Errc::config);
      return std::string(f.what());
    }
    return std::string();
  };
  const std::string ok_dsn = "host=/tmp dbname=x";
  CHECK(refused(ok_dsn, "chansync").empty());
  CHECK(refused(ok_dsn, "crm_2024").empty());
  CHECK_THAT(refused(ok_dsn, "Chansync"), Catch::Contains("targets.db.schema"));
  CHECK_FALSE(refused(ok_dsn, "pg_catalog").empty());
  CHECK_FALSE(refused(ok_dsn, "1st").empty());
  CHECK_FALSE(refused(ok_dsn, "a-b").empty());
  CHECK_FALSE(refused(ok_dsn, "x\"; DROP SCHEMA public; --").empty());
  CHECK_FALSE(refused(ok_dsn, "").empty());
  const std::string bad = refused("host=/tmp password=hunter2-secret dbname", "chansync");
  CHECK_THAT(bad, Catch::Contains("targets.db.dsn") && !Catch::Contains("hunter2"));
  CHECK_THAT(refused("postgresql://u:hunter2-secret@/x?bogus=%zz", "chansync"), !Catch::Contains("hunter2"));
}

TEST_CASE("the postgres DSN's password never reaches a log line or an error", "[postgres]") {
  PgLogCapture capture;
  const Db db = fresh_db();
  const std::string password = PgServer::shared().password();
  std::vector<std::string> texts;
  {
    auto adapter = pg_adapter(db.dsn);
    const std::vector<PersonRecord> persons = {pg_person(1), pg_person(2, 3, "SPAM")};
    REQUIRE(adapter->sink()->push(pg_items(persons)));
    texts.push_back(adapter->probe().summary);
    pg_query(db.dsn, "ALTER TABLE chansync.timeline ADD CONSTRAINT no_spam CHECK (text NOT LIKE 'SPAM%') NOT VALID");
    const std::vector<PersonRecord> changed = {pg_person(1, 4), pg_person(2, 4, "SPAM")};
    auto out = adapter->sink()->push(pg_items(changed));
    REQUIRE(out);
    REQUIRE(out->at(1).error);
    texts.push_back(out->at(1).error->message);
  }
  const std::string wrong_pw = "wrong-" + password;
  for (const auto& dsn : {db.dsn.substr(0, db.dsn.find("password=")) + "password=" + wrong_pw + " dbname=" + db.name,
                          "host=/nonexistent-dir port=5432 user=u password=" + password + " dbname=x",
                          PgServer::shared().dsn("no_such_database")}) {
    auto adapter = pg_adapter(dsn);
    const std::vector<PersonRecord> persons = {pg_person(1)};
    auto out = adapter->sink()->push(pg_items(persons));
    REQUIRE_FALSE(out);
    texts.push_back(out.error().message);
    texts.push_back(adapter->probe().summary);
  }
  std::string all = capture.all();
  CHECK_THAT(all, Catch::Contains("connected to PostgreSQL"));  // debug lines were captured
  CHECK_THAT(all, Catch::Contains("one at a time"));            // and the warning
  for (const auto& t : texts) all += "\n" + t;
  CHECK_THAT(all, Catch::Contains("password authentication failed"));
  CHECK_THAT(all, !Catch::Contains(password));
  CHECK_THAT(all, !Catch::Contains(wrong_pw));
}
