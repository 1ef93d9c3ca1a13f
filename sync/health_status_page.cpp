#include "sync/health_status_page.hpp"

#include <fmt/format.h>

#include <algorithm>
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
// or when an incident lists no components, as older pages do), quoted and joined.
std::string incidents_of(const nlohmann::json& summary, const std::string& id) {
  std::vector<std::string> names;
  const auto it = summary.find("incidents");
  if (it == summary.end() || !it->is_array()) return "";
  for (const auto& inc : *it) {
    if (!inc.is_object()) continue;
    const auto comps = inc.find("components");
    bool affects = id.empty() || comps == inc.end() || !comps->is_array() || comps->empty();
    if (!affects)
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
    // marketing tool beside the CRM) is a warning here, not a page at 3 a.m.; status_components
    // says which products this connector uses, and their outage is one.
    const bool anywhere = *cls == HealthClass::outage;
    const HealthClass c = anywhere ? HealthClass::degraded : *cls;
    out.push_back({c, k_signal, indicator,
                   fmt::format("{} reports \"{}\" (indicator {}){}{}", name, description, indicator,
                               c == HealthClass::ok ? "" : incidents_of(summary, ""),
                               anywhere ? "; no status_components are set, so it may be another of its products" : ""),
                   anywhere
                       ? action_for(c, people) + "; set status_components to the components this connector uses to tell"
                       : action_for(c, people)});
    return out;
  }
  for (const auto& wanted : components) {
    const nlohmann::json* match = nullptr;
    std::vector<std::string> listed;
    for (const auto& c : *comps) {
      if (!c.is_object()) continue;
      if (lower(str(c, "name")) != lower(wanted)) {
        if (listed.size() < 12) listed.push_back(str(c, "name"));
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
    out.push_back(
        {*cls, k_signal, fmt::format("{}: {}", str(*match, "name"), st),
         fmt::format("{} reports {} {} (page: \"{}\", indicator {}){}", name, str(*match, "name"), st, description,
                     indicator, *cls == HealthClass::ok ? "" : incidents_of(summary, str(*match, "id"))),
         action_for(*cls, people)});
  }
  return out;
}

}  // namespace chansync
