#include "adapters/hubspot/hubspot_client.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "adapters/hubspot/hubspot_api.hpp"

namespace chansync::adapters::hubspot {
namespace {

// HubSpot answers 423 Locked while it absorbs a burst of writes to one account and asks for a pause
// of at least 2 seconds; the lock is short, so a few waits suffice.
constexpr int k_locked_waits = 3;
constexpr std::chrono::milliseconds k_locked_pause{2'000};

std::string base_of(const EndpointConfig& cfg) {
  std::string base = cfg.options.at("base_url").get<std::string>();
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

}  // namespace

Client::Client(const AdapterContext& ctx)
    : m_name(ctx.config.name),
      m_base(base_of(ctx.config)),
      m_has_token(ctx.config.secrets.count("token") > 0),
      m_sleep(ctx.sleep),
      // ~90% of the documented 100 per 10 s; corrected from X-HubSpot-RateLimit-* on every response.
      m_http(HttpOptions{.connector = ctx.config.name,
                         .requests_per_second = k_seed_per_second,
                         .rate_policy = rate_reading,
                         .sub_budgets = {search_budget()},
                         .shared_budgets = shared_budgets(m_base, m_has_token ? ctx.config.secrets.at("token") : ""),
                         .give_up = daily_budget_spent,
                         .bearer_token = m_has_token ? ctx.config.secrets.at("token") : "",
                         .sleep = ctx.sleep}) {}

Result<HttpResponse> Client::post(const std::string& path, const nlohmann::json& body, bool idempotent) {
  if (m_daily_spent) return std::unexpected(*m_daily_spent);
  HttpRequest req{"POST", m_base + path};
  req.headers = {{"Content-Type", "application/json"}};
  req.body = body.dump();
  req.idempotent = idempotent;
  for (int locked = 0;; ++locked) {
    auto resp = m_http.send(req);
    if (!resp) {
      if (resp.error().connector.empty()) resp.error().connector = m_name;
      return resp;
    }
    if (daily_budget_spent(*resp)) {
      m_daily_spent = daily_error(*resp);
      // A 429 did nothing; a success that spent the last request stands, and the next call stops.
      if (resp->status == 429) return std::unexpected(*m_daily_spent);
    }
    if (resp->status != 423 || locked >= k_locked_waits) return resp;
    spdlog::warn("{}: HubSpot answered 423 Locked to POST {}; waiting {} ms", m_name, path, k_locked_pause.count());
    if (m_sleep)
      m_sleep(k_locked_pause);
    else
      std::this_thread::sleep_for(k_locked_pause);
  }
}

ProbeObservation Client::probe_get(const std::string& path, std::string* body) {
  auto obs = observe(m_http, {"GET", m_base + path}, body);
  if (obs.http_status >= 400 && body) obs.vendor_message = parse_error(*body);
  return obs;
}

Error Client::error(const std::string& method, const std::string& path, const HttpResponse& resp,
                    const std::string& what) const {
  return m_http.error({method, m_base + path}, resp, what, parse_error(resp.body));
}

Error Client::daily_error(const HttpResponse& resp) {
  return daily_limit_error(m_http, m_base, m_name, resp,
                           "Run the push again after that: the persons not confirmed yet are sent then");
}

Error daily_limit_error(HttpClient& http, const std::string& base, const std::string& connector,
                        const HttpResponse& resp, std::string_view then) {
  std::string limit;
  if (auto it = resp.headers.find("x-hubspot-ratelimit-daily"); it != resp.headers.end())
    limit = fmt::format(" of {} requests", it->second);
  // Best effort: HubSpot's usage endpoint says when the day ends for this account.
  std::optional<Timestamp> reset;
  if (auto usage = http.send_once({"GET", base + "/account-info/v3/api-usage/daily/private-apps"});
      usage && usage->status == 200)
    reset = parse_daily_reset(usage->body);
  Error e{Errc::rate_limited,
          fmt::format("HubSpot's daily API limit{} for this account is used up (HTTP {}, "
                      "X-HubSpot-RateLimit-Daily-Remaining 0); it resets {}. {}",
                      limit, resp.status,
                      reset ? "at " + format_rfc3339(*reset)
                            : "at midnight in the HubSpot account's time zone (Settings > Account Defaults)",
                      then),
          connector, resp.status};
  if (reset) e.retry_after = std::chrono::milliseconds(std::max<Timestamp>(0, *reset - now_ms()));
  return e;
}

HealthReport check_properties(Client& api, const std::string& type, const std::vector<PropertyCheck>& checks) {
  if (!api.has_token()) {
    HealthReport r{api.name(), type};
    r.checked_at = now_ms();
    r.summary = fmt::format("not checked: no token was read (targets.{}.token_env or token_file)", api.name());
    return r;
  }
  HealthReport last;
  std::vector<std::string> checked;
  for (const auto& c : checks) {
    std::string body;
    auto obs = api.probe_get(fmt::format("/crm/v3/properties/{}/{}", c.object, url_encode(c.name)), &body);
    const int status = obs.http_status;
    auto r = classify(api.name(), type, std::move(obs));
    const auto property = status == 200 ? parse_property(body) : Result<PropertyInfo>(fail(Errc::protocol, ""));
    require_vendor_body(r, status != 200 || property.has_value(), "a HubSpot property definition");
    const std::string what = fmt::format("the {} property {}", c.object == "notes" ? "note" : "contact", c.name);
    const std::string how = fmt::format(
        "create it in HubSpot under Settings > Properties > {} properties as a single-line text property{} with "
        "internal name {}, or with the API call in chansync-adapters(7)",
        c.object == "notes" ? "Note" : "Contact", c.unique ? " with \"Require unique values\" on" : "", c.name);
    if (status == 404) {
      r.cls = HealthClass::unknown;
      r.summary = fmt::format("{} does not exist in this HubSpot account (HTTP 404); {}", what, how);
    } else if (r.cls == HealthClass::ok && c.unique && property && !property->unique) {
      r.cls = HealthClass::unknown;
      r.summary = fmt::format(
          "{} exists but does not require unique values, so chansync cannot upsert by it (HubSpot cannot change "
          "that later); {} under a new name and set it in the target's config",
          what, how);
    } else if (r.cls == HealthClass::ok && r.evidence.headers.count("x-hubspot-ratelimit-daily-remaining") &&
               r.evidence.headers.at("x-hubspot-ratelimit-daily-remaining") == "0") {
      r.cls = HealthClass::rate_limited;
      r.summary =
          "HubSpot's daily API limit for this account is used up; it resets at midnight in the account's "
          "time zone";
    }
    if (r.cls != HealthClass::ok) return r;
    checked.push_back(fmt::format("{}.{}{}", c.object, c.name, c.unique ? " (unique)" : ""));
    last = std::move(r);
  }
  last.summary =
      fmt::format("ok ({:.0f} ms): {}", last.evidence.latency_ms, fmt::format("{}", fmt::join(checked, ", ")));
  return last;
}

}  // namespace chansync::adapters::hubspot
