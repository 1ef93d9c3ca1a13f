#include "adapters/twilio/twilio_source.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>

#include "adapters/twilio/twilio_api.hpp"

namespace chansync::adapters::twilio {
namespace {

constexpr int k_max_page = 1000;  // Twilio's PageSize ceiling

std::string without_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

constexpr int k_max_in_flight = 16;

// Basic auth's user: the API key when one is set, else the account.
std::string basic_user(const EndpointConfig& cfg) {
  const auto key = cfg.options.find("api_key_sid");
  if (key != cfg.options.end() && key->is_string() && !key->get<std::string>().empty()) return key->get<std::string>();
  return cfg.options.at("account_sid").get<std::string>();
}
constexpr Timestamp k_twilio_epoch = 1'199'145'600'000;  // 2008-01-01: no Twilio record is older

}  // namespace

struct TwilioSource::ListCursor {
  std::string next;             // relative next_page_uri while a pass is under way
  std::string since;            // YYYY-MM-DD: this pass's date filter ("" = everything)
  ListMarks marks;              // the dates seen in this pass
  std::vector<Window> windows;  // a backfill in windows: those not finished, as of the pages handed out

  static Result<ListCursor> parse(const std::string& text) {
    if (text.empty()) return ListCursor{};
    try {
      const auto j = nlohmann::json::parse(text);
      ListCursor c{j.value("next", ""),
                   j.value("since", ""),
                   {j.value("high", Timestamp{0}), j.value("open", Timestamp{0})},
                   {}};
      for (const auto& w : j.value("windows", nlohmann::json::array()))
        c.windows.push_back({w.value("since", ""), w.value("until", ""), w.value("next", "")});
      return c;
    } catch (const std::exception&) {
      return fail(Errc::state, "saved Twilio cursor is unreadable; run `chansync state reset` for this connector");
    }
  }
  // The cursor of the next pass, once this one has read its last page: incremental from the newest
  // day it saw, or from the day of the oldest record whose outcome was still to come (a call that
  // spanned midnight would otherwise keep "in-progress" for good once a later day's call was seen),
  // unless that is over two days older: one stuck in Twilio must not hold every pass back.
  std::string finished() const {
    Timestamp mark = marks.high;
    if (marks.open && marks.open < mark && mark - marks.open <= 2 * k_day_ms) mark = marks.open;
    return ListCursor{"", mark ? format_date(mark) : since, {}, {}}.dump();
  }
  std::string dump() const {
    nlohmann::json j = {{"since", since}};
    if (!next.empty()) j["next"] = next;
    if (marks.high) j["high"] = marks.high;
    if (marks.open) j["open"] = marks.open;
    if (!windows.empty()) {
      auto& ws = j["windows"] = nlohmann::json::array();
      for (const auto& w : windows) ws.push_back({{"since", w.since}, {"until", w.until}, {"next", w.next}});
    }
    return j.dump();
  }
};

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
      {"auth_token", "Twilio auth token (Basic auth password), or the API key's secret with api_key_sid", K::string,
       true, true, nullptr},
      {"api_key_sid",
       "an API key (SK…) to sign in with instead of the account's auth token, which Twilio recommends: auth_token "
       "then holds the key's secret; a key of a parent account also reads its subaccounts",
       K::string, false, false, ""},
      {"own_numbers",
       "the business's numbers, never a customer's: with the country code (+49 30 123456), in national format "
       "when [identity] default_region is set, or a short code",
       K::string_list, false, false, nlohmann::json::array()},
      {"base_url", "API root (regional endpoints, tests, the simulator)", K::url, false, false, base_url},
  };
}

std::vector<OptionSpec> list_options() {
  auto options = source_options();
  options.push_back(
      {"backfill_in_flight",
       fmt::format("pages fetched at once by a backfill (a pull with no cursor), 1 to {}: the list is cut "
                   "into windows of days paged side by side. Twilio's concurrency limit is the "
                   "account's, shared with your own traffic: leave it room",
                   k_max_in_flight),
       OptionSpec::Kind::integer, false, false, 1});
  return options;
}

