#include "adapters/telegram/telegram.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "adapters/status_page.hpp"
#include "adapters/stop_waits.hpp"
#include "adapters/telegram/telegram_api.hpp"
#include "sync/normalize.hpp"

namespace chansync::adapters::telegram {
namespace {

constexpr const char* k_type = "telegram-bot";
constexpr const char* k_stream = "updates";
constexpr int k_max_page = 100;  // getUpdates' limit ceiling
// allowed_updates=["message","edited_message"], percent-encoded.
constexpr const char* k_allowed = "%5B%22message%22%2C%22edited_message%22%5D";

// A bot token is "<bot id>:<secret>": the bot's own id is known without asking getMe.
std::string bot_id_of(const std::string& token) {
  const auto colon = token.find(':');
  return colon == std::string::npos ? std::string() : token.substr(0, colon);
}

// Telegram's error text with the fix for the errors an operator can act on; `base` is the Bot API
// server chansync asks (base_url).
std::string explain(const WireError& err, const std::string& base) {
  std::string out = err.description.empty() ? std::string("no description") : err.description;
  if (err.error_code == 409)
    out += err.description.find("webhook") != std::string::npos
               ? fmt::format(
                     "; a webhook is set for this bot and Telegram serves updates to it instead: remove it "
                     "with deleteWebhook ({}/bot<token>/deleteWebhook) if chansync is to pull",
                     base)
               : "; another program is polling getUpdates with this bot's token: stop it (only one poller may "
                 "pull a bot, and each pull deletes what it acknowledged)";
  return out;
}

class TelegramAdapter final : public Adapter, public ConversationSource {
 public:
  explicit TelegramAdapter(const AdapterContext& ctx)
      : m_name(ctx.config.name),
        m_base(ctx.config.options.at("base_url").get<std::string>()),
        m_token(ctx.config.secret("token")),
        m_bot_id(bot_id_of(m_token)),
        m_region(ctx.default_region),
        m_http(HttpOptions{.connector = ctx.config.name,
                           // a 429 carries its wait in the body (parameters.retry_after), not in a header
                           .give_up = [](const HttpResponse& r) { return r.status == 429; },
                           .secrets = {m_token},
                           .stop_ends_waits = true,
                           .sleep = ctx.sleep}) {
    while (!m_base.empty() && m_base.back() == '/') m_base.pop_back();
  }

  std::vector<Stream> streams() const override { return {{k_stream, Role::conversations, true}}; }

  HealthReport probe() override {
    std::string body;
    auto obs = observe(m_http, {"GET", url("getMe")}, &body);
    if (obs.http_status >= 400) {
      const auto err = parse_error(body);
      obs.vendor_code = err.error_code ? std::to_string(err.error_code) : "";
      obs.vendor_message = m_http.redact(explain(err, m_base));
    }
    auto report = classify(m_name, k_type, obs);
    const auto me = obs.http_status == 200 ? parse_me(body) : std::nullopt;
    if (obs.http_status == 404)
      report.summary =
          "getMe answered 404 Not Found: Telegram answers so when the bot token is malformed; check "
          "the token from @BotFather (\"<digits>:<secret>\") and base_url";
    else if (obs.http_status == 401)
      report.summary = "the bot token was refused (401 " + obs.vendor_message +
                       "); it was revoked or mistyped: get the current one from @BotFather (/token)";
    else if (obs.http_status == 409)
      report.summary = "Telegram refused to serve updates (409): " + obs.vendor_message;
    require_vendor_body(report, me.has_value(), "a Telegram getMe answer");
    if (me && report.cls == HealthClass::ok) report.summary = fmt::format("bot @{} answers getMe", me->username);
    report.summary = m_http.redact(report.summary);
    if (me) add_signal_finding(report, webhook_finding());
    return report;
  }

  // Whether a webhook takes the updates getUpdates should get (getWebhookInfo).
  Finding webhook_finding() {
    auto resp = m_http.send_once({"GET", url("getWebhookInfo")});
    const auto info = resp && resp->status == 200 ? parse_webhook_info(resp->body) : std::nullopt;
    if (info) return webhook_info_finding(*info, [this](std::string_view t) { return m_http.redact(t); });
    return {HealthClass::unknown, "getWebhookInfo", resp ? fmt::format("HTTP {}", resp->status) : "no answer",
            "webhook not checked: getWebhookInfo " +
                (resp ? fmt::format("answered HTTP {}: {}", resp->status, m_http.excerpt(resp->body))
                      : m_http.redact(resp.error().message)),
            "check the bot token and base_url"};
  }

