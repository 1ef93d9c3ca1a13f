#pragma once
// Waits that a stop ends: the process's stop pipe (written by cli/stop_signals.hpp's SIGINT and
// SIGTERM handler) and, for one caller, a descriptor of its own. No polling loop: a wait is one
// poll(2) on those descriptors, so an idle wait costs no CPU.
#include <chrono>

namespace chansync::adapters {

// A file descriptor that becomes readable when the process is asked to stop (cli/stop_signals.hpp
// writes to a pipe from its SIGINT and SIGTERM handler). The waits of a client with
// HttpOptions::stop_ends_waits (a retry's back-off, a Retry-After, pacing) then end at once, and the
// call fails with Errc::interrupted instead of sending: a stop does not wait out a vendor's
// two-minute Retry-After. -1, the default: waits are slept whole. An injected HttpOptions::sleep is
// not interrupted. Set it before clients are used.
void interrupt_waits_on(int fd);

// Waits `d`, or less when the process is asked to stop (interrupt_waits_on) or `also` (another
// descriptor, -1 = none) becomes readable: false then. Without either it sleeps `d` whole. For a
// pull's own waits outside HTTP (an IMAP retry), and the waits of clients with stop_ends_waits.
bool wait_unless_stopped(std::chrono::milliseconds d, int also = -1);

// Whether the process was asked to stop (interrupt_waits_on's descriptor is readable) or `also` is
// readable: for loops that would start another request.
bool stop_asked(int also = -1);

}  // namespace chansync::adapters
