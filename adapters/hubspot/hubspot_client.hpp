#pragma once
// One HubSpot account's CRM API as the sink uses it: Bearer auth, pacing from X-HubSpot-RateLimit-*,
// HubSpot's 423 Locked waits, and the account's daily budget: once HubSpot says it is spent, every
// later call fails at once with a rate_limited error saying when it resets, so a push stops instead
// of collecting 429s (HubSpot asks that errors stay under 5% of a day's requests).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/registry.hpp"

namespace chansync::adapters::hubspot {

class Client {
 public:
  explicit Client(const AdapterContext& ctx);

  // POSTs `body` as JSON to base_url + path. `idempotent`: sending it twice has the effect of once
  // (an upsert by a unique property, a read), so HttpClient may retry a 5xx or a timeout. Returns
  // the final response whatever its status (see error()), or the error when no usable answer came:
  // unreachable, a Retry-After longer than chansync waits, or the daily budget spent.
  Result<HttpResponse> post(const std::string& path, const nlohmann::json& body, bool idempotent);

  // GET base_url + path once (no retries), for health checks; the body goes to `body`.
  ProbeObservation probe_get(const std::string& path, std::string* body);

  // The Error for a non-2xx answer to `method path` ("upserting 3 contacts"), with HubSpot's
  // category, message and correlationId.
  Error error(const std::string& method, const std::string& path, const HttpResponse& resp,
              const std::string& what) const;

  // Set once the daily budget is spent (the error every later call returns).
  const std::optional<Error>& daily_spent() const { return m_daily_spent; }
  const std::string& name() const { return m_name; }
  bool has_token() const { return m_has_token; }

 private:
  Error daily_error(const HttpResponse& resp);

  std::string m_name, m_base;
  bool m_has_token;
  Sleeper m_sleep;
  HttpClient m_http;
  std::optional<Error> m_daily_spent;
};

// The rate_limited error for HubSpot's daily limit spent (`resp` said so: daily_budget_spent), saying
// when the account's day resets (asked of GET /account-info/v3/api-usage/daily/private-apps, once,
// through `http`) and then `then`: what running again does.
Error daily_limit_error(HttpClient& http, const std::string& base, const std::string& connector,
                        const HttpResponse& resp, std::string_view then);

// A property the sink needs: on `object` ("contacts", "notes"), named `name`, with unique values when
// `unique` (an upsert key).
struct PropertyCheck {
  std::string object;
  std::string name;
  bool unique = false;
};

// The sink's health check: GET /crm/v3/properties/{object}/{name} for each check, in order. ok only when
// every property exists as needed; a missing or non-unique one is reported (unknown) with how to create
// it. Never throws.
HealthReport check_properties(Client& api, const std::string& type, const std::vector<PropertyCheck>& checks);

}  // namespace chansync::adapters::hubspot
