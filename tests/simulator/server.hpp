#pragma once
// The simulator's HTTP side: Twilio Messaging, Twilio calls (Calls.json) and HubSpot contacts
// endpoints over a Corpus, the Telegram Bot API's getMe/getUpdates (tests/simulator/telegram.hpp),
// Meta Graph Messenger and Instagram conversation history for the same customers
// (tests/simulator/meta.hpp), Twilio Conversations for the same customers (tests/simulator/conversations.hpp),
// a vendor status page (/api/v2/summary.json, tests/simulator/status_page.hpp),
// with switchable faults (POST /_sim/fault), a held Twilio page (POST /_sim/hold,
// /_sim/release), the vendors' rate limits when enforced (tests/simulator/limits.hpp) and request
// counters (GET /_sim/stats).
#include <memory>
#include <string>

#include "tests/simulator/corpus.hpp"
#include "tests/simulator/limits.hpp"

namespace chansync::sim {

struct ServerOptions {
  std::string account_sid = "AC00000000000000000000000000000000";
  std::string twilio_token = "sim-twilio-token";
  std::string hubspot_token = "sim-hubspot-token";
  std::string telegram_token = "5550001111:SIMtelegramBotToken0123456789abcdef";  // "<bot id>:<secret>"
  int telegram_updates = 12;  // private-chat updates queued at start
  std::string meta_token = "sim-meta-token";
  std::string meta_page = "1000000000000001";
  std::string meta_ig = "17841400000000001";  // the Instagram professional account linked to the page
  int delay_ms = 0;     // server time per request (a real API's latency); /_sim/ requests are not delayed
  LimitOptions limits;  // the vendors' rate limits; off unless limits.enforce
};

class Simulator {
 public:
  Simulator(Corpus corpus, ServerOptions opts);
  ~Simulator();
  // Binds 127.0.0.1:port (0 = any free port) and returns the port.
  int bind(int port);
  // Serves until stop().
  void listen();
  // Ends listen(); releases a held request first so its handler thread can finish. Thread-safe, but
  // not async-signal-safe (it takes a mutex): call it from a thread, not a signal handler.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> m;
};

}  // namespace chansync::sim
