#include "sync/json_text.hpp"

#include <fmt/format.h>

#include <array>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>
#include <vector>

#include "sync/timestamp.hpp"

namespace chansync {
namespace {

// Appends JSON text as nlohmann::json::dump() prints it. ok() turns false at a string that is not
// UTF-8; the caller then goes through dump(), told to write U+FFFD for each invalid byte (a stored
// text that is not UTF-8, whatever brought it, costs its letters, not the push or the command).
class JsonText {
 public:
  bool ok() const { return m_ok; }
  std::string take() { return std::move(m_out); }

  void string(std::string_view s) {
    m_out += '"';
    std::size_t plain = 0;  // start of the run of text copied as it is
    for (std::size_t i = 0; i < s.size();) {
      if (k_plain[static_cast<unsigned char>(s[i])]) {
        ++i;
        continue;
      }
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x80) {
        const std::size_t n = utf8_length(s.substr(i));
        if (n == 0) {
          m_ok = false;
          return;
        }
        i += n;
        continue;
      }
      m_out.append(s.substr(plain, i - plain));
      m_out += escape(c);
      plain = ++i;
    }
    m_out.append(s.substr(plain));
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
  // "key":"2024-05-01T10:00:00.000Z" (the time has nothing to escape).
  void time(std::string_view k, Timestamp ts, bool& first) {
    key(k, first);
    m_out += '"';
    append_rfc3339(m_out, ts);
    m_out += '"';
  }
  void reserve(std::size_t n) { m_out.reserve(n); }
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
  // The bytes a JSON string holds as they are: printable ASCII but the quote and the backslash.
  // (Bytes from 0x80 start UTF-8 sequences, checked one by one.)
  static constexpr std::array<bool, 256> k_plain = [] {
    std::array<bool, 256> t{};
    for (int c = 0x20; c < 0x80; ++c) t[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
    return t;
  }();

  static std::string escape(unsigned char c) {
    switch (c) {
      case '"':
        return "\\\"";
      case '\\':
        return "\\\\";
      case '\b':
        return "\\b";
      case '\f':
        return "\\f";
      case '\n':
        return "\\n";
      case '\r':
        return "\\r";
      case '\t':
        return "\\t";
      default:
        return fmt::format("\\u{:04x}", c);
    }
  }
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
  w.time("sent_at", m.sent_at, first);
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
  w.time("updated_at", c.updated_at, first);
  w.raw("}");
}

void write(JsonText& w, const std::string& s) {
  w.string(s);
}

template <class T>
void write(JsonText& w, const std::vector<T>& items) {
  w.array(items, [&](const T& x) { write(w, x); });
}

// About the length of a message's JSON text, so a person's messages are written into a string sized
// once instead of grown by doubling (a person with 20,000 messages has a 6 MB line).
std::size_t text_size(const std::vector<Message>& messages) {
  std::size_t n = 2;
  for (const auto& m : messages)
    n += 160 + m.connector.size() + m.id.size() + m.conversation.size() + m.channel.size() + m.author_handle.size() +
         m.text.size() + m.status.size() + 100 * m.attachments.size();
  return n;
}
template <class T>
std::size_t text_size(const T&) {
  return 0;
}

template <class T>
std::optional<std::string> json_text(const T& value) {
  JsonText w;
  w.reserve(text_size(value));
  write(w, value);
  return w.ok() ? std::optional(w.take()) : std::nullopt;
}

}  // namespace

std::optional<PersonJsonMembers> person_json_members(const PersonRecord& p) {
  auto contacts = json_text(p.contacts), display_name = json_text(p.display_name), handles = json_text(p.handles),
       messages = json_text(p.messages), person_id = json_text(p.person_id);
  if (!contacts || !display_name || !handles || !messages || !person_id) return std::nullopt;
  return PersonJsonMembers{std::move(*contacts), std::move(*display_name), std::move(*handles), std::move(*messages),
                           std::move(*person_id)};
}

std::array<PersonJsonPart, 5> person_json_parts(const PersonJsonMembers& m) {
  return {{{R"({"contacts":)", &m.contacts},
           {R"(,"display_name":)", &m.display_name},
           {R"(,"handles":)", &m.handles},
           {R"(,"messages":)", &m.messages},
           {R"(,"person_id":)", &m.person_id}}};
}

std::string person_json(const PersonJsonMembers& m, Timestamp updated_at) {
  // Appended into a string of the exact size: a person with 20,000 messages has a 6 MB line, and
  // formatting it would hold it twice more on the way (the format buffer, growing, and its copy).
  const std::string when = format_rfc3339(updated_at);
  const auto parts = person_json_parts(m);
  constexpr std::string_view k_updated = R"(,"updated_at":")", k_end = R"("})";
  std::size_t size = k_updated.size() + when.size() + k_end.size();
  for (const auto& [key, value] : parts) size += key.size() + value->size();
  std::string out;
  out.reserve(size);
  for (const auto& [key, value] : parts) out.append(key).append(*value);
  out.append(k_updated).append(when).append(k_end);
  return out;
}

std::string person_json(const PersonRecord& p) {
  const auto m = person_json_members(p);
  return m ? person_json(*m, p.updated_at)
           : nlohmann::json(p).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace chansync
