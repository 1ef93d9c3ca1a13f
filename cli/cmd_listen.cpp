#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "adapters/registry.hpp"
#include "cli/output.hpp"
#include "cli/session.hpp"
#include "listen/receiver.hpp"

namespace chansync::cli {
namespace {

// The connectors that receive webhooks, with only their webhook secrets read (listen needs no API
// token). With `names`, exactly those, each of which must receive webhooks.
std::vector<listen::ListenConnector> webhook_connectors(Config& config, const std::vector<std::string>& names) {
  std::vector<listen::ListenConnector> out;
  for (EndpointConfig* ep : chosen(config.connectors, names, "connector")) {
    EndpointConfig webhook_only = *ep;
    std::erase_if(webhook_only.secret_sources,
                  [](const auto& kv) { return kv.first != "app_secret" && kv.first != "verify_token"; });
    auto adapter = adapters::create_adapter(webhook_only, config.default_region);
    if (!adapter->webhooks()) {
      if (names.empty()) continue;
      throw Failure(Errc::usage, fmt::format("connector {} ({}) does not receive webhooks; listen serves "
                                             "whatsapp-cloud, meta-messenger and meta-instagram connectors",
                                             ep->name, ep->type));
    }
    // Without an app secret no POST could be verified: every one would be refused, and Meta disables
    // a subscription that keeps failing. Such a connector is not served.
    if (!webhook_only.secret_sources.count("app_secret")) {
      if (!names.empty())
        throw Failure(Errc::config, fmt::format("connector {} has no app secret to check its webhooks' signatures "
                                                "with; set connectors.{}.app_secret_env or app_secret_file (the "
                                                "Meta app's secret, App settings > Basic)",
                                                ep->name, ep->name));
      spdlog::info("listen: {} is not served: it has no app_secret_env or app_secret_file", ep->name);
      continue;
    }
    resolve_secrets(webhook_only);
    adapter = adapters::create_adapter(webhook_only, config.default_region);
    out.push_back({ep->name, adapter->webhooks()->webhook()});
  }
  return out;
}

}  // namespace

void add_listen(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("listen", "receive vendor webhooks into a durable spool (until SIGTERM)");
  auto address = std::make_shared<std::string>();
  auto names = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--address", *address, "HOST:PORT to listen on (default: [listen] address, 127.0.0.1:8787)")
      ->type_name("HOST:PORT");
  cmd->add_option("NAME", *names, "connectors to receive for (default: every one that receives webhooks)");
  cmd->callback([&ctx, address, names] {
    ctx.action = [&ctx, address, names] {
      require_format(ctx.global.output, {"table"}, "listen");
      Session s = open_session(ctx.global, "listen", Needs::config_only);
      require_endpoints(s.config, true, false);
      listen::ListenOptions opts;
      opts.address = address->empty() ? s.config.listen_address : *address;
      opts.spool_dir = s.config.spool_dir;
      opts.connectors = webhook_connectors(s.config, *names);
      std::string served;
      for (const auto& c : opts.connectors) served += (served.empty() ? "" : ", ") + c.name;
      if (const char* v = std::getenv("CHANSYNC_LISTEN_NO_FSYNC"); v && std::string(v) == "1") opts.fsync = false;
      // SIGTERM, SIGINT and SIGHUP (a terminal closing, or a "reload" sent by habit) are taken by one
      // thread (blocked everywhere else, before any thread starts): it stops the server, which
      // finishes the requests in flight.
      sigset_t stop_signals;
      sigemptyset(&stop_signals);
      sigaddset(&stop_signals, SIGTERM);
      sigaddset(&stop_signals, SIGINT);
      // Not when SIGHUP is ignored (nohup, a supervisor): waiting for it would deliver it all the same.
      struct sigaction hup {};
      if (sigaction(SIGHUP, nullptr, &hup) == 0 && hup.sa_handler != SIG_IGN) sigaddset(&stop_signals, SIGHUP);
      pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
      listen::Receiver receiver(std::move(opts));
      const std::string bound = receiver.bind();
      spdlog::info("listen: accepting webhooks on http://{}/webhooks/<connector> for {}; spool {}", bound, served,
                   s.config.spool_dir);
      std::cout << bound << std::endl;  // for scripts that asked for port 0
      std::atomic<int> got{0};
      std::atomic<bool> ended{false};
      std::thread waiter([&] {
        int sig = 0;
        sigwait(&stop_signals, &sig);
        if (ended) return;  // run() ended by itself (the socket failed) and woke this thread
        got = sig;
        receiver.stop();
        // A second signal does not wait for requests in flight (a client sending slowly can hold
        // one for long): none of them was answered, and every webhook answered 200 is on disk.
        sigwait(&stop_signals, &sig);
        if (ended) return;
        spdlog::warn(
            "listen: a second signal: exiting without waiting for the requests in flight (none of them "
            "was acknowledged)");
        std::_Exit(128 + sig);
      });
      const bool served_to_the_end = receiver.run();
      ended = true;
      pthread_kill(waiter.native_handle(), SIGTERM);  // wakes the waiter from whichever wait it is in
      waiter.join();
      const auto st = receiver.stats();
      if (!served_to_the_end)
        throw Failure(Errc::unavailable,
                      fmt::format("listen on {} stopped by itself (the listening socket failed); {} webhooks were "
                                  "accepted and are in the spool; start it again",
                                  bound, st.accepted));
      spdlog::info("listen: stopped on {}; {} webhooks accepted, {} refused, {} fsyncs", strsignal(got), st.accepted,
                   st.refused, st.fsyncs);
      return 0;
    };
  });
}

}  // namespace chansync::cli