  Result<Page<Conversation>> pull_conversations(const PullRequest& req) override {
    if (req.stream != k_stream) return fail(Errc::internal, "telegram-bot has no stream " + req.stream, m_name);
    std::int64_t offset = 0;
    if (!req.cursor.empty()) {
      try {
        offset = std::stoll(req.cursor);
      } catch (const std::exception&) {
        return fail(Errc::state,
                    "saved Telegram offset \"" + req.cursor +
                        "\" is not a number; run `chansync state reset` for "
                        "this connector (Telegram keeps unconfirmed updates for 24 hours)",
                    m_name);
      }
    }
    const int limit = req.page_size > 0 ? std::min(req.page_size, k_max_page) : k_max_page;
    std::string query = fmt::format("getUpdates?timeout=0&limit={}&allowed_updates={}", limit, k_allowed);
    if (offset > 0) query += fmt::format("&offset={}", offset);
    const HttpRequest http{"GET", url(query)};
    const std::size_t before = m_http.requests();
    auto resp = m_http.send(http);
    // Flood control: a 429 names its wait in the body (parameters.retry_after), which is waited out
    // when chansync waits that long in one run (max_retry_after), then the same getUpdates again.
    for (int waited = 0; resp && resp->status == 429 && waited < 3; ++waited) {
      const auto err = parse_error(resp->body);
      const auto wait = std::chrono::seconds(err.retry_after.value_or(0));
      if (!err.retry_after || wait > m_http.options().max_retry_after) break;
      spdlog::warn("{}: Telegram asked to slow down (429: {}); getUpdates again in {} s", m_name, err.description,
                   wait.count());
      if (m_http.options().sleep)
        m_http.options().sleep(wait);
      else if (!wait_unless_stopped(wait))
        return fail(Errc::interrupted,
                    "stopped by a signal while waiting out Telegram's flood control; nothing was acknowledged, and "
                    "the next run fetches the same updates",
                    m_name);
      resp = m_http.send(http);
    }
    if (!resp) return std::unexpected(resp.error());
    if (resp->status != 200) return std::unexpected(error_of(http, *resp));
    auto wire = parse_updates(resp->body);
    if (!wire) {
      wire.error().connector = m_name;
      wire.error().message += "; the offset was not advanced, so nothing was acknowledged to Telegram";
      return std::unexpected(wire.error());
    }
    Page<Conversation> page;
    page.requests = m_http.requests() - before;
    page.rejects = std::move(wire->rejects);
    if (wire->last_update_id == 0) {  // nothing new: done, and the offset stays where it was
      page.done = true;
      page.next_cursor = req.cursor;
      return page;
    }
    map_updates(wire->updates, page);
    // The next fetch, with this offset, tells Telegram to delete everything up to last_update_id;
    // the page loop sends it only after this page (rejects included) is committed.
    page.next_cursor = std::to_string(wire->last_update_id + 1);
    return page;
  }

 private:
  std::string url(const std::string& method) const { return fmt::format("{}/bot{}/{}", m_base, m_token, method); }

  Error error_of(const HttpRequest& http, const HttpResponse& resp) const {
    const auto err = parse_error(resp.body);
    Error e = m_http.error(http, resp, "fetching Telegram updates (getUpdates)", explain(err, m_base));
    if (resp.status == 401) {
      e.message =
          m_http.redact(fmt::format("the bot token was refused (Telegram: \"{}\"); get the bot's current token "
                                    "from @BotFather (/token) and update where connectors.{}.token_env/token_file "
                                    "points",
                                    err.description.empty() ? "HTTP 401" : err.description, m_name));
    } else if (resp.status == 404) {
      e.message = m_http.redact(e.message + "; Telegram answers 404 for a malformed bot token: check it");
    } else if (resp.status == 409) {
      e.code = Errc::remote;
    } else if (resp.status == 429) {
      e.code = Errc::rate_limited;
      if (err.retry_after) e.retry_after = std::chrono::seconds(*err.retry_after);
      e.message = m_http.redact(fmt::format("Telegram asked to slow down (429: {}); retry after {} s", err.description,
                                            err.retry_after.value_or(0)));
    }
    return e;
  }

