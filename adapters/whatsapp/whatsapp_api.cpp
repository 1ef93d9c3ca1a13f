#include "adapters/whatsapp/whatsapp_api.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "adapters/meta/graph.hpp"
#include "sync/normalize.hpp"

namespace chansync::adapters::whatsapp {
namespace {

using meta::array_at;
using meta::field;
using meta::member;
using nlohmann::json;

constexpr const char* k_object = "whatsapp_business_account";
constexpr const char* k_channel = "whatsapp";

// WhatsApp's Unix seconds, sent as a string ("1749416383"), in ms; nullopt for anything else.
std::optional<Timestamp> unix_seconds(const json& v) {
  const std::string s = v.is_string() ? v.get<std::string>() : v.is_number_unsigned() ? v.dump() : "";
  if (s.empty() || s.size() > 12 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return Timestamp{std::stoll(s)} * 1000;
}

// A vendor error {"code", "title", "message", "error_data": {"details"}} as one line:
// "131026 Message undeliverable: <details>".
std::string describe_error(const json& e) {
  std::string out = field(e, "code");
  for (const std::string& part : {field(e, "title"), field(e, "message"), field(member(e, "error_data"), "details")})
    if (!part.empty() && out.find(part) == std::string::npos)
      out += (out.empty() ? "" : out.find(' ') == std::string::npos ? " " : ": ") + part;
  return out.empty() ? "no details" : out;
}

// A WhatsApp user as one payload names them.
struct User {
  std::string wa_id;  // their phone number's digits; "" when they hide it
  std::string bsuid;  // business-scoped user id ("US.13491208655302741918"); "" when not sent
  std::string name;   // profile.name, else profile.username
};

// What the messages and statuses of one change share.
struct Change {
  std::string waba;      // entry.id: the WhatsApp Business Account, the scope of a BSUID
  std::string business;  // the business number in E.164, else its phone_number_id
  std::vector<User> contacts;
};

// `u` completed from the payload's contacts entry that names the same wa_id or BSUID.
User known(User u, const Change& ch) {
  for (const auto& c : ch.contacts)
    if ((!u.wa_id.empty() && c.wa_id == u.wa_id) || (!u.bsuid.empty() && c.bsuid == u.bsuid)) {
      if (u.wa_id.empty()) u.wa_id = c.wa_id;
      if (u.bsuid.empty()) u.bsuid = c.bsuid;
      if (u.name.empty()) u.name = c.name;
    }
  return u;
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const auto& p : parts)
    if (!p.empty()) out += (out.empty() ? "" : sep) + p;
  return out;
}

class Mapper {
 public:
  Mapper(std::string_view payload, const Receiver& r, Page<Conversation>& page)
      : m_payload(payload), m_r(r), m_page(page) {}

  void entries(const json& doc) {
    const auto& entries = array_at(doc, "entry");
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const auto& changes = array_at(entries[i], "changes");
      for (std::size_t j = 0; j < changes.size(); ++j)
        change(changes[j], fmt::format("/entry/{}/changes/{}", i, j), field(entries[i], "id"));
    }
  }

 private:
  void reject(const std::string& id, const std::string& why, const std::string& pointer) {
    std::string raw = meta::raw_at(m_payload, pointer);
    m_page.rejects.push_back({id, why, raw.empty() ? std::string(m_payload) : std::move(raw)});
  }

  void change(const json& c, const std::string& at, const std::string& waba) {
    // Other fields (template or account updates) are not conversations: an app subscribed to them
    // gets them here too, and they are nobody's data to keep.
    // A number also used in the WhatsApp Business app (coexistence) has two more: smb_message_echoes,
    // what the business sent from the app or a linked device, which the Cloud API sends nowhere else,
    // and history, the app's chats of up to 180 days before onboarding, sent once.
    const std::string kind = field(c, "field");
    if (kind != "messages" && kind != "smb_message_echoes" && kind != "history") return;
    const json& value = member(c, "value");
    const std::string number = field(member(value, "metadata"), "phone_number_id");
    if (number != m_r.phone_number_id) {
      reject(number, fmt::format("for phone number {}, not this connector's {}", number, m_r.phone_number_id), at);
      return;
    }
    Change ch{waba, m_r.phone_number_id, {}};
    const std::string display = field(member(value, "metadata"), "display_phone_number");
    if (auto h = display.empty() ? std::nullopt : phone("+" + display)) ch.business = h->value;
    for (const auto& contact : array_at(value, "contacts")) {
      const auto& profile = member(contact, "profile");
      const std::string name = field(profile, "name");
      ch.contacts.push_back(
          {field(contact, "wa_id"), field(contact, "user_id"), name.empty() ? field(profile, "username") : name});
    }
    for (const char* list : {"messages", "message_echoes"}) {
      const auto& messages = array_at(value, list);
      for (std::size_t k = 0; k < messages.size(); ++k)
        message(messages[k], fmt::format("{}/value/{}/{}", at, list, k), ch, list[8] == 'e');
    }
    history(value, at, ch, display);
    const auto& statuses = array_at(value, "statuses");
    for (std::size_t k = 0; k < statuses.size(); ++k)
      status(statuses[k], fmt::format("{}/value/statuses/{}", at, k), ch);
    for (const auto& e : array_at(value, "errors"))
      m_page.notices.push_back(
          fmt::format("WhatsApp reported an error for phone number {}: {}", m_r.phone_number_id, describe_error(e)));
  }

