#pragma once
// `chansync-sim imap`: a real Dovecot holding the simulator's customers' mail, for the demo, the
// cross-channel scenario and the IMAP benchmark.

namespace chansync::sim {

int serve_imap(int argc, char** argv);

}  // namespace chansync::sim
