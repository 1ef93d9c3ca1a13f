#include "sync/plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>

namespace chansync {

const char* to_string(PlanAction a) {
  switch (a) {
    case PlanAction::create:
      return "create";
    case PlanAction::update:
      return "update";
    case PlanAction::skip:
      return "skip";
    case PlanAction::remove:
      return "delete";
    case PlanAction::parked:
      return "parked";
  }
  return "skip";
}

PlanAction plan_action(const std::string& hash, const PushLedgerEntry* previous, bool full, const PushFailure* failed) {
  if (previous && previous->hash == hash && !full) return PlanAction::skip;
  if (failed && failed->hash == hash && failed->runs >= k_park_after && !full) return PlanAction::parked;
  return previous ? PlanAction::update : PlanAction::create;
}

namespace {

std::uint32_t fnv1a(std::string_view text) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : text) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

// (name, fingerprint, count) of each field, in record order.
struct Field {
  std::string name, print;
  std::size_t count = 0;
  bool counted = false;
};

constexpr std::array<const char*, 4> k_fields = {"display_name", "handles", "contacts", "messages"};

Field field(const char* name, const nlohmann::json& v, const std::string& text) {
  return {name, fmt::format("{:08x}", fnv1a(text)), v.is_array() ? v.size() : 0, v.is_array()};
}

// The JSON text nlohmann::json::dump() prints for a record's members (keys in sorted order, no
// spaces, non-ASCII kept), written straight from the record: building the json tree first was most
// of a push's cost. ok() turns false at a string that is not UTF-8, which dump() refuses (then the
// caller goes through dump() for its error). model_test checks the two agree.
class JsonText {
 public:
  bool ok() const { return m_ok; }
  std::string take() { return std::move(m_out); }

  void string(std::string_view s) {
    m_out += '"';
    for (std::size_t i = 0; i < s.size();) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x80) {
        const std::size_t n = utf8_length(s.substr(i));
        if (n == 0) {
          m_ok = false;
          return;
        }
        m_out.append(s.substr(i, n));
        i += n;
        continue;
      }
      switch (c) {
        case '"':
          m_out += "\\\"";
          break;
        case '\\':
          m_out += "\\\\";
          break;
        case '\b':
          m_out += "\\b";
          break;
        case '\f':
          m_out += "\\f";
          break;
        case '\n':
          m_out += "\\n";
          break;
        case '\r':
          m_out += "\\r";
          break;
        case '\t':
          m_out += "\\t";
          break;
        default:
          if (c < 0x20)
            m_out += fmt::format("\\u{:04x}", c);
          else
            m_out += static_cast<char>(c);
      }
      ++i;
    }
    m_out += '"';
  }
  void raw(std::string_view s) { m_out += s; }
  // "key": with a comma before every member but an object's first.
  void key(std::string_view k, bool& first) {
    m_out += first ? "\"" : ",\"";
    first = false;
    m_out += k;
    m_out += "\":";
  }
  void member(std::string_view k, std::string_view value, bool& first) {
    key(k, first);
    string(value);
  }
  template <class T, class F>
  void array(const std::vector<T>& items, F&& each) {
    m_out += '[';
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i) m_out += ',';
      each(items[i]);
    }
    m_out += ']';
  }

  void boolean(bool b) { m_out += b ? "true" : "false"; }
  void integer(std::int64_t n) { fmt::format_to(std::back_inserter(m_out), "{}", n); }

 private:
  // The length of the UTF-8 sequence `s` starts with (RFC 3629: no overlong forms, no surrogates,
  // nothing past U+10FFFF), 0 when it is not one.
  static std::size_t utf8_length(std::string_view s) {
    const auto b = [&](std::size_t i) { return i < s.size() ? static_cast<unsigned char>(s[i]) : 0u; };
    const unsigned c = b(0);
    const auto cont = [&](std::size_t i) { return (b(i) & 0xC0u) == 0x80u; };
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
      const unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
      return b(1) >= lo && b(1) <= hi && cont(2) ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
      const unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
      return b(1) >= lo && b(1) <= hi && cont(2) && cont(3) ? 4 : 0;
    }
    return 0;
  }

  std::string m_out;
  bool m_ok = true;
};

