#include "adapters/meta/meta.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "adapters/meta/graph.hpp"
#include "adapters/meta/graph_health.hpp"
#include "adapters/meta/meta_api.hpp"
#include "adapters/meta/meta_webhook.hpp"
#include "adapters/status_page.hpp"

namespace chansync::adapters::meta {
namespace {

constexpr int k_max_page = 25;  // conversations per page; each carries up to 100 messages
constexpr const char* k_fields =
    "id,updated_time,participants,messages.limit({}){{id,created_time,from,to,message,attachments,sticker}}";
constexpr int k_nested_messages = 100;
constexpr double k_slow_from = 75;  // usage % past which requests are paced
constexpr double k_stop_at = 95;    // usage % at which a pull stops, before Graph blocks the app

struct Platform {
  const char* type;
  const char* platform;  // the ?platform= value and the channel
  HandleKind handle;
  const char* permission;  // what the page token needs to read conversations
  const char* object;      // the webhook payloads' "object"
};
constexpr Platform k_messenger{"meta-messenger", "messenger", HandleKind::messenger_psid, "pages_messaging", "page"};
constexpr Platform k_instagram{"meta-instagram", "instagram", HandleKind::instagram_igsid, "instagram_manage_messages",
                               "instagram"};

// A pass lists conversations newest-updated first from `after`; it stops at the first one updated
// before `since` (the previous pass's newest), and records the newest it saw as the next `since`.
struct Cursor {
  std::string after;
  Timestamp since = 0;
  Timestamp newest = 0;

  static Result<Cursor> parse(const std::string& text) {
    if (text.empty()) return Cursor{};
    try {
      const auto j = nlohmann::json::parse(text);
      return Cursor{j.value("after", ""), j.value("since", Timestamp{0}), j.value("newest", Timestamp{0})};
    } catch (const std::exception&) {
      return fail(Errc::state, "saved Graph cursor is unreadable; run `chansync state reset` for this connector");
    }
  }
  std::string dump() const {
    nlohmann::json j = {{"since", since}};
    if (!after.empty()) j["after"] = after;
    if (newest) j["newest"] = newest;
    return j.dump();
  }
};

// Graph's paging.next repeats the query it was asked with; an access_token there (had one been
// sent in a query) must not be sent again nor logged: the token goes in the Authorization header.
std::string without_access_token(const std::string& url) {
  const auto q = url.find('?');
  if (q == std::string::npos) return url;
  std::string out = url.substr(0, q), sep = "?";
  std::size_t at = q + 1;
  while (at <= url.size()) {
    const auto end = std::min(url.find('&', at), url.size());
    const std::string part = url.substr(at, end - at);
    if (!part.empty() && !part.starts_with("access_token=")) {
      out += sep + part;
      sep = "&";
    }
    at = end + 1;
  }
  return out;
}

// Two streams: "conversations", the Graph history this adapter pulls, and "webhooks", the spool of
// what Meta posted to `chansync listen`, mapped by map_webhook into the same conversations and ids.
class MetaAdapter : public Adapter, public ConversationSource, public WebhookReceiver {
 public:
  MetaAdapter(const AdapterContext& ctx, const Platform& platform)
      : m_p(platform),
        m_name(ctx.config.name),
        m_page(ctx.config.options.at("page_id").get<std::string>()),
        m_account(ctx.config.options.contains("instagram_account_id") &&
                          ctx.config.options.at("instagram_account_id").is_string()
                      ? ctx.config.options.at("instagram_account_id").get<std::string>()
                      : ""),
        m_version(ctx.config.options.at("api_version").get<std::string>()),
        m_base(ctx.config.options.at("base_url").get<std::string>()),
        m_spec{platform.object, ctx.config.secret("app_secret"), ctx.config.secret("verify_token")},
        m_webhooks(ctx.config.secrets.count("app_secret") || ctx.config.secret_sources.count("app_secret")),
        m_http(HttpOptions{
            .connector = ctx.config.name,
            .rate_policy = [this](const HttpRequest& q, const HttpResponse& r) { return pace_by_usage(q, r); },
            // "Reduce the amount of data" (HTTP 500, code 1) comes again however often the same query
            // is retried: pull_conversations asks a smaller one instead.
            .give_up =
                [](const HttpResponse& r) {
                  if (r.status != 500) return false;
                  const auto e = parse_graph_error(r.body);
                  return e && e->code == 1;
                },
            .bearer_token = ctx.config.secret("token"),
            .stop_ends_waits = true,
            .sleep = ctx.sleep}) {
    while (!m_base.empty() && m_base.back() == '/') m_base.pop_back();
  }

