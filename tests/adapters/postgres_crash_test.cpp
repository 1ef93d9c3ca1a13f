// The postgres target when things go wrong mid-push: the server killed, chansync killed (kill -9),
// two chansync processes migrating one schema at once. Each holds a table or advisory lock from a
// test connection so the push stops at a known point inside its transaction, then acts.
#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "sync/push.hpp"
#include "sync/reconcile.hpp"
#include "tests/adapters/postgres_support.hpp"

using namespace chansync;
using namespace chansync::test;

namespace {

// Polls `sql` until it returns `expected` (the server's state cannot be waited on otherwise).
bool wait_until(const std::string& dsn, const std::string& sql, const std::string& expected) {
  using namespace std::chrono;
  const auto deadline = steady_clock::now() + seconds(20);
  while (pg_value(dsn, sql) != expected) {
    if (steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

std::string chansync_waiting(const std::string& database, const char* event_type = "Lock") {
  return fmt::format(
      "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'chansync' AND datname = '{}' "
      "AND wait_event_type = '{}'",
      database, event_type);
}

// A test session holding a lock in an open transaction until release() or destruction.
class LockHolder {
 public:
  LockHolder(const std::string& dsn, const std::string& sql) : m_conn(PQconnectdb(dsn.c_str()), PQfinish) {
    REQUIRE(PQstatus(m_conn.get()) == CONNECTION_OK);
    run("BEGIN; " + sql);
  }
  void release() { run("ROLLBACK"); }

 private:
  void run(const std::string& sql) {
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(m_conn.get(), sql.c_str()), PQclear);
    INFO(PQerrorMessage(m_conn.get()));
    REQUIRE(PQresultStatus(r.get()) != PGRES_FATAL_ERROR);
  }
  std::unique_ptr<PGconn, decltype(&PQfinish)> m_conn;
};

void seed(StateStore& store, int customers, int first_message = 0) {
  std::vector<Conversation> page;
  for (int i = 0; i < customers; ++i) {
    const std::string id = "c" + std::to_string(i), number = "+49151123456" + std::to_string(70 + i);
    Conversation c{"sms", id, "sms", {HandleKind::phone, number, true}, "+4930123456", {}};
    c.messages.push_back({"sms", id + "-m" + std::to_string(first_message), id, "sms", Direction::inbound,
                          AuthorKind::customer, number, 1'700'000'000'000 + first_message, "hi"});
    page.push_back(std::move(c));
    if (first_message) break;  // a later message of the first customer only
  }
  store.records().commit_conversations("sms", "conversations", page, {}, "x");
  int n = static_cast<int>(store.identity().person_count());
  store.identity().save(reconcile(store.identity().input({}), [&] { return pid_of(++n); }));
}

std::map<std::string, std::string> ledger_of(StateStore& store) {
  std::map<std::string, std::string> out;
  for (const auto& [id, e] : store.ledger().entries("db")) out[id] = e.hash;
  return out;
}

}  // namespace

TEST_CASE("a server killed mid-push: unavailable, the ledger and mark stay; after a restart the next push delivers",
          "[postgres]") {
  PgServer server;  // its own: this test kills it
  const std::string database = server.create_database("killed");
  const std::string dsn = server.dsn(database);
  StateStore store(":memory:");
  seed(store, 3);
  auto adapter = pg_adapter(dsn);
  const auto first = push_target("db", *adapter->sink(), store, {});
  REQUIRE_FALSE(first.error);
  REQUIRE(first.created == 3);
  const auto mark = store.ledger().mark("db");
  const auto ledger = ledger_of(store);
  REQUIRE(mark);

  seed(store, 1, 5);  // the first customer writes again
  bool waited = false;
  {
    LockHolder lock(dsn, "LOCK TABLE chansync.persons IN EXCLUSIVE MODE");
    std::thread killer([&] {
      waited = wait_until(dsn, chansync_waiting(database), "1");
      server.kill();
    });
    const auto second = push_target("db", *adapter->sink(), store, {});
    killer.join();
    CHECK(waited);
    REQUIRE(second.error);
    CHECK(second.error->code == Errc::unavailable);
    CHECK_THAT(second.error->message, Catch::Contains(server.socket_dir().string()) && Catch::Contains("run again"));
    CHECK(second.updated == 0);
    CHECK(store.ledger().mark("db") == mark);
    CHECK(ledger_of(store) == ledger);
  }
  server.start();
  CHECK(pg_value(dsn, "SELECT count(*) FROM chansync.timeline") == "3");  // the batch rolled back
  const auto third = push_target("db", *adapter->sink(), store, {});      // the same adapter reconnects
  INFO((third.error ? third.error->describe() : ""));
  CHECK_FALSE(third.error);
  CHECK(third.updated == 1);
  CHECK(pg_value(dsn, "SELECT count(*) FROM chansync.timeline") == "4");
  CHECK(store.ledger().mark("db") > mark);
}

TEST_CASE("a lock another session keeps past the lock timeout ends the push as unavailable, naming it", "[postgres]") {
  PgServer server;
  const std::string dsn = server.dsn(server.create_database("locked"));
  StateStore store(":memory:");
  seed(store, 2);
  REQUIRE(push_target("db", *pg_adapter(dsn)->sink(), store, {}).created == 2);
  seed(store, 1, 5);
  // The DSN's own options override chansync's 60 s default: 300 ms keeps the test short.
  LockHolder lock(dsn, "LOCK TABLE chansync.persons IN EXCLUSIVE MODE");
  const auto r = push_target("db", *pg_adapter(dsn + " options='-c lock_timeout=300'")->sink(), store, {});
  REQUIRE(r.error);
  CHECK(r.error->code == Errc::unavailable);
  CHECK_THAT(r.error->message, Catch::Contains("another session held a lock") && Catch::Contains("55P03"));
  CHECK(r.updated == 0);
}

TEST_CASE("chansync killed (kill -9) inside a batch leaves nothing of it; a re-run leaves exactly one copy",
          "[postgres]") {
  const Db db = fresh_db();
  const std::vector<PersonRecord> earlier = {pg_person(1), pg_person(2)};
  const std::vector<PersonRecord> killed = {pg_person(3), pg_person(4)};
  auto adapter = pg_adapter(db.dsn);
  REQUIRE(adapter->sink()->push(pg_items(earlier)));  // an earlier batch, committed

  LockHolder lock(db.dsn, "LOCK TABLE chansync.persons IN EXCLUSIVE MODE");
  std::fflush(nullptr);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {  // another chansync process; never returns into the test
    int code = 3;
    try {
      code = pg_adapter(db.dsn)->sink()->push(pg_items(killed)) ? 0 : 2;
    } catch (...) {
    }
    ::_exit(code);
  }
  // Its batch is staged and its INSERT waits for the lock: kill it there.
  const bool waited = wait_until(db.dsn, chansync_waiting(db.name), "1");
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK(waited);
  CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
  lock.release();
  // Its server session notices the client is gone and ends; only this test's adapter stays.
  CHECK(wait_until(db.dsn,
                   fmt::format("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'chansync' AND "
                               "datname = '{}'",
                               db.name),
                   "1"));
  CHECK(pg_value(db.dsn, "SELECT count(*) FROM chansync.persons") == "2");
  CHECK(pg_value(db.dsn, "SELECT count(*) FROM chansync.timeline") == "6");

  std::vector<PersonRecord> all = earlier;
  all.insert(all.end(), killed.begin(), killed.end());
  auto rerun = adapter->sink()->push(pg_items(all));
  REQUIRE(rerun);
  std::vector<PushOutcome::Status> got;
  for (const auto& o : *rerun) got.push_back(o.status);
  using S = PushOutcome::Status;
  CHECK(got == std::vector{S::unchanged, S::unchanged, S::created, S::created});
  CHECK(pg_value(db.dsn, "SELECT count(*) || ' ' || count(DISTINCT person_id) FROM chansync.persons") == "4 4");
  CHECK(pg_value(db.dsn, "SELECT count(*) FROM chansync.timeline") == "12");
  CHECK(pg_value(db.dsn, "SELECT count(*) FROM chansync.person_handles") == "8");
  CHECK(pg_value(db.dsn, "SELECT count(*) FROM chansync.person_contacts") == "4");
}

TEST_CASE("two chansync processes migrating one schema take turns on the advisory lock", "[postgres]") {
  const Db db = fresh_db();
  std::optional<LockHolder> lock;
  lock.emplace(db.dsn, "SELECT pg_advisory_xact_lock(hashtextextended('chansync schema ' || 'chansync', 0))");
  const std::vector<PersonRecord> a = {pg_person(1)}, b = {pg_person(2)};
  Result<std::vector<PushOutcome>> first, second;
  std::thread one([&] { first = pg_adapter(db.dsn)->sink()->push(pg_items(a)); });
  std::thread two([&] { second = pg_adapter(db.dsn)->sink()->push(pg_items(b)); });
  const bool waited = wait_until(db.dsn, chansync_waiting(db.name, "Lock") + " AND wait_event = 'advisory'", "2");
  CHECK(waited);
  CHECK(pg_value(db.dsn, "SELECT count(*) FROM pg_namespace WHERE nspname = 'chansync'") == "0");  // nothing yet
  lock.reset();  // the connection closes: its lock goes
  one.join();
  two.join();
  REQUIRE(first);
  REQUIRE(second);
  CHECK(pg_value(db.dsn, "SELECT string_agg(version::text, ',' ORDER BY version) FROM chansync.schema_version") ==
        "1,2");
  CHECK(pg_value(db.dsn, "SELECT count(*) FROM chansync.persons") == "2");
}
