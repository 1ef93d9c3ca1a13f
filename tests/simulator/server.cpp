#include "tests/simulator/server.hpp"

#include <fmt/format.h>
#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "tests/simulator/conversations.hpp"
#include "tests/simulator/limits.hpp"
#include "tests/simulator/meta.hpp"
#include "tests/simulator/status_page.hpp"
#include "tests/simulator/telegram.hpp"

namespace chansync::sim {
namespace {

struct Fault {
  std::string kind;    // "429", "500", "503", "401", "sunset", "malformed", "slow", "empty"
  std::string vendor;  // "twilio", "hubspot", "meta", "" = every vendor
  int remaining = 0;   // how many requests it affects; -1 = until cleared
};

std::string base64_decode(const std::string& in) {
  static const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    const auto pos = chars.find(c);
    if (pos == std::string::npos) break;
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((val >> bits) & 0xFF);
      bits -= 8;
    }
  }
  return out;
}

// Whether this handler thread's request holds one of Twilio's in-flight slots (taken before routing,
// given back after the handler: httplib runs both on the request's thread).
thread_local bool t_twilio_slot = false;

bool is_twilio(const std::string& path) {
  return path.starts_with("/2010-04-01/") || path.starts_with("/v1/");
}

// "YYYY-MM-DD" (a DateSent>= value) as epoch ms at 00:00 UTC; 0 when absent or unreadable.
std::int64_t day_start_ms(const std::string& ymd) {
  std::tm tm{};
  if (ymd.size() != 10 || !strptime(ymd.c_str(), "%Y-%m-%d", &tm)) return 0;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000;
}

}  // namespace

struct Simulator::Impl {
  Corpus corpus;
  ServerOptions opts;
  httplib::Server server;
  std::mutex mu;  // guards corpus and faults
  std::vector<Fault> faults;
  std::unique_ptr<TelegramSim> telegram;
  std::unique_ptr<MetaSim> meta;
  std::unique_ptr<ConversationsSim> conversations;
  std::unique_ptr<Limits> limits;
  std::unique_ptr<StatusPageSim> status_page;
  std::atomic<long> twilio_requests{0}, call_requests{0}, hubspot_requests{0}, webhook_requests{0};

  // POST /_sim/hold: the request for one Twilio page blocks in its handler until /_sim/release or
  // stop(), so a test can act while a client waits for exactly that page. A separate mutex from `mu`:
  // a held request must not stall the other endpoints.
  std::mutex hold_mu;
  std::condition_variable hold_cv;
  std::optional<int> hold_page;  // armed: Twilio's 0-based Page to hold; consumed by the first such request
  nlohmann::json held;           // the request blocked now (null = none)
  bool released = false, stopping = false;

  // Blocks while `page` is the armed one; returns at once otherwise. `info` describes the request for
  // /_sim/stats. The response is already built, so the held page is the one a client would have got.
  void wait_if_held(int page, nlohmann::json info) {
    std::unique_lock lock(hold_mu);
    if (hold_page != page || stopping) return;
    hold_page.reset();
    released = false;
    held = std::move(info);
    hold_cv.wait(lock, [this] { return released || stopping; });
    held = nullptr;
  }

  // The kind of the first fault armed for `vendor`, consuming one of its count; nullopt when none.
  // `exact`: only a fault naming this vendor, not one armed for every vendor.
  std::optional<std::string> take_fault(const std::string& vendor, bool exact = false) {
    std::lock_guard lock(mu);
    for (auto& f : faults) {
      if (f.remaining == 0 || (!f.vendor.empty() && f.vendor != vendor) || (exact && f.vendor.empty())) continue;
      if (f.remaining > 0) --f.remaining;
      return f.kind;
    }
    return std::nullopt;
  }