  // The webhooks stream exists once an app secret is configured: without one, listen refuses every
  // POST, so there is nothing to drain (and no stream to report on).
  std::vector<Stream> streams() const override {
    std::vector<Stream> out = {{"conversations", Role::conversations}};
    if (m_webhooks) out.push_back({std::string(k_webhooks_stream), Role::conversations, true, true});
    return out;
  }

  WebhookSpec webhook() const override { return m_spec; }

  void map_webhook(std::string_view payload, Page<Conversation>& page) const override {
    map_messaging_payload(payload, {m_name, m_p.object, m_p.platform, m_p.handle, m_page, m_account}, page);
  }

  // The Page, then what debug_token says of the token (scopes, expiry) and, when webhooks are in use,
  // whether the Page still sends them to an app. A Page that did not answer already says what matters
  // (object_answered); one that answered near its rate limit still gets both checks.
  HealthReport probe() override {
    auto report = probe_graph_object(m_http, fmt::format("{}/{}/{}?fields=id,name", m_base, m_version, m_page),
                                     m_p.type, advice(), m_page, "the Facebook Page " + m_page);
    if (!object_answered(report)) return report;
    // The Instagram account the webhooks are checked against is the one linked to the Page: a pull
    // would stop (78), and every webhook be a dead letter, if it were not.
    if (m_p.handle == HandleKind::instagram_igsid && !m_account.empty())
      if (auto linked = business_ids(); !linked && linked.error().code == Errc::config)
        add_finding(report,
                    {HealthClass::unknown, "instagram_business_account", "", linked.error().message,
                     fmt::format("set connectors.{}.instagram_account_id to the Page's Instagram account", m_name)});
    const auto token = graph_get(m_http, fmt::format("{}/{}/debug_token?input_token={}", m_base, m_version,
                                                     url_encode(m_http.options().bearer_token)));
    const std::string needed[] = {m_p.permission};
    add_token_findings(report, token.status, token.body, token.error, needed, advice().token_fix);
    if (m_webhooks) {
      const auto subs =
          graph_get(m_http, fmt::format("{}/{}/{}/subscribed_apps", m_base, m_version, url_encode(m_page)));
      // Messenger's message webhooks come with the Page's "messages" field; Instagram's are subscribed
      // on the app, so any app subscribed to the Page will do there.
      add_signal_finding(report, subscription_finding(subs.status, subs.body, subs.error, "the Page " + m_page,
                                                      m_p.object == std::string("page") ? "messages" : ""));
    }
    return report;
  }

  Result<Page<Conversation>> pull_conversations(const PullRequest& req) override {
    if (req.stream == k_webhooks_stream)
      return fail(Errc::internal,
                  "the webhooks stream has nothing to pull: the pipeline reads it from the spool `chansync listen` "
                  "fills",
                  m_name);
    if (m_stop) return std::unexpected(*m_stop);
    auto cursor = Cursor::parse(req.cursor);
    if (!cursor) return std::unexpected(cursor.error());
    const std::size_t before = m_http.requests();
    if (auto ids = business_ids(); !ids) return std::unexpected(ids.error());
    // Graph answers a query it finds too heavy with HTTP 500, code 1, "Please reduce the amount of data
    // you're asking for": the page is asked for again with half the conversations, then with fewer
    // nested messages, and the smaller size holds for the rest of the run.
    if (req.page_size > 0) m_limit = std::min(m_limit, req.page_size);
    std::string url;
    Result<std::string> body;
    for (;;) {
      url = fmt::format("{}/{}/{}/conversations?platform={}&fields={}&limit={}", m_base, m_version, url_encode(m_page),
                        m_p.platform, url_encode(fmt::format(k_fields, m_nested)), m_limit);
      if (!cursor->after.empty()) url += "&after=" + url_encode(cursor->after);
      m_last_code = 0;
      body = get(url, "listing conversations");
      if (body || m_last_code != 1 || (m_limit == 1 && m_nested <= 25)) break;
      if (m_limit > 1)
        m_limit = std::max(1, m_limit / 2);
      else
        m_nested = 25;
      spdlog::warn(
          "{}: Graph asked for less data per request (code 1); asking for {} conversations with {} messages "
          "each",
          m_name, m_limit, m_nested);
    }
    if (!body) return std::unexpected(body.error());
    auto wire = parse_conversations_page(*body);
    if (!wire) {
      wire.error().connector = m_name;
      wire.error().message +=
          fmt::format(" (from {}); the cursor was not advanced", m_http.redact(url.substr(0, url.find('?'))));
      return std::unexpected(wire.error());
    }
    Page<Conversation> page;
    page.rejects = std::move(wire->rejects);
    bool reached_mark = false;
    for (auto& c : wire->conversations) {
      const auto updated = parse_rfc3339(c.updated_time);
      if (!updated) {
        page.rejects.push_back({c.id, fmt::format("unparseable updated_time \"{}\"", c.updated_time), c.raw});
        continue;
      }
      if (cursor->since && *updated < cursor->since) {  // everything after it was read by an earlier pass
        reached_mark = true;
        break;
      }
      cursor->newest = std::max(cursor->newest, *updated);
      if (auto r = map_conversation(c, cursor->since, page); !r) return std::unexpected(r.error());
    }
    // A rejected conversation is stored as Graph sent it, nested paging URLs included: redacted first,
    // should Graph ever repeat an access_token there (chansync sends its token in a header).
    for (auto& d : page.rejects) d.raw = m_http.redact(d.raw);
    page.requests = m_http.requests() - before;
    if (reached_mark || !wire->has_next) {
      page.done = true;
      page.next_cursor = Cursor{"", std::max(cursor->since, cursor->newest), 0}.dump();
    } else {
      cursor->after = wire->after;
      page.next_cursor = cursor->dump();
    }
    return page;
  }

