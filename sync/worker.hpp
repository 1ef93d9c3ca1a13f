#pragma once
// A thread that runs tasks one at a time, for work handed off page after page (a page fetched while
// the one before is written). std::async would start a thread per page, and with it lose what the
// work keeps per thread: simdjson's parser and its buffers (megabytes for a page of a thousand
// records, allocated and faulted in again each time), the allocator's caches, ICU's.
#include <condition_variable>
#include <future>
#include <mutex>
#include <stop_token>
#include <thread>

namespace chansync {

template <class R>
class Worker {
 public:
  Worker() = default;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Queues `f` to run after the task before it. At most one task waits: calling run while one is
  // queued waits until the worker takes it. Exceptions reach the future. The thread starts with the
  // first task (an adapter that never reads ahead never has one); run is called from one thread.
  template <class F>
  std::future<R> run(F&& f) {
    std::packaged_task<R()> task(std::forward<F>(f));
    auto future = task.get_future();
    if (!m_thread.joinable()) m_thread = std::jthread([this](std::stop_token stop) { loop(stop); });
    std::unique_lock lock(m_mutex);
    m_taken.wait(lock, [&] { return !m_task.valid(); });
    m_task = std::move(task);
    m_ready.notify_one();
    return future;
  }

 private:
  void loop(std::stop_token stop) {
    for (;;) {
      std::packaged_task<R()> task;
      {
        std::unique_lock lock(m_mutex);
        m_ready.wait(lock, stop, [&] { return m_task.valid(); });
        if (stop.stop_requested()) return;
        task = std::move(m_task);
        m_taken.notify_one();
      }
      task();
    }
  }

  std::mutex m_mutex;
  std::condition_variable_any m_ready;  // a task is queued, or the worker is stopping
  std::condition_variable m_taken;      // the queued task was taken
  std::packaged_task<R()> m_task;
  // Last: on destruction it is asked to stop and joined first (a task under way finishes; one still
  // queued is dropped, its future reports a broken promise).
  std::jthread m_thread;
};

}  // namespace chansync