  // Returns true (and fills res) when a fault applies to this request.
  bool inject(const std::string& vendor, httplib::Response& res) {
    if (const auto kind = take_fault(vendor)) {
      if (*kind == "429" || *kind == "429-long") {
        res.status = 429;
        res.set_header("Retry-After", *kind == "429" ? "1" : "60");
        res.set_content(
            vendor == "twilio"
                ? R"({"code":20429,"message":"Too Many Requests","status":429})"
                : R"({"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","category":"RATE_LIMITS"})",
            "application/json");
      } else if (*kind == "500") {
        res.status = 500;
        res.set_content(R"({"code":20500,"message":"Internal Server Error","status":500})", "application/json");
      } else if (*kind == "503") {
        res.status = 503;
        res.set_content(R"({"code":20503,"message":"Service Unavailable","status":503})", "application/json");
      } else if (*kind == "empty") {  // a list that parses but holds nothing (Twilio Messages' shape)
        res.set_content(
            R"({"end": 0, "first_page_uri": null, "messages": [], "next_page_uri": null, "page": 0, "page_size": 50, "previous_page_uri": null, "start": 0, "uri": null})",
            "application/json");
      } else if (*kind == "slow") {
        std::this_thread::sleep_for(std::chrono::milliseconds(600));
        return false;  // then answered as usual
      } else if (*kind == "401") {
        res.status = 401;
        res.set_content(
            vendor == "twilio"
                ? R"({"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401})"
                : R"({"status":"error","message":"Authentication credentials not found.","category":"INVALID_AUTHENTICATION"})",
            "application/json");
      } else if (*kind == "malformed") {
        res.status = 200;
        res.set_content(R"({"messages": [{"sid": "SMbroken", "from": )", "application/json");
      } else if (*kind == "sunset") {
        res.set_header("Sunset", "Sat, 31 Dec 2033 23:59:59 GMT");
        res.set_header("Deprecation", "@1798761600");
        return false;  // the request itself still succeeds
      }
      return true;
    }
    return false;
  }

  bool twilio_auth(const httplib::Request& req, httplib::Response& res) {
    const auto h = req.get_header_value("Authorization");
    if (h.rfind("Basic ", 0) == 0 && base64_decode(h.substr(6)) == opts.account_sid + ":" + opts.twilio_token)
      return true;
    res.status = 401;
    res.set_content(
        R"({"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401})",
        "application/json");
    return false;
  }

  bool hubspot_auth(const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Authorization") == "Bearer " + opts.hubspot_token) return true;
    res.status = 401;
    res.set_content(
        R"({"status":"error","message":"Authentication credentials not found.","category":"INVALID_AUTHENTICATION"})",
        "application/json");
    return false;
  }

  static std::string render(const std::string& sid, const SimMessage& m) {
    return nlohmann::json{
        {"account_sid", sid},
        {"api_version", "2010-04-01"},
        {"body", m.body},
        {"date_created", rfc2822(m.sent_ms)},
        {"date_sent", rfc2822(m.sent_ms)},
        {"date_updated", rfc2822(m.sent_ms)},
        {"direction", m.direction},
        {"error_code", nullptr},
        {"error_message", nullptr},
        {"from", m.from},
        {"messaging_service_sid", nullptr},
        {"num_media", "0"},
        {"num_segments", "1"},
        {"price", nullptr},
        {"price_unit", "USD"},
        {"sid", m.sid},
        {"status", m.direction == "inbound" ? "received" : "delivered"},
        {"subresource_uris", {{"media", fmt::format("/2010-04-01/Accounts/{}/Messages/{}/Media.json", sid, m.sid)}}},
        {"to", m.to},
        {"uri", fmt::format("/2010-04-01/Accounts/{}/Messages/{}.json", sid, m.sid)}}
        .dump();
  }

  static std::string render_call(const std::string& sid, const SimCall& c) {
    const std::string uri = fmt::format("/2010-04-01/Accounts/{}/Calls/{}", sid, c.sid);
    const bool completed = c.status == "completed";
    const std::string end = rfc2822(c.start_ms + 1000 * (completed ? c.duration_s : 20));
    return nlohmann::json{
        {"account_sid", sid},
        {"answered_by", nullptr},
        {"api_version", "2010-04-01"},
        {"caller_name", nullptr},
        {"date_created", rfc2822(c.start_ms - 1000)},
        {"date_updated", end},
        {"direction", c.direction},
        {"duration", completed ? nlohmann::json(std::to_string(c.duration_s)) : nlohmann::json(nullptr)},
        {"end_time", end},
        {"forwarded_from", nullptr},
        {"from", c.from},
        {"from_formatted", c.from},
        {"group_sid", nullptr},
        {"parent_call_sid", nullptr},
        {"phone_number_sid", nullptr},
        {"price", completed ? nlohmann::json("-0.01300") : nlohmann::json(nullptr)},
        {"price_unit", "USD"},
        {"queue_time", "0"},
        {"sid", c.sid},
        {"start_time", rfc2822(c.start_ms)},
        {"status", c.status},
        {"subresource_uris",
         {{"notifications", uri + "/Notifications.json"},
          {"recordings", uri + "/Recordings.json"},
          {"events", uri + "/Events.json"}}},
        {"to", c.to},
        {"to_formatted", c.to},
        {"trunk_sid", nullptr},
        {"uri", uri + ".json"}}
        .dump();
  }

  // A Twilio list resource over `items` (newest first; each with `json` and the time of `at`):
  // PageSize, Page and PageToken paging, `<filter>>=YYYY-MM-DD` filtering by day, a relative
  // next_page_uri. `at` is the member holding the record's time; `token` prefixes PageTokens.
  template <class T>
  nlohmann::json twilio_list(const httplib::Request& req, httplib::Response& res, std::vector<T>& items,
                             std::int64_t T::*at, const char* file, const char* key, const char* filter,
                             const char* token, std::string (*render_item)(const std::string&, const T&)) {
    const std::string sid = req.matches[1];
    int page_size = req.has_param("PageSize") ? std::stoi(req.get_param_value("PageSize")) : 50;
    page_size = std::clamp(page_size, 1, 1000);
    const int page = req.has_param("Page") ? std::stoi(req.get_param_value("Page")) : 0;
    std::size_t offset = 0;
    if (req.has_param("PageToken")) offset = std::stoul(req.get_param_value("PageToken").substr(4));
    // DateSent>=DAY and DateSent<=DAY (Twilio's "DateSent>" and "DateSent<" parameters): on or after,
    // on or before that day (UTC).
    const auto param = [&](const char* op) {
      const std::string name = std::string(filter) + op;
      return req.has_param(name) ? req.get_param_value(name) : std::string();
    };
    const std::string since = param(">"), until = param("<");
    const std::int64_t since_ms = day_start_ms(since);
    const std::int64_t until_ms = until.empty() ? INT64_MAX : day_start_ms(until) + 86'400'000;
    const auto outside = [&](const T& item) { return item.*at < since_ms || item.*at >= until_ms; };
    std::string body;
    std::size_t i = offset, emitted = 0;
    nlohmann::json info = {{"vendor", "twilio"}, {"page", page}, {"page_size", page_size}, {"start", offset}};
    std::lock_guard lock(mu);
    for (; i < items.size() && emitted < static_cast<std::size_t>(page_size); ++i) {
      auto& item = items[i];
      if (outside(item)) continue;
      if (emitted == 0) {
        info["first_sid"] = item.sid;
        info["first_sent_ms"] = item.*at;
      }
      if (emitted++) body += ",";
      if (item.json.empty()) item.json = render_item(sid, item);
      body += item.json;
    }
    // Skip filtered-out tail so "more" means "more matching".
    while (i < items.size() && outside(items[i])) ++i;
    const bool more = i < items.size();
    const std::string base = fmt::format("/2010-04-01/Accounts/{}/{}", sid, file);
    std::string query;
    if (!since.empty()) query += fmt::format("&{}%3E={}", filter, since);
    if (!until.empty()) query += fmt::format("&{}%3C={}", filter, until);
    const std::string next =
        more ? fmt::format("\"{}?PageSize={}{}&Page={}&PageToken={}{}\"", base, page_size, query, page + 1, token, i)
             : "null";
    res.set_content(
        fmt::format(
            R"({{"end": {}, "first_page_uri": "{}?PageSize={}{}&Page=0", "{}": [{}], "next_page_uri": {}, "page": {}, "page_size": {}, "previous_page_uri": null, "start": {}, "uri": "{}?PageSize={}{}&Page={}"}})",
            offset + emitted == 0 ? 0 : offset + emitted - 1, base, page_size, query, key, body, next, page, page_size,
            offset, base, page_size, query, page),
        "application/json");
    return info;
  }

  void messages(const httplib::Request& req, httplib::Response& res) {
    ++twilio_requests;
    if (inject("twilio", res)) return;
    if (!twilio_auth(req, res)) return;
    auto info = twilio_list(req, res, corpus.messages, &SimMessage::sent_ms, "Messages.json", "messages", "DateSent",
                            "PASM", &Impl::render);
    const int page = info["page"].get<int>();
    wait_if_held(page, std::move(info));
  }

  void calls(const httplib::Request& req, httplib::Response& res) {
    ++twilio_requests;
    ++call_requests;
    if (inject("twilio", res)) return;
    if (!twilio_auth(req, res)) return;
    twilio_list(req, res, corpus.calls, &SimCall::start_ms, "Calls.json", "calls", "StartTime", "PACA",
                &Impl::render_call);
  }

  nlohmann::json contact_json(const SimContact& k) {
    const auto maybe = [](const std::string& v) { return v.empty() ? nlohmann::json(nullptr) : nlohmann::json(v); };
    return {{"id", k.id},
            {"properties",
             {{"address", maybe(k.address)},
              {"city", maybe(k.city)},
              {"createdate", rfc3339(k.modified_ms - 86'400'000)},
              {"date_of_birth", maybe(k.birth_date)},
              {"email", k.email.empty() ? nlohmann::json(nullptr) : nlohmann::json(k.email)},
              {"firstname", k.first},
              {"hs_object_id", k.id},
              {"lastmodifieddate", rfc3339(k.modified_ms)},
              {"lastname", k.last},
              {"mobilephone", k.mobile.empty() ? nlohmann::json(nullptr) : nlohmann::json(k.mobile)},
              {"phone", k.phone.empty() ? nlohmann::json(nullptr) : nlohmann::json(k.phone)},
              {"zip", maybe(k.zip)}}},
            {"createdAt", rfc3339(k.modified_ms - 86'400'000)},
            {"updatedAt", rfc3339(k.modified_ms)},
            {"archived", k.archived}};
  }

  void contacts_page(std::vector<const SimContact*> rows, std::size_t after, int limit, httplib::Response& res,
                     bool search) {
    nlohmann::json results = nlohmann::json::array();
    std::size_t i = after;
    for (; i < rows.size() && results.size() < static_cast<std::size_t>(limit); ++i)
      results.push_back(contact_json(*rows[i]));
    nlohmann::json body = {{"results", results}};
    if (search) body["total"] = rows.size();
    if (i < rows.size())
      body["paging"] = {{"next", {{"after", std::to_string(i)}, {"link", "?after=" + std::to_string(i)}}}};
    res.set_content(body.dump(), "application/json");
  }

  void list_contacts(const httplib::Request& req, httplib::Response& res) {
    ++hubspot_requests;
    if (inject("hubspot", res) || !limits->hubspot(false, res)) return;
    if (!hubspot_auth(req, res)) return;
    const int limit = std::clamp(req.has_param("limit") ? std::stoi(req.get_param_value("limit")) : 10, 1, 100);
    const std::size_t after = req.has_param("after") ? std::stoul(req.get_param_value("after")) : 0;
    const bool archived = req.get_param_value("archived") == "true";
    std::lock_guard lock(mu);
    std::vector<const SimContact*> rows;
    for (const auto& k : corpus.contacts)
      if (k.archived == archived) rows.push_back(&k);
    contacts_page(rows, after, limit, res, false);
  }

  void search_contacts(const httplib::Request& req, httplib::Response& res) {
    ++hubspot_requests;
    if (inject("hubspot", res) || !limits->hubspot(true, res)) return;
    if (!hubspot_auth(req, res)) return;
    nlohmann::json body;
    try {
      body = nlohmann::json::parse(req.body);
    } catch (const std::exception&) {
      res.status = 400;
      res.set_content(R"({"status":"error","message":"Invalid input JSON","category":"VALIDATION_ERROR"})",
                      "application/json");
      return;
    }
    std::int64_t since = 0;
    for (const auto& g : body.value("filterGroups", nlohmann::json::array()))
      for (const auto& f : g.value("filters", nlohmann::json::array()))
        if (f.value("propertyName", "") == "lastmodifieddate" && f.value("operator", "") == "GTE")
          since = std::stoll(f.value("value", "0"));
    const std::size_t after = body.contains("after") ? std::stoul(body["after"].get<std::string>()) : 0;
    if (after >= 10'000) {
      res.status = 400;
      res.set_content(
          R"({"status":"error","message":"paging past 10000 results is not supported","category":"VALIDATION_ERROR"})",
          "application/json");
      return;
    }
    std::lock_guard lock(mu);
    std::vector<const SimContact*> rows;
    for (const auto& k : corpus.contacts)
      if (!k.archived && k.modified_ms >= since) rows.push_back(&k);
    std::stable_sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->modified_ms < b->modified_ms; });
    contacts_page(rows, after, std::clamp(body.value("limit", 10), 1, 200), res, true);
  }

  void routes() {
    server.set_tcp_nodelay(true);  // headers and body are separate writes: without it, Nagle + delayed ACK add 40 ms
    // Twilio and HubSpot answer gzip. httplib would pick brotli at quality 11 when offered, which
    // costs about 1 s per 800 KB page and would make the simulator, not the client, the bottleneck.
    server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      auto& headers = const_cast<httplib::Request&>(req).headers;  // httplib owns a mutable request
      auto it = headers.find("Accept-Encoding");
      if (it != headers.end()) {
        if (it->second.find("gzip") != std::string::npos)
          it->second = "gzip";
        else
          headers.erase(it);
      }
      t_twilio_slot = false;
      if (is_twilio(req.path)) {
        if (!limits->admit_twilio(res)) {  // refused at once, as Twilio does
          ++twilio_requests;
          return httplib::Server::HandlerResponse::Handled;
        }
        t_twilio_slot = true;
      }
      // The vendor's time to answer, inside the request's concurrency slot: Twilio counts a request
      // in flight until it has answered.
      if (opts.delay_ms > 0 && !req.path.starts_with("/_sim/"))
        std::this_thread::sleep_for(std::chrono::milliseconds(opts.delay_ms));
      return httplib::Server::HandlerResponse::Unhandled;
    });
    server.set_post_routing_handler([this](const httplib::Request&, httplib::Response&) {
      if (t_twilio_slot) limits->release_twilio();
      t_twilio_slot = false;
    });
    server.Get(R"(/2010-04-01/Accounts/([A-Za-z0-9]+)/Messages\.json)",
               [this](const auto& req, auto& res) { messages(req, res); });
    server.Get(R"(/2010-04-01/Accounts/([A-Za-z0-9]+)/Calls\.json)",
               [this](const auto& req, auto& res) { calls(req, res); });
    server.Get(R"(/2010-04-01/Accounts/([A-Za-z0-9]+)\.json)", [this](const auto& req, auto& res) {
      ++twilio_requests;
      if (inject("twilio", res)) return;
      if (!twilio_auth(req, res)) return;
      res.set_content(nlohmann::json{{"sid", req.matches[1]}, {"status", "active"}, {"type", "Full"}}.dump(),
                      "application/json");
    });
    telegram->routes(server);
    meta->routes(server);
    conversations->routes(server);
    status_page->routes(server);
    server.Get("/crm/v3/objects/contacts", [this](const auto& req, auto& res) { list_contacts(req, res); });
    server.Post("/crm/v3/objects/contacts/search", [this](const auto& req, auto& res) { search_contacts(req, res); });
    server.Post("/_sim/fault", [this](const auto& req, auto& res) {
      const auto j = nlohmann::json::parse(req.body);
      std::lock_guard lock(mu);
      if (j.value("kind", "") == "clear")
        faults.clear();
      else
        faults.push_back({j.value("kind", ""), j.value("vendor", ""), j.value("count", 1)});
      res.set_content("{}", "application/json");
    });
    server.Post("/_sim/add-messages", [this](const auto& req, auto& res) {
      std::lock_guard lock(mu);
      add_messages(corpus, std::stoi(req.get_param_value("n")), static_cast<std::uint64_t>(corpus.messages.size()));
      res.set_content("{}", "application/json");
    });
    // A bulk edit: the first n contacts are modified now (one millisecond apart, after every other
    // contact), so an incremental pull finds them all through search.
    server.Post("/_sim/touch-contacts", [this](const auto& req, auto& res) {
      std::lock_guard lock(mu);
      std::int64_t newest = 0;
      for (const auto& k : corpus.contacts) newest = std::max(newest, k.modified_ms);
      const auto n = std::min<std::size_t>(std::stoul(req.get_param_value("n")), corpus.contacts.size());
      for (std::size_t i = 0; i < n; ++i) corpus.contacts[i].modified_ms = newest + 1 + static_cast<std::int64_t>(i);
      res.set_content(nlohmann::json{{"touched", n}}.dump(), "application/json");
    });
    server.Post("/_sim/hold", [this](const auto& req, auto& res) {
      const auto j = nlohmann::json::parse(req.body, nullptr, false);
      if (j.is_discarded() || j.value("vendor", "") != "twilio" || !j.contains("page") ||
          !j["page"].is_number_integer()) {
        res.status = 400;
        res.set_content(R"({"error":"expected {\"vendor\":\"twilio\",\"page\":N}, N being Twilio's 0-based Page"})",
                        "application/json");
        return;
      }
      std::lock_guard lock(hold_mu);
      hold_page = j.value("page", 0);
      res.set_content("{}", "application/json");
    });
    server.Post("/_sim/release", [this](const auto&, auto& res) {
      std::lock_guard lock(hold_mu);
      const bool was_held = !held.is_null();
      hold_page.reset();
      released = true;
      hold_cv.notify_all();
      res.set_content(nlohmann::json{{"released", was_held}}.dump(), "application/json");
    });
    // A webhook receiver for chansync's webhook target (the benchmark's persons/s): it answers every
    // signed POST with 200, as a receiver that upserts by person_id would.
    server.Post("/hooks/chansync", [this](const auto& req, auto& res) {
      ++webhook_requests;
      if (!req.has_header("Chansync-Signature")) {
        res.status = 401;
        res.set_content(R"({"error":"no Chansync-Signature"})", "application/json");
        return;
      }
      res.set_content(R"({"ok":true})", "application/json");
    });
    server.Get("/_sim/stats", [this](const auto&, auto& res) {
      nlohmann::json out;
      {
        std::lock_guard lock(mu);
        out = {{"twilio_requests", twilio_requests.load()},
               {"hubspot_requests", hubspot_requests.load()},
               {"webhook_requests", webhook_requests.load()},
               {"messages", corpus.messages.size()},
               {"calls", corpus.calls.size()},
               {"call_requests", call_requests.load()},
               {"contacts", corpus.contacts.size()},
               {"telegram_requests", telegram->requests()},
               {"telegram_held", telegram->held()}};
      }
      meta->stats(out);
      conversations->stats(out);
      out["limits"] = limits->stats();
      out["status_page_requests"] = status_page->requests();
      std::lock_guard lock(hold_mu);
      out["held"] = !held.is_null();
      out["held_request"] = held;
      out["hold_armed"] = hold_page.has_value();
      res.set_content(out.dump(), "application/json");
    });
  }
};