 private:
  // Usage below k_slow_from: unpaced. Past it, slower the closer to 100%. From k_stop_at, or when
  // Graph names a time to regain access: a pause until then when chansync waits that long in one
  // run (the request is not sent: Graph would block the app for everyone using it), else the pull
  // stops (m_stop) with the time to run again.
  RateReading pace_by_usage(const HttpRequest&, const HttpResponse& r) {
    const auto u = parse_usage(r.headers);
    if (u.percent >= k_stop_at || u.regain_minutes > 0) {
      const std::chrono::milliseconds regain = std::chrono::minutes(std::max(u.regain_minutes, 1));
      if (u.regain_minutes > 0 && regain <= m_http.options().max_retry_after) {
        m_short_pause = true;
        return {.pause = regain};
      }
      m_stop = Error{
          Errc::rate_limited,
          fmt::format("Meta reports {:.0f}% of the app's rate limit used ({}){}; chansync stops before "
                      "Graph blocks the app; run again {}",
                      u.percent, u.which.empty() ? "estimated_time_to_regain_access" : u.which,
                      u.regain_minutes > 0 ? fmt::format(", access is regained in about {} min", u.regain_minutes) : "",
                      u.regain_minutes > 0 ? fmt::format("after {} minutes", u.regain_minutes)
                                           : "in an hour (usage is a rolling one-hour window)"),
          m_name, r.status, regain};
      return {};
    }
    if (u.percent <= k_slow_from) return {.rate = 0.0};
    // 75% → 2 requests/s, 95% → 0.4/s.
    return {.rate = std::max(0.1, 2.0 * (100 - u.percent) / (100 - k_slow_from))};
  }

  GraphAdvice advice() const {
    return {
        m_name, m_version,
        fmt::format("create a new long-lived page access token for page {} and update token_env/token_file", m_page),
        fmt::format("{} needs {} (and pages_show_list, pages_read_engagement, pages_manage_metadata): grant it "
                    "to the app and create a new page token",
                    m_p.type, m_p.permission)};
  }

