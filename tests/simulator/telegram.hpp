#pragma once
// The simulator's Telegram Bot API: getMe and getUpdates for one bot token, with Telegram's
// server-side deletion (getUpdates?offset=N deletes every update below N), and
// POST /_sim/add-updates?n=N to queue N more private-chat messages.
#include <httplib.h>

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

namespace chansync::sim {

class TelegramSim {
 public:
  // `token` is the only bot token accepted ("<bot id>:<secret>"); `seed` updates are queued at start.
  TelegramSim(std::string token, int seed);
  // Adds the routes to `server`. The server must not outlive this object.
  void routes(httplib::Server& server);
  // {"telegram_requests", "telegram_held"} for /_sim/stats.
  long requests() const { return m_requests; }
  std::size_t held();

 private:
  void add(int n);  // caller holds m_mu
  void get_updates(const httplib::Request& req, httplib::Response& res);

  std::string m_token, m_bot_id;
  std::mutex m_mu;
  std::deque<std::pair<std::int64_t, std::string>> m_queue;  // update_id → update JSON
  std::int64_t m_next_id = 600000001;
  long m_requests = 0;
};

}  // namespace chansync::sim
