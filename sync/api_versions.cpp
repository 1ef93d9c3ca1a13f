#include "sync/api_versions.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <chrono>
#include <string_view>
#include <vector>

namespace chansync {
namespace {

Timestamp to_timestamp(const toml::date& d) {
  const std::chrono::year_month_day ymd{std::chrono::year(d.year), std::chrono::month(d.month),
                                        std::chrono::day(d.day)};
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::sys_days(ymd).time_since_epoch()).count();
}

std::string at(const toml::node& n) {
  return fmt::format("data/api_versions.toml:{}", n.source().begin.line);
}

}  // namespace

Result<VersionTable> parse_version_table(std::string_view text) {
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return fail(Errc::config,
                fmt::format("data/api_versions.toml:{}: not valid TOML: {}", e.source().begin.line, e.description()));
  }
  VersionTable out;
  for (auto&& [key, node] : root) {
    const std::string vendor(key.str());
    if (vendor == "sources") {
      const auto* t = node.as_table();
      if (!t) return fail(Errc::config, at(node) + ": [sources] must be a table of vendor = \"where\"");
      for (auto&& [v, src] : *t) {
        const auto s = src.value<std::string>();
        if (!s) return fail(Errc::config, at(src) + ": sources." + std::string(v.str()) + " must be a string");
        out.sources[std::string(v.str())] = *s;
      }
      continue;
    }
    const auto* arr = node.as_array();
    if (!arr || !arr->is_array_of_tables())
      return fail(Errc::config, at(node) + ": \"" + vendor + "\" must be an array of tables ([[" + vendor + "]])");
    auto& list = out.vendors[vendor];
    for (const auto& item : *arr) {
      const auto& t = *item.as_table();
      for (auto&& [k, v] : t)
        if (k.str() != "version" && k.str() != "released" && k.str() != "end_of_life")
          return fail(Errc::config, at(v) + ": unknown key \"" + std::string(k.str()) +
                                        "\"; an entry has version, released and end_of_life");
      const auto version = t["version"].value<std::string>();
      const auto released = t["released"].value<toml::date>();
      if (!version || version->empty() || !released)
        return fail(Errc::config, at(item) + ": an entry of [[" + vendor +
                                      "]] needs version = \"…\" and released = YYYY-MM-DD (a TOML date)");
      ApiVersion v{*version, to_timestamp(*released), std::nullopt};
      if (t.contains("end_of_life")) {
        const auto eol = t["end_of_life"].value<toml::date>();
        if (!eol) return fail(Errc::config, at(item) + ": end_of_life of " + *version + " must be a TOML date");
        v.end_of_life = to_timestamp(*eol);
      }
      if (v.end_of_life && *v.end_of_life <= v.released)
        return fail(Errc::config, at(item) + ": " + *version + " ends before it was released");
      if (!list.empty()) {
        const auto& prev = list.back();
        if (v.released <= prev.released)
          return fail(Errc::config, at(item) + ": " + *version + " is not released after " + prev.version +
                                        "; keep the list oldest first");
        if (prev.end_of_life && v.end_of_life && *v.end_of_life < *prev.end_of_life)
          return fail(Errc::config, at(item) + ": " + *version + " ends before " + prev.version + " does");
        if (!prev.end_of_life && v.end_of_life)
          return fail(Errc::config,
                      at(item) + ": " + prev.version + " has no end_of_life but the newer " + *version + " has one");
      }
      for (const auto& seen : list)
        if (seen.version == v.version) return fail(Errc::config, at(item) + ": " + *version + " is listed twice");
      list.push_back(std::move(v));
    }
  }
  return out;
}

const VersionTable& shipped_versions() {
  // The build embeds a file its tests validate, so a failure here is a broken build.
  static const VersionTable table = value_or_throw(parse_version_table(shipped_versions_text()));
  return table;
}

namespace {

// "v23.0" → {23, 0}, "2010-04-01" → {2010, 4, 1}: runs of digits, compared as numbers; nullopt when
// the text holds anything but digits, dots, dashes and one leading 'v'.
std::optional<std::vector<int>> version_key(std::string_view text) {
  if (text.starts_with('v')) text.remove_prefix(1);
  std::vector<int> out;
  bool in_number = false;
  for (const char c : text) {
    if (c >= '0' && c <= '9') {
      if (!in_number) out.push_back(0);
      out.back() = std::min(out.back() * 10 + (c - '0'), 1'000'000);
      in_number = true;
    } else if ((c == '.' || c == '-') && in_number) {
      in_number = false;
    } else {
      return std::nullopt;
    }
  }
  if (out.empty() || !in_number) return std::nullopt;
  return out;
}

}  // namespace

std::optional<Finding> version_finding(const VersionTable& table, const std::string& vendor, const std::string& version,
                                       Timestamp now, int warning_days) {
  const auto it = table.vendors.find(vendor);
  if (it == table.vendors.end() || it->second.empty()) return std::nullopt;
  const auto& list = it->second;
  const std::string signal = "API version table";
  const auto v = std::find_if(list.begin(), list.end(), [&](const ApiVersion& a) { return a.version == version; });
  if (v == list.end()) {
    const std::string listed =
        fmt::format("this chansync's table lists {} to {}", list.front().version, list.back().version);
    const auto key = version_key(version), first = version_key(list.front().version),
               last = version_key(list.back().version);
    if (key && first && last && *key > *last)
      return Finding{HealthClass::ok, signal, version, fmt::format("{} is newer than the table ({})", version, listed),
                     ""};
    const auto& oldest = list.front();
    if (key && first && *key < *first && oldest.end_of_life && now >= *oldest.end_of_life)
      return Finding{HealthClass::gone, signal, version,
                     fmt::format("{} is older than {}, which reached its end of life on {}: the vendor no longer "
                                 "serves it",
                                 version, oldest.version, format_date(*oldest.end_of_life)),
                     fmt::format("raise the connector's api_version (the newest listed is {}) after checking the "
                                 "vendor's changelog",
                                 list.back().version)};
    return Finding{HealthClass::unknown, signal, version,
                   fmt::format("{} is not a version this chansync knows ({}; written as \"{}\")", version, listed,
                               list.back().version),
                   "check the connector's api_version"};
  }
  // The newest version without an announced end, else the newest: what to move to.
  const std::string successor = list.back().version;
  if (!v->end_of_life)
    return Finding{HealthClass::ok, signal, version, fmt::format("{} has no end of life announced", version), ""};
  const auto days = (*v->end_of_life - now) / 86'400'000;
  const auto date = format_date(*v->end_of_life);
  if (now >= *v->end_of_life)
    return Finding{HealthClass::gone,
                   signal,
                   version,
                   fmt::format("{} reached its end of life on {} ({} days ago): the vendor no longer serves it",
                               version, date, -days),
                   fmt::format("raise the connector's api_version (the newest listed is {}) after checking the "
                               "vendor's changelog",
                               successor),
                   v->end_of_life};
  if (days < warning_days)
    return Finding{
        HealthClass::deprecated,
        signal,
        version,
        fmt::format("{} stops being served on {} ({} days left)", version, date, days),
        fmt::format("raise the connector's api_version (the newest listed is {}) before {}", successor, date),
        v->end_of_life};
  return Finding{
      HealthClass::ok, signal, version, fmt::format("{} is served until {} ({} days)", version, date, days), "",
      v->end_of_life};
}

}  // namespace chansync