  Result<std::string> get(const std::string& url, const char* what) {
    if (m_stop) return std::unexpected(*m_stop);
    const HttpRequest req{"GET", url};
    auto resp = m_http.send(req);
    if (!resp) return std::unexpected(resp.error());
    // Throttled with a short time to regain access: the client's budget now waits it out, then one
    // more try (Graph answers throttling with 400, which the client does not retry itself).
    if (const auto e = resp->status == 200 ? std::nullopt : parse_graph_error(resp->body);
        e && classify_graph_error(e->code) == GraphErrorClass::rate_limited && m_short_pause) {
      m_short_pause = false;
      resp = m_http.send(req);
      if (!resp) return std::unexpected(resp.error());
    }
    if (resp->status == 200) return std::move(resp->body);
    const auto e = parse_graph_error(resp->body);
    if (e && resp->status == 500) m_last_code = e->code;
    // A 5xx (after retries) is an outage whatever its body says; Graph's own words stay in the message.
    if (e && resp->status >= 500)
      return std::unexpected(m_http.error(req, *resp, what, m_http.redact(graph_trace(*e))));
    if (!e) return std::unexpected(m_http.error(req, *resp, what, ""));
    // Throttled, with the usage headers of this answer naming when access returns: that time, not
    // graph_error's generic hour.
    if (m_stop && classify_graph_error(e->code) == GraphErrorClass::rate_limited) {
      auto err = *m_stop;
      err.message += fmt::format(" ({})", m_http.redact(graph_trace(*e)));
      return std::unexpected(std::move(err));
    }
    auto err = graph_error(*e, resp->status, advice());
    err.message = fmt::format("{} {}: {}", what, m_http.redact(url.substr(0, url.find('?'))), err.message);
    return std::unexpected(std::move(err));
  }

  // Who the business is in `from`: the page (Messenger), or the Instagram account linked to it.
  Result<void> business_ids() {
    if (!m_business.empty()) return {};
    m_business = {m_page};
    if (m_p.handle != HandleKind::instagram_igsid) return {};
    auto body = get(fmt::format("{}/{}/{}?fields=instagram_business_account", m_base, m_version, url_encode(m_page)),
                    "reading the page's Instagram account");
    if (!body) {
      m_business.clear();
      return std::unexpected(body.error());
    }
    // Without the account's id every message it sent would be stored as the customer's: stop instead.
    const auto ig = instagram_account_of(*body);
    if (ig.empty()) {
      m_business.clear();
      return fail(Errc::protocol,
                  fmt::format("page {} has no linked Instagram professional account in Graph's answer (GET "
                              "{}/{}/{}?fields=instagram_business_account); link the Instagram account to the page "
                              "in Meta Business Suite, or check page_id. Nothing was stored",
                              m_page, m_http.redact(m_base), m_version, m_page),
                  m_name);
    }
    if (!m_account.empty() && ig != m_account) {
      m_business.clear();
      return fail(
          Errc::config,
          fmt::format("connectors.{}.instagram_account_id is {}, but the Instagram account linked to page {} is "
                      "{} (GET {}/{}/{}?fields=instagram_business_account): set instagram_account_id to {}, or "
                      "page_id to the account's page; nothing was stored",
                      m_name, m_account, m_page, ig, m_http.redact(m_base), m_version, m_page, ig),
          m_name);
    }
    m_business.push_back(ig);
    return {};
  }

  bool is_business(const std::string& id) const {
    return std::find(m_business.begin(), m_business.end(), id) != m_business.end();
  }

  Result<void> map_conversation(WireConversation& c, Timestamp since, Page<Conversation>& page) {
    const WireParticipant* customer = nullptr;
    for (const auto& p : c.participants)
      if (!is_business(p.id) && !p.id.empty()) customer = &p;
    if (!customer) {
      page.rejects.push_back({c.id, "no participant other than the business", c.raw});
      return {};
    }
    // More messages than the nested page: follow messages.paging.next (newest first), until a page
    // reaches back before `since` (read by an earlier pass). A link Graph gives twice would be followed
    // forever: the conversation keeps what was read, and a dead letter says what is missing.
    std::set<std::string> followed;
    for (std::string next = c.messages_next; !next.empty();) {
      if (!followed.insert(next).second) {
        page.rejects.push_back(
            {c.id,
             fmt::format("Graph gave the same messages.paging.next twice for conversation {}; its older messages "
                         "were not read (the {} newer ones were stored)",
                         c.id, c.messages.size()),
             m_http.redact(without_access_token(next))});
        break;
      }
      if (!c.messages.empty() && since)
        if (auto t = parse_rfc3339(c.messages.back().created_time); t && *t < since) break;
      if (origin_of(next) != origin_of(m_base))
        return fail(Errc::protocol,
                    fmt::format("conversation {}: messages.paging.next points at {}, not at base_url {}; not "
                                "followed",
                                c.id, origin_of(next), origin_of(m_base)),
                    m_name);
      auto body = get(without_access_token(next), "reading a conversation's older messages");
      if (!body) return std::unexpected(body.error());
      next.clear();
      auto more = parse_messages_page(*body, next, page.rejects);
      if (!more) return std::unexpected(more.error());
      if (more->empty()) break;  // an empty page ends the history, whatever link it carries
      c.messages.insert(c.messages.end(), std::make_move_iterator(more->begin()), std::make_move_iterator(more->end()));
    }
    Handle handle{m_p.handle, m_page + ":" + customer->id};
    Conversation out{m_name, c.id, m_p.platform, handle, m_page, {}, customer->name};
    for (auto& w : c.messages) {
      const auto sent = parse_rfc3339(w.created_time);
      if (!sent) {
        page.rejects.push_back({w.id, fmt::format("unparseable created_time \"{}\"", w.created_time), w.raw});
        continue;
      }
      const bool ours = is_business(w.from_id);
      Message m;
      m.connector = m_name;
      m.id = w.id;
      m.conversation = c.id;
      m.channel = m_p.platform;
      m.direction = ours ? Direction::outbound : Direction::inbound;
      m.author_kind = ours ? AuthorKind::agent : AuthorKind::customer;
      m.author_handle = ours ? m_page : handle.value;
      m.sent_at = *sent;
      m.text = std::move(w.text);
      m.attachments = std::move(w.attachments);
      // Neither text nor attachments (a reaction, a story mention): kept as an event, not dropped.
      if (m.text.empty() && m.attachments.empty()) m.kind = MessageKind::event;
      out.messages.push_back(std::move(m));
    }
    std::reverse(out.messages.begin(), out.messages.end());  // oldest first
    page.items.push_back(std::move(out));
    return {};
  }

