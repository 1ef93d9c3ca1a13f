#pragma once
// One RFC 5322 message read with GMime 3: decoded headers (RFC 2047 words, any charset to UTF-8),
// the thread headers, and the body as plain text — text/plain preferred in multipart/alternative,
// else the text of the HTML (libxml2's HTML parser) — with a clearly marked quoted reply cut off.
// Attachments are listed (type, name, size), never kept.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/error.hpp"
#include "sync/model.hpp"

namespace chansync::adapters::imap {

struct MailAddress {
  std::string name;     // display name, decoded ("" when none)
  std::string address;  // as written ("" for an unparseable one)
};

struct ParsedMail {
  std::string message_id;               // without angle brackets; "" when the mail has none
  std::vector<std::string> references;  // References, oldest first, then In-Reply-To when not among them
  MailAddress from;
  std::vector<MailAddress> to, cc;
  std::vector<MailAddress> reply_to;  // where the author wants answers: a relay's (a list's, a form's) sender
  std::string subject;
  std::optional<Timestamp> date;  // the Date header; nullopt when absent or unreadable
  // Written by a machine for no one in particular: an auto-reply (Auto-Submitted other than "no",
  // X-Autoreply, X-Autorespond), bulk mail (Precedence bulk/junk), a delivery report
  // (multipart/report, or the null sender Return-Path: <> that RFC 5321 gives notifications). Its
  // sender never identifies a customer.
  bool automatic = false;
  // Sent through a mailing list, a group or a newsletter service (List-Id, List-Unsubscribe,
  // List-Post, Precedence list; RFC 2369, 2919), whose address List-Post names ("" when it names
  // none). map_mail tells the business's own group (a shared inbox) from other lists by it.
  bool listed = false;
  std::string list_address;
  std::string text;  // the body as plain UTF-8, quoted reply trimmed
  std::vector<Attachment> attachments;
};

// Parses `raw`. Fails (Errc::protocol) only when GMime cannot read a message at all.
Result<ParsedMail> parse_mail(std::string_view raw);

// The text of an HTML document: script, style and head dropped, block elements on lines of their own,
// white space collapsed, entities decoded. `encoding`: the bytes' charset; nullptr lets the document
// say (<meta charset>, else ISO-8859-1 as HTML's default).
std::string html_to_text(std::string_view html, const char* encoding = "UTF-8");

// `text` without the quoted reply a mail client appended below a clear marker ("On … wrote:",
// "Am … schrieb …:", "-----Original Message-----", Outlook's From:/Sent: block, a trailing run of
// "> " lines). A text whose own paragraph follows an attribution's quote (an answer below or between
// its lines, before any "-- " signature) is kept whole, quotes and all. Returns `text` unchanged
// when nothing would remain.
std::string trim_quoted_reply(std::string_view text);

}  // namespace chansync::adapters::imap
