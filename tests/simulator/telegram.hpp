#pragma once
// The simulator's Telegram Bot API: getMe, getUpdates and getWebhookInfo for one bot token, with
// Telegram's server-side deletion (getUpdates?offset=N deletes every update below N), and
// POST /_sim/add-updates?n=N to queue N more private-chat messages. A fault armed for
// "telegram/getWebhookInfo" of kind webhook_error answers that a webhook is set and its last
// delivery failed (getUpdates itself is not changed).
#include <httplib.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace chansync::sim {

class TelegramSim {
 public:
  // Takes the kind of the first fault armed for exactly `vendor`, consuming one of its count.
  using FaultTaker = std::function<std::optional<std::string>(const std::string& vendor)>;
  // `token` is the only bot token accepted ("<bot id>:<secret>"); `seed` updates are queued at start.
  TelegramSim(std::string token, int seed, FaultTaker faults = {});
  // Adds the routes to `server`. The server must not outlive this object.
  void routes(httplib::Server& server);
  // {"telegram_requests", "telegram_held"} for /_sim/stats.
  long requests() const { return m_requests.load(); }
  std::size_t held();

 private:
  void add(int n);  // caller holds m_mu
  void get_updates(const httplib::Request& req, httplib::Response& res);

  std::string m_token, m_bot_id;
  FaultTaker m_faults;
  std::mutex m_mu;
  std::deque<std::pair<std::int64_t, std::string>> m_queue;  // update_id → update JSON
  std::int64_t m_next_id = 600000001;
  std::atomic<long> m_requests{0};  // read by /_sim/stats without m_mu
};

}  // namespace chansync::sim
