#include "adapters/chatwoot/chatwoot_timeline.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <vector>

#include "adapters/stop_waits.hpp"
#include "sync/digest.hpp"

namespace chansync::adapters::chatwoot {
namespace {

// Derived from what never changes for a person's thread on a channel, so a retry or a re-run finds
// the conversation an earlier attempt opened instead of opening another.
std::string source_id(const std::string& person_id, const std::string& channel) {
  return fmt::format("chansync:{}:{}", person_id, channel);
}

// A conversation chansync opened for some person on `channel` (a contact merge moves the merged
// person's onto the survivor's contact).
bool chansync_conversation_on(const WireConversation& c, const std::string& channel) {
  return c.source_key.starts_with("chansync:") && c.source_key.ends_with(":" + channel);
}

// A message's identity across runs: its connector and its vendor id (unique per connector).
std::string message_key(const Message& m) {
  return m.connector + "/" + m.id;
}

// The channels of a person's messages, in order of their first message.
std::vector<std::string> channels_of(const PersonRecord& p) {
  std::vector<std::string> out;
  for (const auto& m : p.messages)
    if (std::find(out.begin(), out.end(), m.channel) == out.end()) out.push_back(m.channel);
  return out;
}

// The private note of the conversation on `channel`: the person's other channels, with the
// customer's handles on each, and the CRM records the person merges. Built only from what changes
// rarely (no name, counts or dates), so it is posted again only when the person's channels change.
// "" when the person has no other channel.
std::string note_text(const PersonRecord& p, const std::string& channel) {
  std::string lines;
  for (const auto& other : channels_of(p)) {
    if (other == channel) continue;
    std::vector<std::string> handles;
    for (const auto& m : p.messages)
      if (m.channel == other && m.direction == Direction::inbound && !m.author_handle.empty() &&
          std::find(handles.begin(), handles.end(), m.author_handle) == handles.end())
        handles.push_back(m.author_handle);
    lines += fmt::format("\n- {}{}{}", other, handles.empty() ? "" : ": ", fmt::join(handles, ", "));
  }
  if (lines.empty()) return "";
  std::string out =
      "chansync: this person is also in touch on other channels, each its own conversation in this inbox:" + lines;
  if (!p.contacts.empty()) {
    out += "\nCRM records:";
    for (const auto& c : p.contacts) {
      const auto name = c.display_name();
      out += fmt::format("\n- {} {}{}", c.connector, c.id, name.empty() ? "" : " (" + name + ")");
    }
  }
  return out + fmt::format("\nchansync person {}", p.person_id);
}

NewMessage new_message(const Message& m) {
  NewMessage out;
  // Chatwoot requires content; a message of attachments only shows them as links (vendors' media
  // URLs are not re-uploaded: some expire, and downloading them is not a push's job).
  out.content = m.text;
  for (const auto& a : m.attachments)
    out.content += fmt::format("{}[{}{}{}] {}", out.content.empty() ? "" : "\n", a.type, a.name.empty() ? "" : ": ",
                               a.name, a.url);
  if (out.content.empty()) out.content = "(no text)";
  out.message_type = m.direction == Direction::inbound ? "incoming" : "outgoing";
  // external_created_at is the attribute Chatwoot itself uses for a message's original time.
  out.content_attributes = {{"chansync_id", message_key(m)},
                            {"chansync_channel", m.channel},
                            {"chansync_author", to_string(m.author_kind)},
                            {"chansync_sent_at", format_rfc3339(m.sent_at)},
                            {"chansync_kind", to_string(m.kind)},
                            {"chansync_status", m.status},
                            {"external_created_at", m.sent_at / 1000}};
  return out;
}

// The digest of the first `n` keys.
std::string keys_digest(const std::vector<std::string>& keys, std::size_t n) {
  std::string joined;
  for (std::size_t i = 0; i < n && i < keys.size(); ++i) (joined += keys[i]) += '\n';
  return short_digest(joined);
}

std::optional<std::int64_t> parse_id(std::string_view text) {
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id < 0) return std::nullopt;
  return id;
}

// "45" or "45:812:40:<digest>:<note digest>:<kept>".
std::optional<ConversationMark> parse_mark(std::string_view text) {
  std::vector<std::string_view> parts;
  for (std::size_t at = 0;;) {
    const auto colon = text.find(':', at);
    parts.push_back(text.substr(at, colon == std::string_view::npos ? colon : colon - at));
    if (colon == std::string_view::npos) break;
    at = colon + 1;
  }
  const auto id = parse_id(parts[0]);
  if (!id) return std::nullopt;
  ConversationMark mark{*id};
  if (parts.size() != 6) return mark;  // no mark (or one this version cannot read): read it all
  const auto newest = parse_id(parts[1]), delivered = parse_id(parts[2]), kept = parse_id(parts[5]);
  if (!newest || !delivered || !kept || parts[3].size() != 16) return mark;
  mark.kept = static_cast<std::size_t>(*kept);
  mark.newest = *newest;
  mark.delivered = static_cast<std::size_t>(*delivered);
  mark.digest = parts[3];
  mark.note = parts[4];
  return mark;
}

// One channel's conversation as the push finds it.
struct Found {
  std::set<std::string> present;  // the record's keys that are there
  bool note_current = false;      // the note of the record is the newest there
  std::int64_t newest = 0;        // the newest message id seen
  std::size_t kept = 0;           // chansync's messages there the record lacks, left
};

class Delivery {
 public:
  Delivery(Api& api, const std::string& target, std::int64_t inbox, const PersonRecord& p, RemoteIds& ids)
      : m_api(api), m_target(target), m_inbox(inbox), m_person(p), m_ids(ids) {}

