#pragma once
// SIGINT and SIGTERM as a request to stop: long-running commands (pull, sync, push, health --watch)
// finish the step they are on, keep what it did, and exit; a second signal ends the process at once.
// A handler, not a blocked signal: another thread (libcurl's resolver) may take the signal, and a
// shell starts background jobs with SIGINT ignored.
#include <atomic>

namespace chansync::cli {

// Installs the handler (idempotent) and returns the flag it sets.
const std::atomic<bool>& catch_stop_signals();

// The exit code for the signal that asked to stop (130 SIGINT, 143 SIGTERM), or 0 if none came.
int stop_exit_code();

}  // namespace chansync::cli
