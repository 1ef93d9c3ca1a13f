#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>

#include "adapters/registry.hpp"
#include "adapters/status_page.hpp"
#include "cli/health_html.hpp"
#include "cli/health_output.hpp"
#include "cli/output.hpp"
#include "cli/session.hpp"
#include "cli/stop_signals.hpp"
#include "sync/health_hourly.hpp"
#include "sync/replace_file.hpp"
#include "sync/state_runs.hpp"

namespace chansync::cli {
namespace {

// The state store, when it can be read: health must report even when it cannot (a fresh install,
// a run holding the lock does not block reading in WAL mode).
std::unique_ptr<StateStore> open_for_health(const std::string& path) {
  // Made here when missing, so that a fresh install keeps its health history; but an empty store at
  // a mistyped path hides every stream's failure, so that is said.
  std::error_code ec;
  const bool existed = path == ":memory:" || std::filesystem::exists(path, ec);
  try {
    auto store = std::make_unique<StateStore>(path);
    if (!existed)
      spdlog::warn(
          "there was no state store at {}: this check made one, for its history; no pull is recorded "
          "there, so no stream is checked. If your pulls are stored elsewhere, fix [state] path or --state",
          path);
    return store;
  } catch (const std::exception& e) {
    spdlog::warn("stream health and history unavailable: {}", e.what());
    return nullptr;
  }
}

std::vector<HealthClass> warn_only_classes(const std::vector<std::string>& names) {
  std::vector<HealthClass> out;
  for (const auto& n : names) {
    const auto c = parse_health_class(n);
    if (!c) {
      std::string all;
      for (const auto k : all_health_classes()) all += all.empty() ? to_string(k) : std::string(", ") + to_string(k);
      throw Failure(Errc::usage, fmt::format("--warn-only: \"{}\" is not a health class; the classes are {}", n, all));
    }
    out.push_back(*c);
  }
  return out;
}

// health --watch: checks every `interval` ms and prints the first table, then one line per check whose
// class changed, until SIGINT or SIGTERM (exit 0).
int watch_health(const Config& cfg, StateStore* store, const HealthCheckOptions& opts, std::int64_t interval,
                 bool colour) {
  const std::atomic<bool>& stop = catch_stop_signals();
  HealthCheckOptions checks = opts;
  checks.stopped = [&stop] { return stop.load(); };
  std::map<std::pair<std::string, std::string>, HealthClass> last;
  for (bool first = true; !stop; first = false) {
    const auto result = check_health(cfg, store, checks);
    if (stop) break;  // a check a stop cut short is neither recorded nor shown

    if (first) std::fputs(health_table(result, opts.warn_only, colour).c_str(), stdout);
    for (const auto& r : result.reports) {
      const auto key = std::pair(r.connector, r.stream);
      const auto it = last.find(key);
      if (!first && (it == last.end() || it->second != r.cls)) {
        const std::string name = r.stream.empty() ? r.connector : r.connector + "/" + r.stream;
        fmt::print("{}  {}  {} → {}  {}\n", format_rfc3339(r.checked_at), name,
                   it == last.end() ? "new" : to_string(it->second), to_string(r.cls), terminal_text(r.summary));
      }
      last[key] = r.cls;
    }
    std::fflush(stdout);
    // Sleep in short steps so a signal ends the wait within a tenth of a second.
    for (std::int64_t waited = 0; waited < interval && !stop; waited += 100)
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<std::int64_t>(100, interval - waited)));
  }
  return 0;
}

// health --html FILE: the status page over the last 14 days, replacing FILE whole (a reader never
// sees half a page); FILE "-" is stdout, in place of the table.
void write_health_html(const std::string& path, const HealthCheckResult& result, StateStore* store,
                       std::span<const HealthClass> warn_only) {
  constexpr std::int64_t k_days = 14;
  HtmlPageInput in;
  in.result = &result;
  in.warn_only = warn_only;
  in.end = result.checked_at ? result.checked_at : now_ms();
  in.start = in.end - k_days * 24 * k_hour_ms;
  if (store) {
    try {
      in.history = transitions(RunLog(*store).health_since(in.start), in.start);
      for (const auto& r : result.reports)
        if (r.stream.empty() && !in.hourly.contains(r.connector))
          in.hourly[r.connector] = inbound_per_hour(*store, r.connector, in.end, k_days * 24);
    } catch (const std::exception& e) {
      spdlog::warn("health --html: history and inbound counts unavailable: {}", e.what());
    }
  }
  const std::string page = health_html(in);
  if (path == "-") {
    std::fwrite(page.data(), 1, page.size(), stdout);
    return;
  }
  if (auto r = replace_file(path, page); !r)
    throw Failure(Errc::cant_write,
                  "health --html: " + r.error().message + ": name a file in a directory that exists and is writable");
}

}  // namespace

