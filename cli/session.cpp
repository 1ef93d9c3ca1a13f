#include "cli/session.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>

#include "adapters/registry.hpp"
#include "sync/bulk_load.hpp"
#include "sync/normalize.hpp"

namespace chansync::cli {

std::vector<EndpointConfig*> chosen(std::vector<EndpointConfig>& endpoints, const std::vector<std::string>& names,
                                    const char* what) {
  std::vector<EndpointConfig*> out;
  if (names.empty()) {
    for (auto& e : endpoints) out.push_back(&e);
    return out;
  }
  std::vector<std::string> known;
  for (const auto& e : endpoints) known.push_back(e.name);
  for (const auto& n : names) {
    auto it = std::find_if(endpoints.begin(), endpoints.end(), [&](const EndpointConfig& e) { return e.name == n; });
    if (it == endpoints.end())
      throw Failure(Errc::not_found, fmt::format("no {} named \"{}\" in the config (known: {})", what, n,
                                                 known.empty() ? "none" : fmt::format("{}", fmt::join(known, ", "))));
    if (std::find(out.begin(), out.end(), &*it) == out.end()) out.push_back(&*it);
  }
  return out;
}

void require_endpoints(const Config& config, bool connectors, bool targets) {
  if (config.file.empty()) {
    std::string def = default_config_path(ConfigInputs{});
    if (def.empty()) def = "$XDG_CONFIG_HOME/chansync/config.toml";
    throw Failure(Errc::config, fmt::format("no configuration: no --config was given, $CHANSYNC_CONFIG is not set and "
                                            "{} does not exist. Write a config (README.md and chansync.conf(5) have "
                                            "an example) and pass it with --config FILE or $CHANSYNC_CONFIG",
                                            def));
  }
  if (connectors && config.connectors.empty())
    throw Failure(Errc::config, fmt::format("{} declares no connector; add a [connectors.NAME] table "
                                            "(chansync.conf(5), `chansync connectors types`)",
                                            config.file));
  if (targets && config.targets.empty())
    throw Failure(Errc::config, fmt::format("{} declares no target; add a [targets.NAME] table "
                                            "(chansync.conf(5), `chansync connectors types`)",
                                            config.file));
}

namespace {
std::string g_opened_store;
}  // namespace

const std::string& opened_store_path() {
  return g_opened_store;
}

void require_store(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    // An empty file is no store either: opening it would build an empty one there.
    std::error_code size_ec;
    if (!std::filesystem::is_regular_file(path, size_ec) || std::filesystem::file_size(path, size_ec) != 0 || size_ec)
      return;
    throw Failure(Errc::config, fmt::format("{} is an empty file, not a state store; run `chansync sync` first (it "
                                            "makes the store there), or correct [state] path, --state or "
                                            "$CHANSYNC_STATE",
                                            path));
  }
  if (ec)
    throw Failure(Errc::cant_write, fmt::format("cannot look at the state store {}: {}; check the permissions of its "
                                                "directory for the user chansync runs as",
                                                path, ec.message()));
  throw Failure(Errc::config, fmt::format("no state store at {}: nothing has been pulled into it yet, or [state] "
                                          "path, --state or $CHANSYNC_STATE names another file; run `chansync "
                                          "sync` first, or correct the path",
                                          path));
}

