#include "adapters/imap/mime.hpp"

#include <gmime/gmime.h>
#include <libxml/HTMLparser.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <regex>

namespace chansync::adapters::imap {
namespace {

std::once_flag g_init;

template <class T>
struct GUnref {
  void operator()(T* p) const {
    if (p) g_object_unref(p);
  }
};
template <class T>
using GPtr = std::unique_ptr<T, GUnref<T>>;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// `bytes` read as Windows-1252, which undeclared and mislabelled 8-bit mail almost always is, with
// the bytes it leaves undefined as U+FFFD.
std::string from_cp1252(std::string_view bytes) {
  if (bytes.empty()) return {};
  gsize written = 0;
  if (char* converted = g_convert(bytes.data(), static_cast<gssize>(bytes.size()), "UTF-8", "WINDOWS-1252", nullptr,
                                  &written, nullptr)) {
    std::string out(converted, written);
    g_free(converted);
    if (g_utf8_validate(out.data(), static_cast<gssize>(out.size()), nullptr)) return out;
  }
  char* valid = g_utf8_make_valid(bytes.data(), static_cast<gssize>(bytes.size()));
  std::string out = valid ? valid : "";
  g_free(valid);
  return out;
}

// `text` as valid UTF-8: as it is when it is. Else its valid UTF-8 sequences are kept and only the
// bytes that are not read as Windows-1252: a UTF-8 body with one stray Latin-1 byte (a footer a
// gateway added, a signature pasted from elsewhere) keeps every other letter. A text with no valid
// multi-byte sequence at all is Windows-1252 throughout, converted in one go. Nothing the store keeps
// or a target receives may be invalid.
std::string utf8(std::string text) {
  if (g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr)) return text;
  std::string out, stray;
  bool multibyte = false;
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p < end) {
    const auto c = static_cast<unsigned char>(*p);
    if (c >= 0x80) {
      const gunichar u = g_utf8_get_char_validated(p, end - p);
      if (u == static_cast<gunichar>(-1) || u == static_cast<gunichar>(-2)) {
        stray += *p++;
        continue;
      }
      multibyte = true;
    }
    if (!stray.empty()) {
      out += from_cp1252(stray);
      stray.clear();
    }
    const auto n = c < 0x80 ? 1 : static_cast<std::ptrdiff_t>(g_utf8_skip[c]);
    out.append(p, static_cast<std::size_t>(n));
    p += n;
  }
  if (!multibyte) return from_cp1252(text);
  return out + from_cp1252(stray);
}

bool is_utf8_charset(std::string_view charset) {
  const std::string c = lower(charset);
  return c.empty() || c == "utf-8" || c == "utf8" || c == "us-ascii" || c == "ascii";
}

std::string header(GMimeObject* obj, const char* name) {
  const char* v = g_mime_object_get_header(obj, name);
  return v ? trim(v) : std::string();
}

void add_addresses(InternetAddressList* list, std::vector<MailAddress>& out) {
  if (!list) return;
  for (int i = 0; i < internet_address_list_length(list); ++i) {
    InternetAddress* ia = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_GROUP(ia)) {
      add_addresses(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)), out);
      continue;
    }
    const char* name = internet_address_get_name(ia);
    const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
    out.push_back({name ? utf8(trim(name)) : "", addr ? utf8(trim(addr)) : ""});
  }
}

std::vector<std::string> message_ids(const std::string& text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  GMimeReferences* refs = g_mime_references_parse(nullptr, text.c_str());
  if (!refs) return out;
  for (int i = 0; i < g_mime_references_length(refs); ++i)
    out.push_back(utf8(g_mime_references_get_message_id(refs, i)));
  g_mime_references_free(refs);
  return out;
}

bool is_type(GMimeObject* obj, const char* type, const char* subtype) {
  GMimeContentType* ct = g_mime_object_get_content_type(obj);
  return ct && g_mime_content_type_is_type(ct, type, subtype);
}

