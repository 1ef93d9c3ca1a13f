// The reading of IMAP server responses (RFC 3501): FETCH values with literals counted by byte, the
// SELECT/EXAMINE data, the tagged status and the response codes that tell a refused login, a missing
// mailbox and a server that is busy apart. Pure; the connection that gets them is imap_session.cpp.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "adapters/imap/imap_session.hpp"

namespace chansync::adapters::imap {
namespace {

// An IMAP value of a FETCH response: an atom (NIL, numbers, BODY[…] section names), a string
// (quoted or literal), or a parenthesised list.
struct Value {
  enum class Kind { atom, string, list } kind = Kind::atom;
  std::string text;
  std::vector<Value> list;
};

class Reader {
 public:
  explicit Reader(std::string_view raw) : m_raw(raw) {}

  bool at_end() const { return m_pos >= m_raw.size(); }
  std::size_t pos() const { return m_pos; }
  void seek(std::size_t pos) { m_pos = std::min(pos, m_raw.size()); }

  // The rest of the current line, without its CRLF; a literal inside it is skipped over (its
  // bytes replaced by "{N}"), so the next line starts after it.
  std::string rest_of_line() {
    std::string out;
    while (!at_end()) {
      const auto eol = m_raw.find('\n', m_pos);
      std::string_view line = m_raw.substr(m_pos, eol == std::string_view::npos ? std::string_view::npos : eol - m_pos);
      m_pos = eol == std::string_view::npos ? m_raw.size() : eol + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      out.append(line);
      const auto n = literal_size(line);
      if (!n) break;
      m_pos = std::min(m_raw.size(), m_pos + *n);
    }
    return out;
  }

  void skip_spaces() {
    while (!at_end() && m_raw[m_pos] == ' ') ++m_pos;
  }

  // Reads one value; nullopt at a line end or on malformed input (error() says which).
  std::optional<Value> value() {
    skip_spaces();
    if (at_end()) return fail("the answer ended inside a FETCH response");
    const char c = m_raw[m_pos];
    if (c == '(') {
      ++m_pos;
      Value v{Value::Kind::list, {}, {}};
      for (;;) {
        skip_spaces();
        if (at_end()) return fail("the answer ended inside a list");
        if (m_raw[m_pos] == ')') {
          ++m_pos;
          return v;
        }
        auto item = value();
        if (!item) return std::nullopt;
        v.list.push_back(std::move(*item));
      }
    }
    if (c == '"') {
      Value v{Value::Kind::string, {}, {}};
      for (++m_pos; !at_end() && m_raw[m_pos] != '"'; ++m_pos) {
        if (m_raw[m_pos] == '\\' && m_pos + 1 < m_raw.size()) ++m_pos;
        v.text += m_raw[m_pos];
      }
      if (at_end()) return fail("a quoted string is not closed");
      ++m_pos;
      return v;
    }
    if (c == '{') {
      const auto eol = m_raw.find('\n', m_pos);
      if (eol == std::string_view::npos) return fail("a literal's size line is cut off");
      std::string_view head = m_raw.substr(m_pos, eol - m_pos);
      if (!head.empty() && head.back() == '\r') head.remove_suffix(1);
      const auto n = literal_size(head);
      if (!n) return fail(fmt::format("malformed literal \"{}\"", head));
      m_pos = eol + 1;
      if (m_raw.size() - m_pos < *n)
        return fail(
            fmt::format("a literal of {} bytes has only {} (the connection broke, or a line over 256 KiB was "
                        "cut by libcurl)",
                        *n, m_raw.size() - m_pos));
      Value v{Value::Kind::string, std::string(m_raw.substr(m_pos, *n)), {}};
      m_pos += *n;
      return v;
    }
    if (c == '\r' || c == '\n' || c == ')') return fail("a value is missing");
    Value v;
    int depth = 0;  // inside BODY[...]: spaces and parentheses belong to the atom
    while (!at_end()) {
      const char d = m_raw[m_pos];
      if (depth == 0 && (d == ' ' || d == '(' || d == ')' || d == '\r' || d == '\n')) break;
      if (d == '[') ++depth;
      if (d == ']' && depth > 0) --depth;
      v.text += d;
      ++m_pos;
    }
    return v;
  }

  // Expects the end of the line (CRLF), after optional spaces.
  bool end_of_line() {
    skip_spaces();
    if (m_raw.substr(m_pos, 2) == "\r\n") {
      m_pos += 2;
      return true;
    }
    if (m_raw.substr(m_pos, 1) == "\n") {
      ++m_pos;
      return true;
    }
    return at_end();
  }

  const std::string& error() const { return m_error; }

  // "{123}" or "{123+}" at the end of `line`: the size of the literal that follows the line.
  static std::optional<std::size_t> literal_size(std::string_view line) {
    if (line.empty() || line.back() != '}') return std::nullopt;
    const auto open = line.rfind('{');
    if (open == std::string_view::npos) return std::nullopt;
    std::string_view digits = line.substr(open + 1, line.size() - open - 2);
    if (!digits.empty() && digits.back() == '+') digits.remove_suffix(1);
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) return std::nullopt;
    return n;
  }

 private:
  std::nullopt_t fail(std::string why) {
    if (m_error.empty()) m_error = std::move(why);
    return std::nullopt;
  }