  // Brings the channel's conversation to the record. `gone`: a channel the record no longer has
  // (every message on it split off or erased): what chansync put there is deleted, and the channel
  // forgotten.
  Result<void> channel(const std::string& channel, bool gone = false) {
    m_channel = channel;
    m_source = source_id(m_person.person_id, channel);
    m_note = gone ? "" : note_text(m_person, channel);
    m_wanted.clear();
    m_keys.clear();
    std::set<std::string> seen;
    for (const auto& m : m_person.messages)
      if (m.channel == channel && seen.insert(message_key(m)).second) {
        m_wanted.push_back(&m);
        m_keys.push_back(message_key(m));
      }
    m_key_set = {m_keys.begin(), m_keys.end()};

    std::optional<std::int64_t> own;
    Found found;
    if (const auto it = m_ids.conversations.find(channel); it != m_ids.conversations.end()) {
      const ConversationMark mark = it->second;
      auto read = mark.newest > 0 ? since_mark(mark) : everything(mark.id, nullptr);
      if (read) {
        own = mark.id;
        found = std::move(*read);
      } else if (read.error().http_status == 404) {
        spdlog::info("{}: conversation {} of person {} is no longer in Chatwoot; looking for the {} conversation",
                     m_target, mark.id, m_person.person_id, channel);
        m_ids.conversations.erase(it);
      } else {
        return std::unexpected(std::move(read.error()));
      }
    }
    if (gone) {
      m_ids.conversations.erase(channel);
      return {};
    }
    // With something to post, or no conversation known: the contact's conversations are looked at
    // first. The person's own may be there (a ledger without it); and a contact merge moves the
    // merged person's conversations here, with messages the record now has: those are not posted
    // again, and a channel the person had no conversation on takes the moved one.
    const auto missing = [&] {
      return std::any_of(m_keys.begin(), m_keys.end(), [&](const auto& k) { return !found.present.count(k); });
    };
    if (!own || missing()) {
      auto listed = contact_conversations();
      if (!listed) return std::unexpected(std::move(listed.error()));
      if (!own)
        for (const auto& c : **listed)
          if (c.inbox_id == m_inbox && c.source_key == m_source) {
            auto read = everything(c.id, nullptr);
            if (!read) return std::unexpected(std::move(read.error()));
            own = c.id;
            found = std::move(*read);
            break;
          }
      for (const auto& c : **listed) {
        if (c.inbox_id != m_inbox || c.id == own || !chansync_conversation_on(c, m_channel) || !missing()) continue;
        auto moved = m_api.messages(c.id, nullptr);
        if (!moved) return std::unexpected(std::move(moved.error()));
        std::size_t there = 0;
        for (const auto& w : *moved) there += !w.chansync_id.empty() && found.present.insert(w.chansync_id).second;
        spdlog::debug("{}: person {}: {} of its {} messages are in conversation {} ({}), moved to its contact",
                      m_target, m_person.person_id, there, m_channel, c.id, c.source_key);
        if (!own) {  // the merged person's conversation becomes this person's on the channel
          own = c.id;
          // Its messages this record lacks are another person's (an agent's merge, or an undo later):
          // kept, and so nothing is ever deleted there.
          for (const auto& w : *moved) {
            found.newest = std::max(found.newest, w.id);
            found.kept += !w.chansync_id.empty() && !m_key_set.count(w.chansync_id);
          }
        }
      }
    }
    if (!own) {
      auto opened = m_api.create_conversation(m_ids.contact, m_source, channel);
      if (!opened) return std::unexpected(std::move(opened.error()));
      own = *opened;
      found.note_current = m_note.empty();
    }
    return post_missing(*own, found);
  }