// A text part's content, its transfer encoding undone, in its own charset.
std::string part_bytes(GMimePart* part) {
  if (!GMIME_IS_TEXT_PART(part)) return {};
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (!content) return {};
  GPtr<GMimeStream> mem(g_mime_stream_mem_new());
  if (g_mime_data_wrapper_write_to_stream(content, mem.get()) < 0) return {};
  const GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
  return bytes && bytes->len ? std::string(reinterpret_cast<const char*>(bytes->data), bytes->len) : "";
}

// A text part's content, decoded from its transfer encoding and converted from its charset to
// UTF-8. Not g_mime_text_part_get_text(): it hands back the raw bytes of a charset it does not know,
// and drops the bytes of a part declared UTF-8 that is not (Latin-1 mislabelled as UTF-8 lost every
// accented letter); both go through utf8() here.
std::string decoded_text(GMimePart* part) {
  std::string raw = part_bytes(part);
  const char* charset = g_mime_text_part_get_charset(GMIME_TEXT_PART(part));
  if (charset && !is_utf8_charset(charset) && !raw.empty()) {
    iconv_t cd = g_mime_iconv_open("UTF-8", charset);  // knows the charsets' aliases
    if (cd != reinterpret_cast<iconv_t>(-1)) {
      char* converted = g_mime_iconv_strndup(cd, raw.data(), raw.size());
      g_mime_iconv_close(cd);
      if (converted) {
        std::string out = converted;
        g_free(converted);
        return utf8(std::move(out));
      }
    }
  }
  return utf8(std::move(raw));
}

// RFC 3676 format=flowed text as the lines its writer meant: a line ending in a space goes on in the
// next line of the same quote depth (with DelSp=yes that space was added and goes); a space before a
// line's text was stuffed and goes; "-- " (a signature's marker) is never continued. Quoted lines are
// written back as "> " lines.
std::string unflow(std::string_view text, bool delsp) {
  std::string out, para;
  std::size_t para_depth = 0;
  bool open = false;
  const auto flush = [&] {
    out += std::string(para_depth, '>');
    if (para_depth > 0 && !para.empty()) out += ' ';
    out += para;
    out += '\n';
    para.clear();
    open = false;
  };
  for (std::size_t pos = 0; pos < text.size();) {
    auto eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::size_t depth = std::min(line.find_first_not_of('>'), line.size());
    line.remove_prefix(depth);
    if (line.starts_with(' ')) line.remove_prefix(1);
    const bool soft = !line.empty() && line.back() == ' ' && line != "-- ";
    if (open && depth != para_depth) flush();
    para_depth = depth;
    open = true;
    if (soft && delsp) line.remove_suffix(1);
    para.append(line);
    if (!soft) flush();
  }
  if (open) flush();
  return out;
}

// decoded_text, unflowed when it is format=flowed text/plain.
std::string part_text(GMimePart* part) {
  if (!GMIME_IS_TEXT_PART(part)) return {};
  const char* format = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "format");
  if (format && lower(format) == "flowed" && is_type(GMIME_OBJECT(part), "text", "plain")) {
    const char* delsp = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "delsp");
    return unflow(decoded_text(part), delsp && lower(delsp) == "yes");
  }
  return decoded_text(part);
}

std::int64_t decoded_size(GMimePart* part) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (!content) return 0;
  GPtr<GMimeStream> sink(g_mime_stream_null_new());
  const auto n = g_mime_data_wrapper_write_to_stream(content, sink.get());
  return n > 0 ? n : 0;
}

std::string attachment_type(GMimeObject* obj) {
  GMimeContentType* ct = g_mime_object_get_content_type(obj);
  const std::string media =
      ct && g_mime_content_type_get_media_type(ct) ? lower(g_mime_content_type_get_media_type(ct)) : "";
  if (media == "image" || media == "audio" || media == "video") return media;
  return "file";
}