  // The customer's handle (their phone when known, else their BSUID); the BSUID beside a phone goes
  // to `links`. nullopt when the user is named by neither.
  std::optional<Handle> phone(const std::string& e164) const {
    const std::string number = brazil_mobile(e164);
    return m_r.phone ? (*m_r.phone)(number) : normalize_phone(number, "");
  }

  // WhatsApp ids of Brazilian mobiles registered before Brazil added the ninth digit (2012-2016)
  // still lack it: 55, a two-digit area code, then 8 digits from 6 to 9 ("551187654321"), which is
  // no valid number. Their number, and the CRM's, is +55 11 98765-4321. Landlines (2 to 5) have 8.
  static std::string brazil_mobile(const std::string& e164) {
    if (e164.size() != 13 || !e164.starts_with("+55") || e164[5] < '6' || e164[5] > '9') return e164;
    return e164.substr(0, 5) + "9" + e164.substr(5);
  }

  std::optional<Handle> customer_of(const User& u, const Change& ch, std::vector<Handle>& links) const {
    std::optional<Handle> bsuid;
    if (!u.bsuid.empty() && !ch.waba.empty()) bsuid = Handle{HandleKind::whatsapp_bsuid, ch.waba + ":" + u.bsuid};
    // A wa_id is the number's digits. Anything else (a group's id in a group message's status) is no
    // phone: normalising it would make a number of whatever digits it holds.
    const std::string digits = u.wa_id.starts_with('+') ? u.wa_id.substr(1) : u.wa_id;
    const bool is_number =
        !digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (auto number = is_number ? phone("+" + digits) : std::nullopt) {
      if (bsuid) links.push_back(*bsuid);
      return number;
    }
    return bsuid;
  }

  Conversation& thread(const Handle& customer, const std::vector<Handle>& links, const User& u, const Change& ch) {
    auto& c = meta::conversation_in(
        m_page,
        {m_r.connector, m_r.phone_number_id + ":" + customer.value, k_channel, customer, ch.business, {}, u.name});
    for (const auto& l : links)
      if (std::find(c.customer_links.begin(), c.customer_links.end(), l) == c.customer_links.end())
        c.customer_links.push_back(l);
    if (c.customer_name.empty()) c.customer_name = u.name;
    return c;
  }

  // history[].threads[].messages[]: each thread is one customer's chat (its id their number); a message
  // is the business's when history_context says from_me or it is from the business number, and then
  // names its recipient only when it was an echo, so the thread does. Chunks come in any order, the
  // newest messages first; media come as media_placeholder first and again, with the media, later.
  void history(const json& value, const std::string& at, const Change& ch, const std::string& display) {
    const auto& chunks = array_at(value, "history");
    for (std::size_t h = 0; h < chunks.size(); ++h) {
      // The business declined to share its history (2593109).
      for (const auto& e : array_at(chunks[h], "errors"))
        m_page.notices.push_back(
            fmt::format("WhatsApp did not send the Business app's chat history of phone number {}: {}",
                        m_r.phone_number_id, describe_error(e)));
      const auto& threads = array_at(chunks[h], "threads");
      for (std::size_t t = 0; t < threads.size(); ++t) {
        const std::string customer = field(threads[t], "id");
        const auto& messages = array_at(threads[t], "messages");
        for (std::size_t k = 0; k < messages.size(); ++k) {
          const json& m = messages[k];
          std::string from = field(m, "from");
          if (from.starts_with('+')) from.erase(0, 1);
          const bool ours =
              member(member(m, "history_context"), "from_me") == true || (!display.empty() && from == display);
          message(m, fmt::format("{}/value/history/{}/threads/{}/messages/{}", at, h, t, k), ch, ours, customer);
        }
      }
    }
  }

