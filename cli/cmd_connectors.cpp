#include <fmt/format.h>

#include "adapters/registry.hpp"
#include "cli/app.hpp"
#include "cli/output.hpp"

namespace chansync::cli {

void add_connectors(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("connectors", "what chansync can connect to");
  cmd->require_subcommand(1);
  auto* types = cmd->add_subcommand("types", "adapter types with their roles and option keys");
  types->callback([&ctx] {
    ctx.action = [&ctx] {
      require_format(ctx.global.output, {"table", "json"}, "connectors types");
      nlohmann::json all = nlohmann::json::array();
      std::string text;
      for (const auto& t : adapters::registry()) {
        nlohmann::json opts = nlohmann::json::array();
        text += fmt::format("{}  ({}{})\n  {}\n", t.spec.type, fmt::join(role_names(t.spec.roles), ", "),
                            t.spec.webhooks ? "; receives webhooks: chansync listen" : "", t.spec.summary);
        for (const auto& o : t.spec.options) {
          const std::string key = o.secret ? o.key + "_env | " + o.key + "_file" : o.key;
          std::string def = o.default_value.is_null() ? "" : " [default: " + o.default_value.dump() + "]";
          text += fmt::format("    {:<34} {}{}{}\n", key, o.help, o.required ? " (required)" : "", def);
          nlohmann::json opt = {{"key", o.key},
                                {"help", o.help},
                                {"required", o.required},
                                {"secret", o.secret},
                                {"default", o.default_value}};
          // A table's keys, indented under it.
          for (const auto& f : o.fields) {
            text += fmt::format("      {:<32} {}{}\n", o.key + "." + f.key, f.help, f.required ? " (required)" : "");
            opt["fields"].push_back({{"key", f.key}, {"help", f.help}, {"required", f.required}});
          }
          opts.push_back(std::move(opt));
        }
        text += "\n";
        all.push_back({{"type", t.spec.type},
                       {"summary", t.spec.summary},
                       {"roles", role_names(t.spec.roles)},
                       {"webhooks", t.spec.webhooks},
                       {"options", opts}});
      }
      if (ctx.global.output == "json")
        print_json(all);
      else
        std::fputs(text.c_str(), stdout);
      return 0;
    };
  });
}

}  // namespace chansync::cli
