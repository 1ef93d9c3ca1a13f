// The HubSpot target's timeline: each person's messages as notes keyed by their first message, the
// notes associated with the contact, and the contact's mark of how far they go, moved last.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "adapters/hubspot/hubspot_sink_parts.hpp"
#include "sync/timestamp.hpp"

namespace chansync::adapters::hubspot::sink {

// Each contact's mark (noted_property), read before its notes are built: they start after it.
std::optional<Error> HubSpotSink::read_marks(std::vector<Work>& work) {
  std::vector<const PushItem*> items;
  for (const auto& w : work) items.push_back(w.item);
  auto found = read_contacts(items, {m_noted_property});
  if (!found && stops(found.error())) return found.error();
  for (auto& w : work) {
    if (!found) {
      w.error = found.error();
      continue;
    }
    const auto it = found->find(w.person_id());
    if (it == found->end() || !it->second.properties.count(m_noted_property)) continue;
    const std::string& text = it->second.properties.at(m_noted_property);
    w.mark = parse_mark(text);
    if (!text.empty() && !w.mark)
      spdlog::warn("{}: contact {} has {} = \"{}\", which chansync did not write; its notes start over", name(),
                   it->second.id, m_noted_property, text);
  }
  return std::nullopt;
}

// Stores each person's new notes by their keys: a repeated push updates the same notes.
std::optional<Error> HubSpotSink::upsert_notes(std::vector<Work>& work) {
  std::vector<std::pair<Work*, const TimelineNote*>> entries;
  for (auto& w : work)
    if (w.ok())
      for (const auto& n : w.notes) entries.push_back({&w, &n});
  for (std::size_t at = 0; at < entries.size(); at += k_batch)
    if (auto stop = send_notes(std::span(entries).subspan(at, std::min(k_batch, entries.size() - at)), true))
      return stop;
  return std::nullopt;
}

// One batch of notes. A batch HubSpot refuses as a whole for its content (400, 409, 422: one note it
// will not take) is sent again in halves, down to the note, so that its owner alone fails and the
// other persons' timelines go on. When both halves of a whole batch, and a note of each half alone,
// are refused alike (HubSpot's words without the correlationId), the refusal is about the request
// (the note property, say): the push ends there (78) rather than send 199 requests per batch.
std::optional<Error> HubSpotSink::send_notes(std::span<std::pair<Work*, const TimelineNote*>> part, bool whole) {
  auto a = post_notes(part);
  if (!a) return a.error();
  return settle_notes(part, *a, whole);
}

Result<Answer> HubSpotSink::post_notes(std::span<std::pair<Work*, const TimelineNote*>> part) {
  nlohmann::json inputs = nlohmann::json::array();
  for (const auto& [owner, note] : part)
    inputs.push_back({{"idProperty", m_note_property},
                      {"id", note->key},
                      {"objectWriteTraceId", note->key},
                      {"properties",
                       {{m_note_property, note->key},
                        {"hs_note_body", note->body},
                        {"hs_timestamp", format_rfc3339(note->timestamp)}}}});
  return send("/crm/v3/objects/notes/batch/upsert", {{"inputs", inputs}},
              fmt::format("upserting {} timeline notes", part.size()));
}

std::optional<Error> HubSpotSink::settle_notes(std::span<std::pair<Work*, const TimelineNote*>> part,
                                               const Answer& answer, bool whole) {
  const Answer* a = &answer;
  if (a->refused && part.size() > 1 && (a->status == 400 || a->status == 409 || a->status == 422)) {
    const auto halves = std::array{part.first(part.size() / 2), part.subspan(part.size() / 2)};
    if (!whole) {
      for (const auto h : halves)
        if (auto stop = send_notes(h, false)) return stop;
      return std::nullopt;
    }
    const auto alike = [&](const Result<Answer>& x) {
      return x && x->refused && x->status == a->status && vendor_words(*x) == vendor_words(*a);
    };
    std::array<Result<Answer>, 2> answers = {post_notes(halves[0]), post_notes(halves[1])};
    for (auto& x : answers)
      if (!x) return x.error();
    if (alike(answers[0]) && alike(answers[1]) && alike(post_notes(halves[0].first(1))) &&
        alike(post_notes(halves[1].last(1))))
      return Error{Errc::config,
                   fmt::format("HubSpot refused {} timeline notes, each half of them and a note of each half alone "
                               "alike (HTTP {}: {}): that is about the request, not about a note in it; `chansync "
                               "health` checks targets.{}'s note properties",
                               part.size(), a->status, a->vendor, name()),
                   name(), a->status};
    for (std::size_t i = 0; i < 2; ++i)
      if (auto stop = settle_notes(halves[i], *answers[i], false)) return stop;
    return std::nullopt;
  }
  auto owner_of = [&](const std::string& key) -> Work* {
    for (const auto& [owner, note] : part)
      if (note->key == key) return owner;
    return nullptr;
  };
  for (const auto& r : a->batch.results) {
    const std::string key = !r.trace_id.empty()                   ? r.trace_id
                            : r.properties.count(m_note_property) ? r.properties.at(m_note_property)
                                                                  : "";
    if (Work* w = owner_of(key)) w->note_ids[key] = r.id;
  }
  for (const auto& e : a->batch.errors)
    for (const auto& key : e.trace_ids)
      if (Work* w = owner_of(key))
        w->error = Error{Errc::remote, "HubSpot refused its timeline note: " + e.text, name(), 207};
  for (const auto& [owner, note] : part)
    if (!owner->error && !owner->note_ids.count(note->key))
      owner->error = a->refused ? *a->refused
                                : Error{Errc::protocol, "HubSpot's answer did not confirm its timeline note", name()};
  return std::nullopt;
}

// Associating a note that already is associated changes nothing: safe after a crash.
std::optional<Error> HubSpotSink::associate_notes(std::vector<Work>& work) {
  std::vector<std::pair<Work*, std::string>> pairs;  // (owner, note id)
  for (auto& w : work)
    if (w.ok())
      for (const auto& n : w.notes) pairs.push_back({&w, w.note_ids.at(n.key)});
  for (std::size_t at = 0; at < pairs.size(); at += k_batch) {
    const auto part = std::span(pairs).subspan(at, std::min(k_batch, pairs.size() - at));
    nlohmann::json inputs = nlohmann::json::array();
    for (const auto& [owner, note_id] : part)
      inputs.push_back(
          {{"from", {{"id", note_id}}},
           {"to", {{"id", owner->contact_id}}},
           {"types", {{{"associationCategory", "HUBSPOT_DEFINED"}, {"associationTypeId", k_note_to_contact}}}}});
    auto a = send("/crm/v4/associations/notes/contacts/batch/create", {{"inputs", inputs}},
                  fmt::format("associating {} notes with their contacts", part.size()));
    if (!a) return a.error();
    for (const auto& [owner, note_id] : part) {
      const bool confirmed = std::any_of(a->batch.results.begin(), a->batch.results.end(),
                                         [&](const BatchObject& r) { return r.id == note_id; });
      if (confirmed || owner->error) continue;
      owner->error =
          a->refused ? *a->refused
          : !a->batch.errors.empty()
              ? Error{Errc::remote, "HubSpot did not associate its timeline note: " + a->batch.errors.front().text,
                      name(), 207}
              : Error{Errc::protocol, "HubSpot's answer did not confirm its note's association", name()};
    }
  }
  return std::nullopt;
}

// The mark moves last: until it does, a repeated push rebuilds the same notes from the old mark.
std::optional<Error> HubSpotSink::update_marks(std::vector<Work>& work) {
  std::vector<Work*> pending;
  for (auto& w : work)
    if (w.ok()) pending.push_back(&w);
  for (std::size_t at = 0; at < pending.size(); at += k_batch) {
    const auto part = std::span(pending).subspan(at, std::min(k_batch, pending.size() - at));
    nlohmann::json inputs = nlohmann::json::array();
    for (const auto* w : part)
      inputs.push_back({{"id", w->contact_id},
                        {"objectWriteTraceId", w->person_id()},
                        {"properties", {{m_noted_property, w->notes.back().mark}}}});
    auto a = send("/crm/v3/objects/contacts/batch/update", {{"inputs", inputs}},
                  fmt::format("recording how far {} contacts' notes go", part.size()));
    if (!a) return a.error();
    for (auto* w : part) {
      const bool confirmed = std::any_of(a->batch.results.begin(), a->batch.results.end(),
                                         [&](const BatchObject& r) { return r.id == w->contact_id; });
      if (confirmed) {
        w->done = true;
        continue;
      }
      w->error = a->refused ? *a->refused
                            : Error{Errc::remote, fmt::format("HubSpot did not store {}", m_noted_property), name()};
      for (const auto& e : a->batch.errors)
        if (std::count(e.trace_ids.begin(), e.trace_ids.end(), w->person_id()))
          w->error = person_error(e, w->person_id());
    }
  }
  return std::nullopt;
}

}  // namespace chansync::adapters::hubspot::sink
