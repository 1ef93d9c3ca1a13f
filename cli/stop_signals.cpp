#include "cli/stop_signals.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "adapters/http.hpp"

namespace chansync::cli {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};
int g_pipe[2] = {-1, -1};  // written by the handler: HTTP clients' waits end (adapters::interrupt_waits_on)

extern "C" void on_stop_signal(int sig) {
  g_signal = sig;
  g_stop = true;
  if (g_pipe[1] >= 0) {
    const int saved = errno;                                   // write() may set it; the interrupted code may read it
    [[maybe_unused]] const auto n = write(g_pipe[1], "x", 1);  // full (a second signal): readable already
    errno = saved;
  }
}

}  // namespace

const std::atomic<bool>& catch_stop_signals() {
  static const bool piped = [] {
    if (pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return false;  // waits are then slept whole
    adapters::interrupt_waits_on(g_pipe[0]);
    return true;
  }();
  (void)piped;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return g_stop;
}

int stop_exit_code() {
  const int sig = g_signal;
  return sig ? 128 + sig : 0;
}

}  // namespace chansync::cli
