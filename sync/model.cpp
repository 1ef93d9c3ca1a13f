#include "sync/model.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <array>
#include <nlohmann/json.hpp>
#include <utility>

namespace chansync {
namespace {

constexpr std::array<std::pair<HandleKind, const char*>, 8> k_handle_kinds = {{
    {HandleKind::phone, "phone"},
    {HandleKind::email, "email"},
    {HandleKind::whatsapp_bsuid, "whatsapp_bsuid"},
    {HandleKind::messenger_psid, "messenger_psid"},
    {HandleKind::instagram_igsid, "instagram_igsid"},
    {HandleKind::telegram_id, "telegram_id"},
    {HandleKind::crm_id, "crm_id"},
    {HandleKind::chat_identity, "chat_identity"},
}};

}  // namespace

const char* to_string(HandleKind kind) {
  for (const auto& [k, name] : k_handle_kinds)
    if (k == kind) return name;
  return "phone";
}

std::vector<HandleKind> handle_kinds() {
  std::vector<HandleKind> out;
  for (const auto& [k, name] : k_handle_kinds) out.push_back(k);
  return out;
}

std::optional<HandleKind> handle_kind_from(std::string_view name) {
  for (const auto& [k, n] : k_handle_kinds)
    if (name == n) return k;
  return std::nullopt;
}

std::string Handle::key() const {
  return fmt::format("{}:{}", to_string(kind), value);
}

std::optional<Handle> Handle::from_key(std::string_view key, bool verified) {
  const auto colon = key.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const auto kind = handle_kind_from(key.substr(0, colon));
  if (!kind) return std::nullopt;
  return Handle{*kind, std::string(key.substr(colon + 1)), verified};
}

const char* to_string(Direction d) {
  return d == Direction::inbound ? "inbound" : "outbound";
}

const char* to_string(AuthorKind k) {
  switch (k) {
    case AuthorKind::customer:
      return "customer";
    case AuthorKind::agent:
      return "agent";
    case AuthorKind::bot:
      return "bot";
    case AuthorKind::system:
      return "system";
  }
  return "system";
}

std::optional<Direction> direction_from(std::string_view name) {
  if (name == "inbound") return Direction::inbound;
  if (name == "outbound") return Direction::outbound;
  return std::nullopt;
}

std::optional<AuthorKind> author_kind_from(std::string_view name) {
  for (auto k : {AuthorKind::customer, AuthorKind::agent, AuthorKind::bot, AuthorKind::system})
    if (name == to_string(k)) return k;
  return std::nullopt;
}

const char* to_string(MessageKind k) {
  switch (k) {
    case MessageKind::message:
      return "message";
    case MessageKind::call:
      return "call";
    case MessageKind::handoff:
      return "handoff";
    case MessageKind::event:
      return "event";
  }
  return "event";
}

std::optional<MessageKind> message_kind_from(std::string_view name) {
  for (auto k : {MessageKind::message, MessageKind::call, MessageKind::handoff, MessageKind::event})
    if (name == to_string(k)) return k;
  return std::nullopt;
}

int status_rank(std::string_view status) {
  constexpr std::array<std::string_view, 5> k_order = {"", "sent", "delivered", "read", "failed"};
  for (std::size_t i = 0; i < k_order.size(); ++i)
    if (status == k_order[i]) return static_cast<int>(i);
  return -1;
}

bool valid_status(std::string_view status) {
  return status_rank(status) >= 0;
}

std::string_view later_status(std::string_view stored, std::string_view incoming) {
  return status_rank(incoming) > status_rank(stored) ? incoming : stored;
}

std::string Contact::display_name() const {
  if (first_name.empty()) return last_name;
  if (last_name.empty()) return first_name;
  return first_name + " " + last_name;
}

void to_json(nlohmann::json& j, const Handle& h) {
  j = {{"kind", to_string(h.kind)}, {"value", h.value}, {"verified", h.verified}};
}

std::vector<Handle> handles_from_json(std::string_view text) {
  // Read for every stored contact by each reconcile and each push of everyone (45k at 1M messages):
  // simdjson in place of nlohmann's DOM made a first reconcile of the 1M store 0.445 -> 0.385 s (200k:
  // 0.081 -> 0.071 s). Throws simdjson_error on text that is not an array of objects (only a damaged
  // store has such); a handle of a kind this version does not know is left out.
  thread_local simdjson::ondemand::parser parser;
  thread_local std::string padded;
  padded.assign(text);
  padded.append(simdjson::SIMDJSON_PADDING, ' ');
  auto doc = parser.iterate(padded.data(), text.size(), padded.size());
  std::vector<Handle> out;
  for (auto item : doc.get_array()) {
    auto h = item.get_object();
    std::string_view kind_name, value;
    bool verified = false;
    // Fields in any order, as nlohmann wrote them (alphabetical) or another writer might.
    for (auto field : h) {
      const std::string_view key = field.unescaped_key();
      if (key == "kind")
        kind_name = field.value().get_string();
      else if (key == "value")
        value = field.value().get_string();
      else if (key == "verified")
        verified = field.value().get_bool();
    }
    if (auto kind = handle_kind_from(kind_name)) out.push_back({*kind, std::string(value), verified});
  }
  return out;
}

void to_json(nlohmann::json& j, const Attachment& a) {
  j = {{"type", a.type}, {"name", a.name}, {"url", a.url}};
  if (a.size > 0) j["size"] = a.size;
}

std::string attachments_to_json(const std::vector<Attachment>& attachments) {
  return attachments.empty()
             ? std::string()
             : nlohmann::json(attachments).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<Attachment> attachments_from_json(std::string_view text) {
  std::vector<Attachment> out;
  if (text.empty()) return out;
  for (const auto& a : nlohmann::json::parse(text))
    out.push_back({a.value("type", ""), a.value("name", ""), a.value("url", ""), a.value("size", std::int64_t{0})});
  return out;
}

void to_json(nlohmann::json& j, const Message& m) {
  j = {{"connector", m.connector},
       {"id", m.id},
       {"conversation", m.conversation},
       {"channel", m.channel},
       {"direction", to_string(m.direction)},
       {"author", {{"kind", to_string(m.author_kind)}, {"handle", m.author_handle}}},
       {"sent_at", format_rfc3339(m.sent_at)},
       {"text", m.text}};
  if (m.kind != MessageKind::message) j["kind"] = to_string(m.kind);
  if (!m.status.empty()) j["status"] = m.status;
  if (!m.attachments.empty()) j["attachments"] = m.attachments;
}

void to_json(nlohmann::json& j, const ContactAttributes& a) {
  j = nlohmann::json::object();
  for (const auto& [key, value] : {std::pair{"birth_date", &a.birth_date}, std::pair{"postal_code", &a.postal_code},
                                   std::pair{"city", &a.city}, std::pair{"street", &a.street}})
    if (!value->empty()) j[key] = *value;
}

std::string attributes_to_json(const ContactAttributes& a) {
  return a.empty() ? std::string() : nlohmann::json(a).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ContactAttributes attributes_from_json(std::string_view text) {
  ContactAttributes a;
  if (text.empty()) return a;
  const auto j = nlohmann::json::parse(text);
  a.birth_date = j.value("birth_date", "");
  a.postal_code = j.value("postal_code", "");
  a.city = j.value("city", "");
  a.street = j.value("street", "");
  return a;
}

void to_json(nlohmann::json& j, const Contact& c) {
  j = {{"connector", c.connector}, {"id", c.id},
       {"name", c.display_name()}, {"handles", c.handles},
       {"archived", c.archived},   {"updated_at", format_rfc3339(c.updated_at)}};
  if (!c.attributes.empty()) j["attributes"] = c.attributes;
}

void to_json(nlohmann::json& j, const PersonRecord& p) {
  j = {{"person_id", p.person_id}, {"display_name", p.display_name}, {"handles", p.handles},
       {"contacts", p.contacts},   {"messages", p.messages},         {"updated_at", format_rfc3339(p.updated_at)}};
}

std::string content_hash(const PersonRecord& p) {
  nlohmann::json j = p;
  j.erase("updated_at");
  return fmt::format("{:016x}", fnv1a_64(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

std::uint64_t fnv1a_64(std::string_view text, std::uint64_t h) {
  for (unsigned char c : text) {
    h ^= c;
    h *= k_fnv64_prime;
  }
  return h;
}

}  // namespace chansync
