#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

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
    resolve_secrets(webhook_only);
    adapter = adapters::create_adapter(webhook_only, config.default_region);
    out.push_back({ep->name, adapter->webhooks()->webhook()});
    if (out.back().spec.app_secret.empty())
      spdlog::warn("listen: {} has no app_secret: its POSTs will be refused (401) until one is configured", ep->name);
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
      // SIGTERM and SIGINT are taken by one thread (blocked everywhere else, before any thread
      // starts): it stops the server, which finishes the requests in flight.
      sigset_t stop_signals;
      sigemptyset(&stop_signals);
      sigaddset(&stop_signals, SIGTERM);
      sigaddset(&stop_signals, SIGINT);
      pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
      listen::Receiver receiver(std::move(opts));
      const std::string bound = receiver.bind();
      spdlog::info("listen: accepting webhooks on http://{}/webhooks/<connector> for {}; spool {}", bound, served,
                   s.config.spool_dir);
      std::cout << bound << std::endl;  // for scripts that asked for port 0
      int got = 0;
      std::thread waiter([&] {
        sigwait(&stop_signals, &got);
        receiver.stop();
      });
      receiver.run();
      if (got == 0) pthread_kill(waiter.native_handle(), SIGTERM);  // the server ended on its own
      waiter.join();
      const auto st = receiver.stats();
      spdlog::info("listen: stopped{}; {} webhooks accepted, {} refused, {} fsyncs",
                   got ? fmt::format(" on {}", strsignal(got)) : "", st.accepted, st.refused, st.fsyncs);
      return 0;
    };
  });
}

}  // namespace chansync::cli
