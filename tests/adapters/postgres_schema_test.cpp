// The postgres target's schema against what it finds in a database: one a newer chansync migrated,
// one holding an application's tables of the same names (or an old Flyway's schema_version), and a
// pooler in transaction mode (PgBouncer) in front of the server.
#include <catch2/catch.hpp>
#include <set>

#include "tests/adapters/postgres_support.hpp"

using namespace chansync;
using namespace chansync::test;

TEST_CASE("postgres refuses a schema a newer chansync migrated, naming both versions", "[postgres]") {
  const Db db = fresh_db();
  const std::vector<PersonRecord> persons = {pg_person(1)};
  REQUIRE(pg_adapter(db.dsn)->sink()->push(pg_items(persons)));
  pg_query(db.dsn, "INSERT INTO chansync.schema_version (version) VALUES (3)");

  auto adapter = pg_adapter(db.dsn);
  auto pushed = adapter->sink()->push(pg_items(persons));
  REQUIRE_FALSE(pushed);
  CHECK(pushed.error().code == Errc::config);
  CHECK_THAT(pushed.error().message, Catch::Contains("version 3") && Catch::Contains("(2)") &&
                                         Catch::Contains("upgrade chansync") && Catch::Contains("targets.db.schema"));
  auto verified = adapter->sink()->verify(pg_items(persons, true));
  REQUIRE_FALSE(verified);
  CHECK(verified.error().code == Errc::config);
  const auto report = adapter->probe();
  CHECK(report.cls != HealthClass::ok);
  CHECK_THAT(report.summary, Catch::Contains("version 3"));
  CHECK(pg_value(db.dsn, "SELECT string_agg(version::text, ',' ORDER BY version) FROM chansync.schema_version") ==
        "1,2,3");  // nothing was migrated or written
}

TEST_CASE("postgres refuses a schema holding tables of chansync's names that are not chansync's", "[postgres]") {
  const Db db = fresh_db();
  // An application's own tables in the schema: persons, and an index named as one of chansync's.
  pg_query(db.dsn, "CREATE SCHEMA chansync");
  pg_query(db.dsn, "CREATE TABLE chansync.persons (id int PRIMARY KEY, name text)");
  pg_query(db.dsn, "CREATE TABLE chansync.events (at timestamptz)");
  pg_query(db.dsn, "CREATE INDEX timeline_by_time ON chansync.events (at)");

  auto adapter = pg_adapter(db.dsn);
  const auto report = adapter->probe();
  CHECK(report.cls != HealthClass::ok);
  CHECK_THAT(report.summary,
             Catch::Contains("persons, persons_pkey, timeline_by_time") && Catch::Contains("targets.db.schema"));
  const std::vector<PersonRecord> persons = {pg_person(1)};
  auto pushed = adapter->sink()->push(pg_items(persons));
  REQUIRE_FALSE(pushed);
  CHECK(pushed.error().code == Errc::config);
  CHECK_THAT(pushed.error().message, Catch::Contains("already holds persons") && Catch::Contains("did not make"));
  // Nothing was made there, and the application's rows are as they were.
  CHECK(pg_value(db.dsn, "SELECT to_regclass('chansync.schema_version') IS NULL") == "t");
  CHECK(pg_value(db.dsn, "SELECT count(*) FROM chansync.persons") == "0");

  // An old Flyway's history table of the same name (text versions) is no chansync schema either.
  pg_query(db.dsn,
           "CREATE SCHEMA app; CREATE TABLE app.schema_version (installed_rank int PRIMARY KEY, version "
           "varchar(50), description text); INSERT INTO app.schema_version VALUES (1, '1.2', 'init')");
  auto flyway = pg_adapter(db.dsn, "app");
  const auto flyway_report = flyway->probe();
  CHECK(flyway_report.cls != HealthClass::ok);
  CHECK_THAT(flyway_report.summary, Catch::Contains("not chansync's") && Catch::Contains("Flyway"));
  auto flyway_push = flyway->sink()->push(pg_items(persons));
  REQUIRE_FALSE(flyway_push);
  CHECK(flyway_push.error().code == Errc::config);
  CHECK(pg_value(db.dsn, "SELECT to_regclass('app.persons') IS NULL") == "t");

  // Another schema is free.
  auto elsewhere = pg_adapter(db.dsn, "app_chansync");
  CHECK(elsewhere->probe().cls == HealthClass::ok);
  REQUIRE(elsewhere->sink()->push(pg_items(persons)));
}

TEST_CASE("postgres pushes through PgBouncer in transaction pooling, each transaction on another session",
          "[postgres]") {
  const Db db = fresh_db();
  const std::string pooled = PgServer::shared().pgbouncer_dsn(db.name);
  auto adapter = pg_adapter(pooled);
  // New persons (copied straight into the tables), then the same changed, twice (through the
  // staging tables: each batch's transaction on another server session than the one before).
  const std::vector<PersonRecord> persons = {pg_person(1), pg_person(2)};
  auto first = adapter->sink()->push(pg_items(persons));
  REQUIRE(first);
  CHECK(statuses(*first) == std::vector{S::created, S::created});
  for (int round = 1; round <= 2; ++round) {
    INFO("round " << round);
    std::vector<PersonRecord> changed = {pg_person(1, 3 + round), pg_person(2, 3 + round)};
    auto items = pg_items(changed);
    for (auto& i : items) i.previous = PushLedgerEntry{i.record->person_id, "old", ""};
    auto out = adapter->sink()->push(items);
    REQUIRE(out);
    for (const auto& o : *out) {
      INFO(o.person_id << ": " << (o.error ? o.error->message : ""));
      CHECK(o.status == S::updated);
    }
    CHECK(count(db, "timeline") == std::to_string(2 * (3 + round)));
  }
  auto verified = adapter->sink()->verify(pg_items({pg_person(1, 5), pg_person(2, 5)}, true));
  REQUIRE(verified);
  for (const auto& v : *verified) CHECK(v.state == VerifyOutcome::State::same);
  // No lock_timeout was left on a server session for other clients of the pool (each of the two).
  std::set<std::string> sessions;
  for (int i = 0; i < 4; ++i) {
    const auto row = pg_query(pooled, "SELECT pg_backend_pid(), current_setting('lock_timeout')");
    REQUIRE(row.size() == 1);
    sessions.insert(row[0][0]);
    CHECK(row[0][1] == "0");
  }
  CHECK(sessions.size() == 2);
}
