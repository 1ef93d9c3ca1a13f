#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <set>

#include "adapters/registry.hpp"
#include "cli/output.hpp"
#include "cli/session.hpp"
#include "sync/spool.hpp"

namespace chansync::cli {
namespace {

// The state store, when it can be read: health must report even when it cannot (a fresh install,
// a run holding the lock does not block reading in WAL mode).
std::unique_ptr<StateStore> open_for_health(const std::string& path) {
  try {
    return std::make_unique<StateStore>(path);
  } catch (const std::exception& e) {
    spdlog::warn("stream health and history unavailable: {}", e.what());
    return nullptr;
  }
}

// What a webhooks stream has waiting in the spool: accepted by listen, not yet pulled.
std::string spool_note(const std::string& spool_dir, const std::string& connector, const std::string& cursor) {
  const auto backlog = spool_backlog(spool_dir, connector, cursor);
  if (backlog.bytes == 0) return "; nothing waiting in the spool";
  return fmt::format("; {} KiB of webhooks wait in the spool ({}) for the next pull", (backlog.bytes + 1023) / 1024,
                     spool_dir);
}

}  // namespace

void add_health(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "health", "check each connector and target with one cheap authenticated call, and each stream's last pull");
  auto names = std::make_shared<std::vector<std::string>>();
  cmd->add_option("NAME", *names, "connectors or targets to check (default: all)");
  cmd->callback([&ctx, names] {
    ctx.action = [&ctx, names] {
      require_format(ctx.global.output, {"table", "json"}, "health");
      Session s = open_session(ctx.global, "health", Needs::config_only);
      require_endpoints(s.config, true, false);  // a health check of nothing would report OK forever
      std::vector<EndpointConfig> all = s.config.connectors;
      all.insert(all.end(), s.config.targets.begin(), s.config.targets.end());
      const auto chosen_endpoints = chosen(all, *names, "connector or target");
      auto store = open_for_health(s.config.state_path);
      const auto streams = store ? store->records().streams() : std::vector<StreamRow>{};
      std::vector<HealthReport> reports;
      for (auto* e : chosen_endpoints) {
        std::set<std::string> spooled;  // streams read from the webhook spool
        try {
          // A missing secret is a finding about this connector, not a reason to skip the others.
          resolve_secrets(*e);
          const auto adapter = adapters::create_adapter(*e, s.config.default_region);
          for (const auto& st : adapter->streams())
            if (st.spool) spooled.insert(st.name);
          reports.push_back(adapter->probe());
        } catch (const Failure& f) {
          HealthReport r{e->name, e->type, "", HealthClass::unknown, "cannot check: " + f.error().message};
          r.checked_at = now_ms();
          reports.push_back(std::move(r));
        }
        for (const auto& row : streams) {
          if (row.connector != e->name || row.last_pull_at == 0) continue;
          auto r = stream_health(e->name, e->type, row.stream, row.last_pull_at, row.last_pull.error,
                                 row.last_pull.error_code, row.last_pull.received);
          if (!row.last_pull.notice.empty()) r.summary += "; the vendor last reported: " + row.last_pull.notice;
          if (spooled.count(row.stream)) r.summary += spool_note(s.config.spool_dir, e->name, row.cursor);
          reports.push_back(std::move(r));
        }
      }
      const Severity sev = overall(reports);
      if (ctx.global.output == "json") {
        print_json({{"status", to_string(sev)},
                    {"exit_code", static_cast<int>(sev)},
                    {"checked_at", format_rfc3339(now_ms())},
                    {"checks", reports}});
      } else {
        std::vector<std::vector<std::string>> rows;
        for (const auto& r : reports)
          rows.push_back({r.stream.empty() ? r.connector : r.connector + "/" + r.stream, r.type,
                          to_string(severity_of(r.cls)), to_string(r.cls), r.summary});
        print_table({"NAME", "TYPE", "SEVERITY", "CLASS", "DETAIL"}, rows);
      }
      // History for trends; a store that cannot be written must not hide the check's result.
      if (store) try {
          for (const auto& r : reports)
            store->runs().record_health(
                {r.connector, r.stream, r.checked_at, to_string(r.cls), nlohmann::json(r).dump()});
        } catch (const std::exception& e) {
          spdlog::warn("health history not recorded: {}", e.what());
        }
      return static_cast<int>(sev);
    };
  });
}

}  // namespace chansync::cli
