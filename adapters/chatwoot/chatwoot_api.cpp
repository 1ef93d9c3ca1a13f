#include "adapters/chatwoot/chatwoot_api.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <string_view>

#include "adapters/stop_waits.hpp"

namespace chansync::adapters::chatwoot {
namespace {

using nlohmann::json;

// Chatwoot's Rack::Attack default is 3000 requests a minute per client (50/s); pace at 90% of it.
constexpr double k_requests_per_second = 45;

// Ids are integers on a Chatwoot server; the spec types some as "number" (Prism's examples send 0),
// and a proxy may quote them.
std::optional<std::int64_t> as_id(const json& j) {
  if (j.is_number_integer()) return j.get<std::int64_t>();
  if (j.is_number_float()) {
    const double d = j.get<double>();
    if (d >= 0 && d < 9e15 && std::floor(d) == d) return static_cast<std::int64_t>(d);
    return std::nullopt;
  }
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    return std::stoll(s);
  }
  return std::nullopt;
}

std::string text_of(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  const auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::optional<json> parse_json(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

Error protocol(const std::string& connector, const std::string& what, const std::string& expected,
               const std::string& body) {
  return Error{Errc::protocol,
               fmt::format("{}: Chatwoot answered 2xx but not with {} ({}); check targets.{}.base_url points at a "
                           "Chatwoot server",
                           what, expected, body_excerpt(body, 120), connector),
               connector};
}

std::optional<WireContact> parse_contact(const json& c) {
  const json* id = member(c, "id");
  if (!id) return std::nullopt;
  auto n = as_id(*id);
  if (!n) return std::nullopt;
  return WireContact{*n, text_of(c, "identifier"), text_of(c, "name"), text_of(c, "email"), text_of(c, "phone_number")};
}

// A list answer's "payload" array (contacts, conversations, messages); nullopt when there is none.
std::optional<std::vector<json>> payload_array(const std::string& body) {
  auto j = parse_json(body);
  if (!j) return std::nullopt;
  const json* payload = member(*j, "payload");
  if (!payload || !payload->is_array()) return std::nullopt;
  return payload->get<std::vector<json>>();
}

json contact_body(const ContactFields& f) {
  json body = {{"name", f.name}, {"identifier", f.identifier}};
  if (!f.email.empty() || f.clear_email) body["email"] = f.email;
  if (!f.phone_number.empty() || f.clear_phone) body["phone_number"] = f.phone_number;
  return body;
}

}  // namespace

Api::Api(ApiOptions opts)
    : m_opts(std::move(opts)),
      // The token is a header, not the client's auth: listed so that a server echoing it is redacted.
      m_http(HttpOptions{.connector = m_opts.connector,
                         .requests_per_second = k_requests_per_second,
                         .secrets = {m_opts.token},
                         .sleep = m_opts.sleep}) {}

std::string Api::url(const std::string& rest) const {
  return fmt::format("{}/api/v1/accounts/{}{}", m_opts.base_url, m_opts.account_id, rest);
}

HttpRequest Api::request(std::string method, const std::string& rest, const json* body) const {
  HttpRequest req{std::move(method), url(rest)};
  req.headers = {{"api_access_token", m_opts.token}, {"Accept", "application/json"}};
  if (body) {
    req.headers.emplace_back("Content-Type", "application/json");
    // Text from a source that is not valid UTF-8 is sent with U+FFFD rather than not at all.
    req.body = body->dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return req;
}

HttpRequest Api::inbox_request() const {
  // The spec's path ends in a slash (without it Prism routes to the PATCH of the same inbox).
  return request("GET", fmt::format("/inboxes/{}/", m_opts.inbox_id));
}

Result<HttpResponse> Api::call(const HttpRequest& req, const std::string& what) {
  auto resp = m_http.send(req);
  if (!resp) {
    resp.error().message = fmt::format("{}: {}", what, resp.error().message);
    return resp;
  }
  if (resp->status >= 200 && resp->status < 300) return resp;
  const std::string text = error_text(m_http.redact(resp->body));  // a server may echo the token
  const int st = resp->status;
  const std::string where = m_http.redact(req.url.substr(0, req.url.find('?')));
  if (st >= 500 && !req.safe_to_repeat()) {
    Error e = m_http.error(req, *resp, what, text);
    e.message = fmt::format(
        "{} failed with HTTP {} ({} {}): {}; not retried, since Chatwoot may have acted on it: the next push reads "
        "back what is there and sends only what is missing (`chansync health` checks Chatwoot)",
        what, st, req.method, where, text);
    return std::unexpected(std::move(e));
  }
  if (st == 401 || st == 403 || st == 429 || st >= 500) return std::unexpected(m_http.error(req, *resp, what, text));
  Error e{Errc::remote, fmt::format("Chatwoot refused {} with HTTP {} ({} {}): {}", what, st, req.method, where, text),
          m_opts.connector, st};
  if (st == 404)
    e.message += fmt::format(
        "; it was deleted in Chatwoot meanwhile, or targets.{}.account_id or inbox_id is wrong (`chansync "
        "health` checks)",
        m_opts.connector);
  return std::unexpected(std::move(e));
}

Result<std::optional<WireContact>> Api::find_contact(const std::string& identifier) {
  const std::string what = fmt::format("searching Chatwoot contacts for identifier {}", identifier);
  // Bounded: a person_id that is a substring of hundreds of names is no real case, and a server
  // ignoring `page` would otherwise be read forever.
  constexpr int k_max_pages = 20;
  for (int page = 1; page <= k_max_pages; ++page) {
    const auto req = request("GET", fmt::format("/contacts/search?q={}&page={}", url_encode(identifier), page));
    auto resp = call(req, what);
    if (!resp) return std::unexpected(resp.error());
    auto items = payload_array(resp->body);
    if (!items)
      return std::unexpected(protocol(m_opts.connector, what, "a contacts list ({\"payload\":[...]})", resp->body));
    for (const auto& item : *items)
      if (auto c = parse_contact(item); c && c->identifier == identifier) return c;
    if (items->size() < k_contacts_page) break;
  }
  return std::optional<WireContact>{};
}

Result<std::int64_t> Api::create_contact(const ContactFields& fields) {
  const std::string what = fmt::format("creating the contact of person {}", fields.identifier);
  json body = contact_body(fields);
  body["inbox_id"] = m_opts.inbox_id;
  auto req = request("POST", "/contacts", &body);
  req.idempotent = true;  // the identifier is unique per account: a repeat fails, never duplicates
  auto resp = call(req, what);
  if (!resp) return std::unexpected(resp.error());
  // A server answers {"payload":{"contact":{...},"contact_inbox":{...}}}; the spec documents the
  // contact's fields at the top level next to a "payload" array.
  const auto j = parse_json(resp->body);
  if (j) {
    const json* payload = member(*j, "payload");
    const json* contact = payload ? member(*payload, "contact") : nullptr;
    for (const json* candidate : {contact, &*j, payload})
      if (candidate)
        if (auto c = parse_contact(*candidate)) return c->id;
    if (payload && payload->is_array() && !payload->empty())
      if (auto c = parse_contact(payload->front())) return c->id;
  }
  return std::unexpected(protocol(m_opts.connector, what, "a contact with an id", resp->body));
}

Result<void> Api::update_contact(std::int64_t id, const ContactFields& fields) {
  const json body = contact_body(fields);
  auto resp = call(request("PUT", fmt::format("/contacts/{}", id), &body),
                   fmt::format("updating contact {} (person {})", id, fields.identifier));
  if (!resp) return std::unexpected(resp.error());
  return {};
}

Result<WireContact> Api::get_contact(std::int64_t id) {
  const std::string what = fmt::format("reading contact {}", id);
  auto resp = call(request("GET", fmt::format("/contacts/{}", id)), what);
  if (!resp) return std::unexpected(resp.error());
  if (const auto j = parse_json(resp->body)) {
    const json* payload = member(*j, "payload");
    if (auto c = parse_contact(payload ? *payload : *j)) return *c;
  }
  return std::unexpected(protocol(m_opts.connector, what, "a contact ({\"payload\":{\"id\":...}})", resp->body));
}

Result<void> Api::delete_contact(std::int64_t id) {
  auto resp = call(request("DELETE", fmt::format("/contacts/{}", id)), fmt::format("deleting contact {}", id));
  if (!resp) return std::unexpected(resp.error());
  return {};
}

Result<void> Api::delete_message(std::int64_t conversation_id, std::int64_t message_id) {
  auto resp = call(request("DELETE", fmt::format("/conversations/{}/messages/{}", conversation_id, message_id)),
                   fmt::format("deleting message {} of conversation {}", message_id, conversation_id));
  if (!resp) return std::unexpected(resp.error());
  return {};
}

Result<void> Api::merge_contacts(std::int64_t base, std::int64_t mergee) {
  const json body = {{"base_contact_id", base}, {"mergee_contact_id", mergee}};
  auto req = request("POST", "/actions/contact_merge", &body);
  req.idempotent = true;  // a merge done already leaves no mergee: the repeat fails with 404
  auto resp = call(req, fmt::format("merging contact {} into contact {}", mergee, base));
  if (!resp) return std::unexpected(resp.error());
  return {};
}

Result<std::vector<WireConversation>> Api::contact_conversations(std::int64_t contact_id) {
  const std::string what = fmt::format("listing the conversations of contact {}", contact_id);
  auto resp = call(request("GET", fmt::format("/contacts/{}/conversations", contact_id)), what);
  if (!resp) return std::unexpected(resp.error());
  auto items = payload_array(resp->body);
  if (!items)
    return std::unexpected(protocol(m_opts.connector, what, "a conversations list ({\"payload\":[...]})", resp->body));
  std::vector<WireConversation> out;
  for (const auto& item : *items) {
    const json* id = member(item, "id");
    const json* inbox = member(item, "inbox_id");
    const auto n = id ? as_id(*id) : std::nullopt;
    if (!n) continue;
    WireConversation c{*n, inbox ? as_id(*inbox).value_or(0) : 0, ""};
    if (const json* attrs = member(item, "additional_attributes")) c.source_key = text_of(*attrs, "chansync_source_id");
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::int64_t> Api::create_conversation(std::int64_t contact_id, const std::string& source_id,
                                              const std::string& channel) {
  const std::string what = fmt::format("opening the {} conversation of contact {}", channel, contact_id);
  const json body = {{"source_id", source_id},
                     {"inbox_id", m_opts.inbox_id},
                     {"contact_id", contact_id},
                     {"additional_attributes", {{"chansync_source_id", source_id}, {"chansync_channel", channel}}}};
  auto resp = call(request("POST", "/conversations", &body), what);
  if (!resp) return std::unexpected(resp.error());
  if (const auto j = parse_json(resp->body))
    if (const json* id = member(*j, "id"))
      if (auto n = as_id(*id)) return *n;
  return std::unexpected(protocol(m_opts.connector, what, "a conversation with an id", resp->body));
}

Result<std::vector<WireMessage>> Api::messages(std::int64_t conversation_id,
                                               const std::function<bool(const std::vector<WireMessage>&)>& enough) {
  const std::string what = fmt::format("reading the messages of conversation {}", conversation_id);
  std::vector<WireMessage> all;
  std::optional<std::int64_t> before;
  for (;;) {
    // `before` pages back (Chatwoot's MessageFinder; the spec does not list the parameter).
    std::string rest = fmt::format("/conversations/{}/messages", conversation_id);
    if (before) rest += fmt::format("?before={}", *before);
    auto resp = call(request("GET", rest), what);
    if (!resp) return std::unexpected(resp.error());
    auto items = payload_array(resp->body);
    if (!items)
      return std::unexpected(protocol(m_opts.connector, what, "a messages list ({\"payload\":[...]})", resp->body));
    std::vector<WireMessage> page;
    for (const auto& item : *items) {
      const json* id = member(item, "id");
      WireMessage m{id ? as_id(*id).value_or(0) : 0, text_of(item, "content"), "", false};
      if (const json* attrs = member(item, "content_attributes")) {
        m.chansync_id = text_of(*attrs, "chansync_id");
        const json* note = member(*attrs, "chansync_note");
        m.chansync_note = note && note->is_boolean() && note->get<bool>();
      }
      page.push_back(std::move(m));
    }
    std::sort(page.begin(), page.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    all.insert(all.begin(), page.begin(), page.end());
    if (page.size() < k_messages_page) break;
    // A server that ignores `before` sends the same page again: what is older cannot be read, and
    // taking the newest 20 for the whole conversation would post the rest again.
    if (before && page.front().id >= *before)
      return std::unexpected(
          Error{Errc::protocol,
                fmt::format("{}: Chatwoot answered the newest messages again when asked for those before message {} (a "
                            "server or proxy that drops the `before` parameter); chansync cannot tell which of its "
                            "messages are there and posts none",
                            what, *before),
                m_opts.connector});
    before = page.front().id;
    if (enough && enough(all)) break;
  }
  return all;
}

// Chatwoot renders an outgoing message's content as a Liquid template before storing it (its
// Liquidable concern), except within `backticks`: "Hi {{first_name}}" of a campaign that really went
// out that way would be stored as "Hi ". Outside backtick spans (found as Chatwoot finds them:
// /`(.*?)`/m), each "{" that would open a tag ("{{", "{%") is written as the Liquid string literal
// {{ '{' }}, which renders as itself (the brace alone: Liquid 5.5's tokenizer refuses '{%' inside
// one).
std::string liquid_literal(const std::string& text) {
  if (text.find("{{") == std::string::npos && text.find("{%") == std::string::npos) return text;
  std::string out;
  out.reserve(text.size() + 32);
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '`') {
      const auto close = text.find('`', i + 1);
      if (close != std::string::npos) {
        out.append(text, i, close + 1 - i);  // left to Chatwoot's {% raw %}
        i = close + 1;
        continue;
      }
    }
    if (text[i] == '{' && i + 1 < text.size() && (text[i + 1] == '{' || text[i + 1] == '%'))
      out += "{{ '{' }}";
    else
      out += text[i];
    ++i;
  }
  return out;
}

namespace {

std::size_t characters(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// The first `n` characters of `s` (UTF-8).
std::string first_characters(const std::string& s, std::size_t n) {
  std::size_t seen = 0;
  for (std::size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && seen++ == n) return s.substr(0, i);
  return s;
}

}  // namespace

std::string message_content(const std::string& text, bool outgoing) {
  const auto sent = [&](const std::string& t) { return outgoing ? liquid_literal(t) : t; };
  std::string out = sent(text);
  if (characters(out) <= k_max_content) return out;
  // Chatwoot refuses a longer content for good (it checks before rendering), which would keep the
  // person from ever arriving: the text is cut, on a character boundary, and says so.
  const std::size_t total = characters(text);
  std::size_t keep = std::min(total, k_max_content - 100);
  for (;;) {
    out = sent(first_characters(text, keep)) +
          fmt::format("\n[cut: {} more characters; Chatwoot keeps at most {}, chansync has it whole]", total - keep,
                      k_max_content);
    const std::size_t length = characters(out);
    if (length <= k_max_content || keep == 0) return out;
    keep -= std::min(keep, length - k_max_content);
  }
}

Result<void> Api::pace_conversation(std::int64_t id) {
  using clock = std::chrono::steady_clock;
  constexpr auto k_minute = std::chrono::minutes(1);
  auto& posted = m_posted[id];
  const auto now = clock::now();
  while (!posted.empty() && now - posted.front() >= k_minute) posted.pop_front();
  if (posted.size() >= k_conversation_per_minute) {
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(posted.front() + k_minute - now);
    spdlog::info(
        "{}: conversation {} had {} messages in the last minute; waiting {:.0f} s (Chatwoot's limit per "
        "conversation)",
        m_opts.connector, id, posted.size(), wait.count() / 1000.0);
    if (m_opts.sleep)
      m_opts.sleep(wait);
    else if (!wait_unless_stopped(wait))
      return fail(Errc::interrupted, fmt::format("stopped by a signal while pacing messages to conversation {}", id),
                  m_opts.connector);
    posted.pop_front();
  }
  posted.push_back(clock::now());
  return {};
}

Result<std::int64_t> Api::post_message(std::int64_t conversation_id, const NewMessage& message) {
  const json body = {
      {"content", message_content(message.content, std::string_view(message.message_type) != "incoming")},
      {"message_type", message.message_type},
      {"private", message.is_private},
      {"content_type", "text"},
      {"content_attributes", message.content_attributes}};
  const std::string what = message.is_private
                               ? fmt::format("posting the private note to conversation {}", conversation_id)
                               : fmt::format("posting message {} to conversation {}",
                                             message.content_attributes.value("chansync_id", "?"), conversation_id);
  if (auto paced = pace_conversation(conversation_id); !paced) return std::unexpected(paced.error());
  auto resp = call(request("POST", fmt::format("/conversations/{}/messages", conversation_id), &body), what);
  if (!resp && resp.error().http_status == 422 && resp.error().message.find("Too many messages") != std::string::npos) {
    // Chatwoot's flood limit for one conversation (the pacing keeps under its default): a limit of the
    // target, not a fault of the person, so it is not held against them.
    Error e = resp.error();
    e.code = Errc::rate_limited;
    e.message += fmt::format(
        "; Chatwoot takes only so many messages a minute into one conversation (CONVERSATION_MESSAGE_PER_MINUTE_LIMIT, "
        "below chansync's {} a minute here): the next push posts the rest",
        k_conversation_per_minute);
    return std::unexpected(std::move(e));
  }
  if (!resp) return std::unexpected(resp.error());
  // Chatwoot answers with the message it stored. Only an answer echoing this message's content is
  // judged (a mock's example body is not an echo).
  const auto echo = parse_json(resp->body);
  const json* attrs = echo ? member(*echo, "content_attributes") : nullptr;
  const auto& sent = message.content_attributes;
  if (attrs && attrs->is_object() && text_of(*echo, "content") == message.content && !sent.empty() &&
      !attrs->contains(sent.begin().key())) {
    m_attributes_dropped = Error{
        Errc::remote,
        fmt::format("{}: Chatwoot stored the message without the content_attributes chansync sent ({}), so chansync "
                    "cannot recognise its messages on a later push and would post them again every time; no more "
                    "messages are posted to it. Upgrade Chatwoot to a release whose API keeps a message's "
                    "content_attributes",
                    what, sent.begin().key()),
        m_opts.connector};
    return std::unexpected(*m_attributes_dropped);
  }
  if (echo)
    if (const json* id = member(*echo, "id"))
      if (auto n = as_id(*id)) return *n;
  return 0;
}

std::optional<WireInbox> parse_inbox(const std::string& body) {
  const auto j = parse_json(body);
  if (!j) return std::nullopt;
  const json* id = member(*j, "id");
  const auto n = id ? as_id(*id) : std::nullopt;
  if (!n) return std::nullopt;
  return WireInbox{*n, text_of(*j, "name"), text_of(*j, "channel_type")};
}

std::string error_text(const std::string& body) {
  const auto j = parse_json(body);
  if (!j || !j->is_object()) return body_excerpt(body);
  std::vector<std::string> parts;
  for (const char* key : {"message", "error", "description"})
    if (auto t = text_of(*j, key); !t.empty()) parts.push_back(t);
  if (const json* errors = member(*j, "errors")) {
    if (errors->is_array()) {
      for (const auto& e : *errors) {
        if (e.is_string()) parts.push_back(e.get<std::string>());
        const std::string field = text_of(e, "field"), message = text_of(e, "message");
        if (!message.empty()) parts.push_back(field.empty() ? message : field + ": " + message);
      }
    } else if (errors->is_object()) {  // {"email":["has already been taken"]}
      for (const auto& [field, list] : errors->items())
        if (list.is_array())
          for (const auto& m : list)
            if (m.is_string()) parts.push_back(field + " " + m.get<std::string>());
    }
  }
  if (parts.empty()) return body_excerpt(body);
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return body_excerpt(out);
}

}  // namespace chansync::adapters::chatwoot
