#include "adapters/twilio/twilio.hpp"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "adapters/twilio/twilio_api.hpp"
#include "sync/normalize.hpp"

namespace chansync::adapters::twilio {
namespace {

constexpr const char* k_type = "twilio-messaging";
constexpr int k_max_page = 1000;  // Twilio's PageSize ceiling

struct Cursor {
  std::string next;    // relative next_page_uri while a pass is under way
  std::string since;   // YYYY-MM-DD: this pass's DateSent>= filter ("" = everything)
  Timestamp high = 0;  // newest date_sent seen in this pass

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

class TwilioAdapter final : public Adapter, public ConversationSource {
 public:
  explicit TwilioAdapter(const AdapterContext& ctx)
      : m_name(ctx.config.name),
        m_base(ctx.config.options.at("base_url").get<std::string>()),
        m_sid(ctx.config.options.at("account_sid").get<std::string>()),
        m_region(ctx.default_region),
        m_http(HttpOptions{.connector = ctx.config.name,
                           .basic_user = ctx.config.options.at("account_sid").get<std::string>(),
                           .basic_password = ctx.config.secret("auth_token"),
                           .sleep = ctx.sleep}) {
    while (!m_base.empty() && m_base.back() == '/') m_base.pop_back();
    for (const auto& n : ctx.config.options.at("own_numbers"))
      if (auto h = normalize_phone(n.get<std::string>(), m_region)) m_own.push_back(h->value);
  }

  std::vector<std::string> own_handles() const override {
    std::vector<std::string> out;
    for (const auto& n : m_own) out.push_back(Handle{HandleKind::phone, n}.key());
    return out;
  }

  HealthReport probe() override {
    std::string body;
    auto obs = observe(m_http, {"GET", fmt::format("{}/2010-04-01/Accounts/{}.json", m_base, m_sid)}, &body);
    if (obs.http_status >= 400) {
      const auto err = parse_error(body);
      obs.vendor_code = err.code;
      obs.vendor_message = err.message;
    }
    auto report = classify(m_name, k_type, std::move(obs));
    if (report.evidence.vendor_code == "20429") report.cls = HealthClass::rate_limited;  // Twilio's own 429 code
    require_vendor_body(report, account_sid_of(body) == m_sid, "the Twilio account resource of " + m_sid);
    return report;
  }

  Result<Page<Conversation>> pull_conversations(const PullRequest& req) override {
    auto cursor = Cursor::parse(req.cursor);
    if (!cursor) return std::unexpected(cursor.error());
    std::string path = cursor->next;
    if (path.empty()) {
      path = fmt::format("/2010-04-01/Accounts/{}/Messages.json?PageSize={}", url_encode(m_sid),
                         req.page_size > 0 ? std::min(req.page_size, k_max_page) : k_max_page);
      // DateSent filters by day only: start at the newest day already seen, so the overlap is
      // re-read and deduplicated by sid on upsert.
      if (!cursor->since.empty()) path += "&DateSent%3E=" + cursor->since;
    }
    const std::size_t before = m_http.requests();
    const HttpRequest http{"GET", m_base + path};
    auto resp = m_http.send(http);
    if (!resp) return std::unexpected(resp.error());
    if (resp->status != 200) {
      const auto err = parse_error(resp->body);
      return std::unexpected(
          http_error(http, *resp, m_name, "listing Twilio messages",
                     err.code.empty() ? err.message : fmt::format("Twilio error {}: {}", err.code, err.message)));
    }
    auto wire = parse_messages_page(resp->body);
    if (!wire) {
      wire.error().connector = m_name;
      wire.error().message +=
          fmt::format(" (from {}{}); the cursor was not advanced", m_base, path.substr(0, path.find('?')));
      return std::unexpected(wire.error());
    }
    Page<Conversation> page;
    page.rejects = std::move(wire->rejects);
    map_messages(wire->messages, page, cursor->high);
    page.requests = m_http.requests() - before;
    if (wire->next_page_uri.empty()) {
      page.done = true;
      Cursor next{"", cursor->high ? format_date(cursor->high) : cursor->since, 0};
      page.next_cursor = next.dump();
    } else {
      if (!wire->next_page_uri.starts_with("/"))
        return fail(Errc::protocol, fmt::format("next_page_uri \"{}\" is not a relative URI", wire->next_page_uri),
                    m_name);
      cursor->next = wire->next_page_uri;
      page.next_cursor = cursor->dump();
    }
    return page;
  }