  const Platform& m_p;
  std::string m_name, m_page, m_account, m_version, m_base;
  std::vector<std::string> m_business;
  WebhookSpec m_spec;
  bool m_webhooks;                   // app_secret is configured (read or not)
  int m_limit = k_max_page;          // conversations per page (smaller after Graph's code 1)
  int m_nested = k_nested_messages;  // messages nested in each
  int m_last_code = 0;               // the Graph error code of get()'s last HTTP 500, 0 if none
  bool m_short_pause = false;        // usage named a time to regain access short enough to wait out
  std::optional<Error> m_stop;       // set when usage headers say stop; every later request fails with it
  HttpClient m_http;
};

class MessengerAdapter final : public MetaAdapter {
 public:
  explicit MessengerAdapter(const AdapterContext& ctx) : MetaAdapter(ctx, k_messenger) {}
};
class InstagramAdapter final : public MetaAdapter {
 public:
  explicit InstagramAdapter(const AdapterContext& ctx) : MetaAdapter(ctx, k_instagram) {}
};

std::vector<OptionSpec> options(const Platform& p) {
  using K = OptionSpec::Kind;
  std::vector<OptionSpec> out = {
      {"page_id", "the Facebook Page's id (Instagram: the Page linked to the Instagram professional account)",
       K::string, true, false, nullptr},
      {"token", fmt::format("long-lived page access token with {} (sent as Authorization: Bearer)", p.permission),
       K::string, true, true, nullptr},
      {"app_secret",
       "the Meta app's secret (App settings > Basic), for webhooks: checks each one's X-Hub-Signature-256; without "
       "it `chansync listen` refuses the connector's webhooks",
       K::string, false, true, nullptr},
      {"verify_token", "what Meta must present when the webhook subscription is verified (any string you choose)",
       K::string, false, true, nullptr},
      {"api_version", "Graph API version", K::string, false, false, "v23.0"},
      {"base_url", "Graph API root (tests, the simulator)", K::url, false, false, "https://graph.facebook.com"},
  };
  // Meta sends every account's events of one app to one callback URL: without the account's id, another
  // account's would be stored as this connector's.
  if (p.object == std::string_view("instagram"))
    out.insert(out.begin() + 1,
               {"instagram_account_id",
                "the Instagram professional account's id (Graph: GET /<page_id>?fields=instagram_business_account); "
                "webhooks for another account of the same app become dead letters instead of this connector's "
                "conversations",
                K::string, false, false, nullptr});
  return with_status_page(std::move(out), nullptr);
}

}  // namespace

AdapterType messenger_type() {
  return adapter_type<MessengerAdapter>(
      k_messenger.type,
      "Facebook Messenger conversations of a Page (Graph API history, and webhooks via chansync listen): one per "
      "customer (PSID)",
      options(k_messenger));
}

AdapterType instagram_type() {
  return adapter_type<InstagramAdapter>(
      k_instagram.type,
      "Instagram Direct conversations of a professional account (Graph API history, and webhooks via chansync "
      "listen): one per customer (IGSID)",
      options(k_instagram));
}

}  // namespace chansync::adapters::meta
