#pragma once
// Follows a chain of pages ahead of the thread that maps them. On a thread of its own it asks for a
// page and, as soon as the answer names the next one, asks for that: the vendor is asked again the
// moment an answer is in, not when the thread that maps pages has taken it (two wake-ups later, each
// waiting for a core the vendor's simulator or the state store's writer may hold). At most `depth`
// answers wait to be taken; one request is in flight at a time, as in a chain of pages.
#include <condition_variable>
#include <cstddef>
#include <deque>
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
  // What a dropped answer cost (its requests), reported with the next take.
  using Cost = std::function<std::size_t(const T&)>;

  ChainReader(Get get, Next next, Cost cost, std::size_t depth = 2)
      : m_get(std::move(get)), m_next(std::move(next)), m_cost(std::move(cost)), m_depth(depth) {}
  ChainReader(const ChainReader&) = delete;
  ChainReader& operator=(const ChainReader&) = delete;
  ~ChainReader() { stop(); }

  // Reads ahead from `path` on (a chain under way is stopped first).
  void start(std::string path) {
    stop();
    {
      std::lock_guard lock(m_mutex);
      m_running = true;
    }
    m_thread = std::jthread([this, path = std::move(path)](std::stop_token stop) mutable { run(stop, path); });
  }

  // The chain's next answer when it is the one for `path`; nullopt when the chain holds no answer for
  // it (none started, ended, another path): the chain is then stopped. `dropped` gets the cost of the
  // answers read ahead and never taken.
  std::optional<T> take(const std::string& path, std::size_t& dropped) {
    {
      std::unique_lock lock(m_mutex);
      m_changed.wait(lock, [&] { return !m_ready.empty() || !m_running; });
      if (!m_ready.empty() && m_ready.front().first == path) {
        T out = std::move(m_ready.front().second);
        m_ready.pop_front();
        m_changed.notify_all();
        dropped = std::exchange(m_dropped, 0);
        return out;
      }
    }
    stop();
    std::lock_guard lock(m_mutex);
    dropped = std::exchange(m_dropped, 0);
    return std::nullopt;
  }

  // Stops the chain: a request under way is waited for; the answers not taken are dropped.
  void stop() {
    if (m_thread.joinable()) {
      m_thread.request_stop();
      m_thread.join();
    }
    std::lock_guard lock(m_mutex);
    for (const auto& [path, answer] : m_ready) m_dropped += m_cost(answer);
    m_ready.clear();
    m_running = false;
  }

 private:
  void run(std::stop_token stop, std::string path) {
    for (;;) {
      T answer = m_get(path);
      std::string next = m_next(answer);
      std::unique_lock lock(m_mutex);
      m_ready.emplace_back(std::move(path), std::move(answer));
      m_changed.notify_all();
      if (next.empty() || !m_changed.wait(lock, stop, [&] { return m_ready.size() < m_depth; })) {
        m_running = false;
        m_changed.notify_all();
        return;
      }
      path = std::move(next);
    }
  }

  Get m_get;
  Next m_next;
  Cost m_cost;
  std::size_t m_depth;
  std::mutex m_mutex;
  std::condition_variable_any m_changed;  // an answer was added or taken, or the chain ended
  std::deque<std::pair<std::string, T>> m_ready;
  bool m_running = false;
  std::size_t m_dropped = 0;
  // Last: destroyed first, it joins a request under way before anything the request uses is gone.
  std::jthread m_thread;
};

}  // namespace chansync::adapters
