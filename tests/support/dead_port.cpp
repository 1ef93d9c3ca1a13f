#include "tests/support/dead_port.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace chansync::test {

// A raw socket rather than a FakeServer: destroying a FakeServer before its accept loop has started
// leaves httplib's stop() a no-op and the destructor waiting forever.
unsigned short free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!bound) throw std::runtime_error("cannot bind a loopback socket");
  return ntohs(addr.sin_port);
}

std::string dead_base_url() {
  return "http://127.0.0.1:" + std::to_string(free_loopback_port());
}

}  // namespace chansync::test
