#include <fmt/format.h>

#include "cli/output.hpp"
#include "cli/session.hpp"
#include "cli/stop_signals.hpp"

namespace chansync::cli {
namespace {

struct Opts {
  std::vector<std::string> names;
  bool dry_run = false;
  bool full = false;
  bool verify = false;
  bool repair = false;
  std::size_t sample = 0;
  bool show_parked = false;
};

// One line per planned person on stdout; with -v the fields that changed since the target's copy.
void print_plan(const std::string& target, const PersonRecord& p, PlanAction a, const PushLedgerEntry* previous,
                bool verbose) {
  if (a == PlanAction::skip) return;
  std::string line = fmt::format("{}\t{}\t{}\t{}", target, to_string(a), p.person_id, p.display_name);
  if (verbose) {
    std::string fields;
    if (a == PlanAction::create)
      fields = "(new on this target)";
    else if (a == PlanAction::remove)
      fields = "(no longer exists)";
    else if (a == PlanAction::parked)
      fields = "(refused on the last pushes; --full retries it)";
    else if (!previous || previous->fields.empty())
      fields = "(unknown: last pushed by an older chansync)";
    else {
      const auto changed = changed_fields(previous->fields, p);
      fields = changed.empty() ? "(re-sent as it is)" : fmt::format("{}", fmt::join(changed, ", "));
    }
    line += "\t" + fields;
  }
  line += '\n';
  std::fputs(line.c_str(), stdout);
}

int show_parked(Context& ctx, const Opts& o) {
  require_format(ctx.global.output, {"table", "json"}, "push --show-parked");
  Session s = open_session(ctx.global, "push --show-parked", Needs::store_read);
  const auto names = chosen(s.config.targets, o.names, "target");
  auto wanted = [&](const std::string& target) {
    for (const auto* t : names)
      if (t->name == target) return true;
    return false;
  };
  nlohmann::json all = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& [target, f] : s.store->ledger().parked()) {
    if (!wanted(target)) continue;
    all.push_back({{"target", target},
                   {"person_id", f.person_id},
                   {"action", f.hash.empty() ? "delete" : "upsert"},
                   {"runs", f.runs},
                   {"first_refused_at", format_rfc3339(f.first_at)},
                   {"last_refused_at", format_rfc3339(f.last_at)},
                   {"error", f.error}});
    rows.push_back({target, f.person_id, f.hash.empty() ? "delete" : "upsert", std::to_string(f.runs),
                    format_rfc3339(f.first_at), f.error});
  }
  if (ctx.global.output == "json")
    print_json(all);
  else if (!rows.empty())
    print_table({"TARGET", "PERSON", "ACTION", "REFUSED", "SINCE", "LAST ERROR"}, rows);
  else if (!ctx.global.quiet)
    print_summary("no parked persons\n", ctx.global);
  return 0;
}

int verify(Context& ctx, const Opts& o) {
  require_format(ctx.global.output, {"table", "json"}, "push --verify");
  Session s = open_session(ctx.global, "push --verify", Needs::store_and_adapters, {.targets = o.names});
  const auto report = verify_all(s.targets, *s.store, {.sample = o.sample, .repair = o.repair});
  std::size_t readable = 0, failed = 0, unrepaired = 0;
  std::optional<Error> first;
  for (const auto& v : report) {
    readable += v.readable;
    if (v.error) {
      ++failed;
      if (!first) first = v.error;
    }
    unrepaired += v.drift.size() - v.repaired;
  }
  if (readable == 0)
    throw Failure(Errc::usage,
                  "none of the targets can be read back, so nothing was verified; push --verify works "
                  "with postgres, chatwoot, hubspot and ndjson targets");
  if (ctx.global.output == "json") {
    print_json({{"verify", report}});
  } else {
    for (const auto& v : report)
      for (const auto& d : v.drift)
        std::fputs(fmt::format("{}\t{}\t{}\t{}{}\n", v.target, to_string(d.state), d.person_id, d.detail,
                               d.repaired ? "\trepaired" : "")
                       .c_str(),
                   stdout);
    if (!ctx.global.quiet)
      for (const auto& v : report) {
        if (!v.readable) {
          print_summary(fmt::format("verify  {:<22} cannot be read back: not checked\n", v.target), ctx.global);
          continue;
        }
        std::size_t missing = 0;
        for (const auto& d : v.drift) missing += d.state == VerifyOutcome::State::missing;
        std::string line = fmt::format("verify  {:<22} {} checked: {} same, {} missing, {} edited", v.target, v.checked,
                                       v.same, missing, v.drift.size() - missing);
        if (o.repair) line += fmt::format(", {} repaired", v.repaired);
        if (v.pending) line += fmt::format("; {} changed since pushed (the next push sends them)", v.pending);
        if (v.error) line += fmt::format("; FAILED: {}", v.error->message);
        print_summary(line + "\n", ctx.global);
      }
  }
  if (failed) return outcome(failed, readable, first);
  return unrepaired > 0 ? 1 : 0;
}

}  // namespace

void add_push(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("push", "push changed persons to targets");
  auto o = std::make_shared<Opts>();
  cmd->add_option("TARGET", o->names, "targets to push to (default: all)");
  auto* dry = cmd->add_flag("--dry-run", o->dry_run,
                            "print the plan (create/update/delete per person; with -v the changed fields) and "
                            "send nothing");
  auto* full = cmd->add_flag("--full", o->full,
                             "push every person, not only those changed since the last push (parked ones included)");
  auto* verify_flag = cmd->add_flag("--verify", o->verify,
                                    "read back each target's copy of pushed persons and report what was deleted or "
                                    "edited there; sends nothing");
  auto* repair = cmd->add_flag("--repair", o->repair, "with --verify: re-send the persons found deleted or edited");
  auto* sample =
      cmd->add_option("--sample", o->sample, "with --verify: check N persons chosen at random instead of all")
          ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000'000}));
  auto* parked = cmd->add_flag("--show-parked", o->show_parked,
                               "list persons a target refused on the last 3 pushes (skipped until they change or "
                               "--full retries them)");
  repair->needs(verify_flag);
  sample->needs(verify_flag);
  verify_flag->excludes(dry)->excludes(full);
  parked->excludes(dry)->excludes(full)->excludes(verify_flag);
  cmd->callback([&ctx, o] {
    ctx.action = [&ctx, o] {
      if (o->show_parked) return show_parked(ctx, *o);
      if (o->verify) return verify(ctx, *o);
      require_format(ctx.global.output, {"table", "json"}, "push");
      if (o->dry_run && ctx.global.output == "json")
        throw Failure(Errc::usage,
                      "push --dry-run prints its plan as tab-separated lines, not JSON; leave out -o json");
      Session s = open_session(ctx.global, "push", Needs::store_and_adapters, {.targets = o->names});
      PushOptions opts{.full = o->full, .dry_run = o->dry_run, .stop = &catch_stop_signals()};
      if (o->dry_run)
        opts.on_plan = [verbose = ctx.global.verbose > 0](const std::string& target, const PersonRecord& p,
                                                          PlanAction a, const PushLedgerEntry* previous) {
          print_plan(target, p, a, previous, verbose);
        };
      SyncReport r;
      r.pushes = push_all(s.targets, *s.store, opts);
      print_run_report(r, ctx.global, o->dry_run);
      if (r.interrupted()) return stop_exit_code();
      return outcome(r.failures(), r.pushes.size(), r.first_error(), r.partial_pushes());
    };
  });
}

}  // namespace chansync::cli