// Each writes what nlohmann::json(x).dump() prints, members in key order (model.cpp's to_json).
void write(JsonText& w, const Handle& h) {
  bool first = true;
  w.raw("{");
  w.member("kind", to_string(h.kind), first);
  w.member("value", h.value, first);
  w.key("verified", first);
  w.boolean(h.verified);
  w.raw("}");
}

void write(JsonText& w, const Attachment& a) {
  bool first = true;
  w.raw("{");
  w.member("name", a.name, first);
  if (a.size > 0) {
    w.key("size", first);
    w.integer(a.size);
  }
  w.member("type", a.type, first);
  w.member("url", a.url, first);
  w.raw("}");
}

void write(JsonText& w, const Message& m) {
  bool first = true;
  w.raw("{");
  if (!m.attachments.empty()) {
    w.key("attachments", first);
    w.array(m.attachments, [&](const Attachment& a) { write(w, a); });
  }
  w.key("author", first);
  bool author_first = true;
  w.raw("{");
  w.member("handle", m.author_handle, author_first);
  w.member("kind", to_string(m.author_kind), author_first);
  w.raw("}");
  w.member("channel", m.channel, first);
  w.member("connector", m.connector, first);
  w.member("conversation", m.conversation, first);
  w.member("direction", to_string(m.direction), first);
  w.member("id", m.id, first);
  if (m.kind != MessageKind::message) w.member("kind", to_string(m.kind), first);
  w.member("sent_at", format_rfc3339(m.sent_at), first);
  if (!m.status.empty()) w.member("status", m.status, first);
  w.member("text", m.text, first);
  w.raw("}");
}

void write(JsonText& w, const Contact& c) {
  bool first = true;
  w.raw("{");
  w.key("archived", first);
  w.boolean(c.archived);
  if (!c.attributes.empty()) {
    w.key("attributes", first);
    bool attribute_first = true;
    w.raw("{");
    for (const auto& [name, value] :
         {std::pair{"birth_date", &c.attributes.birth_date}, std::pair{"city", &c.attributes.city},
          std::pair{"postal_code", &c.attributes.postal_code}, std::pair{"street", &c.attributes.street}})
      if (!value->empty()) w.member(name, *value, attribute_first);
    w.raw("}");
  }
  w.member("connector", c.connector, first);
  w.key("handles", first);
  w.array(c.handles, [&](const Handle& h) { write(w, h); });
  w.member("id", c.id, first);
  w.member("name", c.display_name(), first);
  w.member("updated_at", format_rfc3339(c.updated_at), first);
  w.raw("}");
}

void write(JsonText& w, const std::string& s) {
  w.string(s);
}

template <class T>
void write(JsonText& w, const std::vector<T>& items) {
  w.array(items, [&](const T& x) { write(w, x); });
}

template <class T>
std::optional<std::string> json_text(const T& value) {
  JsonText w;
  write(w, value);
  return w.ok() ? std::optional(w.take()) : std::nullopt;
}

std::vector<Field> fields_of(const PersonRecord& p) {
  const nlohmann::json j = p;
  std::vector<Field> out;
  for (const char* name : k_fields) out.push_back(field(name, j.at(name), j.at(name).dump()));
  return out;
}

std::string fingerprint(const std::vector<Field>& fields) {
  std::string out;
  for (const auto& f : fields) {
    if (!out.empty()) out += ';';
    out += f.name + '=' + f.print;
    if (f.counted) out += '/' + std::to_string(f.count);
  }
  return out;
}

