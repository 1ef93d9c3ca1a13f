// chansync-sim: a local stand-in for Twilio Messaging and HubSpot CRM, for the demo, the end-to-end
// tests and the benchmark. Never linked into chansync.
#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include "tests/simulator/server.hpp"

namespace {

chansync::sim::Simulator* g_sim = nullptr;

void usage() {
  std::fputs(
      "usage: chansync-sim [--port N] [--port-file FILE] [--customers N] [--messages N] [--seed N]\n"
      "                    [--delay-ms N]\n"
      "Serves Twilio Messaging and HubSpot contacts on 127.0.0.1 from generated data.\n"
      "Credentials: account AC00000000000000000000000000000000, Twilio token $SIM_TWILIO_TOKEN\n"
      "(default sim-twilio-token), HubSpot token $SIM_HUBSPOT_TOKEN (default sim-hubspot-token).\n"
      "Faults (kind 429|500|401|sunset|malformed|clear; count -1 = until cleared) are set at run time:\n"
      "  curl -d '{\"kind\":\"429\",\"vendor\":\"twilio\",\"count\":2}' http://127.0.0.1:PORT/_sim/fault\n",
      stderr);
}

}  // namespace

int main(int argc, char** argv) {
  chansync::sim::CorpusSpec spec;
  chansync::sim::ServerOptions opts;
  int port = 0;
  std::string port_file;
  if (const char* t = std::getenv("SIM_TWILIO_TOKEN")) opts.twilio_token = t;
  if (const char* t = std::getenv("SIM_HUBSPOT_TOKEN")) opts.hubspot_token = t;
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
    else {
      usage();
      return a == "--help" || a == "-h" ? 0 : 64;
    }
  }
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
  g_sim = &sim;
  std::signal(SIGTERM, [](int) { g_sim->stop(); });
  std::signal(SIGINT, [](int) { g_sim->stop(); });
  sim.listen();
  return 0;
}