  std::string_view m_raw;
  std::size_t m_pos = 0;
  std::string m_error;
};

std::uint64_t to_number(std::string_view s) {
  std::uint64_t n = 0;
  std::from_chars(s.data(), s.data() + s.size(), n);
  return n;
}

// The number after "[KEY " in a response line, if there is one.
std::optional<std::uint64_t> response_code(std::string_view line, std::string_view key) {
  const auto at = line.find(fmt::format("[{} ", key));
  if (at == std::string_view::npos) return std::nullopt;
  return to_number(line.substr(at + key.size() + 2));
}

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
  return out;
}

// Whether a tagged NO is the server refusing the login. Dovecot and Gmail say
// [AUTHENTICATIONFAILED]; others only say so in words ("AUTHENTICATE failed.", "LOGIN failed").
bool is_login_refusal(std::string_view text) {
  const auto u = upper(text);
  return u.find("AUTHENTICATIONFAILED") != std::string::npos || u.find("AUTHENTICATE") != std::string::npos ||
         u.find("LOGIN FAILED") != std::string::npos || u.find("INVALID CREDENTIALS") != std::string::npos ||
         u.find("[AUTHORIZATIONFAILED]") != std::string::npos;
}

Result<FetchItem> fetch_item(const Value& list, std::uint64_t seq) {
  FetchItem item;
  if (list.kind != Value::Kind::list) return fail(Errc::protocol, fmt::format("FETCH response {} is not a list", seq));
  for (std::size_t i = 0; i + 1 < list.list.size(); i += 2) {
    const auto key = upper(list.list[i].text);
    const Value& v = list.list[i + 1];
    if (key == "UID")
      item.uid = static_cast<std::uint32_t>(to_number(v.text));
    else if (key == "RFC822.SIZE")
      item.size = to_number(v.text);
    else if (key == "INTERNALDATE")
      item.internaldate = v.text;
    else if (key == "BODY[]") {
      item.has_body = v.kind == Value::Kind::string;
      item.body = v.text;
    }
  }
  return item;
}

}  // namespace

Result<ImapResponse> parse_response(std::string_view raw) {
  ImapResponse out;
  bool selected = false;
  Reader r(raw);
  while (!r.at_end()) {
    if (raw.substr(r.pos(), 2) == "* ") {
      // "* 12 FETCH (...)" is read value by value (it carries literals); any other untagged line whole.
      const std::size_t start = r.pos();
      r.value();  // "*"
      auto seq = r.value();
      auto word = seq ? r.value() : std::nullopt;
      if (seq && word && upper(word->text) == "FETCH") {
        auto list = r.value();
        if (!list || !r.end_of_line())
          return fail(Errc::protocol,
                      fmt::format("the IMAP server's FETCH answer for message {} is malformed: {}", seq->text,
                                  r.error().empty() ? "text after the item list" : r.error()));
        auto item = fetch_item(*list, to_number(seq->text));
        if (!item) return std::unexpected(item.error());
        out.items.push_back(std::move(*item));
        continue;
      }
      r.seek(start);
      const std::string line = r.rest_of_line();
      if (const auto v = response_code(line, "UIDVALIDITY")) out.mailbox.uidvalidity = *v;
      if (const auto v = response_code(line, "UIDNEXT")) out.mailbox.uidnext = *v;
      const auto u = upper(line);
      if (u.ends_with(" EXISTS")) out.mailbox.exists = to_number(std::string_view(line).substr(2));
      if (u.starts_with("* STATUS ")) {
        for (std::string_view key : {"UIDVALIDITY", "UIDNEXT", "MESSAGES"}) {
          const auto at = u.find(std::string(key) + " ", u.find('('));
          if (at == std::string::npos) continue;
          const auto n = to_number(std::string_view(line).substr(at + key.size() + 1));
          (key == "UIDVALIDITY" ? out.mailbox.uidvalidity
           : key == "UIDNEXT"   ? out.mailbox.uidnext
                                : out.mailbox.exists) = n;
        }
      }
      continue;
    }
    const std::string line = r.rest_of_line();
    if (line.starts_with("+")) continue;  // a continuation request (AUTHENTICATE)
    const auto sp = line.find(' ');
    if (sp == std::string::npos) continue;
    const auto rest = std::string_view(line).substr(sp + 1);
    const auto sp2 = rest.find(' ');
    out.tagged_status = upper(rest.substr(0, sp2));
    out.tagged_text = sp2 == std::string_view::npos ? "" : std::string(rest.substr(sp2 + 1));
    const auto u = upper(out.tagged_text);
    if (out.tagged_status == "OK" && (u.starts_with("[READ-WRITE]") || u.starts_with("[READ-ONLY]"))) selected = true;
    if (out.tagged_status == "NO" || out.tagged_status == "BAD") {
      // RFC 5530: the server is not refusing this request for good.
      if (u.starts_with("[UNAVAILABLE]") || u.starts_with("[INUSE]") || u.starts_with("[LIMIT]") ||
          u.starts_with("[SERVERBUG]"))
        out.busy = true;
      else if (is_login_refusal(out.tagged_text))
        out.auth_failed = true;
      else if (!selected) {
        out.select_failed = true;
        out.select_text = out.tagged_text;
      }
    }
  }
  return out;
}

std::string uid_set(std::span<const std::uint32_t> uids) {
  std::string out;
  for (std::size_t i = 0; i < uids.size();) {
    std::size_t j = i;
    while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += j == i ? std::to_string(uids[i]) : fmt::format("{}:{}", uids[i], uids[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace chansync::adapters::imap
