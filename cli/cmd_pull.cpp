#include "cli/output.hpp"
#include "cli/session.hpp"
#include "cli/stop_signals.hpp"

namespace chansync::cli {

void add_pull(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("pull", "incremental pull of connectors into the state store");
  auto names = std::make_shared<std::vector<std::string>>();
  auto jobs = std::make_shared<std::size_t>(0);
  cmd->add_option("NAME", *names, "connectors to pull (default: all)");
  cmd->add_option("-j,--jobs", *jobs, "connectors pulled at once (default: all of them, at most 8)")
      ->check(CLI::Range(1, 64));
  cmd->callback([&ctx, names, jobs] {
    ctx.action = [&ctx, names, jobs] {
      require_format(ctx.global.output, {"table", "json"}, "pull");
      Session s = open_session(ctx.global, "pull", Needs::new_store_and_adapters, {.connectors = *names});
      SyncReport r;
      r.pulls = pull_all(s.connectors, *s.store, PullOptions{.jobs = *jobs, .stop = &catch_stop_signals()});
      print_run_report(r, ctx.global);
      // A stop that came after the last page (while the indexes were built) is still a stop: a
      // supervisor sees it was heard. Everything was committed either way.
      if (r.interrupted() || stop_exit_code() != 0) return stop_exit_code();
      return outcome(r.failures(), r.pulls.size(), r.first_error());
    };
  });
}

}  // namespace chansync::cli
