#include "tests/support/fake_server.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace chansync::test {

FakeServer::FakeServer(Handler respond) {
  auto handle = [this, respond](const httplib::Request& req, httplib::Response& res) {
    std::size_t n;
    {
      std::lock_guard lock(m_mu);
      n = m_requests.size();
      m_requests.push_back(
          {req.method, req.path, req.target, req.body, req.get_header_value("Authorization"), req.params});
    }
    const Scripted s = respond(req, n);
    res.status = s.status;
    for (const auto& [k, v] : s.headers) res.set_header(k, v);
    res.set_content(s.body, s.content_type);
  };
  m_server.Get(".*", handle);
  m_server.Post(".*", handle);
  m_server.Put(".*", handle);
  m_server.Delete(".*", handle);
  m_server.Patch(".*", handle);
  m_port = m_server.bind_to_any_port("127.0.0.1");
  m_thread = std::thread([this] { m_server.listen_after_bind(); });
  // bind_to_any_port already listen()s, so connections queue until the accept loop runs. But a
  // stop() that lands before the loop starts is lost and the join would hang: wait for the loop.
  while (!m_server.is_running()) std::this_thread::yield();
}

FakeServer::~FakeServer() {
  m_server.stop();
  m_thread.join();
}

std::vector<Recorded> FakeServer::requests() {
  std::lock_guard lock(m_mu);
  return m_requests;
}

std::string fixture(const std::string& relative) {
  std::ifstream in(std::string(CHANSYNC_SOURCE_DIR) + "/tests/fixtures/" + relative);
  if (!in) throw std::runtime_error("missing fixture " + relative);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace chansync::test
