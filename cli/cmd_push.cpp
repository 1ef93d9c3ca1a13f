#include <fmt/format.h>

#include "cli/output.hpp"
#include "cli/session.hpp"

namespace chansync::cli {

void add_push(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("push", "push changed persons to targets");
  struct Opts {
    std::vector<std::string> names;
    bool dry_run = false;
    bool full = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("TARGET", o->names, "targets to push to (default: all)");
  cmd->add_flag("--dry-run", o->dry_run, "print the plan (create/update per person) and send nothing");
  cmd->add_flag("--full", o->full, "push every person, not only those changed since the last push");
  cmd->callback([&ctx, o] {
    ctx.action = [&ctx, o] {
      require_format(ctx.global.output, {"table", "json"}, "push");
      Session s = open_session(ctx.global, "push", Needs::store_and_adapters, {.targets = o->names});
      PushOptions opts{.full = o->full, .dry_run = o->dry_run};
      if (o->dry_run)
        opts.on_plan = [](const PersonRecord& p, PlanAction a) {
          if (a != PlanAction::skip)
            std::fputs(fmt::format("{}\t{}\t{}\n", to_string(a), p.person_id, p.display_name).c_str(), stdout);
        };
      SyncReport r;
      r.pushes = push_all(s.targets, *s.store, opts);
      print_run_report(r, ctx.global, o->dry_run);
      return outcome(r.failures(), r.pushes.size(), r.first_error(), r.partial_pushes());
    };
  });
}

}  // namespace chansync::cli
