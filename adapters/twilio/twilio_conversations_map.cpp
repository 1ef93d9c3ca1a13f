#include "adapters/twilio/twilio_conversations_map.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace chansync::adapters::twilio {
namespace {

// A participant as far as mapping cares.
struct Party {
  std::string author;            // what its messages carry as author: its identity or address, as Twilio wrote it
  std::optional<Handle> handle;  // phone for a binding, chat_identity for a chat user
  std::string channel;           // "sms", "whatsapp", "chat"
  std::string business;          // the address the business reaches it through ("" when unknown)
  std::string problem;           // why it cannot be this conversation's customer ("" = it can)
  bool chat = false;             // a chat user (identity), not a messaging binding
  bool business_side = false;    // one of own_numbers or agent_identities
};

// Addresses Twilio writes are E.164, or E.164 behind "whatsapp:"; identities are anything else.
bool phone_like(const std::string& s) {
  return s.starts_with('+') || s.starts_with("whatsapp:");
}

std::string without_whatsapp(const std::string& s) {
  return s.starts_with("whatsapp:") ? s.substr(9) : s;
}

// The 'all'-reached status of a delivery summary, "" when it reached only some or none.
std::string delivery_status(const WireDelivery& d) {
  if (d.failed == "all" || d.undelivered == "all") return "failed";
  if (d.read == "all") return "read";
  if (d.delivered == "all") return "delivered";
  if (d.sent == "all") return "sent";
  return {};
}

}  // namespace

std::string ConversationMapper::chat_value(const std::string& scope, const std::string& identity) {
  const auto first = identity.find_first_not_of(" \t\r\n");
  const auto last = identity.find_last_not_of(" \t\r\n");
  const std::string trimmed = first == std::string::npos ? std::string() : identity.substr(first, last - first + 1);
  std::string out = scope + ":";
  for (const unsigned char ch : trimmed) {
    if (ch == '%' || ch <= ' ' || ch == 0x7f)
      out += fmt::format("%{:02X}", ch);
    else
      out += static_cast<char>(ch);
  }
  return out;
}

void ConversationMapper::map(const WireConversation& c, const std::vector<WireParticipant>& participants,
                             const std::vector<WireConversationMessage>& messages, Page<Conversation>& page) const {
  const auto is_own = [this](const std::string& e164) { return std::find(own.begin(), own.end(), e164) != own.end(); };
  const auto is_agent = [this](const std::string& id) {
    return std::find(agents.begin(), agents.end(), id) != agents.end();
  };
  const std::string scope = c.chat_service_sid.empty() ? default_scope : c.chat_service_sid;

  std::vector<Party> parties;
  for (const auto& p : participants) {
    Party party;
    if (!p.address.empty()) {
      party.author = p.address;
      const bool whatsapp = p.binding_type == "whatsapp" || p.address.starts_with("whatsapp:");
      party.channel = whatsapp ? "whatsapp" : "sms";
      if (!whatsapp && !p.binding_type.empty() && p.binding_type != "sms")
        party.problem = fmt::format("the customer's binding is {} (\"{}\"); only sms and whatsapp are mapped",
                                    p.binding_type, p.address);
      else if (auto h = (*phone)(without_whatsapp(p.address)))
        party.handle = *h;
      else
        party.problem = fmt::format("the customer's address \"{}\" is not a phone number", p.address);
      party.business_side = party.handle && is_own(party.handle->value);
      if (!p.proxy_address.empty()) {
        auto b = (*phone)(without_whatsapp(p.proxy_address));
        party.business = b ? b->value : p.proxy_address;
      }
    } else if (!p.identity.empty()) {
      party.author = p.identity;
      party.channel = "chat";
      party.chat = true;
      party.handle = Handle{HandleKind::chat_identity, chat_value(scope, p.identity)};
      party.business = scope;
      party.business_side = is_agent(p.identity);
    } else {
      continue;  // neither reachable nor an author: nothing to map
    }
    parties.push_back(std::move(party));
  }

  // The customer: the one participant reaching the conversation by SMS or WhatsApp (chat users beside
  // it are the business's people answering), else the one chat user who is not an agent.
  std::vector<const Party*> bound, chatting;
  for (const auto& p : parties)
    if (!p.business_side) (p.chat ? chatting : bound).push_back(&p);
  const Party* customer = nullptr;
  std::string why;
  if (bound.size() == 1)
    customer = bound[0];
  else if (bound.empty() && chatting.size() == 1)
    customer = chatting[0];
  else if (bound.empty() && chatting.empty())
    why = "no participant other than the business (own_numbers, agent_identities)";
  else {
    std::string names;
    for (const auto* p : bound.empty() ? chatting : bound) names += (names.empty() ? "" : ", ") + p->author;
    why = fmt::format(
        "{} customer participants ({}): a group conversation, which chansync does not map; if all but one of them "
        "are the business's people, list their identities in agent_identities",
        bound.empty() ? chatting.size() : bound.size(), names);
  }
  if (customer && !customer->problem.empty()) why = customer->problem;
  if (!why.empty()) {
    for (const auto& m : messages)
      page.rejects.push_back({m.sid, fmt::format("conversation {}: {}", c.sid, why), std::string(m.raw)});
    return;
  }

  Conversation out{connector, c.sid, customer->channel, *customer->handle, customer->business, {}};
  for (const auto& w : messages) {
    const auto sent = parse_rfc3339(w.date_created);
    if (!sent) {
      page.rejects.push_back(
          {w.sid, fmt::format("unparseable date_created \"{}\"", w.date_created), std::string(w.raw)});
      continue;
    }
    Message m;
    m.connector = connector;
    m.id = w.sid;
    m.conversation = c.sid;
    m.channel = customer->channel;
    m.sent_at = *sent;
    m.text = w.body;
    m.attachments = w.media;
    const auto number = phone_like(w.author) ? (*phone)(without_whatsapp(w.author)) : std::nullopt;
    const auto party =
        std::find_if(parties.begin(), parties.end(), [&](const Party& p) { return p.author == w.author; });
    if (w.author == customer->author || (number && !customer->chat && number->value == customer->handle->value)) {
      m.direction = Direction::inbound;
      m.author_kind = AuthorKind::customer;
      m.author_handle = customer->handle->value;
    } else if (w.author.empty() || w.author == "system") {  // sent through the REST API without an author
      m.direction = Direction::outbound;
      m.author_kind = AuthorKind::system;
      m.author_handle = "system";
    } else if (is_agent(w.author) || (party != parties.end() && party->business_side) ||
               (number && is_own(number->value)) || (!customer->chat && !phone_like(w.author))) {
      // An agent: a listed identity, one of own_numbers, or a chat user answering an SMS/WhatsApp customer.
      m.direction = Direction::outbound;
      m.author_kind = AuthorKind::agent;
      m.author_handle = number ? number->value : w.author;
    } else {
      page.rejects.push_back(
          {w.sid,
           fmt::format("author \"{}\" of a message in conversation {} is neither its customer (\"{}\"), the system "
                       "nor the business; if it is one of the business's people, add it to agent_identities",
                       w.author, c.sid, customer->author),
           std::string(w.raw)});
      continue;
    }
    if (m.direction == Direction::outbound) m.status = delivery_status(w.delivery);
    // Neither text nor media (a content template sent without a body): kept as an event.
    if (m.text.empty() && m.attachments.empty()) m.kind = MessageKind::event;
    out.messages.push_back(std::move(m));
  }
  if (!out.messages.empty()) page.items.push_back(std::move(out));
}

}  // namespace chansync::adapters::twilio
