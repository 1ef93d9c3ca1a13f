// Worker: one thread of its own runs the tasks in turn; exceptions reach the futures; destroying it
// waits for the task under way and drops one still queued.
#include "sync/worker.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

using chansync::Worker;

TEST_CASE("a worker runs its tasks in turn on one thread of its own", "[worker]") {
  Worker<std::thread::id> worker;
  std::vector<std::future<std::thread::id>> done;
  for (int i = 0; i < 20; ++i) done.push_back(worker.run([] { return std::this_thread::get_id(); }));
  const auto first = done.front().get();
  CHECK(first != std::this_thread::get_id());
  for (std::size_t i = 1; i < done.size(); ++i) CHECK(done[i].get() == first);
}

TEST_CASE("a worker's tasks run one after another, in the order given", "[worker]") {
  Worker<int> worker;
  std::atomic<int> running = 0, most = 0;
  std::vector<int> order;
  std::vector<std::future<int>> done;
  for (int i = 0; i < 50; ++i)
    done.push_back(worker.run([&, i] {
      most = std::max(most.load(), ++running);
      order.push_back(i);  // only the worker's thread writes
      --running;
      return i;
    }));
  for (int i = 0; i < 50; ++i) CHECK(done[i].get() == i);
  CHECK(most == 1);
  REQUIRE(order.size() == 50);
  for (int i = 0; i < 50; ++i) CHECK(order[i] == i);
}

TEST_CASE("a task's exception reaches its future and the worker goes on", "[worker]") {
  Worker<int> worker;
  auto failed = worker.run([]() -> int { throw std::runtime_error("page 7 is not JSON"); });
  CHECK_THROWS_WITH(failed.get(), "page 7 is not JSON");
  CHECK(worker.run([] { return 8; }).get() == 8);
}

TEST_CASE("destroying a worker waits for the task under way and drops the one queued", "[worker]") {
  std::atomic<bool> started = false, finished = false, second_ran = false;
  std::future<int> queued;
  {
    Worker<int> worker;
    auto under_way = worker.run([&] {
      started = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      finished = true;
      return 1;
    });
    while (!started) std::this_thread::yield();
    queued = worker.run([&] {
      second_ran = true;
      return 2;
    });
  }
  CHECK(finished);
  CHECK_FALSE(second_ran);
  CHECK_THROWS_AS(queued.get(), std::future_error);
}
