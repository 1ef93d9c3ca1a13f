#pragma once
// An in-process HTTP server on 127.0.0.1:<free port> that replays scripted responses and records
// every request, for adapter tests. No fixed ports, no sleeps: listen() is awaited via wait_until_ready.
#include <httplib.h>

#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace chansync::test {

struct Recorded {
  std::string method, path, query_target, body, authorization;
  httplib::Params params;
};

struct Scripted {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // application/json is gzipped by httplib when the client asks for it; application/octet-stream
  // goes as it is (a body the test encoded itself).
  std::string content_type = "application/json";
};

class FakeServer {
 public:
  // `respond` gets each request (and how many came before it) and returns the response.
  using Handler = std::function<Scripted(const httplib::Request&, std::size_t n)>;
  explicit FakeServer(Handler respond);
  ~FakeServer();
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  // base_url() carrying user:url-password-17@: for tests that no message or request shows it.
  std::string base_url_with_credentials() const {
    return "http://user:url-password-17@127.0.0.1:" + std::to_string(m_port);
  }
  std::vector<Recorded> requests();

 private:
  httplib::Server m_server;
  std::thread m_thread;
  int m_port = 0;
  std::mutex m_mu;
  std::vector<Recorded> m_requests;
};

// Reads tests/fixtures/<relative>.
std::string fixture(const std::string& relative);

}  // namespace chansync::test
