#include "adapters/stop_waits.hpp"

#include <poll.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <thread>

namespace chansync::adapters {

namespace {
std::atomic<int> g_interrupt_fd{-1};
}  // namespace

void interrupt_waits_on(int fd) {
  g_interrupt_fd = fd;
}

namespace {

// The stop descriptors to poll for readability: the process's (interrupt_waits_on) and `also`, those
// set. Returns how many.
nfds_t stop_fds(int also, std::array<pollfd, 2>& fds) {
  nfds_t n = 0;
  for (const int fd : {g_interrupt_fd.load(), also})
    if (fd >= 0) fds[n++] = pollfd{fd, POLLIN, 0};
  return n;
}

}  // namespace

bool wait_unless_stopped(std::chrono::milliseconds d, int also) {
  std::array<pollfd, 2> fds{};
  nfds_t n_fds = stop_fds(also, fds);
  // The stop pipes are never read: once written they stay readable, and every wait after ends at once.
  const auto until = std::chrono::steady_clock::now() + d;
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return true;
    if (n_fds == 0) {
      std::this_thread::sleep_for(left);
      return true;
    }
    const int n = ::poll(fds.data(), n_fds, static_cast<int>(std::min<long long>(left.count(), 1'000'000'000)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {  // poll itself failed: sleep the rest whole
      std::this_thread::sleep_for(left);
      return true;
    }
    if (std::any_of(fds.begin(), fds.begin() + n_fds, [](const pollfd& p) { return p.revents & POLLIN; })) return false;
    // A descriptor that cannot be waited on (closed, or its writer gone: no stop can come through it)
    // is dropped; the other is still waited on.
    n_fds = static_cast<nfds_t>(
        std::remove_if(fds.begin(), fds.begin() + n_fds, [](const pollfd& p) { return p.revents != 0; }) - fds.begin());
  }
}

bool stop_asked(int also) {
  std::array<pollfd, 2> fds{};
  const nfds_t n_fds = stop_fds(also, fds);
  return n_fds > 0 && ::poll(fds.data(), n_fds, 0) > 0 &&
         std::any_of(fds.begin(), fds.begin() + n_fds, [](const pollfd& p) { return p.revents & POLLIN; });
}

}  // namespace chansync::adapters
