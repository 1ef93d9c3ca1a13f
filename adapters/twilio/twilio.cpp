#include "adapters/twilio/twilio.hpp"

#include <fmt/format.h>

#include <iterator>
#include <string_view>
#include <unordered_map>

#include "adapters/status_page.hpp"
#include "adapters/twilio/twilio_api.hpp"
#include "adapters/twilio/twilio_source.hpp"
#include "sync/normalize.hpp"

namespace chansync::adapters::twilio {
namespace {

constexpr const char* k_type = "twilio-messaging";

class TwilioAdapter final : public TwilioSource {
 public:
  explicit TwilioAdapter(const AdapterContext& ctx) : TwilioSource(ctx, k_type) {}

  std::vector<Stream> streams() const override { return list_streams(); }

  Result<Page<Conversation>> pull_conversations(const PullRequest& req) override {
    return pull_list(req, {"Messages.json", "DateSent", "messages"},
                     [this](std::string& body, Page<Conversation>& page, ListMarks& marks) -> Result<std::string> {
                       auto wire = parse_messages_page(body);
                       if (!wire) return std::unexpected(wire.error());
                       page.rejects = std::move(wire->rejects);
                       map_messages(wire->items, page, marks.high);
                       return std::move(wire->next_page_uri);
                     });
  }

 private:
  // `wire` is consumed: each message's sid and body move into the Message instead of being copied.
  void map_messages(std::vector<WireMessage>& wire, Page<Conversation>& page, Timestamp& high) {
    // Conversation id → its position in page.items, looked up by a reused buffer (no string is made
    // per message: a page is a thousand of them, mostly of a few hundred conversations).
    std::unordered_map<std::string, std::size_t, StringHash, std::equal_to<>> index;
    index.reserve(wire.size());
    std::string conv_id;
    for (auto& w : wire) {
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
      std::string_view customer_raw = inbound ? w.from : w.to, business_raw = inbound ? w.to : w.from;
      std::string_view channel = "sms";
      for (auto* s : {&customer_raw, &business_raw})
        if (s->starts_with("whatsapp:")) {
          s->remove_prefix(9);
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
      conv_id.clear();
      fmt::format_to(std::back_inserter(conv_id), "{}:{}:{}", channel, business->value, customer->value);
      auto it = index.find(std::string_view(conv_id));
      if (it == index.end()) {
        it = index.emplace(conv_id, page.items.size()).first;
        page.items.push_back(Conversation{m_name, conv_id, std::string(channel), *customer, business->value, {}});
      }
      Conversation& conversation = page.items[it->second];
      Message m;
      m.connector = m_name;
      m.id = std::move(w.sid);
      m.conversation = conversation.id;
      m.channel = conversation.channel;
      m.direction = inbound ? Direction::inbound : Direction::outbound;
      m.author_kind = inbound                           ? AuthorKind::customer
                      : w.direction == "outbound-reply" ? AuthorKind::bot
                      : w.direction == "outbound-call"  ? AuthorKind::system
                                                        : AuthorKind::agent;
      m.author_handle = inbound ? customer->value : business->value;
      m.sent_at = *sent;
      m.text = std::move(w.body);
      conversation.messages.push_back(std::move(m));
    }
  }
};

}  // namespace

AdapterType type() {
  return adapter_type<TwilioAdapter>(
      k_type, "Twilio Programmable Messaging (SMS, WhatsApp): messages grouped per customer and business number",
      with_status_page(list_options(), k_twilio_status_page));
}

}  // namespace chansync::adapters::twilio
