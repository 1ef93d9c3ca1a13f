// The sink contract under faults, over every registered sink: a push killed (SIGKILL) after the
// target took a batch but before the ledger recorded it, and a target that applies a write but
// answers 503. Either way the next push leaves exactly one copy of every person and of its messages.
#include <SQLiteCpp/SQLiteCpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>

#include "sync/push.hpp"
#include "sync/reconcile.hpp"
#include "tests/contract/conformance.hpp"

using namespace chansync;
using namespace chansync::test;

namespace {

constexpr const char* k_target = "out";

// Five SMS customers with 1 to 3 messages: with batches of 2, a push takes three batches.
void seed(StateStore& store) {
  std::vector<Conversation> page;
  for (int i = 0; i < 5; ++i) {
    const std::string id = "f" + std::to_string(i), number = "+49151123457" + std::to_string(10 + i);
    Conversation c{"sms", id, "sms", {HandleKind::phone, number, true}, "+4930123456", {}};
    for (int m = 0; m <= i % 3; ++m)
      c.messages.push_back({"sms", id + "-m" + std::to_string(m), id, "sms", Direction::inbound, AuthorKind::customer,
                            number, 1'700'000'000'000 + m * 60'000, "Nachricht " + std::to_string(m)});
    page.push_back(std::move(c));
  }
  store.records().commit_conversations("sms", "conversations", page, {}, "seeded");
  int n = 0;
  store.identity().save(reconcile(store.identity().input({}), [&] { return "p" + std::to_string(++n); }));
}

std::map<std::string, std::size_t> expected_messages(StateStore& store) {
  std::map<std::string, std::size_t> out;
  store.identity().for_each_person([&](PersonRecord&& p) { out[p.person_id] = p.messages.size(); });
  return out;
}

// Exactly one copy of each person (and of each of its messages, where the target keeps them apart).
void check_one_copy(const Harness& h, const Endpoint& ep, StateStore& store) {
  const auto want = expected_messages(store);
  const auto held = h.held(ep.cfg, ep.server.get());
  CHECK(held.size() == want.size());
  for (const auto& [id, messages] : want) {
    INFO("person " << id);
    const auto it = held.find(id);
    REQUIRE(it != held.end());
    CHECK(it->second.persons == 1);
    if (it->second.messages >= 0) CHECK(it->second.messages == static_cast<int>(messages));
  }
  CHECK(store.ledger().entries(k_target).size() == want.size());
}

// Passes batches through to the real sink and kills the process once the target took the `after`th,
// before push_target records it. The batch before is recorded while this one goes (push.cpp's
// InFlight): the kill waits for that record, read on a connection of its own, so that the batch left
// unrecorded is this one alone. The child exits 4 if the record never comes, 5 if reading it fails.
struct KillAfter : Sink {
  Sink& inner;
  int after;
  std::string state;
  int taken = 0;
  KillAfter(Sink& s, int n, std::string path) : inner(s), after(n), state(std::move(path)) {}
  Result<std::vector<PushOutcome>> push(std::span<const PushItem> batch) override {
    auto out = inner.push(batch);
    if (++taken == after) {
      if (!inner.confirms_at_finish() && !recorded(2 * (after - 1))) ::_exit(4);  // batches of 2
      ::raise(SIGKILL);
    }
    return out;
  }
  bool recorded(int rows) const {
    try {
      SQLite::Database db(state, SQLite::OPEN_READONLY);
      db.setBusyTimeout(5000);
      SQLite::Statement q(db, "SELECT count(*) FROM push_ledger WHERE target = ?");
      q.bind(1, k_target);
      for (int i = 0; i < 500; ++i) {
        if (q.executeStep() && q.getColumn(0).getInt() >= rows) return true;
        q.reset();
        ::usleep(10'000);
      }
      return false;
    } catch (const std::exception&) {
      ::_exit(5);
    }
  }
  Result<void> finish() override { return inner.finish(); }
  bool confirms_at_finish() const override { return inner.confirms_at_finish(); }
};

}  // namespace

TEST_CASE("a push killed after the target took a batch, then rerun, leaves one copy of everything", "[conformance]") {
  for_each_sink([](const adapters::AdapterType& row, const Harness& h) {
    Scratch dir;
    Endpoint ep(h, h.fixtures, dir.path);
    const std::string state = (dir.path / "state.db").string();
    {
      StateStore store(state);
      seed(store);
    }
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // The child: its own store connection and adapter; killed once the target took the second batch.
      StateStore store(state);
      const auto adapter = create(row, ep.cfg);
      KillAfter killer(*adapter->sink(), 2, state);
      push_target(k_target, killer, store, PushOptions{.batch_size = 2});
      ::_exit(3);  // not reached: the kill comes first
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    INFO("the child's exit status: " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1));
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);

    StateStore store(state);
    // The first batch was recorded, the second taken by the target but not recorded.
    CHECK(store.ledger().entries(k_target).size() == (create(row, ep.cfg)->sink()->confirms_at_finish() ? 0u : 2u));
    const auto rerun = push_target(k_target, *create(row, ep.cfg)->sink(), store, PushOptions{.batch_size = 2});
    INFO("rerun: " << (rerun.error ? rerun.error->describe() : "ok"));
    CHECK_FALSE(rerun.error);
    CHECK(rerun.failed == 0);
    check_one_copy(h, ep, store);
    // And a third push has nothing to do.
    const auto third = push_target(k_target, *create(row, ep.cfg)->sink(), store, {});
    CHECK(third.created + third.updated == 0);
    check_one_copy(h, ep, store);
  });
}

TEST_CASE("a target that applies a write but answers 503 ends up with one copy after the next push", "[conformance]") {
  for_each_sink([](const adapters::AdapterType& row, const Harness& h) {
    if (!h.fixtures) return;  // not an HTTP target
    for (int faulty : {1, 2, 3}) {
      DYNAMIC_SECTION("the write request #" << faulty << " is applied, then answered 503") {
        auto writes = std::make_shared<std::atomic<int>>(0);
        const FakeServer::Handler handler = [&h, writes, faulty](const httplib::Request& req, std::size_t n) {
          Scripted answer = h.fixtures(req, n);
          const bool write = req.method != "GET" && req.method != "HEAD";
          if (write && ++*writes == faulty) return Scripted{503, R"({"message":"injected: applied, answer lost"})"};
          return answer;
        };
        Scratch dir;
        Endpoint ep(h, handler, dir.path);
        StateStore store(":memory:");
        seed(store);
        const auto first = push_target(k_target, *create(row, ep.cfg)->sink(), store, PushOptions{.batch_size = 2});
        INFO("first push: " << (first.error ? first.error->describe() : "ok") << ", failed " << first.failed);
        const auto second = push_target(k_target, *create(row, ep.cfg)->sink(), store, PushOptions{.batch_size = 2});
        INFO("second push: " << (second.error ? second.error->describe() : "ok"));
        CHECK_FALSE(second.error);
        check_one_copy(h, ep, store);
      }
    }
  });
}
