#include "cli/stop_signals.hpp"

#include <csignal>

namespace chansync::cli {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};

extern "C" void on_stop_signal(int sig) {
  g_signal = sig;
  g_stop = true;
}

}  // namespace

const std::atomic<bool>& catch_stop_signals() {
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