// digest() through nlohmann::json: the reference the direct path matches, and the path that reports
// text which is not UTF-8.
PersonDigest digest_via_json(const PersonRecord& p) {
  nlohmann::json j = p;
  j.erase("updated_at");
  // The hash runs over what j.dump() would print (an object's members in key order, no spaces),
  // one member at a time, so each member is serialised once for both.
  std::array<std::string, k_fields.size()> texts;  // of the fingerprinted fields, in k_fields' order
  std::uint64_t h = fnv1a_64("{");
  bool first = true;
  for (const auto& [key, value] : j.items()) {
    std::string text = value.dump();
    h = fnv1a_64(fmt::format("{}{}:", first ? "" : ",", nlohmann::json(key).dump()), h);
    h = fnv1a_64(text, h);
    first = false;
    if (const auto at = std::find(k_fields.begin(), k_fields.end(), key); at != k_fields.end())
      texts[static_cast<std::size_t>(at - k_fields.begin())] = std::move(text);
  }
  h = fnv1a_64("}", h);
  std::vector<Field> fields;
  for (std::size_t i = 0; i < k_fields.size(); ++i) fields.push_back(field(k_fields[i], j.at(k_fields[i]), texts[i]));
  return {fmt::format("{:016x}", h), fingerprint(fields)};
}

}  // namespace

std::string field_fingerprint(const PersonRecord& p) {
  return fingerprint(fields_of(p));
}

PersonDigest digest(const PersonRecord& p) {
  // The members of the record's JSON without updated_at, in key order.
  const auto contacts = json_text(p.contacts), display_name = json_text(p.display_name), handles = json_text(p.handles),
             messages = json_text(p.messages), person_id = json_text(p.person_id);
  if (!contacts || !display_name || !handles || !messages || !person_id) return digest_via_json(p);
  std::uint64_t h = fnv1a_64("{\"contacts\":");
  h = fnv1a_64(*contacts, h);
  h = fnv1a_64(",\"display_name\":", h);
  h = fnv1a_64(*display_name, h);
  h = fnv1a_64(",\"handles\":", h);
  h = fnv1a_64(*handles, h);
  h = fnv1a_64(",\"messages\":", h);
  h = fnv1a_64(*messages, h);
  h = fnv1a_64(",\"person_id\":", h);
  h = fnv1a_64(*person_id, h);
  h = fnv1a_64("}", h);
  const auto print = [](const std::string& text) { return fmt::format("{:08x}", fnv1a(text)); };
  const std::vector<Field> fields = {{k_fields[0], print(*display_name)},
                                     {k_fields[1], print(*handles), p.handles.size(), true},
                                     {k_fields[2], print(*contacts), p.contacts.size(), true},
                                     {k_fields[3], print(*messages), p.messages.size(), true}};
  return {fmt::format("{:016x}", h), fingerprint(fields)};
}

std::vector<std::string> changed_fields(const std::string& before, const PersonRecord& now) {
  std::vector<std::string> out;
  if (before.empty()) return out;
  for (const auto& f : fields_of(now)) {
    const std::string key = f.name + '=';
    std::size_t at = 0;
    while ((at = before.find(key, at)) != std::string::npos && at != 0 && before[at - 1] != ';') at += key.size();
    if (at == std::string::npos) {
      out.push_back(f.name);
      continue;
    }
    const std::size_t end = std::min(before.find(';', at), before.size());
    const std::string old = before.substr(at + key.size(), end - at - key.size());
    const std::string print = old.substr(0, old.find('/'));
    if (print == f.print) continue;
    if (!f.counted || old.find('/') == std::string::npos) {
      out.push_back(f.name);
      continue;
    }
    const long long was = std::stoll(old.substr(old.find('/') + 1)), is = static_cast<long long>(f.count);
    if (f.name == "messages" && is > was)
      out.push_back(fmt::format("{} (+{})", f.name, is - was));
    else if (is != was)
      out.push_back(fmt::format("{} ({} -> {})", f.name, was, is));
    else
      out.push_back(f.name);
  }
  return out;
}

}  // namespace chansync
