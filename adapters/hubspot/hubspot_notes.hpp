#pragma once
// The cross-channel timeline as HubSpot notes (pure: no HTTP). A contact carries a noted-through
// mark, the newest message already written into a note; the messages after it become one or more
// notes, each keyed by its first message. Re-building the notes after the same mark gives the same
// keys (the last note's body grows when more messages arrived), so upserting notes by key after a
// crash, a retried request or a lost ledger commit updates them instead of adding copies.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/model.hpp"

namespace chansync::adapters::hubspot {

// A position in a person's timeline, in PersonRecord::messages order (sent_at, connector, id).
struct NotedMark {
  Timestamp sent_at = 0;
  std::string connector;
  std::string id;
};

// "<sent_at ms> <connector> <id>", the value kept in the contact's noted-through property.
std::string format_mark(const Message& m);
// Inverse of format_mark; nullopt for "" or a value that is not one (edited by hand).
std::optional<NotedMark> parse_mark(std::string_view text);

struct TimelineNote {
  std::string key;          // the unique note property's value: "<person_id>-<16 hex of its first message>"
  std::string body;         // hs_note_body: HTML, every message text escaped
  Timestamp timestamp = 0;  // hs_timestamp: its newest message's sent_at
  std::string mark;         // format_mark of its newest message
  std::size_t messages = 0;
};

// The most a note holds; a longer run of new messages continues in the next note. HubSpot caps
// hs_note_body at 65,536 characters.
inline constexpr std::size_t k_note_max_messages = 100;
inline constexpr std::size_t k_note_max_bytes = 60'000;

// The notes for p's messages after `after` (every message when nullopt), oldest first; empty when
// nothing is new. Messages sorted before the mark (history pulled later) are not added.
std::vector<TimelineNote> timeline_notes(const PersonRecord& p, const std::optional<NotedMark>& after);

}  // namespace chansync::adapters::hubspot
