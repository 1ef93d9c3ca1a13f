// chansync-sim: a local stand-in for Twilio Messaging and Conversations, HubSpot CRM, Telegram and Meta Graph, for the
// demo, the end-to-end tests and the benchmark. Never linked into chansync.
#include <fmt/format.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>

#include "tests/simulator/imap.hpp"
#include "tests/simulator/server.hpp"
#include "tests/simulator/webhooks.hpp"

namespace {

void usage() {
  std::fputs(
      "usage: chansync-sim [--port N] [--port-file FILE] [--customers N] [--messages N] [--seed N]\n"
      "                    [--delay-ms N]   (server time per vendor request, like a real API's latency)\n"
      "                    [--enforce-limits [--hubspot-max N] [--hubspot-interval-ms N] [--hubspot-search-per-second "
      "N]\n"
      "                     [--hubspot-search-interval-ms N]\n"
      "                     [--twilio-concurrency N] [--meta-calls N] [--meta-window-ms N]]\n"
      "       chansync-sim post-webhooks --url URL ... (signed WhatsApp/Messenger webhooks; --help)\n"
      "       chansync-sim imap --dir DIR ... (a real Dovecot with the customers' mail; --help)\n"
      "Serves Twilio Messaging, Twilio calls, HubSpot contacts, Telegram and Meta Graph (Messenger,\n"
      "Instagram) on 127.0.0.1 from generated data.\n"
      "Credentials: account AC00000000000000000000000000000000, Twilio token $SIM_TWILIO_TOKEN\n"
      "(default sim-twilio-token), HubSpot token $SIM_HUBSPOT_TOKEN (default sim-hubspot-token),\n"
      "Telegram bot token $SIM_TELEGRAM_TOKEN (default 5550001111:SIMtelegramBotToken0123456789abcdef;\n"
      "getMe, getUpdates with deletion by offset; queue more: curl -d '' .../_sim/add-updates?n=N).\n"
      "Twilio (Basic auth AC…:token): GET "
      "/2010-04-01/Accounts/AC…/Messages.json?PageSize=N[&DateSent>=DAY][&DateSent<=DAY]\n"
      "and Calls.json?PageSize=N[&StartTime>=DAY][&StartTime<=DAY] (YYYY-MM-DD: that day and later, or earlier), "
      "newest first, paged by\n"
      "a relative next_page_uri. Calls are those of every 3rd customer (1-3 each; completed with a\n"
      "duration, busy, no-answer, canceled, failed) plus anonymous callers (from \"anonymous\",\n"
      "\"restricted\", \"+266696687\"); counted in the stats as \"calls\" and \"call_requests\".\n"
      "Meta Graph (any /vNN.N/): Messenger and Instagram conversation history of page $SIM_META_PAGE\n"
      "(default 1000000000000001; linked Instagram account $SIM_META_IG, default 17841400000000001) for\n"
      "the same customers (Messenger: every 3rd, Instagram: i % 4 == 1; one in 17 of each has 120-259\n"
      "messages, so messages.paging.next is followed), token $SIM_META_TOKEN (default sim-meta-token) as\n"
      "Authorization: Bearer:\n"
      "  GET /v23.0/PAGE?fields=id,name | ?fields=instagram_business_account\n"
      "  GET /v23.0/PAGE/conversations?platform=messenger|instagram&fields=...&limit=N[&after=CURSOR]\n"
      "  GET /v23.0/t_ID/messages?limit=N&after=CURSOR      (a conversation's older messages)\n"
      "  curl -d '' '.../_sim/add-meta-messages?platform=messenger&n=N'   (new inbound messages in the\n"
      "  least recently updated conversation, which becomes the newest)\n"
      "Twilio Conversations (Basic auth as Twilio; faults of vendor twilio apply): GET /v1/Configuration,\n"
      "/v1[/Services/IS…]/Conversations, .../Conversations/CH…/Participants|Messages (PageSize<=100,\n"
      "absolute meta.next_page_url), for every 4th customer by SMS, every 8th also by WhatsApp, and three\n"
      "web chat visitors; agents are the chat users agent.lena and agent.jonas. New inbound messages in the\n"
      "least recently updated conversation: curl -d '' '.../_sim/add-conversation-messages?n=N'\n"
      "Faults (kind 429|429-long|500|503|401|sunset|malformed|slow|empty|clear; count -1 = until cleared;\n"
      "vendor twilio|hubspot|meta, none = all) are set at run time (429: Retry-After 1 s, 429-long: 60 s;\n"
      "slow: the answer comes 600 ms late; empty:\n"
      "a Twilio Messages page with no messages); for meta they are Graph errors (429: code 4, 401: code 190,\n"
      "sunset: code 12, 500: code 2, malformed: truncated JSON, restricted: code 368) or headers on an\n"
      "answered request (usage: X-App-Usage call_count 95, upgraded: facebook-api-version v25.0):\n"
      "  curl -d '{\"kind\":\"429\",\"vendor\":\"twilio\",\"count\":2}' http://127.0.0.1:PORT/_sim/fault\n"
      "Hold one Twilio Messages.json page (page: Twilio's 0-based Page parameter; the first request for\n"
      "it blocks until released; one-shot) and watch it in the stats (\"held\", \"held_request\"):\n"
      "  curl -d '{\"vendor\":\"twilio\",\"page\":2}' http://127.0.0.1:PORT/_sim/hold\n"
      "  curl -d '' http://127.0.0.1:PORT/_sim/release\n"
      "Rate limits (off unless --enforce-limits; defaults are the vendors' own): HubSpot N requests per\n"
      "interval per token, rolling (190 per 10000 ms) with X-HubSpot-RateLimit-Max/-Remaining/\n"
      "-Interval-Milliseconds/-Daily/-Daily-Remaining, and N search requests per search interval (4 per\n"
      "1000 ms, no rate headers), 429 bodies with policyName TEN_SECONDLY_ROLLING or SECONDLY; Twilio N\n"
      "requests in flight per account\n"
      "(100; 429 with code 20429); Meta N app calls per rolling window (4800 per 3600000 ms): X-App-Usage\n"
      "call_count rises with each call and falls as calls leave the window; at 100% Graph error 4 with\n"
      "X-Business-Use-Case-Usage estimated_time_to_regain_access (minutes). Scale them down for tests and\n"
      "the benchmark. Accepted and refused requests per limit (refused after the first window apart, the\n"
      "rate kept from first to last accepted request) are in the stats under \"limits\".\n"
      "A bulk edit of HubSpot contacts (the first N modified now, found by the next search):\n"
      "  curl -d '' '.../_sim/touch-contacts?n=N'\n"
      "Stats (requests per vendor, corpus size, Meta conversations and messages served per platform,\n"
      "the held request, rate limits): GET http://127.0.0.1:PORT/_sim/stats\n",
      stderr);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "post-webhooks") return chansync::sim::post_webhooks(argc - 1, argv + 1);
  if (argc > 1 && std::string_view(argv[1]) == "imap") return chansync::sim::serve_imap(argc - 1, argv + 1);
  chansync::sim::CorpusSpec spec;
  chansync::sim::ServerOptions opts;
  int port = 0;
  std::string port_file;
  if (const char* t = std::getenv("SIM_TWILIO_TOKEN")) opts.twilio_token = t;
  if (const char* t = std::getenv("SIM_HUBSPOT_TOKEN")) opts.hubspot_token = t;
  if (const char* t = std::getenv("SIM_TELEGRAM_TOKEN")) opts.telegram_token = t;
  if (const char* t = std::getenv("SIM_META_TOKEN")) opts.meta_token = t;
  if (const char* t = std::getenv("SIM_META_PAGE")) opts.meta_page = t;
  if (const char* t = std::getenv("SIM_META_IG")) opts.meta_ig = t;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage();
        std::exit(64);
      }
      return argv[++i];
    };
    if (a == "--port")
      port = std::stoi(next());
    else if (a == "--port-file")
      port_file = next();
    else if (a == "--customers")
      spec.customers = std::stoi(next());
    else if (a == "--messages")
      spec.messages = std::stoi(next());
    else if (a == "--seed")
      spec.seed = std::stoull(next());
    else if (a == "--delay-ms")
      opts.delay_ms = std::stoi(next());
    else if (a == "--enforce-limits")
      opts.limits.enforce = true;
    else if (a == "--hubspot-max")
      opts.limits.hubspot_max = std::max(1, std::stoi(next()));
    else if (a == "--hubspot-interval-ms")
      opts.limits.hubspot_interval_ms = std::max(1, std::stoi(next()));
    else if (a == "--hubspot-search-per-second")
      opts.limits.hubspot_search_per_second = std::max(1, std::stoi(next()));
    else if (a == "--hubspot-search-interval-ms")
      opts.limits.hubspot_search_interval_ms = std::max(1, std::stoi(next()));
    else if (a == "--twilio-concurrency")
      opts.limits.twilio_concurrency = std::max(1, std::stoi(next()));
    else if (a == "--meta-calls")
      opts.limits.meta_calls = std::max(1, std::stoi(next()));
    else if (a == "--meta-window-ms")
      opts.limits.meta_window_ms = std::max(1, std::stoi(next()));
    else {
      usage();
      return a == "--help" || a == "-h" ? 0 : 64;
    }
  }
  // SIGTERM/SIGINT go to one thread that calls stop(): stop() takes a mutex (to release a held
  // request), which a signal handler must not. Blocked before any thread starts, so all inherit it.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  chansync::sim::Simulator sim(chansync::sim::generate(spec), opts);
  const int bound = sim.bind(port);
  if (bound <= 0) {
    std::fprintf(stderr, "chansync-sim: cannot bind 127.0.0.1:%d\n", port);
    return 69;
  }
  if (!port_file.empty()) {
    std::ofstream(port_file + ".tmp") << bound << "\n";
    std::rename((port_file + ".tmp").c_str(), port_file.c_str());
  }
  std::fprintf(stderr, "chansync-sim: listening on http://127.0.0.1:%d (%d customers, %d messages)\n", bound,
               spec.customers, spec.messages);
  std::atomic<bool> signalled{false};
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    signalled = true;
    sim.stop();
  });
  sim.listen();
  if (!signalled) kill(getpid(), SIGTERM);  // listen() failed on its own: wake the stopper to join it
  stopper.join();
  return 0;
}
