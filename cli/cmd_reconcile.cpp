#include "cli/output.hpp"
#include "cli/session.hpp"

namespace chansync::cli {

void add_reconcile(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("reconcile", "rebuild identities (persons) from what is stored");
  cmd->callback([&ctx] {
    ctx.action = [&ctx] {
      require_format(ctx.global.output, {"table", "json"}, "reconcile");
      Session s = open_session(ctx.global, "reconcile", Needs::store_and_adapters);
      SyncReport r;
      r.reconcile = reconcile_store(*s.store, s.connectors, true, s.config.identity);
      print_run_report(r, ctx.global);
      return 0;
    };
  });
}

}  // namespace chansync::cli