TwilioSource::TwilioSource(const AdapterContext& ctx, const char* type)
    : m_name(ctx.config.name),
      m_base(without_trailing_slash(ctx.config.options.at("base_url").get<std::string>())),
      m_sid(ctx.config.options.at("account_sid").get<std::string>()),
      m_region(ctx.default_region),
      // Twilio limits requests in flight per account, not a rate: AIMD on a 429 with error 20429, on
      // the gate every connector of the account shares.
      m_options(HttpOptions{.connector = ctx.config.name,
                            .concurrency = account_gate(m_base, m_sid),
                            .refused_for_concurrency = concurrency_refused,
                            .basic_user = basic_user(ctx.config),
                            .basic_password = ctx.config.secret("auth_token"),
                            .stop_ends_waits = true,
                            .sleep = ctx.sleep}),
      m_http(m_options),
      m_type(type),
      m_chain([this](const std::string& path) { return get(path); },
              [](const Fetched& f) {
                return f.response && f.response->status == 200 ? peek_next_page_uri(f.response->body) : std::string();
              },
              [](const Fetched& f) { return f.requests; }) {
  // Twilio writes the business's numbers in E.164, or as a short code of a few digits: an entry that
  // cannot become either would match nothing, and the business's number would then pass for a
  // customer's, the one handle all its conversations share. An alphanumeric sender ID ("ACME") is
  // the business's anyway (twilio.cpp): listed, it is let be.
  for (const auto& n : ctx.config.options.at("own_numbers")) {
    const std::string text = n.get<std::string>();
    const auto h = normalize_phone(text, m_region);
    if (!h && std::any_of(text.begin(), text.end(), [](unsigned char c) { return std::isalpha(c) != 0; })) continue;
    if (!h || (!h->value.starts_with('+') && h->value.size() > 6))
      throw Failure(Errc::config,
                    fmt::format("connectors.{}.own_numbers: \"{}\" is {}; write it with its country code (+49 30 "
                                "123456){}",
                                m_name, text, h ? "not a number chansync can read as international" : "not a number",
                                h && m_region.empty() ? ", or set [identity] default_region for numbers written "
                                                        "without one"
                                                      : ""));
    m_own.push_back(h->value);
  }
  if (const auto it = ctx.config.options.find("backfill_in_flight"); it != ctx.config.options.end()) {
    m_in_flight = it->get<int>();
    if (m_in_flight < 1 || m_in_flight > k_max_in_flight)
      throw Failure(Errc::config, fmt::format("connectors.{}.backfill_in_flight = {} is out of range; use 1 (one page "
                                              "at a time) to {}",
                                              m_name, m_in_flight, k_max_in_flight));
  }
}

std::vector<std::string> TwilioSource::own_handles() const {
  std::vector<std::string> out;
  for (const auto& n : m_own) out.push_back(Handle{HandleKind::phone, n}.key());
  return out;
}