 private:
  // Reads back only what is newer than the mark; everything() when the record's keys no longer
  // begin with those the mark confirmed, a newer message of chansync's is not the record's, or a
  // note the mark confirmed is no longer wanted.
  Result<Found> since_mark(const ConversationMark& mark) {
    auto newer = m_api.messages(
        mark.id, [&](const std::vector<WireMessage>& so_far) { return so_far.front().id <= mark.newest; });
    if (!newer) return std::unexpected(std::move(newer.error()));
    Found found;
    found.newest = mark.newest;
    std::optional<std::string> newest_note;
    for (const auto& w : *newer) {
      found.newest = std::max(found.newest, w.id);
      if (w.id <= mark.newest) continue;
      if (!w.chansync_id.empty() && !m_key_set.count(w.chansync_id)) return everything(mark.id, &mark);
      if (!w.chansync_id.empty()) found.present.insert(w.chansync_id);
      if (w.chansync_note) newest_note = w.content;
    }
    std::vector<std::string> rest;
    for (const auto& k : m_keys)
      if (!found.present.count(k)) rest.push_back(k);
    if (rest.size() < mark.delivered || keys_digest(rest, mark.delivered) != mark.digest ||
        (m_note.empty() && !mark.note.empty())) {
      spdlog::debug(
          "{}: person {}: the {} messages are no longer those the last push confirmed; reading conversation "
          "{} whole",
          m_target, m_person.person_id, m_channel, mark.id);
      return everything(mark.id, &mark);
    }
    found.present.insert(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(mark.delivered));
    found.kept = mark.kept;
    found.note_current = m_note.empty() || (newest_note ? *newest_note == m_note : mark.note == short_digest(m_note));
    return found;
  }

  // Reads the whole conversation. With the mark of what the last push confirmed there, chansync's
  // messages the record lacks (split off to another person, erased) and notes no longer wanted are
  // deleted: only those the mark covers, and never without a mark. A message newer than the mark
  // may be one this store does not know (it was restored from a backup): it is left, counted in the
  // new mark, and nothing in that conversation is deleted again (which are which is not known).
  Result<Found> everything(std::int64_t conversation, const ConversationMark* mark) {
    auto all = m_api.messages(conversation, nullptr);
    if (!all) return std::unexpected(std::move(all.error()));
    Found found;
    std::string last_note;
    std::vector<std::int64_t> stray;
    for (const auto& w : *all) {
      found.newest = std::max(found.newest, w.id);
      const bool covered = mark && mark->kept == 0 && w.id <= mark->newest;
      if (!w.chansync_id.empty()) {
        if (m_key_set.count(w.chansync_id))
          found.present.insert(w.chansync_id);
        else if (covered)
          stray.push_back(w.id);
        else
          ++found.kept;
      }
      if (w.chansync_note) {
        last_note = w.content;  // oldest first: the newest wins
        if (m_note.empty() && covered) stray.push_back(w.id);
      }
    }
    found.note_current = m_note.empty() || last_note == m_note;
    for (const std::int64_t message : stray) {
      if (stop_asked()) return fail(Errc::interrupted, "stopped by a signal; the next push deletes the rest", m_target);
      if (auto r = m_api.delete_message(conversation, message); !r && r.error().http_status != 404)
        return std::unexpected(std::move(r.error()));
    }
    if (!stray.empty())
      spdlog::info("{}: person {}: deleted {} {} messages of chansync's that are no longer the person's", m_target,
                   m_person.person_id, stray.size(), m_channel);
    return found;
  }

