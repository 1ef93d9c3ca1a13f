#include "sync/health_status_page.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

namespace chansync {
namespace {

constexpr const char* k_signal = "status page";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string str(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Finding not_checked(const std::string& value, const std::string& why, const std::string& action) {
  return {HealthClass::unknown, k_signal, value, "status page not checked: " + why, action};
}

// The class a component status gives; nullopt for a status Statuspage does not define.
std::optional<HealthClass> component_class(const std::string& status) {
  if (status == "operational") return HealthClass::ok;
  if (status == "degraded_performance" || status == "under_maintenance") return HealthClass::degraded;
  if (status == "partial_outage" || status == "major_outage") return HealthClass::outage;
  return std::nullopt;
}

std::optional<HealthClass> indicator_class(const std::string& indicator) {
  if (indicator == "none") return HealthClass::ok;
  if (indicator == "minor" || indicator == "maintenance") return HealthClass::degraded;
  if (indicator == "major" || indicator == "critical") return HealthClass::outage;
  return std::nullopt;
}

// The names of the unresolved incidents affecting the component `id` (every incident when id is "",
// the whole page), quoted and joined. An incident that lists no components (a billing page, another
// product) is not put on a component it does not name.
std::string incidents_of(const nlohmann::json& summary, const std::string& id) {
  std::vector<std::string> names;
  const auto it = summary.find("incidents");
  if (it == summary.end() || !it->is_array()) return "";
  for (const auto& inc : *it) {
    if (!inc.is_object()) continue;
    const auto comps = inc.find("components");
    bool affects = id.empty();
    if (!affects && comps != inc.end() && comps->is_array())
      for (const auto& c : *comps)
        if (c.is_object() && str(c, "id") == id) affects = true;
    if (affects && !str(inc, "name").empty())
      names.push_back(fmt::format("\"{}\" ({})", str(inc, "name"), str(inc, "status")));
  }
  if (names.empty()) return "";
  return fmt::format("; incident{}: {}", names.size() > 1 ? "s" : "", fmt::join(names, ", "));
}

std::string action_for(HealthClass c, const std::string& page) {
  if (c == HealthClass::outage)
    return fmt::format(
        "the vendor reports an outage: customer messages may be late or missing until it ends; follow {} and tell "
        "the support team, nothing on this side fixes it; pull again once it is resolved",
        page);
  if (c == HealthClass::degraded)
    return fmt::format("the vendor reports degraded service or maintenance: expect delays; follow {}", page);
  return "";
}

// The page's own URL for people (page.url), else the summary URL.
std::string page_url(const nlohmann::json& summary, const std::string& url) {
  const auto page = summary.find("page");
  if (page != summary.end() && page->is_object() && !str(*page, "url").empty()) return str(*page, "url");
  return url;
}

std::string page_name(const nlohmann::json& summary, const std::string& url) {
  const auto page = summary.find("page");
  if (page != summary.end() && page->is_object() && !str(*page, "name").empty())
    return str(*page, "name") + " status page";
  return "the status page " + url;
}

}  // namespace

std::string status_summary_url(const std::string& page) {
  std::string base = page;
  if (base.size() >= 5 && base.compare(base.size() - 5, 5, ".json") == 0) return base;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/api/v2/summary.json";
}

std::vector<Finding> status_page_findings(const StatusPageFetch& got, const std::string& url,
                                          std::span<const std::string> components) {
  const std::string check_url = "check status_page (a Statuspage whose " + url + " answers JSON) and the network path";
  if (!got.error.empty())
    return {not_checked(got.error, fmt::format("cannot reach {}: {}", url, got.error), check_url)};
  if (got.http_status < 200 || got.http_status >= 300)
    return {not_checked(fmt::format("HTTP {}", got.http_status),
                        fmt::format("{} answered HTTP {}", url, got.http_status), check_url)};
  const auto body_start = got.body.find_first_not_of(" \t\r\n");
  if (lower(got.content_type).find("html") != std::string::npos ||
      (body_start != std::string::npos && got.body[body_start] == '<'))
    return {not_checked("HTML", fmt::format("{} answered an HTML page, not a Statuspage summary", url),
                        "set status_page to a page hosted on Atlassian Statuspage (its /api/v2/summary.json), or "
                        "status_page = \"\" to check none")};
  const auto summary = nlohmann::json::parse(got.body, nullptr, false);
  if (summary.is_discarded())
    return {not_checked("invalid JSON", fmt::format("the body of {} is not JSON", url), check_url)};
  const auto status = summary.find("status");
  const auto comps = summary.find("components");
  if (!summary.is_object() || status == summary.end() || !status->is_object() || str(*status, "indicator").empty() ||
      comps == summary.end() || !comps->is_array())
    return {not_checked("not a summary",
                        fmt::format("{} is JSON but not a Statuspage summary (no status.indicator or components)", url),
                        check_url)};
  const std::string people = page_url(summary, url);
  const std::string name = page_name(summary, url);
  const std::string indicator = str(*status, "indicator");
  const std::string description = str(*status, "description");

  std::vector<Finding> out;
  if (components.empty()) {
    const auto cls = indicator_class(indicator);
    if (!cls)
      return {not_checked(indicator,
                          fmt::format("{} has the indicator \"{}\", which Statuspage does not define", name, indicator),
                          check_url)};
    // The whole page speaks for every product of the vendor: a major outage of another one (a
    // marketing tool beside the CRM) is a warning here, not a page at 3 a.m., and a minor incident
    // somewhere (a carrier's delays in another country, which Twilio's page shows much of the time)
    // is only evidence; status_components says which products this connector uses, and their
    // outage is one.
    const bool anywhere = *cls != HealthClass::ok;
    const HealthClass c = *cls == HealthClass::outage ? HealthClass::degraded : HealthClass::ok;
    out.push_back({c, k_signal, indicator,
                   fmt::format("{} reports \"{}\" (indicator {}){}{}", name, description, indicator,
                               indicator == "none" ? "" : incidents_of(summary, ""),
                               anywhere ? "; no status_components are set, so it may be another of its products" : ""),
                   c != HealthClass::ok
                       ? action_for(c, people) + "; set status_components to the components this connector uses to tell"
                       : ""});
    return out;
  }
  std::map<std::string, std::string> groups;  // group component id → its name
  for (const auto& c : *comps)
    if (c.is_object() && c.value("group", false)) groups[str(c, "id")] = str(c, "name");
  const auto group_of = [&](const nlohmann::json& c) {
    const auto it = groups.find(str(c, "group_id"));
    return it == groups.end() ? std::string() : it->second;
  };
  for (const auto& wanted : components) {
    const nlohmann::json* match = nullptr;
    std::vector<std::string> listed;
    // "Group/Component" names the component under that group (Twilio lists one name under several
    // regions); a bare name matches it under any group.
    const auto slash = wanted.find('/');
    const std::string want_group = slash == std::string::npos ? "" : lower(wanted.substr(0, slash));
    const std::string want_name = lower(slash == std::string::npos ? wanted : wanted.substr(slash + 1));
    for (const auto& c : *comps) {
      if (!c.is_object()) continue;
      if (lower(str(c, "name")) != want_name || (!want_group.empty() && lower(group_of(c)) != want_group)) {
        if (listed.size() < 12)
          listed.push_back(group_of(c).empty() ? str(c, "name") : group_of(c) + "/" + str(c, "name"));
        continue;
      }
      // A name under two groups (Twilio lists regions that way): the worse status counts.
      const auto cls = component_class(str(c, "status"));
      const auto prev = match ? component_class(str(*match, "status")) : std::nullopt;
      if (!match || (cls && (!prev || static_cast<int>(*cls) < static_cast<int>(*prev)))) match = &c;
    }
    if (!match) {
      out.push_back(not_checked(
          wanted, fmt::format("{} lists no component \"{}\" (it lists: {})", name, wanted, fmt::join(listed, ", ")),
          "fix status_components: use the component names the status page shows"));
      continue;
    }
    const std::string st = str(*match, "status");
    const auto cls = component_class(st);
    if (!cls) {
      out.push_back(not_checked(wanted + ": " + st,
                                fmt::format("{} gives component \"{}\" the status \"{}\", which Statuspage does not "
                                            "define",
                                            name, wanted, st),
                                check_url));
      continue;
    }
    // The group is named, so that "SMS" of another region is seen as such (and status_components
    // can then say "Group/SMS").
    const std::string group = group_of(*match);
    const std::string shown = group.empty() ? str(*match, "name") : fmt::format("{} ({})", str(*match, "name"), group);
    out.push_back({*cls, k_signal, fmt::format("{}: {}", str(*match, "name"), st),
                   fmt::format("{} reports {} {} (page: \"{}\", indicator {}){}", name, shown, st, description,
                               indicator, *cls == HealthClass::ok ? "" : incidents_of(summary, str(*match, "id"))),
                   action_for(*cls, people) + (group.empty() || *cls == HealthClass::ok || slash != std::string::npos
                                                   ? ""
                                                   : fmt::format("; if this connector does not use {} of {}, write "
                                                                 "status_components as \"GROUP/{}\"",
                                                                 str(*match, "name"), group, str(*match, "name")))});
  }
  return out;
}

}  // namespace chansync
