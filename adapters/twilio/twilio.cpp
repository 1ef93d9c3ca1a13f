#include "adapters/twilio/twilio.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <string_view>
#include <unordered_map>

#include "adapters/status_page.hpp"
#include "adapters/twilio/twilio_api.hpp"
#include "adapters/twilio/twilio_source.hpp"
#include "sync/normalize.hpp"
#include "sync/timestamp.hpp"

namespace chansync::adapters::twilio {
namespace {

constexpr const char* k_type = "twilio-messaging";

// An alphanumeric sender ID: 1 to 11 of A-Z, a-z, 0-9, space, - + _ &, at least one a letter
// (Twilio's AlphaSender resource).
bool is_sender_id(std::string_view s) {
  if (s.empty() || s.size() > 11) return false;
  bool letter = false;
  for (const char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
      letter = true;
    else if (!(c >= '0' && c <= '9') && c != ' ' && c != '-' && c != '+' && c != '_' && c != '&')
      return false;
  }
  return letter;
}

// The model's delivery status of a message in Twilio's status: sent < delivered < read, and "failed"
// for one that did not reach the customer (failed, undelivered, or canceled before it was sent).
// Not yet final (queued, accepted, scheduled, sending) and inbound (received) ones are unknown: "".
std::string_view delivery_status(std::string_view status) {
  if (status == "sent" || status == "delivered" || status == "read") return status;
  if (status == "failed" || status == "undelivered" || status == "canceled") return "failed";
  return "";
}

// Whether a message's status may still change, so that the next pass reads its day again (a later
// day's message would otherwise move the date filter past it, leaving "sent" where Twilio now says
// undelivered). Queued, accepted, sending and scheduled ones for 72 hours, after which Twilio says
// a further status is unlikely; sent ones for 6 hours: receipts come within minutes, and carriers
// that send none would keep every pass re-reading days.
bool awaits_outcome(std::string_view status, Timestamp age) {
  if (status == "sent") return age < 6 * 3'600'000;
  return (status == "queued" || status == "accepted" || status == "sending" || status == "scheduled") &&
         age < 72 * 3'600'000;
}

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
                       map_messages(wire->items, page, marks);
                       return std::move(wire->next_page_uri);
                     });
  }

 private:
  // `wire` is consumed: each message's sid and body move into the Message instead of being copied.
  void map_messages(std::vector<WireMessage>& wire, Page<Conversation>& page, ListMarks& marks) {
    const Timestamp now = now_ms();
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
      // A number Twilio's Message Redaction masked ("+1415555XXXX") names no one: the message is
      // kept on a thread of its own under an unverified handle unique to it ("redacted/SM…").
      auto customer = is_masked_phone(customer_raw) ? std::optional(redacted_phone(w.sid)) : m_phone(customer_raw);
      // An outbound message may come from an alphanumeric sender ID ("ACME"), kept as it is: it is
      // the business's, and normalising it would make a number of whatever digits it holds.
      auto business = is_sender_id(business_raw)
                          ? std::optional<Handle>(Handle{HandleKind::phone, std::string(business_raw)})
                          : m_phone(business_raw);
      if (!customer || !business) {
        const bool customer_bad = !customer;
        page.rejects.push_back(
            {w.sid,
             fmt::format("{} \"{}\" (the {}) is neither a phone number nor an alphanumeric sender ID; the message "
                         "is kept here as a dead letter",
                         (customer_bad ? inbound : !inbound) ? "from" : "to",
                         customer_bad ? customer_raw : business_raw, customer_bad ? "customer" : "business"),
             std::string(w.raw)});
        continue;
      }
      if (is_own(customer->value)) {
        page.rejects.push_back({w.sid, "both ends are the business's own numbers (own_numbers)", std::string(w.raw)});
        continue;
      }
      marks.high = std::max(marks.high, *sent);
      if (awaits_outcome(w.status, now - *sent)) marks.open = marks.open ? std::min(marks.open, *sent) : *sent;
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
      m.status = delivery_status(w.status);
      // Photos and other media (MMS, WhatsApp) are listed under the message's Media subresource, which
      // is not read: each is an attachment without a name or URL, so a picture alone is not an empty text.
      for (int i = 0, n = std::atoi(w.num_media.c_str()); i < std::min(n, 10); ++i)
        m.attachments.push_back({"media", "", ""});
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