  // The contact's conversations, read once per person.
  Result<const std::vector<WireConversation>*> contact_conversations() {
    if (!m_listed) {
      auto got = m_api.contact_conversations(m_ids.contact);
      if (!got) return std::unexpected(std::move(got.error()));
      m_listed = std::move(*got);
    }
    return &*m_listed;
  }

  Result<void> post_missing(std::int64_t conversation, const Found& found) {
    std::int64_t newest = found.newest;
    std::size_t posted = 0;
    for (const Message* m : m_wanted) {
      if (found.present.count(message_key(*m))) continue;
      if (stop_asked())
        return fail(Errc::interrupted,
                    fmt::format("stopped by a signal after {} of its messages; the next push posts the rest", posted),
                    m_target);
      auto id = m_api.post_message(conversation, new_message(*m));
      if (!id) return std::unexpected(id.error());
      newest = std::max(newest, *id);
      ++posted;
    }
    if (!found.note_current) {
      NewMessage n{m_note, "outgoing", true, {{"chansync_note", true}}};
      auto id = m_api.post_message(conversation, n);
      if (!id) return std::unexpected(id.error());
      newest = std::max(newest, *id);
    }
    m_ids.conversations[m_channel] = ConversationMark{conversation,
                                                      newest,
                                                      m_keys.size(),
                                                      keys_digest(m_keys, m_keys.size()),
                                                      m_note.empty() ? "" : short_digest(m_note),
                                                      found.kept};
    spdlog::debug("{}: person {}, {} conversation {}: {} messages posted, {} already there", m_target,
                  m_person.person_id, m_channel, conversation, posted, m_wanted.size() - posted);
    return {};
  }

  Api& m_api;
  const std::string& m_target;
  std::int64_t m_inbox;
  const PersonRecord& m_person;
  RemoteIds& m_ids;
  std::optional<std::vector<WireConversation>> m_listed;
  std::string m_channel, m_source, m_note;
  std::vector<const Message*> m_wanted;
  std::vector<std::string> m_keys;
  std::set<std::string> m_key_set;
};

}  // namespace

std::string short_digest(std::string_view text) {
  return sha256_hex(text).substr(0, 16);
}

std::optional<RemoteIds> parse_remote_ids(std::string_view text) {
  RemoteIds out;
  std::size_t at = text.find(';');
  const auto contact = parse_id(text.substr(0, at));
  if (!contact) return std::nullopt;
  out.contact = *contact;
  while (at != std::string_view::npos) {
    const std::size_t next = text.find(';', at + 1);
    const auto item = text.substr(at + 1, next == std::string_view::npos ? next : next - at - 1);
    if (const auto eq = item.find('='); eq != std::string_view::npos) {
      const auto key = item.substr(0, eq), value = item.substr(eq + 1);
      if (key == "@email" || key == "@phone")
        (key == "@email" ? out.email_set : out.phone_set) = value;
      else if (auto mark = parse_mark(value))
        out.conversations[std::string(key)] = *mark;
    }
    at = next;
  }
  return out;
}

std::string format_remote_ids(const RemoteIds& ids) {
  std::string out = std::to_string(ids.contact);
  for (const auto& [channel, c] : ids.conversations) {
    out += fmt::format(";{}={}", channel, c.id);
    if (c.newest > 0) out += fmt::format(":{}:{}:{}:{}:{}", c.newest, c.delivered, c.digest, c.note, c.kept);
  }
  if (!ids.email_set.empty()) out += ";@email=" + ids.email_set;
  if (!ids.phone_set.empty()) out += ";@phone=" + ids.phone_set;
  return out;
}

Result<void> deliver_timeline(Api& api, const std::string& target, std::int64_t inbox, const PersonRecord& p,
                              RemoteIds& ids) {
  Delivery delivery(api, target, inbox, p, ids);
  const auto channels = channels_of(p);
  for (const auto& channel : channels)
    if (auto r = delivery.channel(channel); !r) return r;
  std::vector<std::string> gone;
  for (const auto& [channel, mark] : ids.conversations)
    if (std::find(channels.begin(), channels.end(), channel) == channels.end()) gone.push_back(channel);
  for (const auto& channel : gone)
    if (auto r = delivery.channel(channel, true); !r) return r;
  return {};
}

}  // namespace chansync::adapters::chatwoot
