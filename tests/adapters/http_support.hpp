#pragma once
// Shared by the HTTP client's tests: a loopback port that refuses connections, and a clock only the
// client's sleeps move.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "adapters/http.hpp"

namespace chansync::test::http {

using adapters::Clock;
using adapters::HttpOptions;

// A loopback port that refuses connections for as long as it lives: bound, never listening, so that
// no other test's server can take it meanwhile (as one could a port a server had just let go).
struct RefusingPort {
  RefusingPort() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t n = sizeof a;
    REQUIRE(fd >= 0);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n) == 0);
    port = ntohs(a.sin_port);
  }
  ~RefusingPort() { ::close(fd); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  std::string url() const { return fmt::format("http://127.0.0.1:{}", port); }
  int fd = -1;
  int port = 0;
};

// A clock that only the client's sleeps move, and those sleeps: every wait is the client's computed one.
struct FakeClock {
  Clock::time_point at = Clock::time_point{} + std::chrono::hours(1);
  std::vector<std::chrono::milliseconds> sleeps;
  // `opts`, sleeping and telling the time by this clock.
  HttpOptions on(HttpOptions opts) {
    opts.sleep = [this](std::chrono::milliseconds d) {
      sleeps.push_back(d);
      at += d;
    };
    opts.now = [this] { return at; };
    return opts;
  }
};

}  // namespace chansync::test::http