// Walks the MIME tree: the first readable text becomes the body, files become attachments.
struct Walker {
  std::string body;
  bool body_is_html = false;
  std::vector<Attachment> attachments;

  void take_body(GMimePart* part) {
    if (!body.empty()) return;
    if (is_type(GMIME_OBJECT(part), "text", "html")) {
      // A page whose part names no charset may name its own (<meta charset>): libxml2 reads that
      // when it is not told one. Bytes that are UTF-8 already are read as such.
      const bool own = GMIME_IS_TEXT_PART(part) && !g_mime_text_part_get_charset(GMIME_TEXT_PART(part));
      const std::string raw = own ? part_bytes(part) : std::string();
      body = own && !g_utf8_validate(raw.data(), static_cast<gssize>(raw.size()), nullptr)
                 ? utf8(html_to_text(raw, nullptr))
                 : html_to_text(part_text(part));
      body_is_html = true;
    } else {
      body = part_text(part);
    }
  }

  void list_attachment(GMimeObject* obj) {
    if (GMIME_IS_MESSAGE_PART(obj)) {
      GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
      const char* subject = inner ? g_mime_message_get_subject(inner) : nullptr;
      attachments.push_back({"message", subject ? utf8(subject) : "", "", 0});
      return;
    }
    if (!GMIME_IS_PART(obj)) return;
    GMimePart* part = GMIME_PART(obj);
    const char* name = g_mime_part_get_filename(part);  // raw bytes for a filename* in an unknown charset
    attachments.push_back({attachment_type(obj), name ? utf8(name) : "", "", decoded_size(part)});
  }

  void walk(GMimeObject* obj) {
    if (GMIME_IS_MULTIPART(obj)) {
      GMimeMultipart* mp = GMIME_MULTIPART(obj);
      const int n = g_mime_multipart_get_count(mp);
      if (is_type(obj, "multipart", "alternative") && body.empty()) {
        // Prefer text/plain, then HTML, then whatever a nested multipart (related) holds; the
        // alternatives are one body, so none of them is an attachment.
        GMimeObject* plain = nullptr;
        GMimeObject* html = nullptr;
        GMimeObject* nested = nullptr;
        for (int i = 0; i < n; ++i) {
          GMimeObject* child = g_mime_multipart_get_part(mp, i);
          if (GMIME_IS_PART(child) && g_mime_part_is_attachment(GMIME_PART(child))) continue;
          if (!plain && is_type(child, "text", "plain")) plain = child;
          if (!html && is_type(child, "text", "html")) html = child;
          if (!nested && GMIME_IS_MULTIPART(child)) nested = child;
        }
        if (plain && !trim(part_text(GMIME_PART(plain))).empty())
          take_body(GMIME_PART(plain));
        else if (html)
          take_body(GMIME_PART(html));
        else if (nested)
          walk(nested);
        return;
      }
      for (int i = 0; i < n; ++i) walk(g_mime_multipart_get_part(mp, i));
      return;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
      list_attachment(obj);
      return;
    }
    if (!GMIME_IS_PART(obj)) return;
    GMimePart* part = GMIME_PART(obj);
    const bool text = is_type(obj, "text", "plain") || is_type(obj, "text", "html");
    if (text && !g_mime_part_is_attachment(part) && body.empty()) {
      take_body(part);
      return;
    }
    // A delivery report's machine part (message/delivery-status) and inline parts without a file
    // name (an HTML mail's embedded images) are not files anyone sent.
    if (is_type(obj, "message", "delivery-status") || is_type(obj, "message", "disposition-notification")) return;
    if (!g_mime_part_is_attachment(part) && !g_mime_part_get_filename(part) && !text) return;
    if (text && !g_mime_part_is_attachment(part)) return;  // a second inline text part (a footer)
    list_attachment(obj);
  }
};

