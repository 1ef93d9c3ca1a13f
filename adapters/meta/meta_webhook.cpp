#include "adapters/meta/meta_webhook.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "adapters/meta/graph.hpp"

namespace chansync::adapters::meta {
namespace {

using nlohmann::json;

// Messenger's times are Unix milliseconds, as JSON numbers.
std::optional<Timestamp> unix_ms(const json& v) {
  if (v.is_number_unsigned()) return v.get<Timestamp>();
  return std::nullopt;
}

// Graph's attachment types as the history mapping names them ("file", "image", ...); Instagram's
// own kinds (ig_reel, share, story_mention) are kept as they are.
Attachment attachment(const json& a) {
  const auto& payload = member(a, "payload");
  return {field(a, "type"), field(payload, "title"), field(payload, "url")};
}

class Mapper {
 public:
  Mapper(std::string_view payload, const WebhookTarget& t, Page<Conversation>& page)
      : m_payload(payload), m_t(t), m_page(page) {}

  void entries(const json& doc) {
    const auto& entries = array_at(doc, "entry");
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const std::string business = field(entries[i], "id");
      if (m_t.object == "page" && business != m_t.page_id) {
        reject(business, fmt::format("for page {}, not this connector's {}", business, m_t.page_id),
               fmt::format("/entry/{}", i));
        continue;
      }
      if (m_t.object == "instagram" && !m_t.account.empty() && business != m_t.account) {
        reject(business,
               fmt::format("for Instagram account {}, not this connector's {} (instagram_account_id)", business,
                           m_t.account),
               fmt::format("/entry/{}", i));
        continue;
      }
      // "standby": what the customer wrote while another app held the thread (Messenger's handover
      // protocol, e.g. beside a bot); the events have the shape of "messaging" ones.
      for (const char* list : {"messaging", "standby"}) {
        const auto& events = array_at(entries[i], list);
        for (std::size_t k = 0; k < events.size(); ++k)
          event(events[k], business, fmt::format("/entry/{}/{}/{}", i, list, k));
      }
    }
  }

 private:
  void reject(const std::string& id, const std::string& why, const std::string& pointer) {
    std::string raw = raw_at(m_payload, pointer);
    m_page.rejects.push_back({id, why, raw.empty() ? std::string(m_payload) : std::move(raw)});
  }

  Conversation& thread(const std::string& customer) {
    const Handle handle{m_t.handle, m_t.page_id + ":" + customer};
    return conversation_in(m_page, {m_t.connector, m_t.page_id + ":" + customer, m_t.channel, handle, m_t.page_id});
  }

  Message entry(const std::string& id, const Conversation& c, bool ours, Timestamp at) const {
    return {m_t.connector,
            id,
            c.id,
            m_t.channel,
            ours ? Direction::outbound : Direction::inbound,
            ours ? AuthorKind::agent : AuthorKind::customer,
            ours ? m_t.page_id : c.customer.value,
            at};
  }

  void receipt(const std::string& customer, const std::string& mid, Timestamp at, const char* status) {
    auto& c = thread(customer);
    auto r = entry(mid, c, true, at);
    r.status = status;
    c.receipts.push_back(std::move(r));
  }

  // One watermark per customer and status, the latest: each is an update of every message the page
  // sent the customer, and Messenger sends a read and a delivery for about every message.
  void watermark(const std::string& customer, Timestamp at, const char* status) {
    auto& marks = thread(customer).watermarks;
    const auto same = std::find_if(marks.begin(), marks.end(), [&](const auto& w) { return w.status == status; });
    if (same == marks.end())
      marks.push_back({at, status});
    else
      same->at = std::max(same->at, at);
  }