 private:
  bool is_own(const std::string& e164) const { return std::find(m_own.begin(), m_own.end(), e164) != m_own.end(); }

  void map_messages(const std::vector<WireMessage>& wire, Page<Conversation>& page, Timestamp& high) {
    std::map<std::string, std::size_t> index;  // conversation id → position in page.items
    for (const auto& w : wire) {
      auto sent = parse_rfc2822(w.date_sent.empty() ? w.date_created : w.date_sent);
      if (!sent) {
        page.rejects.push_back({w.sid, fmt::format("unparseable date_sent \"{}\"", w.date_sent), std::string(w.raw)});
        continue;
      }
      const bool inbound = w.direction == "inbound";
      if (!inbound && !w.direction.starts_with("outbound")) {
        page.rejects.push_back({w.sid, fmt::format("unknown direction \"{}\"", w.direction), std::string(w.raw)});
        continue;
      }
      // WhatsApp messages come as "whatsapp:+1415…"; the number behind is the same person as SMS.
      std::string customer_raw = inbound ? w.from : w.to, business_raw = inbound ? w.to : w.from;
      std::string channel = "sms";
      for (auto* s : {&customer_raw, &business_raw})
        if (s->starts_with("whatsapp:")) {
          *s = s->substr(9);
          channel = "whatsapp";
        }
      auto customer = m_phone(customer_raw);
      auto business = m_phone(business_raw);
      if (!customer || !business) {
        page.rejects.push_back({w.sid, "from/to is not a phone number", std::string(w.raw)});
        continue;
      }
      if (is_own(customer->value)) {
        page.rejects.push_back({w.sid, "both ends are the business's own numbers (own_numbers)", std::string(w.raw)});
        continue;
      }
      high = std::max(high, *sent);
      const std::string conv_id = fmt::format("{}:{}:{}", channel, business->value, customer->value);
      auto [it, inserted] = index.try_emplace(conv_id, page.items.size());
      if (inserted) page.items.push_back(Conversation{m_name, conv_id, channel, *customer, business->value, {}});
      Message m;
      m.connector = m_name;
      m.id = w.sid;
      m.conversation = conv_id;
      m.channel = channel;
      m.direction = inbound ? Direction::inbound : Direction::outbound;
      m.author_kind = inbound                           ? AuthorKind::customer
                      : w.direction == "outbound-reply" ? AuthorKind::bot
                      : w.direction == "outbound-call"  ? AuthorKind::system
                                                        : AuthorKind::agent;
      m.author_handle = inbound ? customer->value : business->value;
      m.sent_at = *sent;
      m.text = w.body;
      page.items[it->second].messages.push_back(std::move(m));
    }
  }

  std::string m_name, m_base, m_sid, m_region;
  std::vector<std::string> m_own;
  PhoneNormalizer m_phone{m_region};
  HttpClient m_http;
};

}  // namespace

AdapterType type() {
  using K = OptionSpec::Kind;
  return adapter_type<TwilioAdapter>(
      k_type, "Twilio Programmable Messaging (SMS, WhatsApp): messages grouped per customer and business number",
      {
          {"account_sid", "Twilio Account SID (AC…)", K::string, true, false, nullptr},
          {"auth_token", "Twilio auth token (Basic auth password)", K::string, true, true, nullptr},
          {"own_numbers", "the business's numbers, in any format; never identify a customer", K::string_list, false,
           false, nlohmann::json::array()},
          {"base_url", "API root (regional endpoints, tests, the simulator)", K::string, false, false,
           "https://api.twilio.com"},
      });
}

}  // namespace chansync::adapters::twilio
