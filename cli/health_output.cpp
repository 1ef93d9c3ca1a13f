#include "cli/health_output.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "cli/output.hpp"

namespace chansync::cli {
namespace {

std::string name_of(const HealthReport& r) {
  return r.stream.empty() ? r.connector : r.connector + "/" + r.stream;
}

const char* colour_of(Severity s) {
  switch (s) {
    case Severity::critical:
      return "\033[31m";  // red
    case Severity::warning:
      return "\033[33m";  // yellow
    case Severity::unknown:
      return "\033[35m";  // magenta
    case Severity::ok:
      return "\033[32m";  // green
  }
  return "";
}

// A Prometheus label value: backslash, double quote and newline escaped.
std::string label(std::string_view v) {
  std::string out;
  for (const char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// The signal that decided the class, as "(signal value)".
std::string deciding(const HealthReport& r) {
  for (const auto& f : r.findings)
    if (f.cls == r.cls && f.signal != "adapter")
      return f.value.empty() ? fmt::format(" [{}]", f.signal) : fmt::format(" [{}: {}]", f.signal, f.value);
  return "";
}

}  // namespace

bool stdout_colour(bool no_color_flag) {
  const char* no_color = std::getenv("NO_COLOR");
  return !no_color_flag && !(no_color && *no_color) && ::isatty(STDOUT_FILENO);
}

std::string health_table(const HealthCheckResult& result, std::span<const HealthClass> warn_only, bool colour) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : result.reports)
    rows.push_back({name_of(r), r.type, to_string(severity_of(r, warn_only)), to_string(r.cls),
                    r.since ? format_rfc3339(*r.since) : "", r.summary + deciding(r)});
  const auto table = format_table({"NAME", "TYPE", "SEVERITY", "CLASS", "SINCE", "DETAIL"}, rows);
  std::string out;
  std::istringstream lines(table);
  std::string line;
  for (std::size_t i = 0; std::getline(lines, line); ++i) {
    if (colour && i > 0 && i - 1 < result.reports.size())
      out += colour_of(severity_of(result.reports[i - 1], warn_only)) + line + "\033[0m\n";
    else
      out += line + "\n";
  }
  std::string actions;
  for (const auto& r : result.reports)
    if (r.cls != HealthClass::ok && !r.action.empty())
      actions += fmt::format("  {}: {}\n", name_of(r), terminal_text(r.action));
  if (!actions.empty()) out += "\nWhat to do:\n" + actions;
  return out;
}

nlohmann::json health_json(const HealthCheckResult& result, std::span<const HealthClass> warn_only) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& r : result.reports) {
    nlohmann::json j = r;
    j["severity"] = to_string(severity_of(r, warn_only));
    checks.push_back(std::move(j));
  }
  nlohmann::json demoted = nlohmann::json::array();
  for (const auto c : warn_only) demoted.push_back(to_string(c));
  return {{"status", to_string(result.status)},
          {"exit_code", static_cast<int>(result.status)},
          {"checked_at", format_rfc3339(result.checked_at)},
          {"warn_only", demoted},
          {"checks", checks}};
}

std::string health_prometheus(const HealthCheckResult& result, std::span<const HealthClass> warn_only) {
  std::string out;
  auto family = [&](const char* name, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name, help, name);
  };
  auto labels = [](const HealthReport& r) {
    return fmt::format("connector=\"{}\",stream=\"{}\"", label(r.connector), label(r.stream));
  };
  family("chansync_health_class",
         "1 for the health class a connector (stream=\"\") or stream has now, 0 for every other class.");
  for (const auto& r : result.reports)
    for (const auto c : all_health_classes())
      out += fmt::format("chansync_health_class{{{},class=\"{}\"}} {}\n", labels(r), to_string(c), c == r.cls ? 1 : 0);
  family("chansync_health_severity", "Monitoring-plugin severity: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.");
  for (const auto& r : result.reports)
    out += fmt::format("chansync_health_severity{{{}}} {}\n", labels(r), static_cast<int>(severity_of(r, warn_only)));
  family("chansync_health_checked_timestamp_seconds", "When the check ran (Unix time).");
  for (const auto& r : result.reports)
    out += fmt::format("chansync_health_checked_timestamp_seconds{{{}}} {}\n", labels(r), r.checked_at / 1000);
  family("chansync_stream_last_success_timestamp_seconds",
         "When the stream's last pull that completed ended (Unix time): alert on time() minus it.");
  for (const auto& r : result.reports)
    if (r.last_ok_pull)
      out +=
          fmt::format("chansync_stream_last_success_timestamp_seconds{{{}}} {}\n", labels(r), *r.last_ok_pull / 1000);
  if (!result.inbound.empty()) {
    family("chansync_last_inbound_message_timestamp_seconds",
           "When the newest stored inbound customer message of a connector's channel was sent (Unix time).");
    for (const auto& m : result.inbound)
      out += fmt::format("chansync_last_inbound_message_timestamp_seconds{{connector=\"{}\",channel=\"{}\"}} {}\n",
                         label(m.connector), label(m.channel), m.last / 1000);
  }
  bool any_sunset = false;
  for (const auto& r : result.reports) any_sunset = any_sunset || r.sunset.has_value();
  if (any_sunset) {
    family("chansync_health_sunset_timestamp_seconds",
           "When the API the connector uses stops being served (Sunset header or the shipped version table).");
    for (const auto& r : result.reports)
      if (r.sunset)
        out += fmt::format("chansync_health_sunset_timestamp_seconds{{{}}} {}\n", labels(r), *r.sunset / 1000);
  }
  return out;
}

std::string transitions_table(const std::vector<HealthTransition>& ts) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : ts) {
    const std::string name = t.stream.empty() ? t.connector : t.connector + "/" + t.stream;
    const std::string change = t.from == t.to   ? t.to + " (unchanged)"
                               : t.from.empty() ? t.to + " (first check)"
                                                : t.from + " → " + t.to;
    rows.push_back({format_rfc3339(t.at), name, change, t.summary});
  }
  return format_table({"SINCE", "NAME", "CLASS", "DETAIL"}, rows);
}

nlohmann::json transitions_json(const std::vector<HealthTransition>& ts, Timestamp since) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : ts)
    out.push_back({{"connector", t.connector},
                   {"stream", t.stream.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.stream)},
                   {"from", t.from.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.from)},
                   {"to", t.to},
                   {"at", format_rfc3339(t.at)},
                   {"summary", t.summary}});
  return {{"since", format_rfc3339(since)}, {"transitions", out}};
}

}  // namespace chansync::cli