  void event(const json& e, const std::string& business, const std::string& at) {
    const std::string sender = field(member(e, "sender"), "id"), recipient = field(member(e, "recipient"), "id");
    const auto& message = member(e, "message");
    // Optins, referrals, handovers: not timeline entries, and they may name no customer.
    if (!message.is_object() && !e.contains("delivery") && !e.contains("read") && !e.contains("reaction") &&
        !e.contains("postback") && !e.contains("message_edit"))
      return;
    const bool echo = member(message, "is_echo") == true;
    // The customer is the side that is not the business; an echo is the business's own message.
    const std::string customer = echo || sender == business ? recipient : sender;
    auto when = unix_ms(member(e, "timestamp"));
    if (!when && e.contains("delivery")) when = unix_ms(member(member(e, "delivery"), "watermark"));
    if (customer.empty() || customer == business || !when) {
      reject(field(message, "mid"),
             !when ? "messaging event without a readable timestamp"
                   : "messaging event without a customer "
                     "(sender.id and recipient.id)",
             at);
      return;
    }
    if (message.is_object()) {
      const std::string mid = field(message, "mid");
      if (mid.empty()) return reject("", "message without a mid", at);
      auto& c = thread(customer);
      auto m = entry(mid, c, echo, *when);
      m.text = field(message, "text");
      for (const auto& a : array_at(message, "attachments")) m.attachments.push_back(attachment(a));
      if (m.text.empty() && m.attachments.empty()) {  // deleted, unsupported: kept as an event
        m.kind = MessageKind::event;
        m.text = member(message, "is_deleted") == true ? "deleted message" : "message without text or attachments";
      }
      c.messages.push_back(std::move(m));
    } else if (const auto& d = member(e, "delivery"); d.is_object()) {
      for (const auto& mid : array_at(d, "mids"))
        if (mid.is_string()) receipt(customer, mid.get<std::string>(), *when, "delivered");
      // Always there, mids not (older Messenger clients): every message sent before it was delivered.
      if (const auto w = unix_ms(member(d, "watermark")); w && *w > 0) watermark(customer, *w - 1, "delivered");
    } else if (const auto& r = member(e, "read"); r.is_object()) {
      // Instagram names the message read; Messenger gives a watermark: everything sent at or before
      // it was read.
      if (const std::string mid = field(r, "mid"); !mid.empty()) receipt(customer, mid, *when, "read");
      if (const auto w = unix_ms(member(r, "watermark"))) watermark(customer, *w, "read");
    } else if (const auto& x = member(e, "reaction"); x.is_object()) {
      const std::string to = field(x, "mid"), emoji = field(x, "emoji");
      const std::string what = emoji.empty() ? field(x, "reaction") : emoji;
      auto& c = thread(customer);
      auto m = entry(fmt::format("{}#reaction@{}", to, *when), c, false, *when);
      m.kind = MessageKind::event;
      m.text = field(x, "action") == "unreact" ? fmt::format("removed the reaction to {}", to)
                                               : fmt::format("reacted {} to {}", what, to);
      c.messages.push_back(std::move(m));
    } else if (const auto& x = member(e, "message_edit"); x.is_object()) {
      // The customer changed what a message says (up to five times): an entry beside it with the
      // new text, at the time of the edit, so the timeline shows that it changed and when (the
      // message itself keeps what the webhook brought until the Graph history, which holds the
      // latest text only, is read again).
      const std::string to = field(x, "mid"), count = field(x, "num_edit");
      if (to.empty()) return reject("", "message_edit without a mid", at);
      const bool counted = !count.empty() && count.size() < 4 && count.find_first_not_of("0123456789") == count.npos;
      auto& c = thread(customer);
      auto m = entry(fmt::format("{}#edit{}", to, counted ? count : fmt::format("@{}", *when)), c, sender == business,
                     *when);
      m.kind = MessageKind::event;
      const std::string now = field(x, "text");
      m.text = now.empty() ? "edited " + to : fmt::format("edited {}: {}", to, now);
      c.messages.push_back(std::move(m));
    } else if (const auto& p = member(e, "postback"); p.is_object()) {
      auto& c = thread(customer);
      const std::string mid = field(p, "mid");
      auto m = entry(mid.empty() ? fmt::format("postback@{}:{}", *when, customer) : mid, c, false, *when);
      m.kind = MessageKind::event;
      m.text = field(p, "title").empty() ? field(p, "payload") : field(p, "title");
      c.messages.push_back(std::move(m));
    }
  }

  std::string_view m_payload;
  const WebhookTarget& m_t;
  Page<Conversation>& m_page;
};

}  // namespace

void map_messaging_payload(std::string_view payload, const WebhookTarget& target, Page<Conversation>& page) {
  if (const auto doc = webhook_document(payload, target.object, page)) Mapper(payload, target, page).entries(*doc);
}

}  // namespace chansync::adapters::meta
