#include <fmt/format.h>

#include "adapters/registry.hpp"
#include "cli/output.hpp"
#include "cli/session.hpp"

namespace chansync::cli {

void add_config(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("config", "check or show the effective configuration");
  cmd->require_subcommand(1);
  auto* check = cmd->add_subcommand("check", "validate the config and that every secret it names is readable");
  check->callback([&ctx] {
    ctx.action = [&ctx] {
      require_format(ctx.global.output, {"table"}, "config check");
      Session s = open_session(ctx.global, "config check", Needs::config_only);
      require_endpoints(s.config, false, false);  // checking nothing must not pass
      if (s.config.connectors.empty() && s.config.targets.empty())
        throw Failure(Errc::config, fmt::format("{} declares no connector and no target; add a [connectors.NAME] "
                                                "table (chansync.conf(5), `chansync connectors types`)",
                                                s.config.file));
      // Each adapter is made as a run would make it (no vendor is called): what only an adapter checks
      // (a snapshot on stdout, an encoding, a range) fails here, not in the next sync.
      for (auto* group : {&s.config.connectors, &s.config.targets})
        for (auto& e : *group) {
          resolve_secrets(e);
          adapters::create_adapter(e, s.config.default_region);
        }
      std::fputs(fmt::format("{}: ok ({} connectors, {} targets, state {})\n", s.config.file,
                             s.config.connectors.size(), s.config.targets.size(), s.config.state_path)
                     .c_str(),
                 stdout);
      return 0;
    };
  });
  auto* show = cmd->add_subcommand("show", "print every effective value (secrets are never printed)");
  auto origin = std::make_shared<bool>(false);
  show->add_flag("--origin", *origin, "say where each value came from: default, file:LINE, env:VAR or flag");
  show->callback([&ctx, origin] {
    ctx.action = [&ctx, origin] {
      require_format(ctx.global.output, {"table", "json"}, "config show");
      Session s = open_session(ctx.global, "config show", Needs::config_only);
      if (ctx.global.output == "json") {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& st : s.config.settings) {
          nlohmann::json row = {{"key", st.key}, {"value", st.json}};
          if (*origin) row["origin"] = st.origin;
          out.push_back(row);
        }
        print_json(out);
        return 0;
      }
      std::string text;
      for (const auto& st : s.config.settings)
        text += *origin ? fmt::format("{} = {}    # {}\n", st.key, st.value, st.origin)
                        : fmt::format("{} = {}\n", st.key, st.value);
      std::fputs(text.c_str(), stdout);
      return 0;
    };
  });
}

}  // namespace chansync::cli