bool is_automatic(GMimeObject* msg) {
  const auto auto_submitted = lower(header(msg, "Auto-Submitted"));
  if (!auto_submitted.empty() && auto_submitted != "no") return true;
  const auto precedence = lower(header(msg, "Precedence"));
  if (precedence == "bulk" || precedence == "junk" || precedence == "auto_reply") return true;
  if (header(msg, "Return-Path") == "<>") return true;
  if (!header(msg, "X-Autoreply").empty() || !header(msg, "X-Autorespond").empty()) return true;
  if (lower(header(msg, "X-Auto-Response-Suppress")).find("all") != std::string::npos &&
      !header(msg, "X-MS-Exchange-Inbox-Rules-Loop").empty())
    return true;
  return false;
}

bool is_listed(GMimeObject* msg) {
  return !header(msg, "List-Id").empty() || !header(msg, "List-Unsubscribe").empty() ||
         !header(msg, "List-Post").empty() || lower(header(msg, "Precedence")) == "list";
}

// "<mailto:support@example.com>" (List-Post, RFC 2369) → "support@example.com"; "" for "NO" or a URL.
std::string list_post_address(const std::string& value) {
  const auto at = lower(value).find("mailto:");
  if (at == std::string::npos) return {};
  const auto from = at + 7;
  const auto end = value.find_first_of(">?, \t", from);
  return utf8(value.substr(from, end == std::string::npos ? std::string::npos : end - from));
}

// Collapses runs of blank lines to one and trims the ends of lines and of the text.
std::string tidy(std::string_view text) {
  std::string out;
  int blank = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
    pos = eol + 1;
    if (line.empty()) {
      ++blank;
      continue;
    }
    if (!out.empty()) out += blank > 0 ? "\n\n" : "\n";
    blank = 0;
    out.append(line);
  }
  return out;
}

void html_text(xmlNode* node, std::string& out) {
  static const std::vector<std::string> k_skip = {"script", "style", "head", "title", "noscript", "template"};
  static const std::vector<std::string> k_block = {"p",     "div",        "tr",  "li", "h1",      "h2",
                                                   "h3",    "h4",         "h5",  "h6", "ul",      "ol",
                                                   "table", "blockquote", "pre", "hr", "section", "article"};
  for (xmlNode* n = node; n; n = n->next) {
    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
      const char* content = reinterpret_cast<const char*>(n->content);
      if (!content) continue;
      for (const char* c = content; *c; ++c) {
        const bool space = *c == ' ' || *c == '\t' || *c == '\r' || *c == '\n';
        if (space) {
          if (!out.empty() && out.back() != ' ' && out.back() != '\n') out += ' ';
        } else {
          out += *c;
        }
      }
      continue;
    }
    if (n->type != XML_ELEMENT_NODE) continue;
    const std::string name = lower(reinterpret_cast<const char*>(n->name));
    if (std::find(k_skip.begin(), k_skip.end(), name) != k_skip.end()) continue;
    if (name == "br") {
      while (!out.empty() && out.back() == ' ') out.pop_back();
      out += '\n';
      continue;
    }
    if (name == "blockquote") {
      // A quote (an HTML reply's history: Gmail's and Apple Mail's blockquote, Thunderbird's
      // type=cite) as "> " lines, which trim_quoted_reply reads as it reads a plain-text reply's.
      std::string inner;
      html_text(n->children, inner);
      if (!out.empty() && out.back() != '\n') out += '\n';
      const std::string quoted = tidy(inner);
      for (std::size_t pos = 0; pos < quoted.size();) {
        auto eol = quoted.find('\n', pos);
        if (eol == std::string::npos) eol = quoted.size();
        out += eol == pos ? ">" : "> ";
        out.append(quoted, pos, eol - pos);
        out += '\n';
        pos = eol + 1;
      }
      out += '\n';
      continue;
    }
    const bool block = std::find(k_block.begin(), k_block.end(), name) != k_block.end();
    if (block && !out.empty() && out.back() != '\n') out += '\n';
    if (name == "td" || name == "th") {
      if (!out.empty() && out.back() != '\n' && out.back() != ' ') out += ' ';
    }
    html_text(n->children, out);
    if (block) out += "\n\n";
  }
}

}  // namespace

