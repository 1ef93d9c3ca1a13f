#pragma once
// The single CLI definition. Each cmd_<name>.cpp adds its subcommand and sets ctx.action; run.cpp
// parses, runs the action and maps errors to exit codes.
#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace chansync::cli {

struct GlobalOptions {
  std::optional<std::string> config;
  std::optional<std::string> state;
  std::string output = "table";  // table | json | ndjson | prometheus
  int verbose = 0;
  bool quiet = false;
  std::string log_format = "text";
  bool no_color = false;
};

struct Context {
  GlobalOptions global;
  std::function<int()> action;  // set by the chosen subcommand's callback
};

// Builds the whole command tree bound to ctx.
std::unique_ptr<CLI::App> build_app(Context& ctx);

// Subcommand builders (one per cmd_<name>.cpp).
void add_sync(CLI::App& app, Context& ctx);
void add_pull(CLI::App& app, Context& ctx);
void add_listen(CLI::App& app, Context& ctx);
void add_ingest(CLI::App& app, Context& ctx);
void add_reconcile(CLI::App& app, Context& ctx);
void add_erase(CLI::App& app, Context& ctx);
// explain, merge, split, decisions, undo, conflicts under `persons` (cmd_persons_identity.cpp).
void add_persons_identity(CLI::App& persons, Context& ctx);
void add_persons_suggestions(CLI::App& persons, Context& ctx);
void add_push(CLI::App& app, Context& ctx);
void add_persons(CLI::App& app, Context& ctx);
void add_health(CLI::App& app, Context& ctx);
void add_state(CLI::App& app, Context& ctx);
void add_config(CLI::App& app, Context& ctx);
void add_connectors(CLI::App& app, Context& ctx);
void add_completion(CLI::App& app, Context& ctx);

// Shell completion script for bash, zsh or fish, generated from the command tree.
std::string completion_script(const CLI::App& app, const std::string& shell);

}  // namespace chansync::cli
