#include "cli/app.hpp"

namespace chansync::cli {

std::unique_ptr<CLI::App> build_app(Context& ctx) {
  auto app = std::make_unique<CLI::App>(
      "chansync: pull customer conversations and CRM contacts, reconcile identities, push one person per "
      "customer with one cross-channel timeline.",
      "chansync");
  app->set_version_flag("--version", std::string("chansync ") + CHANSYNC_VERSION);
  app->require_subcommand(0, 1);
  app->fallthrough();  // global options work after the subcommand too: `chansync persons list -o json`
  auto& g = ctx.global;
  app->add_option("--config", g.config,
                  "config file (default: $CHANSYNC_CONFIG, then $XDG_CONFIG_HOME/chansync/config.toml)")
      ->type_name("FILE");
  app->add_option("--state", g.state, "state store path (overrides [state] path and $CHANSYNC_STATE)")
      ->type_name("FILE");
  app->add_option("-o,--output", g.output,
                  "output format: table, json, ndjson or prometheus (not every command has all)")
      ->check(CLI::IsMember({"table", "json", "ndjson", "prometheus"}))
      ->type_name("FORMAT");
  app->add_flag("-v,--verbose", g.verbose, "more log output on stderr (-vv for HTTP traces, never with secrets)");
  app->add_flag("-q,--quiet", g.quiet, "errors only on stderr: no info logs, no run summary");
  app->add_option("--log-format", g.log_format, "stderr log format: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->type_name("FORMAT");
  app->add_flag("--no-color", g.no_color, "no colour in logs (also: NO_COLOR set, or stderr not a terminal)");
  add_sync(*app, ctx);
  add_pull(*app, ctx);
  add_listen(*app, ctx);
  add_ingest(*app, ctx);
  add_reconcile(*app, ctx);
  add_push(*app, ctx);
  add_persons(*app, ctx);
  add_erase(*app, ctx);
  add_health(*app, ctx);
  add_state(*app, ctx);
  add_config(*app, ctx);
  add_connectors(*app, ctx);
  add_completion(*app, ctx);
  // `chansync COMMAND --help` names the global options too, since they work after COMMAND.
  std::string globals = "Global options (before or after the command; chansync --help describes them):\n ";
  const char* sep = " ";
  for (const CLI::Option* o : app->get_options()) {
    const auto& l = o->get_lnames();
    if (l.empty() || l.front() == "help" || l.front() == "version") continue;
    globals += sep + o->get_name(false, true);
    const std::string type = o->get_type_name();  // "FORMAT:{table,json}": the name alone
    if (!type.empty()) globals += " " + type.substr(0, type.find(':'));
    sep = ", ";
  }
  const std::function<void(CLI::App*)> set_footer = [&](CLI::App* a) {
    for (CLI::App* sub : a->get_subcommands({})) {
      sub->footer(globals);
      set_footer(sub);
    }
  };
  set_footer(app.get());
  return app;
}

}  // namespace chansync::cli