  // A customer's message, or with `echo` one the business sent them from the Business app (to
  // `peer` when it names no recipient: a message of the history).
  void message(const json& m, const std::string& at, const Change& ch, bool echo, const std::string& peer = "") {
    const std::string id = field(m, "id");
    const auto sent = unix_seconds(member(m, "timestamp"));
    // Groups (the Groups API): a group's messages are not one customer's conversation with the business.
    if (const std::string group = field(m, "group_id"); !group.empty())
      return reject(id,
                    fmt::format("message {} was posted in WhatsApp group {}: chansync keeps one-to-one "
                                "conversations, not group chats",
                                id, group),
                    at);
    // A history thread's id names the customer where the message does not: a number, else a BSUID.
    const bool number = !peer.empty() && peer.find_first_not_of("+0123456789") == std::string::npos;
    User u{field(m, echo ? "to" : "from"), field(m, echo ? "to_user_id" : "from_user_id"), ""};
    if (u.wa_id.empty() && u.bsuid.empty()) (number ? u.wa_id : u.bsuid) = peer;
    u = known(u, ch);
    std::vector<Handle> links;
    const auto customer = customer_of(u, ch, links);
    if (id.empty() || !sent || !customer) {
      reject(id,
             id.empty() ? "message without an id"
             : !sent    ? fmt::format("message {} has an unreadable timestamp {}", id, member(m, "timestamp").dump())
             : echo     ? fmt::format("message {} the business sent names no recipient (to or to_user_id)", id)
                        : fmt::format("message {} names no sender (from or from_user_id)", id),
             at);
      return;
    }
    Message out{m_r.connector,
                id,
                "",
                k_channel,
                echo ? Direction::outbound : Direction::inbound,
                echo ? AuthorKind::agent : AuthorKind::customer,
                echo ? ch.business : customer->value,
                *sent};
    content(m, field(m, "type"), out);
    if (const std::string gone = field(member(m, "revoke"), "original_message_id");
        field(m, "type") == "revoke" && !gone.empty())
      out.id = gone;
    // What became of the business's message, as the history knows it ("pending" and such are not kept).
    if (const std::string state = field(member(m, "history_context"), "status"); echo && valid_status(state))
      out.status = state;
    // "User A changed from <old> to <new>": the new number is the same customer's.
    const auto& system = member(m, "system");
    if (field(system, "type") == "user_changed_number" && !field(system, "wa_id").empty())
      if (auto now = phone("+" + field(system, "wa_id")); now && *now != *customer) links.push_back(*now);
    // A new business-scoped user id (user_changed_user_id, and user_changed_number, which makes one
    // too): the previous one is the same customer's, so a user without a shared number stays one person.
    if (const std::string before = field(system, "previous_user_id"); !before.empty() && !ch.waba.empty())
      if (Handle old{HandleKind::whatsapp_bsuid, ch.waba + ":" + before}; old != *customer) links.push_back(old);
    auto& c = thread(*customer, links, u, ch);
    out.conversation = c.id;
    c.messages.push_back(std::move(out));
  }

  void status(const json& s, const std::string& at, const Change& ch) {
    const std::string id = field(s, "id"), state = field(s, "status");
    // The status of a message sent to a group: no group message is kept (above), so neither is this.
    // Without recipient_type, a recipient_id that is no number (and no user id beside it) is a group's.
    const std::string recipient = field(s, "recipient_id");
    if (field(s, "recipient_type") == "group" || !field(s, "group_id").empty() ||
        (!recipient.empty() && field(s, "recipient_user_id").empty() &&
         recipient.find_first_not_of("+0123456789") != std::string::npos))
      return;
    const auto when = unix_seconds(member(s, "timestamp"));
    const User u = known({field(s, "recipient_id"), field(s, "recipient_user_id"), ""}, ch);
    std::vector<Handle> links;
    const auto customer = customer_of(u, ch, links);
    if (id.empty() || !when || !customer) {
      reject(id,
             id.empty() ? "status without a message id"
             : !when    ? fmt::format("status of {} has an unreadable timestamp {}", id, member(s, "timestamp").dump())
                        : fmt::format("status of {} names no recipient (recipient_id or recipient_user_id)", id),
             at);
      return;
    }
    if (state.empty() || !valid_status(state)) {
      m_page.notices.push_back(fmt::format(
          "WhatsApp sent status \"{}\" for message {}; only sent, delivered, read and failed are kept", state, id));
      return;
    }
    auto& c = thread(*customer, links, u, ch);
    c.receipts.push_back({m_r.connector, id, c.id, k_channel, Direction::outbound, AuthorKind::agent, ch.business,
                          *when, "", MessageKind::message, state});
    // The notice is logged and kept in the stream's history: it names the message, not the customer
    // (the receipt ties the two together in the store, where erase can reach it).
    if (state == "failed")
      for (const auto& e : array_at(s, "errors"))
        m_page.notices.push_back(fmt::format("message {} failed: {}", id, describe_error(e)));
  }

