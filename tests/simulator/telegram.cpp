#include "tests/simulator/telegram.hpp"

#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>

namespace chansync::sim {
namespace {

void telegram_error(httplib::Response& res, int code, const std::string& description) {
  res.status = code;
  res.set_content(nlohmann::json{{"ok", false}, {"error_code", code}, {"description", description}}.dump(),
                  "application/json");
}

}  // namespace

TelegramSim::TelegramSim(std::string token, int seed, FaultTaker faults)
    : m_token(std::move(token)), m_faults(std::move(faults)) {
  m_bot_id = m_token.substr(0, m_token.find(':'));
  add(seed);
}

std::size_t TelegramSim::held() {
  std::lock_guard lock(m_mu);
  return m_queue.size();
}

// Three customers take turns; every fifth message shares the sender's own contact (a German mobile).
void TelegramSim::add(int n) {
  static const char* const k_names[] = {"Jürgen", "Ana", "Mei"};
  for (int i = 0; i < n; ++i, ++m_next_id) {
    const std::int64_t k = m_next_id - 600000001;
    const std::int64_t user = 100000001 + k % 3;
    nlohmann::json from = {{"id", user}, {"is_bot", false}, {"first_name", k_names[k % 3]}};
    nlohmann::json message = {{"message_id", 1000 + k},
                              {"from", from},
                              {"chat", {{"id", user}, {"first_name", k_names[k % 3]}, {"type", "private"}}},
                              {"date", 1760000000 + k * 60}};
    if (k % 5 == 4)
      message["contact"] = {{"phone_number", fmt::format("49151{:07}", user % 10000000)},
                            {"first_name", k_names[k % 3]},
                            {"user_id", user}};
    else
      message["text"] = fmt::format("Telegram message {}", k);
    m_queue.emplace_back(m_next_id, nlohmann::json{{"update_id", m_next_id}, {"message", message}}.dump());
  }
}

void TelegramSim::get_updates(const httplib::Request& req, httplib::Response& res) {
  std::lock_guard lock(m_mu);
  ++m_requests;
  std::int64_t offset = 0;
  std::size_t limit = 100;
  try {
    if (req.has_param("offset")) offset = std::stoll(req.get_param_value("offset"));
    if (req.has_param("limit")) limit = std::clamp<std::size_t>(std::stoul(req.get_param_value("limit")), 1, 100);
  } catch (const std::exception&) {
    return telegram_error(res, 400, "Bad Request: wrong parameter");
  }
  // Telegram: an offset confirms every update below it; they are never sent again.
  while (!m_queue.empty() && m_queue.front().first < offset) m_queue.pop_front();
  std::string body = R"({"ok":true,"result":[)";
  for (std::size_t i = 0; i < m_queue.size() && i < limit; ++i) body += (i ? "," : "") + m_queue[i].second;
  res.set_content(body + "]}", "application/json");
}

void TelegramSim::routes(httplib::Server& server) {
  server.Get(
      R"(/bot([^/]+)/(getMe|getUpdates|getWebhookInfo))", [this](const httplib::Request& req, httplib::Response& res) {
        if (req.matches[1] != m_token) {
          std::lock_guard lock(m_mu);
          ++m_requests;
          return telegram_error(res, req.matches[1].str().find(':') == std::string::npos ? 404 : 401,
                                req.matches[1].str().find(':') == std::string::npos ? "Not Found" : "Unauthorized");
        }
        if (req.matches[2] == "getUpdates") return get_updates(req, res);
        // The fault first: m_faults takes the simulator's lock, which /_sim/stats holds while it asks
        // held(); taken under m_mu, the two would wait for each other.
        const bool webhook_error =
            req.matches[2] == "getWebhookInfo" && m_faults && m_faults("telegram/getWebhookInfo") == "webhook_error";
        std::lock_guard lock(m_mu);
        ++m_requests;
        if (req.matches[2] == "getWebhookInfo") {
          nlohmann::json info = {{"url", ""},
                                 {"has_custom_certificate", false},
                                 {"pending_update_count", static_cast<std::int64_t>(m_queue.size())}};
          if (webhook_error) {
            const auto now =
                std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                    .count();
            info["url"] = "https://hooks.example.invalid/telegram/" + m_token;  // people do put the token there
            info["ip_address"] = "192.0.2.10";
            info["last_error_date"] = now - 300;
            info["last_error_message"] = "Wrong response from the webhook: 502 Bad Gateway";
            info["max_connections"] = 40;
          }
          res.set_content(nlohmann::json{{"ok", true}, {"result", info}}.dump(), "application/json");
          return;
        }
        res.set_content(nlohmann::json{{"ok", true},
                                       {"result",
                                        {{"id", std::stoll(m_bot_id)},
                                         {"is_bot", true},
                                         {"first_name", "Sim Support"},
                                         {"username", "sim_support_bot"}}}}
                            .dump(),
                        "application/json");
      });
  server.Post("/_sim/add-updates", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(m_mu);
    add(req.has_param("n") ? std::stoi(req.get_param_value("n")) : 1);
    res.set_content("{}", "application/json");
  });
}

}  // namespace chansync::sim
