#include "adapters/status_page.hpp"

#include <string>

#include "adapters/http.hpp"

namespace chansync::adapters {

std::vector<OptionSpec> with_status_page(std::vector<OptionSpec> options, const char* default_page) {
  using K = OptionSpec::Kind;
  options.insert(
      options.end(),
      {
          {"status_page",
           "the vendor's Atlassian Statuspage (its /api/v2/summary.json is read by `chansync health`); the default "
           "applies only while base_url is the vendor's own; \"\" = check none",
           K::string, false, false, default_page ? nlohmann::json(default_page) : nlohmann::json()},
          {"status_components",
           "the status page's components this connector depends on (e.g. [\"SMS\"], or [\"Europe/SMS\"] for the one "
           "under that group); empty: the page's overall indicator decides",
           K::string_list, false, false, nlohmann::json::array()},
      });
  return options;
}

StatusPageFetcher status_page_fetcher() {
  return [](const std::string& url) {
    // A client per page: it carries no credentials, and one run reads each page once.
    HttpClient http(
        HttpOptions{.connector = "status page", .max_attempts = 1, .timeout_ms = 10'000, .connect_timeout_ms = 5'000});
    StatusPageFetch out;
    out.shown_url = http.redact(url);
    auto resp = http.send_once({"GET", url, {{"Accept", "application/json"}}});
    if (!resp) {
      out.error = resp.error().message;
      return out;
    }
    out.http_status = resp->status;
    if (const auto it = resp->headers.find("content-type"); it != resp->headers.end()) out.content_type = it->second;
    out.body = std::move(resp->body);
    return out;
  };
}

}  // namespace chansync::adapters
