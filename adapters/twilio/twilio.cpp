#include "adapters/twilio/twilio.hpp"

#include <fmt/format.h>

#include <unordered_map>

#include "adapters/status_page.hpp"
#include "adapters/twilio/twilio_api.hpp"
#include "adapters/twilio/twilio_source.hpp"

namespace chansync::adapters::twilio {
namespace {

constexpr const char* k_type = "twilio-messaging";

class TwilioAdapter final : public TwilioSource {
 public:
  explicit TwilioAdapter(const AdapterContext& ctx) : TwilioSource(ctx, k_type) {}

  Result<Page<Conversation>> pull_conversations(const PullRequest& req) override {
    return pull_list(req, {"Messages.json", "DateSent", "messages"},
                     [this](std::string& body, Page<Conversation>& page, Timestamp& high) -> Result<std::string> {
                       auto wire = parse_messages_page(body);
                       if (!wire) return std::unexpected(wire.error());
                       page.rejects = std::move(wire->rejects);
                       map_messages(wire->items, page, high);
                       return std::move(wire->next_page_uri);
                     });
  }

 private:
  void map_messages(const std::vector<WireMessage>& wire, Page<Conversation>& page, Timestamp& high) {
    std::unordered_map<std::string, std::size_t> index;  // conversation id → position in page.items
    index.reserve(wire.size());
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
};

}  // namespace

AdapterType type() {
  return adapter_type<TwilioAdapter>(
      k_type, "Twilio Programmable Messaging (SMS, WhatsApp): messages grouped per customer and business number",
      with_status_page(source_options(), k_twilio_status_page));
}

}  // namespace chansync::adapters::twilio