  // Text, kind and attachments of message `m` of type `type`. Media are fetched by id with the
  // token, so no URL is kept: one with a token in it must never be stored.
  static void content(const json& m, const std::string& type, Message& out) {
    const json& body = member(m, type);
    if (type == "text") {
      out.text = field(body, "body");
    } else if (type == "image" || type == "video" || type == "audio" || type == "document" || type == "sticker") {
      std::string name = join({field(body, "filename"), field(body, "caption")}, " — ");
      if (name.empty() && !field(body, "id").empty()) name = "media " + field(body, "id");
      out.attachments.push_back({type == "document" ? "file" : type, name, ""});
      out.text = field(body, "caption");
    } else if (type == "location") {
      out.attachments.push_back(
          {"location", join({field(body, "name"), field(body, "address")}, ", "), field(body, "url")});
      out.text = field(body, "latitude") + "," + field(body, "longitude");
    } else if (type == "interactive") {
      const std::string kind = field(body, "type");
      out.text = field(member(body, kind), kind == "nfm_reply" ? "body" : "title");
      if (out.text.empty()) {
        out.kind = MessageKind::event;
        out.text = fmt::format("interactive reply of type {}", kind.empty() ? "(none)" : kind);
      }
    } else if (type == "button") {
      out.text = field(body, "text");
    } else if (type == "reaction") {
      out.kind = MessageKind::event;
      const std::string emoji = field(body, "emoji"), to = field(body, "message_id");
      out.text =
          emoji.empty() ? fmt::format("removed the reaction to {}", to) : fmt::format("reacted {} to {}", emoji, to);
    } else if (type == "contacts") {
      std::vector<std::string> shared;
      for (const auto& c : body.is_array() ? body : json::array()) {
        std::vector<std::string> phones;
        for (const auto& p : array_at(c, "phones")) phones.push_back(field(p, "phone"));
        const std::string name = field(member(c, "name"), "formatted_name");
        shared.push_back(phones.empty() ? name : fmt::format("{} ({})", name, join(phones, ", ")));
      }
      out.text = "shared contact " + join(shared, "; ");
    } else if (type == "order") {
      std::vector<std::string> items;
      for (const auto& i : array_at(body, "product_items"))
        items.push_back(fmt::format("{} × {} at {} {}", field(i, "quantity"), field(i, "product_retailer_id"),
                                    field(i, "item_price"), field(i, "currency")));
      out.text = join({"order: " + join(items, ", "), field(body, "text")}, "; ");
    } else if (type == "system") {
      out.kind = MessageKind::event;
      out.text = field(body, "body");
    } else if (type == "media_placeholder") {  // the history's media, sent again with the media later
      out.kind = MessageKind::event;
      out.text = "media (WhatsApp's chat history leaves it out)";
    } else if (type == "edit" || type == "revoke") {
      // A user of the Business app (coexistence) edited an earlier message: an entry of its own beside
      // it, at the time of the edit, saying what it says now; the message keeps what was first sent.
      // Deleted for everyone (revoke): the message itself becomes "deleted message" (message() gives
      // it the original's id), its content gone, as Messenger's deleted messages do.
      const std::string to = field(body, "original_message_id");
      out.kind = MessageKind::event;
      if (type == "revoke") {
        out.text = "deleted message";
      } else {
        const json& now = member(body, "message");
        Message edited;
        content(now, field(now, "type"), edited);
        out.text = join({fmt::format("edited {}", to), edited.text}, ": ");
        out.attachments = std::move(edited.attachments);
      }
    } else {  // "unsupported", and types newer than this adapter: kept, never dropped
      out.kind = MessageKind::event;
      std::vector<std::string> why;
      for (const auto& e : array_at(m, "errors")) why.push_back(describe_error(e));
      out.text =
          join({fmt::format("unsupported message type {}", type.empty() ? "(none)" : type), join(why, "; ")}, ": ");
    }
  }

  std::string_view m_payload;
  const Receiver& m_r;
  Page<Conversation>& m_page;
};

}  // namespace

void map_payload(std::string_view payload, const Receiver& receiver, Page<Conversation>& page) {
  if (const auto doc = meta::webhook_document(payload, k_object, page)) Mapper(payload, receiver, page).entries(*doc);
}

std::optional<PhoneNumber> parse_phone_number(const std::string& body) {
  try {
    const auto doc = json::parse(body);
    if (field(doc, "id").empty() || !doc.contains("display_phone_number")) return std::nullopt;
    return PhoneNumber{field(doc, "id"), field(doc, "display_phone_number"), field(doc, "verified_name")};
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

}  // namespace chansync::adapters::whatsapp
