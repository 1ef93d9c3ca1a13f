#include "tests/support/fake_chatwoot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <regex>

namespace chansync::test {
namespace {

using nlohmann::json;

Scripted answer(int status, const json& body) {
  return {status, body.dump()};
}

Scripted not_found() {
  return answer(404, {{"error", "Resource could not be found"}});
}

// What Chatwoot answers a record that fails validation (render_record_invalid).
Scripted invalid(const std::vector<std::string>& messages, const std::vector<std::string>& attributes) {
  std::string text;
  for (const auto& m : messages) text += (text.empty() ? "" : ", ") + m;
  return answer(422, {{"message", text}, {"attributes", attributes}});
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

json nullable(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}

}  // namespace

FakeChatwoot::FakeChatwoot(std::string token, std::string channel_type)
    : m_token(std::move(token)), m_channel_type(std::move(channel_type)) {}

Scripted FakeChatwoot::handle(const httplib::Request& req) {
  Fault before, after;
  {
    std::lock_guard lock(m_mu);
    before = m_before;
    after = m_after;
  }
  if (before)
    if (auto s = before(req)) return *s;
  Scripted s;
  {
    std::lock_guard lock(m_mu);
    s = route(req);
  }
  if (after)
    if (auto a = after(req)) return *a;
  return s;
}

void FakeChatwoot::fail_before(Fault f) {
  std::lock_guard lock(m_mu);
  m_before = std::move(f);
}

void FakeChatwoot::fail_after(Fault f) {
  std::lock_guard lock(m_mu);
  m_after = std::move(f);
}

void FakeChatwoot::drop_content_attributes() {
  std::lock_guard lock(m_mu);
  m_drop_attributes = true;
}

std::int64_t FakeChatwoot::add_contact(Contact c) {
  std::lock_guard lock(m_mu);
  c.id = ++m_next_id;
  m_contacts.push_back(c);
  return c.id;
}

void FakeChatwoot::edit_contact(std::int64_t id, const std::function<void(Contact&)>& edit) {
  std::lock_guard lock(m_mu);
  if (Contact* c = contact(id)) edit(*c);
}

std::int64_t FakeChatwoot::add_conversation(std::int64_t contact_id, std::int64_t inbox_id) {
  std::lock_guard lock(m_mu);
  Conversation c{++m_next_id, contact_id, inbox_id, "", json::object(), {}};
  m_conversations.push_back(c);
  return c.id;
}

void FakeChatwoot::delete_conversation(std::int64_t id) {
  std::lock_guard lock(m_mu);
  std::erase_if(m_conversations, [&](const Conversation& c) { return c.id == id; });
}

void FakeChatwoot::delete_contact(std::int64_t id) {
  std::lock_guard lock(m_mu);
  std::erase_if(m_contacts, [&](const Contact& c) { return c.id == id; });
  std::erase_if(m_conversations, [&](const Conversation& c) { return c.contact_id == id; });
}

std::vector<FakeChatwoot::Contact> FakeChatwoot::contacts() {
  std::lock_guard lock(m_mu);
  return m_contacts;
}

std::vector<FakeChatwoot::Conversation> FakeChatwoot::conversations() {
  std::lock_guard lock(m_mu);
  return m_conversations;
}

std::vector<std::string> FakeChatwoot::arrivals() {
  std::lock_guard lock(m_mu);
  return m_arrivals;
}

FakeChatwoot::Contact* FakeChatwoot::contact(std::int64_t id) {
  for (auto& c : m_contacts)
    if (c.id == id) return &c;
  return nullptr;
}

FakeChatwoot::Conversation* FakeChatwoot::conversation(std::int64_t id) {
  for (auto& c : m_conversations)
    if (c.id == id) return &c;
  return nullptr;
}

json FakeChatwoot::contact_json(const Contact& c) const {
  return {{"id", c.id},
          {"name", c.name},
          {"email", nullable(c.email)},
          {"phone_number", nullable(c.phone_number)},
          {"identifier", nullable(c.identifier)},
          {"blocked", false},
          {"thumbnail", ""},
          {"additional_attributes", json::object()},
          {"custom_attributes", json::object()},
          {"availability_status", "offline"},
          {"last_activity_at", nullptr},
          {"created_at", 1'700'000'000}};
}

json FakeChatwoot::conversation_json(const Conversation& c) const {
  const Contact* sender = nullptr;
  for (const auto& k : m_contacts)
    if (k.id == c.contact_id) sender = &k;
  return {{"id", c.id},
          {"account_id", k_account},
          {"inbox_id", c.inbox_id},
          {"status", "open"},
          {"additional_attributes", c.additional_attributes},
          {"custom_attributes", json::object()},
          {"messages", json::array()},
          {"meta", {{"sender", sender ? contact_json(*sender) : json(nullptr)}, {"channel", m_channel_type}}}};
}

Scripted FakeChatwoot::route(const httplib::Request& req) {
  if (!req.has_header("api_access_token") || req.get_header_value("api_access_token") != m_token)
    return answer(401, {{"error", "Invalid Access Token"}});
  static const std::regex k_account_path(R"(^/api/v1/accounts/(\d+)(/.*)$)");
  std::smatch m;
  const std::string path = req.path;
  if (!std::regex_match(path, m, k_account_path)) return not_found();
  if (std::stoll(m[1].str()) != k_account)
    return answer(401, {{"error", "You are not authorized to access this account"}});
  const std::string rest = m[2].str();
  json body = json::object();
  if (!req.body.empty()) {
    body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return answer(400, {{"error", "unparseable JSON body"}});
  }
  static const std::regex k_inbox_path(R"(^/inboxes/(\d+)/$)"), k_contact(R"(^/contacts/(\d+)$)"),
      k_contact_conversations(R"(^/contacts/(\d+)/conversations$)"), k_messages(R"(^/conversations/(\d+)/messages$)"),
      k_message(R"(^/conversations/(\d+)/messages/(\d+)$)");
  const std::string& method = req.method;
  if (method == "GET" && std::regex_match(rest, m, k_inbox_path)) {
    if (std::stoll(m[1].str()) != k_inbox) return not_found();
    return answer(200, {{"id", k_inbox}, {"name", "chansync"}, {"channel_type", m_channel_type}, {"channel_id", 1}});
  }
  if (method == "GET" && rest == "/contacts/search") return search(req);
  if (method == "POST" && rest == "/contacts") {
    if (body.contains("inbox_id") && body["inbox_id"] != json(k_inbox)) return not_found();
    return save_contact(body, nullptr);
  }
  if (std::regex_match(rest, m, k_contact)) {
    Contact* c = contact(std::stoll(m[1].str()));
    if (!c) return not_found();
    if (method == "GET") return answer(200, {{"payload", contact_json(*c)}});
    if (method == "PUT") return save_contact(body, c);
    if (method == "DELETE") {
      const std::int64_t id = c->id;
      std::erase_if(m_contacts, [&](const Contact& k) { return k.id == id; });
      std::erase_if(m_conversations, [&](const Conversation& k) { return k.contact_id == id; });
      return {200, ""};
    }
  }
  if (method == "GET" && std::regex_match(rest, m, k_contact_conversations)) {
    const std::int64_t id = std::stoll(m[1].str());
    if (!contact(id)) return not_found();
    // Contacts::ConversationsController#index: the contact's conversations in the user's inboxes,
    // newest (highest id) first, at most 20, no paging.
    std::vector<const Conversation*> theirs;
    for (const auto& c : m_conversations)
      if (c.contact_id == id) theirs.push_back(&c);
    std::sort(theirs.begin(), theirs.end(), [](const auto* a, const auto* b) { return a->id > b->id; });
    json list = json::array();
    for (std::size_t i = 0; i < theirs.size() && i < 20; ++i) list.push_back(conversation_json(*theirs[i]));
    return answer(200, {{"payload", list}});
  }
  if (method == "POST" && rest == "/conversations") return create_conversation(body);
  if (method == "POST" && rest == "/actions/contact_merge") return merge_contacts(body);
  if (std::regex_match(rest, m, k_messages)) {
    Conversation* c = conversation(std::stoll(m[1].str()));
    if (!c) return not_found();
    if (method == "GET") return list_messages(*c, req);
    if (method == "POST") return post_message(*c, body);
  }
  if (method == "DELETE" && std::regex_match(rest, m, k_message)) {
    // MessagesController#destroy: the message stays, as "This message was deleted", without its
    // attachments and with content_attributes {deleted: true}.
    Conversation* c = conversation(std::stoll(m[1].str()));
    if (!c) return not_found();
    const std::int64_t id = std::stoll(m[2].str());
    const auto it = std::find_if(c->messages.begin(), c->messages.end(), [&](const Message& k) { return k.id == id; });
    if (it == c->messages.end()) return not_found();
    it->content = "This message was deleted";
    it->content_attributes = {{"deleted", true}};
    return answer(200, {{"id", it->id}, {"content", it->content}, {"content_attributes", it->content_attributes}});
  }
  return not_found();
}

// ContactMergeAction: both contacts must exist (404) and differ (422); the mergee's conversations
// move to the base, which keeps its own fields and takes the mergee's for those it lacks; the mergee
// is deleted. Answers the base contact.
Scripted FakeChatwoot::merge_contacts(const json& body) {
  if (!body.contains("base_contact_id") || !body.contains("mergee_contact_id") ||
      !body["base_contact_id"].is_number_integer() || !body["mergee_contact_id"].is_number_integer())
    return answer(422, {{"message", "base_contact_id and mergee_contact_id are required"}});
  const std::int64_t base_id = body["base_contact_id"], mergee_id = body["mergee_contact_id"];
  if (base_id == mergee_id) return answer(422, {{"message", "contacts should be different"}});
  Contact* base = contact(base_id);
  Contact* mergee = contact(mergee_id);
  if (!base || !mergee) return not_found();
  for (auto& c : m_conversations)
    if (c.contact_id == mergee_id) c.contact_id = base_id;
  const Contact gone = *mergee;
  std::erase_if(m_contacts, [&](const Contact& k) { return k.id == mergee_id; });
  base = contact(base_id);
  for (auto [field, from] :
       {std::pair{&base->name, &gone.name}, {&base->email, &gone.email}, {&base->phone_number, &gone.phone_number}})
    if (field->empty()) *field = *from;
  return answer(200, contact_json(*base));
}

Scripted FakeChatwoot::search(const httplib::Request& req) {
  const std::string q = req.get_param_value("q");
  const int page = req.has_param("page") ? std::max(1, std::atoi(req.get_param_value("page").c_str())) : 1;
  std::vector<const Contact*> hits;
  for (const auto& c : m_contacts) {
    const bool resolved = !c.identifier.empty() || !c.email.empty() || !c.phone_number.empty();
    const auto like = [&](const std::string& field) { return lower(field).find(lower(q)) != std::string::npos; };
    if (resolved && !q.empty() &&
        (like(c.name) || like(c.email) || like(c.phone_number) || c.identifier.find(q) != std::string::npos))
      hits.push_back(&c);
  }
  json payload = json::array();
  for (std::size_t i = static_cast<std::size_t>(page - 1) * 15;
       i < hits.size() && i < static_cast<std::size_t>(page) * 15; ++i)
    payload.push_back(contact_json(*hits[i]));
  return answer(200, {{"meta", {{"count", hits.size()}, {"current_page", page}}}, {"payload", payload}});
}

Scripted FakeChatwoot::save_contact(const json& body, Contact* existing) {
  Contact next = existing ? *existing : Contact{};
  const auto text = [&](const char* key, std::string& field) {
    if (body.contains(key) && body[key].is_string()) field = body[key].get<std::string>();
  };
  text("name", next.name);
  text("email", next.email);
  text("phone_number", next.phone_number);
  text("identifier", next.identifier);
  next.email = lower(next.email);
  std::vector<std::string> errors, attributes;
  static const std::regex k_e164(R"(^\+[1-9]\d{1,14}$)");
  if (!next.phone_number.empty() && !std::regex_match(next.phone_number, k_e164)) {
    errors.push_back("Phone number should be in e164 format");
    attributes.push_back("phone_number");
  }
  for (const auto& other : m_contacts) {
    if (existing && other.id == existing->id) continue;
    if (!next.email.empty() && other.email == next.email) {
      errors.push_back("Email has already been taken");
      attributes.push_back("email");
    }
    if (!next.phone_number.empty() && other.phone_number == next.phone_number) {
      errors.push_back("Phone number has already been taken");
      attributes.push_back("phone_number");
    }
    if (!next.identifier.empty() && other.identifier == next.identifier) {
      errors.push_back("Identifier has already been taken");
      attributes.push_back("identifier");
    }
  }
  if (!errors.empty()) return invalid(errors, attributes);
  m_arrivals.push_back(next.identifier);
  if (existing) {
    *existing = next;
    return answer(200, {{"payload", contact_json(next)}});
  }
  next.id = ++m_next_id;
  m_contacts.push_back(next);
  const json contact_inbox = {{"inbox", {{"id", k_inbox}, {"channel_type", m_channel_type}}},
                              {"source_id", fmt::format("generated-{}", next.id)}};
  return answer(200, {{"payload", {{"contact", contact_json(next)}, {"contact_inbox", contact_inbox}}}});
}

Scripted FakeChatwoot::create_conversation(const json& body) {
  if (!body.contains("source_id") || !body["source_id"].is_string() || !body.contains("inbox_id"))
    return answer(422, {{"error", "source_id and inbox_id are required"}});
  if (body["inbox_id"] != json(k_inbox)) return not_found();
  const std::int64_t contact_id = body.value("contact_id", std::int64_t{0});
  if (!contact(contact_id)) return not_found();
  const std::string source = body["source_id"].get<std::string>();
  // A contact_inbox is unique per (inbox, source_id); the same contact reuses its own.
  for (const auto& c : m_conversations)
    if (c.inbox_id == k_inbox && c.source_id == source && c.contact_id != contact_id)
      return answer(422, {{"error", "source_id should be unique"}});
  Conversation c{++m_next_id, contact_id, k_inbox, source, body.value("additional_attributes", json::object()), {}};
  m_conversations.push_back(c);
  return answer(200, conversation_json(c));
}

Scripted FakeChatwoot::list_messages(Conversation& c, const httplib::Request& req) {
  std::vector<const Message*> older;
  const std::int64_t before =
      req.has_param("before") ? std::stoll(req.get_param_value("before")) : std::numeric_limits<std::int64_t>::max();
  for (const auto& m : c.messages)
    if (m.id < before) older.push_back(&m);
  json payload = json::array();
  for (std::size_t i = older.size() > 20 ? older.size() - 20 : 0; i < older.size(); ++i) {
    const Message& m = *older[i];
    payload.push_back({{"id", m.id},
                       {"content", m.content},
                       {"message_type", m.message_type == "incoming" ? 0 : 1},
                       {"private", m.is_private},
                       {"content_type", "text"},
                       {"content_attributes", m.content_attributes},
                       {"conversation_id", c.id},
                       {"created_at", 1'700'000'000}});
  }
  return answer(200, {{"meta", {{"labels", json::array()}}}, {"payload", payload}});
}

namespace {

// What Chatwoot's Liquidable concern makes of an outgoing message (Liquid::Template.parse(content)
// .render(drops), with `...` spans wrapped in {% raw %}), as far as chansync's messages go: a string
// literal ({{ '...' }}) renders as itself, an unknown variable as nothing, a tag ({% ... %}) runs and
// leaves nothing here.
std::string render_liquid(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '`') {
      const auto close = text.find('`', i + 1);
      if (close != std::string::npos) {
        out.append(text, i, close + 1 - i);
        i = close + 1;
        continue;
      }
    }
    const bool output = text.compare(i, 2, "{{") == 0, tag = text.compare(i, 2, "{%") == 0;
    if (output || tag) {
      const auto end = text.find(output ? "}}" : "%}", i + 2);
      if (end == std::string::npos) return text;  // Liquid::SyntaxError: Chatwoot keeps the content
      std::string inner = text.substr(i + 2, end - i - 2);
      inner.erase(0, inner.find_first_not_of(' '));
      inner.erase(inner.find_last_not_of(' ') + 1);
      if (output && inner.size() >= 2 && inner.front() == '\'' && inner.back() == '\'')
        out += inner.substr(1, inner.size() - 2);
      i = end + 2;
      continue;
    }
    out += text[i++];
  }
  return out;
}

}  // namespace

Scripted FakeChatwoot::post_message(Conversation& c, const json& body) {
  if (!body.contains("content") || !body["content"].is_string() || body["content"].get<std::string>().empty())
    return invalid({"Content can't be blank"}, {"content"});
  const std::string type = body.value("message_type", "outgoing");
  if (type != "incoming" && type != "outgoing") return invalid({"Message type is not included in the list"}, {});
  if (type == "incoming" && m_channel_type != "Channel::Api")
    return answer(422, {{"error", "Incoming messages are only allowed in Api inboxes"}});
  const std::string content = body["content"].get<std::string>();
  Message m{++m_next_id, type == "outgoing" ? render_liquid(content) : content, type, body.value("private", false),
            m_drop_attributes ? json::object() : body.value("content_attributes", json::object())};
  c.messages.push_back(m);
  return answer(200, {{"id", m.id},
                      {"content", m.content},
                      {"message_type", type == "incoming" ? 0 : 1},
                      {"private", m.is_private},
                      {"content_attributes", m.content_attributes},
                      {"conversation_id", c.id}});
}

}  // namespace chansync::test
