#include "adapters/hubspot/hubspot_notes.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <tuple>

#include "sync/digest.hpp"
#include "sync/html.hpp"

namespace chansync::adapters::hubspot {
namespace {

// What one message may take of a note once escaped (a quote is 6 bytes as &quot;, a line break 4
// as <br>), so that a single long message still fits HubSpot's 65,536 characters of hs_note_body
// with its heading: the text is cut there, and attachments past it are counted, not listed.
constexpr std::size_t k_max_line_bytes = 40'000;

bool after_mark(const Message& m, const NotedMark& mark) {
  return std::tie(m.sent_at, m.connector, m.id) > std::tie(mark.sent_at, mark.connector, mark.id);
}

// The note key's suffix: the first message's identity (connector, id), hashed to a fixed length.
std::string key_of(const std::string& person_id, const Message& first) {
  const std::string identity = first.connector + '\n' + first.id;
  return person_id + "-" + sha256_hex(identity).substr(0, 16);
}

// `text` escaped, line breaks as <br>, cut on a character boundary where it would pass `budget`
// bytes ("…" marks the cut).
std::string escaped_text(std::string_view text, std::size_t budget) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t end = i + 1;
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) ++end;
    const std::string piece = text[i] == '\n' ? std::string("<br>") : html_escape(text.substr(i, end - i));
    if (out.size() + piece.size() > budget) return out + "\u2026";
    out += piece;
    i = end;
  }
  return out;
}

std::string when(Timestamp ts) {
  const std::string t = format_rfc3339(ts);  // 2024-05-01T10:00:03.000Z
  return t.substr(0, 10) + " " + t.substr(11, 8) + " UTC";
}

// One message as a paragraph: "2024-05-01 10:00:03 UTC · sms · inbound · customer +49…", then its text.
std::string line(const Message& m) {
  std::string who = to_string(m.author_kind);
  if (!m.author_handle.empty()) who += " " + m.author_handle;
  std::string body = escaped_text(m.text, k_max_line_bytes);
  for (std::size_t i = 0; i < m.attachments.size(); ++i) {
    const auto& a = m.attachments[i];
    std::string link = fmt::format("{}<a href=\"{}\">{}</a>", body.empty() ? "" : "<br>", html_escape(a.url),
                                   html_escape(a.name.empty() ? a.type : a.type + ": " + a.name));
    if (body.size() + link.size() > k_max_line_bytes) {
      const std::size_t more = m.attachments.size() - i;
      body += fmt::format("<br>({} more attachment{})", more, more == 1 ? "" : "s");
      break;
    }
    body += link;
  }
  std::string head = html_escape(m.channel);
  if (m.kind != MessageKind::message) head += std::string(" ") + to_string(m.kind);
  std::string dir = to_string(m.direction);
  if (!m.status.empty()) dir += " (" + m.status + ")";
  return fmt::format("<p>{} \u00b7 {} \u00b7 {} \u00b7 {}<br>{}</p>", when(m.sent_at), head, dir, html_escape(who),
                     body);
}

TimelineNote finish(const std::string& person_id, const std::vector<const Message*>& run,
                    const std::vector<std::string>& lines) {
  std::vector<std::string> channels;
  for (const auto* m : run)
    if (std::find(channels.begin(), channels.end(), m->channel) == channels.end()) channels.push_back(m->channel);
  std::string heading = fmt::format("<p><strong>{} message{}</strong> ({})</p>", run.size(), run.size() == 1 ? "" : "s",
                                    html_escape(fmt::format("{}", fmt::join(channels, ", "))));
  TimelineNote note{key_of(person_id, *run.front()), heading, run.back()->sent_at, format_mark(*run.back()),
                    run.size()};
  for (const auto& l : lines) note.body += l;
  return note;
}

}  // namespace

std::string format_mark(const Message& m) {
  return fmt::format("{} {} {}", m.sent_at, m.connector, m.id);
}

std::optional<NotedMark> parse_mark(std::string_view text) {
  const auto a = text.find(' ');
  if (a == std::string_view::npos || a == 0) return std::nullopt;
  const auto b = text.find(' ', a + 1);
  if (b == std::string_view::npos || b == a + 1 || b + 1 >= text.size()) return std::nullopt;
  NotedMark mark;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + a, mark.sent_at);
  if (ec != std::errc() || end != text.data() + a) return std::nullopt;
  mark.connector = std::string(text.substr(a + 1, b - a - 1));
  mark.id = std::string(text.substr(b + 1));
  return mark;
}

std::vector<TimelineNote> timeline_notes(const PersonRecord& p, const std::optional<NotedMark>& after) {
  std::vector<TimelineNote> notes;
  std::vector<const Message*> run;
  std::vector<std::string> lines;
  std::size_t bytes = 0;
  for (const auto& m : p.messages) {
    if (after && !after_mark(m, *after)) continue;
    std::string l = line(m);
    // Greedy from the first new message: the same mark and messages always cut at the same places.
    if (!run.empty() && (run.size() >= k_note_max_messages || bytes + l.size() > k_note_max_bytes)) {
      notes.push_back(finish(p.person_id, run, lines));
      run.clear();
      lines.clear();
      bytes = 0;
    }
    bytes += l.size();
    run.push_back(&m);
    lines.push_back(std::move(l));
  }
  if (!run.empty()) notes.push_back(finish(p.person_id, run, lines));
  return notes;
}

}  // namespace chansync::adapters::hubspot
