#pragma once
// An exclusive lock on a state store, so two overlapping runs (cron) never interleave.
#include <string>

#include "sync/error.hpp"

namespace chansync {

class StateLock {
 public:
  // Takes the lock file "<state>.lock" without waiting. Fails with Errc::locked and a message naming
  // the holder (pid, command, start time) when another run holds it. The lock dies with the process,
  // so a killed run never leaves a stale lock. ":memory:" stores need no lock.
  // With `held_by`, a lock another run holds also puts that run's description there ("pid N
  // (chansync sync, started T)"; "an unknown process" when it wrote none).
  static Result<StateLock> acquire(const std::string& state_path, const std::string& command,
                                   std::string* held_by = nullptr);

  StateLock(StateLock&& other) noexcept : m_fd(other.m_fd) { other.m_fd = -1; }
  StateLock& operator=(StateLock&&) = delete;
  ~StateLock();

 private:
  explicit StateLock(int fd) : m_fd(fd) {}
  int m_fd = -1;
};

}  // namespace chansync
