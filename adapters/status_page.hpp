#pragma once
// Vendor status pages for `chansync health`: the two connector keys every vendor adapter declares
// (status_page, status_components) and the fetcher HealthCheckOptions uses, over HttpClient.
#include <vector>

#include "sync/config.hpp"
#include "sync/health_status_page.hpp"

namespace chansync::adapters {

// Twilio and HubSpot host theirs on Atlassian Statuspage; Meta's (metastatus.com) and Telegram have no
// Statuspage summary, so their types default to none.
inline constexpr const char* k_twilio_status_page = "https://status.twilio.com";
inline constexpr const char* k_hubspot_status_page = "https://status.hubspot.com";

// `options` with the registry rows of status_page (default `default_page`; nullptr: no default) and
// status_components appended.
std::vector<OptionSpec> with_status_page(std::vector<OptionSpec> options, const char* default_page);

// A fetcher that GETs the URL once (no retries, 10 s timeout, TLS verified, no credentials).
StatusPageFetcher status_page_fetcher();

}  // namespace chansync::adapters
