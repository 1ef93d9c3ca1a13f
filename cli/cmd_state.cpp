#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/output.hpp"
#include "cli/session.hpp"

namespace chansync::cli {

void add_state(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("state", "inspect or reset the state store");
  cmd->require_subcommand(1);
  auto* show = cmd->add_subcommand("show", "cursors per connector and record counts");
  show->callback([&ctx] {
    ctx.action = [&ctx] {
      require_format(ctx.global.output, {"table", "json"}, "state show");
      Session s = open_session(ctx.global, "state show", Needs::store);
      const auto cursors = s.store->cursors();
      const auto counts = s.store->counts();
      if (ctx.global.output == "json") {
        nlohmann::json c = nlohmann::json::array();
        for (const auto& r : cursors)
          c.push_back({{"connector", r.connector}, {"cursor", r.cursor}, {"updated_at", format_rfc3339(r.updated_at)}});
        print_json({{"path", s.config.state_path},
                    {"schema_version", s.store->schema_version()},
                    {"cursors", c},
                    {"counts", counts}});
        return 0;
      }
      std::fputs(fmt::format("state {} (schema {})\n\n", s.config.state_path, s.store->schema_version()).c_str(),
                 stdout);
      std::vector<std::vector<std::string>> rows;
      for (const auto& r : cursors) rows.push_back({r.connector, format_rfc3339(r.updated_at), r.cursor});
      print_table({"CONNECTOR", "UPDATED", "CURSOR"}, rows);
      std::fputs("\n", stdout);
      rows.clear();
      for (const auto& [table, n] : counts) rows.push_back({table, std::to_string(n)});
      print_table({"TABLE", "ROWS"}, rows);
      return 0;
    };
  });
  auto* reset = cmd->add_subcommand("reset", "forget a connector's cursor: its next pull is a full pull");
  auto name = std::make_shared<std::string>();
  reset->add_option("NAME", *name, "connector name")->required();
  reset->callback([&ctx, name] {
    ctx.action = [&ctx, name] {
      Session s = open_session(ctx.global, "state reset", Needs::store);
      if (std::none_of(s.config.connectors.begin(), s.config.connectors.end(),
                       [&](const EndpointConfig& c) { return c.name == *name; }) &&
          s.store->cursor(*name).empty())
        throw Failure(Errc::not_found, fmt::format("no connector named \"{}\" in the config or the state", *name));
      const bool had = s.store->reset_cursor(*name);
      spdlog::info(
          "{}: {}", *name,
          had ? "cursor removed; the next pull is a full pull (records are kept)" : "had no cursor; nothing to reset");
      return 0;
    };
  });
}

}  // namespace chansync::cli
