#pragma once
// Follows a chain of pages ahead of the thread that maps them. On a thread of its own it asks for a
// page and, as soon as the answer names the next one, asks for that: the vendor is asked again the
// moment an answer is in, not when the thread that maps pages has taken it (two wake-ups later, each
// waiting for a core the vendor's simulator or the state store's writer may hold). At most `depth`
// answers wait to be taken; one request is in flight at a time, as in a chain of pages.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>

namespace chansync::adapters {

template <class T>
class ChainReader {
 public:
  using Get = std::function<T(const std::string& path)>;
  // The next page's path an answer names, "" when the chain ends there (the last page, a failure).
  using Next = std::function<std::string(const T&)>;
  // What a dropped answer cost (its requests), for stop() and take() to report.
  using Cost = std::function<std::size_t(const T&)>;

  ChainReader(Get get, Next next, Cost cost, std::size_t depth = 2)
      : m_get(std::move(get)), m_next(std::move(next)), m_cost(std::move(cost)), m_depth(depth) {}
  ChainReader(const ChainReader&) = delete;
  ChainReader& operator=(const ChainReader&) = delete;
  ~ChainReader() { stop(); }

  // Reads ahead from `path` on. A chain under way is stopped first, its answers dropped uncounted:
  // stop() or take() it first to count them.
  void start(std::string path) {
    stop();
    {
      std::lock_guard lock(m_mutex);
      m_running = true;
    }
    m_thread = std::jthread([this, path = std::move(path)](std::stop_token stop) mutable { run(stop, path); });
  }

  // The chain's next answer when it is the one for `path`; nullopt when the chain holds no answer for
  // it (none started, ended, another path): the chain is then stopped, and `dropped` is the cost of
  // the answers it read ahead that were never taken. What `get` or `next` threw for `path` is thrown
  // here, once the answers before it are taken.
  std::optional<T> take(const std::string& path, std::size_t& dropped) {
    dropped = 0;
    std::exception_ptr failure;
    {
      std::unique_lock lock(m_mutex);
      m_changed.wait(lock, [&] { return !m_ready.empty() || !m_running; });
      if (!m_ready.empty() && m_ready.front().first == path) {
        T out = std::move(m_ready.front().second);
        m_ready.pop_front();
        m_changed.notify_all();
        return out;
      }
      if (m_ready.empty() && m_failed == path) failure = m_failure;
    }
    dropped = stop();
    if (failure) std::rethrow_exception(failure);
    return std::nullopt;
  }

  // Stops the chain and returns the cost of the answers it read ahead that were never taken. A
  // request under way is waited for; none is started after.
  std::size_t stop() {
    if (m_thread.joinable()) {
      m_thread.request_stop();
      m_thread.join();
    }
    std::lock_guard lock(m_mutex);
    std::size_t dropped = 0;
    for (const auto& [path, answer] : m_ready) dropped += m_cost(answer);
    m_ready.clear();
    m_running = false;
    m_failure = nullptr;
    m_failed.clear();
    return dropped;
  }

 private:
  void run(std::stop_token stop, std::string path) {
    try {
      for (;;) {
        T answer = m_get(path);
        std::string next = m_next(answer);
        std::unique_lock lock(m_mutex);
        m_ready.emplace_back(path, std::move(answer));
        m_changed.notify_all();
        // A stop asked for while the answer was on its way ends the chain: wait() alone would go on
        // when there is room.
        if (next.empty() || stop.stop_requested() ||
            !m_changed.wait(lock, stop, [&] { return m_ready.size() < m_depth; }))
          break;
        path = std::move(next);
      }
    } catch (...) {
      std::lock_guard lock(m_mutex);
      m_failure = std::current_exception();
      m_failed = path;
    }
    std::lock_guard lock(m_mutex);
    m_running = false;
    m_changed.notify_all();
  }

  Get m_get;
  Next m_next;
  Cost m_cost;
  std::size_t m_depth;
  std::mutex m_mutex;
  std::condition_variable_any m_changed;  // an answer was added or taken, or the chain ended
  std::deque<std::pair<std::string, T>> m_ready;
  bool m_running = false;
  std::exception_ptr m_failure;  // what the request for m_failed threw; the chain ended there
  std::string m_failed;
  // Last: destroyed first, it joins a request under way before anything the request uses is gone.
  std::jthread m_thread;
};

}  // namespace chansync::adapters