Simulator::Simulator(Corpus corpus, ServerOptions opts) : m(std::make_unique<Impl>()) {
  m->corpus = std::move(corpus);
  m->opts = std::move(opts);
  m->limits = std::make_unique<Limits>(m->opts.limits);
  m->telegram = std::make_unique<TelegramSim>(
      m->opts.telegram_token, m->opts.telegram_updates,
      [impl = m.get()](const std::string& vendor) { return impl->take_fault(vendor, true); });
  m->meta = std::make_unique<MetaSim>(
      m->corpus,
      MetaOptions{.token = m->opts.meta_token,
                  .page_id = m->opts.meta_page,
                  .ig_id = m->opts.meta_ig,
                  .usage = [limits = m->limits.get()](httplib::Response& res) { return limits->meta(res); }},
      [impl = m.get()](const std::string& vendor) {
        return impl->take_fault(vendor, vendor.find('/') != std::string::npos);
      });
  // Twilio Conversations answers with Twilio's faults and Basic auth, counted on its own.
  m->conversations =
      std::make_unique<ConversationsSim>(m->corpus, ConversationsOptions{.account_sid = m->opts.account_sid},
                                         [impl = m.get()](const httplib::Request& req, httplib::Response& res) {
                                           return !impl->inject("twilio", res) && impl->twilio_auth(req, res);
                                         });
  // The vendor status page takes only faults armed for it by name: a fault for every vendor is meant
  // for the APIs, and counting it down here would shift it off the request a test aims it at.
  m->status_page = std::make_unique<StatusPageSim>(
      [impl = m.get()](const std::string& vendor) { return impl->take_fault(vendor, true); });
  for (auto& msg : m->corpus.messages) msg.json = Impl::render(m->opts.account_sid, msg);
  for (auto& call : m->corpus.calls) call.json = Impl::render_call(m->opts.account_sid, call);
  m->routes();
}

Simulator::~Simulator() = default;

int Simulator::bind(int port) {
  if (port == 0) return m->server.bind_to_any_port("127.0.0.1");
  return m->server.bind_to_port("127.0.0.1", port) ? port : -1;
}

void Simulator::listen() {
  m->server.listen_after_bind();
}
void Simulator::stop() {
  {
    std::lock_guard lock(m->hold_mu);
    m->stopping = true;
    m->hold_cv.notify_all();
  }
  m->server.stop();  // listen() joins the handler threads on its way out: none may still be held
}

}  // namespace chansync::sim
