#include "adapters/twilio/twilio_source.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>

#include "adapters/twilio/twilio_api.hpp"

namespace chansync::adapters::twilio {
namespace {

constexpr int k_max_page = 1000;  // Twilio's PageSize ceiling

struct Cursor {
  std::string next;    // relative next_page_uri while a pass is under way
  std::string since;   // YYYY-MM-DD: this pass's date filter ("" = everything)
  Timestamp high = 0;  // newest record date seen in this pass

  static Result<Cursor> parse(const std::string& text) {
    if (text.empty()) return Cursor{};
    try {
      const auto j = nlohmann::json::parse(text);
      return Cursor{j.value("next", ""), j.value("since", ""), j.value("high", Timestamp{0})};
    } catch (const std::exception&) {
      return fail(Errc::state, "saved Twilio cursor is unreadable; run `chansync state reset` for this connector");
    }
  }
  std::string dump() const {
    nlohmann::json j = {{"since", since}};
    if (!next.empty()) j["next"] = next;
    if (high) j["high"] = high;
    return j.dump();
  }
};

std::string without_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

std::shared_ptr<ConcurrencyGate> account_gate(std::string base_url, const std::string& account_sid) {
  // Process-wide, unlike anything else here: connectors are built one by one from their own
  // configuration (adapters::create_adapter), and the account is the only thing they share. Weak,
  // so a gate ends with the last connector on its account and a later one starts afresh.
  static std::mutex mu;
  static std::map<std::pair<std::string, std::string>, std::weak_ptr<ConcurrencyGate>> gates;
  std::lock_guard lock(mu);
  auto& slot = gates[{without_trailing_slash(std::move(base_url)), account_sid}];
  if (auto gate = slot.lock()) return gate;
  auto gate = std::make_shared<ConcurrencyGate>();
  slot = gate;
  std::erase_if(gates, [](const auto& entry) { return entry.second.expired(); });
  return gate;
}

std::vector<OptionSpec> source_options(const char* base_url) {
  using K = OptionSpec::Kind;
  return {
      {"account_sid", "Twilio Account SID (AC…)", K::string, true, false, nullptr},
      {"auth_token", "Twilio auth token (Basic auth password)", K::string, true, true, nullptr},
      {"own_numbers", "the business's numbers, in any format; never identify a customer", K::string_list, false, false,
       nlohmann::json::array()},
      {"base_url", "API root (regional endpoints, tests, the simulator)", K::string, false, false, base_url},
  };
}

TwilioSource::TwilioSource(const AdapterContext& ctx, const char* type)
    : m_name(ctx.config.name),
      m_base(without_trailing_slash(ctx.config.options.at("base_url").get<std::string>())),
      m_sid(ctx.config.options.at("account_sid").get<std::string>()),
      m_region(ctx.default_region),
      // Twilio limits requests in flight per account, not a rate: AIMD on a 429 with error 20429, on
      // the gate every connector of the account shares.
      m_http(HttpOptions{.connector = ctx.config.name,
                         .concurrency = account_gate(m_base, m_sid),
                         .refused_for_concurrency = concurrency_refused,
                         .basic_user = ctx.config.options.at("account_sid").get<std::string>(),
                         .basic_password = ctx.config.secret("auth_token"),
                         .sleep = ctx.sleep}),
      m_type(type) {
  for (const auto& n : ctx.config.options.at("own_numbers"))
    if (auto h = normalize_phone(n.get<std::string>(), m_region)) m_own.push_back(h->value);
}

std::vector<std::string> TwilioSource::own_handles() const {
  std::vector<std::string> out;
  for (const auto& n : m_own) out.push_back(Handle{HandleKind::phone, n}.key());
  return out;
}

HttpClient& TwilioSource::http() {
  if (m_ahead) m_ahead->fetched.wait();
  return m_http;
}

HealthReport TwilioSource::probe() {
  std::string body;
  auto obs = observe(http(), {"GET", fmt::format("{}/2010-04-01/Accounts/{}.json", m_base, m_sid)}, &body);
  if (obs.http_status >= 400) {
    const auto err = parse_error(body);
    obs.vendor_code = err.code;
    obs.vendor_message = err.message;
  }
  auto report = classify(m_name, m_type, std::move(obs));  // 20003, 20429: health_signals.hpp
  require_vendor_body(report, account_sid_of(body) == m_sid, "the Twilio account resource of " + m_sid);
  return report;
}

bool TwilioSource::is_own(const std::string& e164) const {
  return std::find(m_own.begin(), m_own.end(), e164) != m_own.end();
}

TwilioSource::Fetched TwilioSource::get(const std::string& path) {
  const std::size_t before = m_http.requests();
  auto resp = m_http.send({"GET", m_base + path});
  return {std::move(resp), m_http.requests() - before};
}

TwilioSource::Fetched TwilioSource::take(const std::string& path) {
  std::size_t dropped = 0;  // requests of a read-ahead not asked for: still counted
  if (m_ahead) {
    Fetched ahead = m_ahead->fetched.get();
    const bool asked = m_ahead->path == path;
    m_ahead.reset();
    if (asked) return ahead;
    dropped = ahead.requests;
  }
  Fetched now = get(path);
  now.requests += dropped;
  return now;
}

Result<Page<Conversation>> TwilioSource::pull_list(const PullRequest& req, const ListResource& res,
                                                   const MapPage& map) {
  auto cursor = Cursor::parse(req.cursor);
  if (!cursor) return std::unexpected(cursor.error());
  std::string path = cursor->next;
  if (path.empty()) {
    path = fmt::format("/2010-04-01/Accounts/{}/{}?PageSize={}", url_encode(m_sid), res.file,
                       req.page_size > 0 ? std::min(req.page_size, k_max_page) : k_max_page);
    // The filter is by day only: start at the newest day already seen, so the overlap is re-read and
    // deduplicated by sid on upsert.
    if (!cursor->since.empty()) path += fmt::format("&{}%3E={}", res.filter, cursor->since);
  }
  const HttpRequest http{"GET", m_base + path};
  auto got = take(path);
  auto& resp = got.response;
  if (!resp) return std::unexpected(resp.error());
  if (resp->status != 200) {
    const auto err = parse_error(resp->body);
    return std::unexpected(
        http_error(http, *resp, m_name, fmt::format("listing Twilio {}", res.what),
                   err.code.empty() ? err.message : fmt::format("Twilio error {}: {}", err.code, err.message)));
  }
  // The next page is requested now, while this one is parsed and mapped: the vendor's time to answer
  // overlaps chansync's work instead of adding to it. One request stays in flight per stream, as
  // before; a read-ahead the next call does not ask for (a stop, another cursor) is dropped.
  if (const auto next = peek_next_page_uri(resp->body); next.starts_with("/"))
    m_ahead = ReadAhead{next, m_reader.run([this, next] { return get(next); })};
  Page<Conversation> page;
  auto next_uri = map(resp->body, page, cursor->high);
  if (!next_uri) {
    next_uri.error().connector = m_name;
    next_uri.error().message +=
        fmt::format(" (from {}{}); the cursor was not advanced", m_base, path.substr(0, path.find('?')));
    return std::unexpected(next_uri.error());
  }
  page.requests = got.requests;
  if (next_uri->empty()) {
    page.done = true;
    Cursor next{"", cursor->high ? format_date(cursor->high) : cursor->since, 0};
    page.next_cursor = next.dump();
  } else {
    if (!next_uri->starts_with("/"))
      return fail(Errc::protocol, fmt::format("next_page_uri \"{}\" is not a relative URI", *next_uri), m_name);
    cursor->next = *next_uri;
    page.next_cursor = cursor->dump();
  }
  return page;
}

}  // namespace chansync::adapters::twilio