std::string html_to_text(std::string_view html, const char* encoding) {
  if (html.empty()) return {};
  htmlDocPtr doc = htmlReadMemory(html.data(), static_cast<int>(html.size()), nullptr, encoding,
                                  HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
  if (!doc) return {};
  std::string out;
  html_text(xmlDocGetRootElement(doc), out);
  xmlFreeDoc(doc);
  return tidy(out);
}

std::string trim_quoted_reply(std::string_view text) {
  constexpr std::size_t k_marker_max = 400;
  std::vector<std::string_view> lines;
  for (std::size_t pos = 0; pos <= text.size();) {
    auto eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    pos = eol + 1;
  }
  static const std::regex k_attribution(
      R"(^\s*(On\s.+\bwrote|Am\s.+\bschrieb\s.+|Le\s.+\ba\s+écrit|El\s.+\bescribió|Op\s.+\bschreef\s.+)\s*:\s*$)",
      std::regex::icase);
  static const std::regex k_separator(
      R"(^\s*-{3,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine)\s*-{3,}\s*$)", std::regex::icase);
  static const std::regex k_outlook_from(R"(^\s*\*?(From|Von|De)\s*:\*?\s.+)", std::regex::icase);
  static const std::regex k_outlook_sent(R"(^\s*\*?(Sent|Gesendet|Date|Datum|Envoyé)\s*:\*?\s.+)", std::regex::icase);
  // A forward is what the customer sends, not a quote of the conversation: nothing below its marker
  // (Gmail's "---------- Forwarded message ---------", Outlook's and Apple Mail's) is cut.
  static const std::regex k_forward(
      R"(^\s*-{3,}\s*(Forwarded message|Weitergeleitete Nachricht|Message transféré)\s*-{3,}\s*$|^\s*Begin forwarded message:\s*$)",
      std::regex::icase);
  auto quoted = [&](std::size_t i) { return i < lines.size() && trim(lines[i]).starts_with('>'); };

  std::size_t cut = lines.size();
  std::size_t quote_from = lines.size();  // with an attribution cut: its first quoted line
  bool forwarded = false;
  for (std::size_t i = 0; i < lines.size() && cut == lines.size(); ++i) {
    // A marker is a short line. std::regex recurses per character, so a long line (an HTML
    // paragraph flattened to one line) would overflow the stack: such lines are never tested.
    if (lines[i].size() > k_marker_max || (i + 1 < lines.size() && lines[i + 1].size() > k_marker_max)) continue;
    const std::string line(lines[i]);
    if (std::regex_match(line, k_forward)) {
      forwarded = true;
      break;
    }
    // "On Tue, 6 Oct 2026 at 10:02, Support <support@example.com> wrote:" — clients wrap it over two
    // lines too; it counts only when quoted lines follow it.
    const std::string joined = i + 1 < lines.size() ? line + " " + std::string(lines[i + 1]) : line;
    std::size_t next = i + 1;
    while (next < lines.size() && trim(lines[next]).empty()) ++next;
    if (std::regex_match(line, k_attribution) && quoted(next)) {
      cut = i;
      quote_from = next;
    } else if (!std::regex_match(line, k_attribution) && std::regex_match(joined, k_attribution) &&
               i + 2 < lines.size()) {
      std::size_t after = i + 2;
      while (after < lines.size() && trim(lines[after]).empty()) ++after;
      if (quoted(after)) {
        cut = i;
        quote_from = after;
      }
    } else if (std::regex_match(line, k_separator))
      cut = i;
    else if (std::regex_match(line, k_outlook_from) && i + 1 < lines.size() &&
             std::regex_match(std::string(lines[i + 1]), k_outlook_sent))
      cut = i;
  }
  // An answer written below the quote or between its lines (bottom-posting, inline answers): a
  // paragraph of the customer's own (an unquoted line after a blank one) follows the attribution's
  // quote, before any signature ("-- "), so nothing is cut. A quoted line the client wrapped (its
  // continuation unquoted, right below it) or a signature after the quote is no answer.
  bool answered = false;
  for (std::size_t i = quote_from; i < lines.size() && !answered; ++i) {
    if (trim(lines[i]) == "--") break;
    answered = !quoted(i) && !trim(lines[i]).empty() && trim(lines[i - 1]).empty();
  }
  if (answered) cut = lines.size();
  // Else a trailing block of quoted lines (a reply written above "> " quotes without attribution).
  if (cut == lines.size() && !forwarded && !answered) {
    std::size_t end = lines.size();
    while (end > 0 && (trim(lines[end - 1]).empty() || quoted(end - 1))) --end;
    bool any_quoted = false;
    for (std::size_t i = end; i < lines.size(); ++i) any_quoted = any_quoted || quoted(i);
    if (any_quoted) cut = end;
  }
  std::string out;
  for (std::size_t i = 0; i < cut; ++i) {
    if (i) out += '\n';
    out.append(lines[i]);
  }
  out = tidy(out);
  return out.empty() ? tidy(text) : out;
}

Result<ParsedMail> parse_mail(std::string_view raw) {
  std::call_once(g_init, [] { g_mime_init(); });
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(reinterpret_cast<const char*>(raw.data()), raw.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  // Header bytes that are not declared (raw 8-bit in From or Subject) are read as UTF-8, else as
  // Windows-1252, which is what such mail almost always is.
  GMimeParserOptions* options = g_mime_parser_options_new();
  const char* fallback[] = {"UTF-8", "windows-1252", nullptr};
  g_mime_parser_options_set_fallback_charsets(options, fallback);
  GPtr<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), options));
  g_mime_parser_options_free(options);
  if (!msg) return fail(Errc::protocol, "not an RFC 5322 message (GMime could not read its headers)");
  GMimeObject* obj = GMIME_OBJECT(msg.get());

  ParsedMail out;
  if (const char* id = g_mime_message_get_message_id(msg.get())) out.message_id = utf8(trim(id));
  out.references = message_ids(header(obj, "References"));
  for (const auto& id : message_ids(header(obj, "In-Reply-To")))
    if (std::find(out.references.begin(), out.references.end(), id) == out.references.end())
      out.references.push_back(id);
  std::vector<MailAddress> from;
  add_addresses(g_mime_message_get_from(msg.get()), from);
  if (from.empty()) add_addresses(g_mime_message_get_sender(msg.get()), from);
  if (!from.empty()) out.from = from.front();
  add_addresses(g_mime_message_get_to(msg.get()), out.to);
  add_addresses(g_mime_message_get_cc(msg.get()), out.cc);
  add_addresses(g_mime_message_get_reply_to(msg.get()), out.reply_to);
  if (const char* s = g_mime_message_get_subject(msg.get())) out.subject = utf8(trim(s));
  if (GDateTime* d = g_mime_message_get_date(msg.get()))
    out.date = static_cast<Timestamp>(g_date_time_to_unix(d)) * 1000 + g_date_time_get_microsecond(d) / 1000;
  out.automatic = is_automatic(obj);
  out.listed = is_listed(obj);
  out.list_address = list_post_address(header(obj, "List-Post"));

  Walker w;
  if (GMimeObject* top = g_mime_message_get_mime_part(msg.get())) {
    if (is_type(top, "multipart", "report")) out.automatic = true;
    w.walk(top);
  }
  out.text = trim_quoted_reply(w.body);
  out.attachments = std::move(w.attachments);
  return out;
}

}  // namespace chansync::adapters::imap