HttpClient& TwilioSource::http() {
  m_chain.stop();
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

TwilioSource::Fetched TwilioSource::take(const std::string& path, bool follow) {
  std::size_t dropped = 0;  // requests of pages read ahead and not asked for: still counted
  auto chained = m_chain.take(path, dropped);
  if (!chained && follow) {
    m_chain.start(path);
    std::size_t none = 0;  // a chain just started holds nothing else
    chained = m_chain.take(path, none);
  }
  Fetched out = chained ? std::move(*chained) : get(path);
  out.requests += dropped;
  return out;
}

Result<Page<Conversation>> TwilioSource::pull_list(const PullRequest& req, const ListResource& res,
                                                   const MapPage& map) {
  auto cursor = ListCursor::parse(req.cursor);
  if (!cursor) return std::unexpected(cursor.error());
  std::size_t planned = 0;  // requests of the probes planning a backfill in windows
  if (m_in_flight > 1 && cursor->next.empty() && cursor->since.empty() && cursor->windows.empty()) {
    auto windows = plan_windows(res, map, planned);
    if (!windows) return std::unexpected(windows.error());
    cursor->windows = std::move(*windows);
  }
  if (!cursor->windows.empty()) return pull_windows(req, res, map, *cursor, planned);
  std::string path = cursor->next;
  // The filter is by day only: start at the newest day already seen, so the overlap is re-read and
  // deduplicated by sid on upsert.
  if (path.empty()) path = list_path(res, req.page_size, cursor->since, "");
  // The next pages are requested as soon as the answers before them are in, while this one is parsed
  // and mapped: the vendor's time to answer overlaps chansync's work instead of adding to it. One
  // request stays in flight per stream; pages read ahead that the next call does not ask for (a stop,
  // another cursor) are dropped.
  auto got = take(path, true);
  auto& resp = got.response;
  Page<Conversation> page;
  auto next_uri = map_response(path, resp, fmt::format("listing Twilio {}", res.what), map, page, cursor->marks);
  if (!next_uri) return std::unexpected(next_uri.error());
  page.requests = got.requests + planned;
  if (next_uri->empty()) {
    page.done = true;
    page.next_cursor = cursor->finished();
  } else {
    cursor->next = *next_uri;
    page.next_cursor = cursor->dump();
  }
  return page;
}

Result<std::string> TwilioSource::map_response(const std::string& path, Result<HttpResponse>& resp,
                                               const std::string& doing, const MapPage& map, Page<Conversation>& page,
                                               ListMarks& marks) {
  if (!resp) return std::unexpected(resp.error());
  if (resp->status != 200) {
    const auto err = parse_error(resp->body);
    return std::unexpected(
        http().error({"GET", m_base + path}, *resp, doing,
                     err.code.empty() ? err.message : fmt::format("Twilio error {}: {}", err.code, err.message)));
  }
  auto next_uri = map(resp->body, page, marks);
  if (!next_uri) {
    next_uri.error().connector = m_name;
    next_uri.error().message +=
        fmt::format(" (from {}); the cursor was not advanced", http().redact(m_base + path.substr(0, path.find('?'))));
    return next_uri;
  }
  if (!next_uri->empty() && !next_uri->starts_with("/"))
    return fail(Errc::protocol, http().redact(fmt::format("next_page_uri \"{}\" is not a relative URI", *next_uri)),
                m_name);
  return next_uri;
}

std::string TwilioSource::list_path(const ListResource& res, int page_size, const std::string& since,
                                    const std::string& until) const {
  auto path = fmt::format("/2010-04-01/Accounts/{}/{}?PageSize={}", url_encode(m_sid), res.file,
                          page_size > 0 ? std::min(page_size, k_max_page) : k_max_page);
  if (!since.empty()) path += fmt::format("&{}%3E={}", res.filter, since);  // on or after
  if (!until.empty()) path += fmt::format("&{}%3C={}", res.filter, until);  // on or before
  return path;
}

Result<std::vector<Window>> TwilioSource::plan_windows(const ListResource& res, const MapPage& map,
                                                       std::size_t& requests) {
  // The date of the newest record on or before `until` ("" = any): nullopt when there is none.
  const auto newest = [&](const std::string& until) -> Result<std::optional<Timestamp>> {
    const auto path = list_path(res, 1, "", until);
    auto got = take(path, false);
    requests += got.requests;
    Page<Conversation> page;
    ListMarks marks;
    auto mapped = map_response(path, got.response, fmt::format("planning a backfill of Twilio {} in windows", res.what),
                               map, page, marks);
    if (!mapped) return std::unexpected(mapped.error());
    if (page.items.empty() && page.rejects.empty()) return std::optional<Timestamp>();
    return std::optional<Timestamp>(marks.high);  // 0 for a record without a usable date
  };
  auto top = newest("");
  if (!top) return std::unexpected(top.error());
  if (!*top || **top <= 0) return std::vector<Window>{};  // empty, or dated so the chain of pages must do
  constexpr Timestamp day = k_day_ms;
  // Whether DateSent<=DAY takes in DAY's own records: asked of the newest record's day. If it does not
  // (the bound is DAY's midnight), each window's bound is the day after its last; either way the
  // windows neither miss nor repeat a day.
  auto same_day = newest(format_date(**top));
  if (!same_day) return std::unexpected(same_day.error());
  // A record at midnight itself would answer for both readings: the day after is then the bound,
  // which at worst reads a day twice (deduplicated by sid) instead of missing one.
  const bool until_takes_day = *same_day && **same_day > **top / day * day;
  // Bisection for the oldest day: records exist on or before `hi`, none before `lo` (by the filter's
  // own reading: without the day itself, the oldest day found may be one late, which the oldest
  // window, open below, does not mind).
  Timestamp lo = k_twilio_epoch / day, hi = **top / day;
  while (lo < hi) {
    const Timestamp mid = lo + (hi - lo) / 2;
    auto found = newest(format_date(mid * day));
    if (!found) return std::unexpected(found.error());
    // A record after the day asked for: the server ignores the filter, and every window would be the
    // whole list again.
    if (*found && **found >= (mid + 1) * day) {
      spdlog::warn(
          "{}: the server ignores {}<=DAY (asked for records on or before {}, it answered one of {}); "
          "backfilling one page at a time instead",
          m_name, res.filter, format_date(mid * day), format_date(**found));
      return std::vector<Window>{};
    }
    if (*found)
      hi = mid;
    else
      lo = mid + 1;
  }
  auto windows = split_days(lo * day, **top, m_in_flight, until_takes_day);
  spdlog::debug("{}: backfill of {} from {} to {} in {} windows, {} pages in flight ({}<=DAY {} DAY itself)", m_name,
                res.what, format_date(lo * day), format_date(**top), windows.size(), m_in_flight, res.filter,
                until_takes_day ? "takes in" : "stops before");
  if (windows.size() < 2) windows.clear();  // one day: the chain of pages
  return windows;
}

Result<Page<Conversation>> TwilioSource::pull_windows(const PullRequest& req, const ListResource& res,
                                                      const MapPage& map, ListCursor& cursor, std::size_t requests) {
  if (!m_windows || m_windows_cursor != req.cursor) {
    m_windows.reset();
    requests += m_chain.stop();  // pages the chain of pages read ahead: dropped, and counted
    m_windows = std::make_unique<WindowFetcher>(m_options, m_in_flight, m_base, cursor.windows, [&](const Window& w) {
      return list_path(res, req.page_size, w.since, w.until);
    });
    m_handed.assign(cursor.windows.begin(), cursor.windows.end());
  }
  // However this call ends but with a page, the fetcher is not continued: the next call starts afresh
  // from the cursor it is given.
  m_windows_cursor.clear();
  auto got = m_windows->next();
  if (!got || !m_handed.at(got->window))
    return fail(Errc::internal, "a Twilio backfill in windows lost track of its pages; run the pull again", m_name);
  Page<Conversation> page;
  auto next_uri =
      map_response(got->path, got->response, fmt::format("listing Twilio {}", res.what), map, page, cursor.marks);
  if (!next_uri) return std::unexpected(next_uri.error());
  // The fetcher went on with the next_page_uri it read ahead; the parsed page must name the same.
  if (*next_uri != got->next)
    return fail(Errc::protocol,
                http().redact(fmt::format("the page of {}{} names its next page \"{}\" where reading it ahead found "
                                          "\"{}\"; the cursor was not advanced; set backfill_in_flight = 1 to page it "
                                          "in one chain",
                                          m_base, got->path.substr(0, got->path.find('?')), *next_uri, got->next)),
                m_name);
  page.requests = got->requests + requests;
  // The windows as of this page: its own moves on, or ends with its last page.
  auto& mine = m_handed[got->window];
  if (next_uri->empty())
    mine.reset();
  else
    mine->next = *next_uri;
  cursor.windows.clear();
  for (const auto& h : m_handed)
    if (h) cursor.windows.push_back(*h);
  if (cursor.windows.empty()) {
    page.done = true;
    page.next_cursor = cursor.finished();
    m_windows.reset();
    return page;
  }
  page.next_cursor = cursor.dump();
  m_windows_cursor = page.next_cursor;
  return page;
}

}  // namespace chansync::adapters::twilio
