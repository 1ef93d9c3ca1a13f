#include "adapters/read_ahead.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

using chansync::adapters::ChainReader;

namespace {

// A chain of pages "1", "2", ... "last" whose answers are their own paths; each request waits while
// the test holds the gate shut.
struct Pages {
  int last = 5;
  std::mutex mutex;
  std::condition_variable changed;
  bool open = true;
  int asked = 0;
  std::string get(const std::string& path) {
    std::unique_lock lock(mutex);
    ++asked;
    changed.notify_all();
    changed.wait(lock, [&] { return open; });
    return path;
  }
  std::string next(const std::string& answer) const {
    const int k = std::stoi(answer);
    return k < last ? std::to_string(k + 1) : std::string();
  }
  void wait_asked(int n) {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return asked >= n; });
  }
  void set_open(bool o) {
    std::lock_guard lock(mutex);
    open = o;
    changed.notify_all();
  }
};

ChainReader<std::string> reader(Pages& pages) {
  return ChainReader<std::string>([&](const std::string& p) { return pages.get(p); },
                                  [&](const std::string& a) { return pages.next(a); },
                                  [](const std::string&) { return std::size_t{1}; });
}

}  // namespace

TEST_CASE("a chain reader stopped while a request is on its way waits for it and asks for no other") {
  Pages pages;
  pages.set_open(false);
  auto chain = reader(pages);
  chain.start("1");
  pages.wait_asked(1);
  std::size_t dropped = 99;
  std::atomic<bool> stopping{false};
  std::thread stopper([&] {
    stopping = true;
    dropped = chain.stop();
  });
  // The stop waits for the answer on its way; released, the chain must not ask for page 2.
  while (!stopping) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  pages.set_open(true);
  stopper.join();
  CHECK(pages.asked == 1);
  CHECK(dropped == 1);  // the answer it waited for, never taken
  CHECK(chain.stop() == 0);
}

TEST_CASE("a chain reader hands out its answers in order and counts those dropped") {
  Pages pages;
  auto chain = reader(pages);
  chain.start("1");
  std::size_t dropped = 99;
  CHECK(chain.take("1", dropped) == "1");
  CHECK(dropped == 0);
  pages.wait_asked(3);  // two waiting: 2 and 3
  CHECK_FALSE(chain.take("7", dropped));
  CHECK(dropped == 2);
  CHECK(pages.asked == 3);
  CHECK_FALSE(chain.take("1", dropped));  // stopped: nothing more
  CHECK(dropped == 0);
}

TEST_CASE("a request that throws reaches the one who takes its answer, after the answers before it") {
  Pages pages;
  ChainReader<std::string> chain(
      [&](const std::string& p) {
        if (p == "2") throw std::runtime_error("out of memory");
        return pages.get(p);
      },
      [&](const std::string& a) { return pages.next(a); }, [](const std::string&) { return std::size_t{1}; });
  chain.start("1");
  std::size_t dropped = 99;
  CHECK(chain.take("1", dropped) == "1");
  CHECK_THROWS_WITH(chain.take("2", dropped), "out of memory");
  CHECK_FALSE(chain.take("2", dropped));  // said once: the chain has ended
}