Session open_session(const GlobalOptions& g, const std::string& command, Needs needs, const Contacts& contacts) {
  Session s;
  const auto specs = adapters::type_specs();
  s.config = load_config(ConfigInputs{g.config, g.state, {}, specs, false});
  if (needs == Needs::config_only) return s;
  const bool reads_only = needs == Needs::store_read || needs == Needs::store_read_and_adapters;
  const bool adapters = needs == Needs::store_and_adapters || needs == Needs::store_read_and_adapters ||
                        needs == Needs::new_store_and_adapters;
  const bool may_create = needs == Needs::new_store || needs == Needs::new_store_and_adapters;
  // A command that reads or writes state without any config would work on an empty default store
  // and succeed silently forever (a cron job with a typo in its path): refuse, unless the state was
  // named explicitly for a command that needs no connector.
  const bool explicit_state = g.state || std::getenv("CHANSYNC_STATE");
  if (adapters || !explicit_state)
    require_endpoints(s.config, contacts.connectors && contacts.connectors->empty(),
                      contacts.targets && contacts.targets->empty());
  std::vector<EndpointConfig*> connectors, targets;
  if (adapters) {
    if (contacts.connectors) connectors = chosen(s.config.connectors, *contacts.connectors, "connector");
    if (contacts.targets) targets = chosen(s.config.targets, *contacts.targets, "target");
    // A feed on stdout and a JSON report on stdout would be one stream a consumer cannot split.
    for (const auto* t : targets)
      if (g.output == "json" && t->type == "ndjson" && t->options.value("path", std::string()) == "-")
        throw Failure(Errc::usage, fmt::format("target {} writes persons to stdout, where -o json would print the "
                                               "report too; give targets.{}.path a file, or leave out -o json",
                                               t->name, t->name));
    for (auto* e : connectors) resolve_secrets(*e);
    for (auto* e : targets) resolve_secrets(*e);
  }
  // Only the commands that fill a store make one: a mistyped path would otherwise get an empty one
  // (and its directories), and the command would find nothing and succeed.
  if (std::error_code ec; std::filesystem::is_directory(s.config.state_path, ec))
    throw Failure(Errc::config, fmt::format("the state store {} is a directory; [state] path, --state or "
                                            "$CHANSYNC_STATE names the store's file, such as {}/state.db",
                                            s.config.state_path, s.config.state_path));
  if (!may_create) require_store(s.config.state_path);
  g_opened_store = s.config.state_path;
  std::string holder;
  auto lock = StateLock::acquire(s.config.state_path, command, reads_only ? &holder : nullptr);
  if (!lock && !holder.empty()) {
    try {
      s.store = std::make_unique<StateStore>(s.config.state_path, StateStore::BesideWriter{});
    } catch (const Failure& f) {
      if (f.error().code != Errc::locked) throw;
      throw Failure(Errc::locked, fmt::format("state {} is in use by {}, and {}; this run did nothing. Retry when "
                                              "it has finished (exit code 75 means: try again later)",
                                              s.config.state_path, holder, f.what()));
    }
    s.beside = std::move(holder);
    spdlog::info("state {} is in use by {}: this is what it has committed so far{}", s.config.state_path, s.beside,
                 s.store->records().bulk_loading() ? "; a first pull is loading messages, and until it has built "
                                                     "their indexes a message it fetched twice counts twice"
                                                   : "");
  } else {
    s.lock.emplace(value_or_throw(std::move(lock)));
    s.store = std::make_unique<StateStore>(s.config.state_path);
    try {
      if (const int built = end_bulk_load(*s.store))
        spdlog::info("the last pull into {} stopped before the indexes of its messages were built; built {} now",
                     s.config.state_path, built);
    } catch (const Failure& f) {
      const Errc code = f.error().code;
      if (!reads_only || (code != Errc::io && code != Errc::cant_write)) throw;
      spdlog::warn(
          "{}. `{}` only reads and goes on without them; until they are built, a message that pull "
          "fetched twice is two rows, and commands that write or read messages fail",
          f.what(), command);
    }
  }
  if (adapters) {
    // Connectors not contacted are still built: reconcile needs their own handles (no secret).
    if (!contacts.connectors)
      for (auto& c : s.config.connectors) connectors.push_back(&c);
    for (auto* c : connectors)
      s.connectors.push_back(
          {c->name, c->type, adapters::create_adapter(*c, s.config.default_region), s.config.spool_dir});
    for (auto* t : targets)
      s.targets.push_back({t->name, t->type, adapters::create_adapter(*t, s.config.default_region)});
  }
  return s;
}

int exit_code(Errc code) {
  switch (code) {
    case Errc::usage:
    case Errc::not_found:
      return 64;
    case Errc::protocol:
      return 65;
    case Errc::unavailable:
    case Errc::remote:
      return 69;
    case Errc::internal:
    case Errc::state:
      return 70;
    case Errc::cant_write:
      return 73;
    case Errc::io:
      return 74;
    case Errc::rate_limited:
    case Errc::locked:
      return 75;
    case Errc::auth:
      return 77;
    case Errc::config:
      return 78;
    case Errc::interrupted:
      return 130;  // SIGINT's; a run stopped by SIGTERM exits 143 (cli/stop_signals.hpp)
  }
  return 70;
}

int outcome(std::size_t failed, std::size_t total, const std::optional<Error>& first, std::size_t partial) {
  if (failed == 0) return 0;
  if (failed < total || partial > 0) return 1;
  return first ? exit_code(first->code) : 1;
}

std::string handle_option(const std::string& text, const Config& config, std::string_view hint) {
  std::string why;
  if (auto key = parse_handle_key(text, config.default_region, why)) return *key;
  throw Failure(Errc::usage, fmt::format("--handle \"{}\" {}{}", text, why, hint));
}

}  // namespace chansync::cli
