#pragma once
// A Telegram getUpdates/getMe server as Telegram behaves: updates stay until a getUpdates with
// offset N confirms (deletes) every update below N; `limit` caps a page. Header-only, for
// tests/adapters/telegram_test.cpp; the conformance harness serves pages by request alone instead.
#include <cstdint>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/fake_server.hpp"

namespace chansync::test {

class FakeTelegram {
 public:
  explicit FakeTelegram(std::string token) : m_token(std::move(token)) {}

  // Queues the updates of a getUpdates body (a fixture); they are served re-serialised (dump()).
  void add_page(const std::string& body) {
    const auto page = nlohmann::json::parse(body);  // named: a temporary would die before the loop
    std::lock_guard lock(m_mu);
    for (const auto& u : page.at("result")) m_queue.push_back(u);
  }
  // Update ids still held (not yet confirmed), oldest first.
  std::deque<std::int64_t> held() {
    std::lock_guard lock(m_mu);
    std::deque<std::int64_t> out;
    for (const auto& u : m_queue) out.push_back(u.at("update_id").get<std::int64_t>());
    return out;
  }

  FakeServer::Handler handler() {
    return [this](const httplib::Request& req, std::size_t) -> Scripted {
      if (req.path == "/bot" + m_token + "/getMe") return {200, fixture("telegram/getme.json")};
      if (req.path != "/bot" + m_token + "/getUpdates") return {404, fixture("telegram/error_404.json")};
      std::lock_guard lock(m_mu);
      if (req.has_param("offset")) {
        const auto offset = std::stoll(req.get_param_value("offset"));
        while (!m_queue.empty() && m_queue.front().at("update_id").get<std::int64_t>() < offset) m_queue.pop_front();
      }
      const std::size_t limit = req.has_param("limit") ? std::stoul(req.get_param_value("limit")) : 100;
      nlohmann::json result = nlohmann::json::array();
      for (std::size_t i = 0; i < m_queue.size() && i < limit; ++i) result.push_back(m_queue[i]);
      return {200, nlohmann::json{{"ok", true}, {"result", result}}.dump()};
    };
  }

 private:
  std::string m_token;
  std::mutex m_mu;
  std::deque<nlohmann::json> m_queue;
};

}  // namespace chansync::test