  // Private chats only: one chat is one customer, whose Telegram user id is the chat id. Group chats
  // hold several customers in one thread, which a Conversation (one customer handle) cannot say;
  // their updates become dead letters, kept with their bytes, until the model can.
  void map_updates(const std::vector<WireUpdate>& updates, Page<Conversation>& page) {
    std::map<std::int64_t, std::size_t> index;  // chat id → position in page.items
    for (const auto& u : updates) {
      const auto id = std::to_string(u.update_id);
      if (!u.message) {
        page.rejects.push_back({id, "update of kind \"" + u.kind + "\" is not a message", u.raw});
        continue;
      }
      const WireMessage& w = *u.message;
      if (w.chat_type != "private") {
        page.rejects.push_back({id, "message in a " + w.chat_type + " chat: only private chats are synced", u.raw});
        continue;
      }
      if (!w.from) {
        page.rejects.push_back({id, "message has no sender (from)", u.raw});
        continue;
      }
      const bool ours = std::to_string(w.from->id) == m_bot_id || w.from->is_bot;
      const std::string customer = std::to_string(w.chat_id);
      std::string text = w.text;
      // Media are attachments of their kind ("photo", "document" with its file name, "sticker" with its
      // emoji). Their URL stays empty: Telegram serves files only through a URL holding the bot token.
      std::vector<Attachment> attachments;
      if (!w.media.empty()) {
        const auto space = w.media.find(' ');
        attachments.push_back(
            {w.media.substr(0, space), space == std::string::npos ? "" : w.media.substr(space + 1), ""});
      }
      // A contact the user shares about themselves is their phone number: it links their Telegram id
      // to that number (Conversation::customer_links), so their SMS and WhatsApp join them. Someone
      // else's contact links nobody; its number stays in the text.
      std::optional<Handle> own_phone;
      if (!w.contact_phone.empty()) {
        // Telegram sends a user's own number internationally, usually without the '+'.
        const bool bare = w.contact_phone[0] >= '1' && w.contact_phone[0] <= '9';
        const auto phone = m_phone(bare ? "+" + w.contact_phone : w.contact_phone);
        const bool self = w.contact_user_id == w.from->id && !ours;
        if (self && phone && phone->verified) own_phone = phone;
        text += fmt::format("{}[contact{}: {}]", text.empty() ? "" : " ", self ? "" : " of someone else",
                            phone ? phone->value : w.contact_phone);
      }
      if (text.empty() && attachments.empty()) {
        page.rejects.push_back({id, "message has no text, caption or known attachment", u.raw});
        continue;
      }
      auto [it, inserted] = index.try_emplace(w.chat_id, page.items.size());
      if (inserted)
        page.items.push_back(Conversation{
            m_name, customer, "telegram", Handle{HandleKind::telegram_id, customer}, "bot" + m_bot_id, {}});
      if (own_phone) {
        auto& links = page.items[it->second].customer_links;
        if (std::find(links.begin(), links.end(), *own_phone) == links.end()) links.push_back(*own_phone);
      }
      // The customer's Telegram name ("first last", else @username) names the person when nothing better does.
      if (!ours && page.items[it->second].customer_name.empty()) {
        std::string name = w.from->first_name;
        if (!w.from->last_name.empty()) name += (name.empty() ? "" : " ") + w.from->last_name;
        if (name.empty() && !w.from->username.empty()) name = "@" + w.from->username;
        page.items[it->second].customer_name = std::move(name);
      }
      Message m;
      m.connector = m_name;
      // An edited_message carries the same chat and message_id: it overwrites the message in place.
      m.id = fmt::format("{}:{}", w.chat_id, w.message_id);
      m.conversation = customer;
      m.channel = "telegram";
      m.direction = ours ? Direction::outbound : Direction::inbound;
      m.author_kind = ours ? AuthorKind::bot : AuthorKind::customer;
      m.author_handle = ours ? "bot" + m_bot_id : customer;
      m.sent_at = w.date * 1000;
      m.text = std::move(text);
      m.attachments = std::move(attachments);
      page.items[it->second].messages.push_back(std::move(m));
    }
  }

  std::string m_name, m_base, m_token, m_bot_id, m_region;
  PhoneNormalizer m_phone{m_region};
  HttpClient m_http;
};

}  // namespace

AdapterType type() {
  using K = OptionSpec::Kind;
  return adapter_type<TelegramAdapter>(
      k_type, "Telegram bot (getUpdates): private chats with the bot, one conversation per user",
      with_status_page(
          {
              {"token", "bot token from @BotFather (<bot id>:<secret>); it is part of every request's URL", K::string,
               true, true, nullptr},
              {"base_url", "Bot API root (a local Bot API server, tests, the simulator)", K::url, false, false,
               "https://api.telegram.org"},
          },
          nullptr));
}

}  // namespace chansync::adapters::telegram
