#include "cli/output.hpp"
#include "cli/session.hpp"

namespace chansync::cli {

void add_pull(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("pull", "incremental pull of connectors into the state store");
  auto names = std::make_shared<std::vector<std::string>>();
  cmd->add_option("NAME", *names, "connectors to pull (default: all)");
  cmd->callback([&ctx, names] {
    ctx.action = [&ctx, names] {
      require_format(ctx.global.output, {"table", "json"}, "pull");
      Session s = open_session(ctx.global, "pull", Needs::store_and_adapters, {.connectors = *names});
      SyncReport r;
      r.pulls = pull_all(s.connectors, *s.store);
      print_run_report(r, ctx.global);
      return outcome(r.failures(), r.pulls.size(), r.first_error());
    };
  });
}

}  // namespace chansync::cli