void add_health(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("health",
                                 "check each connector and target (one cheap authenticated call, the vendor's "
                                 "response signals, the API versions table) and each stream's last pull");
  auto names = std::make_shared<std::vector<std::string>>();
  auto warn_only = std::make_shared<std::vector<std::string>>();
  auto since = std::make_shared<std::string>();
  auto offline = std::make_shared<bool>(false);
  auto watch = std::make_shared<std::string>();
  auto html = std::make_shared<std::string>();
  cmd->add_option("NAME", *names, "connectors or targets to check (default: all)");
  cmd->add_option("--warn-only", *warn_only,
                  "count these classes as WARNING at most (e.g. --warn-only deprecated gone)")
      ->expected(1, -1)
      ->delimiter(',');
  cmd->add_option("--since", *since, "show the changes of class over this window (7d, 12h, 30m) instead of checking");
  cmd->add_flag("--offline", *offline,
                "call no vendor: judge each connector by its streams' last pulls and the API versions table");
  cmd->add_option("--watch", *watch,
                  "check again every INTERVAL (60s, 5m) and print only what changed, until Ctrl-C (exit 0)");
  cmd->add_option("--html", *html,
                  "also write a self-contained HTML status page to FILE (classes, evidence, class history, inbound "
                  "messages per hour); - writes it to stdout instead of the table")
      ->type_name("FILE");
  cmd->callback([&ctx, names, warn_only, since, offline, watch, html] {
    ctx.action = [&ctx, names, warn_only, since, offline, watch, html] {
      require_format(ctx.global.output, {"table", "json", "prometheus"}, "health");
      Session s = open_session(ctx.global, "health", Needs::config_only);
      // --warn-only takes the words after it: one that names a connector or target, and is no class,
      // is a NAME (health --warn-only silent sms).
      std::vector<std::string> classes;
      for (const auto& w : *warn_only) {
        const auto named = [&](const auto& list) {
          return std::any_of(list.begin(), list.end(), [&](const EndpointConfig& e) { return e.name == w; });
        };
        if (!parse_health_class(w) && (named(s.config.connectors) || named(s.config.targets)))
          names->push_back(w);
        else
          classes.push_back(w);
      }
      const auto demote = warn_only_classes(classes);
      if (!since->empty() && !watch->empty())
        throw Failure(Errc::usage, "health: --since shows the history and --watch checks again; give one of them");
      if (!html->empty() && (!since->empty() || !watch->empty()))
        throw Failure(Errc::usage, "health --html writes the page of one check: leave out --since and --watch");
      if (*html == "-" && ctx.global.output != "table")
        throw Failure(Errc::usage, fmt::format("health --html - prints the page on stdout, in place of the table: "
                                               "leave out -o {}, or write the page to a file",
                                               ctx.global.output));
      if (!since->empty()) {
        const auto window = parse_duration(*since);
        if (!window)
          throw Failure(Errc::usage, fmt::format("--since \"{}\" is not a duration such as 7d, 12h or 30m", *since));
        if (ctx.global.output == "prometheus") throw Failure(Errc::usage, "health --since has no -o prometheus");
        require_endpoints(s.config, false, false);
        require_store(s.config.state_path);
        StateStore store(s.config.state_path);
        const Timestamp from = now_ms() - *window;
        const auto ts = health_history(store, from);
        if (ctx.global.output == "json")
          print_json(transitions_json(ts, from));
        else
          std::fputs(transitions_table(ts).c_str(), stdout);
        return 0;
      }
      std::optional<std::int64_t> interval;
      if (!watch->empty()) {
        interval = parse_duration(*watch);
        if (!interval || *interval < 1000)
          throw Failure(Errc::usage, fmt::format("--watch \"{}\" is not an interval of a second or more such as 60s "
                                                 "or 5m",
                                                 *watch));
        if (ctx.global.output != "table")
          throw Failure(Errc::usage,
                        "health --watch prints a table and then the changes: leave out -o " + ctx.global.output);
      }
      require_endpoints(s.config, true, false);  // a health check of nothing would report OK forever
      std::vector<EndpointConfig> all = s.config.connectors;
      all.insert(all.end(), s.config.targets.begin(), s.config.targets.end());
      HealthCheckOptions opts{chosen(all, *names, "connector or target"),
                              [&](EndpointConfig& e) {
                                resolve_secrets(e);
                                return adapters::create_adapter(e, s.config.default_region);
                              },
                              demote, *offline, adapters::status_page_fetcher()};
      auto store = open_for_health(s.config.state_path);
      if (interval) return watch_health(s.config, store.get(), opts, *interval, stdout_colour(ctx.global.no_color));
      const auto result = check_health(s.config, store.get(), opts);
      if (!html->empty()) write_health_html(*html, result, store.get(), demote);
      if (*html == "-") return static_cast<int>(result.status);  // the page was the output
      if (ctx.global.output == "json")
        print_json(health_json(result, demote));
      else if (ctx.global.output == "prometheus")
        std::fputs(health_prometheus(result, demote).c_str(), stdout);
      else
        std::fputs(health_table(result, demote, stdout_colour(ctx.global.no_color)).c_str(), stdout);
      return static_cast<int>(result.status);
    };
  });
}

}  // namespace chansync::cli
