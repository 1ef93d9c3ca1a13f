#pragma once
// A loopback URL nothing listens on.
#include <string>

namespace chansync::test {

// Binds 127.0.0.1:0 without listening, notes the port and closes the socket: connections to it are
// refused, unless another process binds the same port in between (unlikely: the kernel spreads
// ephemeral ports over a wide range). Throws std::runtime_error if no socket can be bound.
std::string dead_base_url();

// A loopback port the kernel just handed out and that is free again now (for servers without a
// "port 0", such as Dovecot). Same caveat; throws std::runtime_error if no socket can be bound.
unsigned short free_loopback_port();

}  // namespace chansync::test
