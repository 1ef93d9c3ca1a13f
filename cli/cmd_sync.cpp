#include <spdlog/spdlog.h>

#include "cli/output.hpp"
#include "cli/session.hpp"
#include "cli/stop_signals.hpp"

namespace chansync::cli {

void add_sync(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("sync", "pull all connectors, reconcile identities, push to all targets");
  auto full = std::make_shared<bool>(false);
  auto jobs = std::make_shared<std::size_t>(0);
  cmd->add_flag("--full", *full, "push every person, not only those changed since the last push");
  cmd->add_option("-j,--jobs", *jobs, "connectors pulled at once (default: all of them, at most 8)")
      ->check(CLI::Range(1, 64));
  cmd->callback([&ctx, full, jobs] {
    ctx.action = [&ctx, full, jobs] {
      require_format(ctx.global.output, {"table", "json"}, "sync");
      Session s = open_session(ctx.global, "sync", Needs::new_store_and_adapters, Contacts::all());
      const auto run = s.store->runs().begin("sync");
      SyncReport r = sync_all(s.connectors, s.targets, *s.store, PushOptions{.full = *full}, s.config.identity,
                              PullOptions{.jobs = *jobs, .stop = &catch_stop_signals()});
      const std::size_t total = r.pulls.size() + r.pushes.size();
      s.store->runs().finish(run,
                             r.interrupted() ? "interrupted"
                             : r.failures()  ? "partial"
                                             : "ok",
                             nlohmann::json(r).dump());
      print_run_report(r, ctx.global);
      if (r.interrupted()) return stop_exit_code();
      if (r.nothing_done()) return exit_code(r.first_error()->code);
      return outcome(r.failures(), total, r.first_error(), r.partial_pushes());
    };
  });
}

}  // namespace chansync::cli
