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

bool g_tty = false;  // stderr is a terminal: the first signal says what happens (set before the handler)

extern "C" void on_stop_signal(int sig) {
  // A second signal is someone who will not wait for the step under way: the default action, at
  // once. What was committed stays (a push's batch then in flight is sent again next time).
  if (g_stop.exchange(true)) {
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  g_signal = sig;
  const int saved = errno;  // write() may set it; the interrupted code may read it
  if (g_pipe[1] >= 0) {
    [[maybe_unused]] const auto n = write(g_pipe[1], "x", 1);
  }
  if (g_tty) {
    static constexpr char k_said[] =
        "\nchansync: stopping after the step under way (what it did is kept); again to stop at once\n";
    [[maybe_unused]] const auto n = write(STDERR_FILENO, k_said, sizeof k_said - 1);
  }
  errno = saved;
}

}  // namespace

const std::atomic<bool>& catch_stop_signals() {
  static const bool piped = [] {
    if (pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return false;  // waits are then slept whole
    adapters::interrupt_waits_on(g_pipe[0]);
    return true;
  }();
  (void)piped;
  g_tty = isatty(STDERR_FILENO) != 0;
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
