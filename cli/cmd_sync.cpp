#include <spdlog/spdlog.h>

#include "cli/output.hpp"
#include "cli/session.hpp"

namespace chansync::cli {

void add_sync(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("sync", "pull all connectors, reconcile identities, push to all targets");
  auto full = std::make_shared<bool>(false);
  cmd->add_flag("--full", *full, "push every person, not only those changed since the last push");
  cmd->callback([&ctx, full] {
    ctx.action = [&ctx, full] {
      require_format(ctx.global.output, {"table", "json"}, "sync");
      Session s = open_session(ctx.global, "sync", Needs::store_and_adapters, Contacts::all());
      const auto run = s.store->runs().begin("sync");
      SyncReport r = sync_all(s.connectors, s.targets, *s.store, PushOptions{.full = *full}, s.config.identity);
      const std::size_t total = r.pulls.size() + r.pushes.size();
      s.store->runs().finish(run, r.failures() ? "partial" : "ok", nlohmann::json(r).dump());
      print_run_report(r, ctx.global);
      return outcome(r.failures(), total, r.first_error(), r.partial_pushes());
    };
  });
}

}  // namespace chansync::cli
