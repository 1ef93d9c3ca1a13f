#include "adapters/hubspot/hubspot_sink.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "adapters/hubspot/hubspot_contact.hpp"
#include "adapters/hubspot/hubspot_sink_parts.hpp"
#include "adapters/pieces.hpp"
#include "adapters/status_page.hpp"

namespace chansync::adapters::hubspot {
namespace sink {
namespace {

// The contact properties chansync writes (besides id_property and the mark); verify() reads them back.
constexpr const char* k_fields[] = {"firstname", "lastname", "email", "phone"};

// A property name as HubSpot's internal names are written. Throws Failure(Errc::config).
std::string property_option(const EndpointConfig& cfg, const std::string& key, bool may_be_empty) {
  const std::string value = cfg.options.at(key).get<std::string>();
  if (value.empty() && may_be_empty) return value;
  if (value.empty() || value.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
    throw Failure(Errc::config, fmt::format("targets.{}.{} = \"{}\" is not a HubSpot property's internal name; use "
                                            "lower-case letters, digits and _ (the name shown under the property's "
                                            "label in Settings > Properties)",
                                            cfg.name, key, value));
  return value;
}

}  // namespace

HubSpotSink::HubSpotSink(const AdapterContext& ctx)
    : m_api(ctx),
      m_id_property(property_option(ctx.config, "id_property", false)),
      m_note_property(property_option(ctx.config, "note_id_property", true)),
      m_noted_property(property_option(ctx.config, "noted_property", false)) {}

// Reading the id property's definition is the authenticated call; with notes on, the note key and
// mark properties are checked as well.
HealthReport HubSpotSink::probe() {
  std::vector<PropertyCheck> checks = {{"contacts", m_id_property, true}};
  if (notes()) {
    checks.push_back({"notes", m_note_property, true});
    checks.push_back({"contacts", m_noted_property, false});
  }
  return check_properties(m_api, k_type, checks);
}

Result<std::vector<PushOutcome>> HubSpotSink::push(std::span<const PushItem> batch) {
  if (!m_api.has_token())
    return fail(Errc::config, fmt::format("no token was read for targets.{}; set token_env or token_file", name()),
                name());
  std::vector<PushOutcome> out;
  std::optional<Error> stop;
  std::vector<const PushItem*> upserts, removes;
  for (const auto& item : batch) (item.remove ? removes : upserts).push_back(&item);
  for (std::size_t at = 0; at < upserts.size(); at += k_batch) {
    std::vector<Work> work;
    for (std::size_t i = at; i < std::min(upserts.size(), at + k_batch); ++i) work.push_back({upserts[i]});
    if (!stop) stop = upsert_group(work);
    for (auto& w : work) {
      if (w.done)
        out.push_back(
            {w.person_id(), w.created ? PushOutcome::Status::created : PushOutcome::Status::updated, w.contact_id});
      else
        out.push_back({w.person_id(), PushOutcome::Status::failed, "", w.error ? w.error : stop});
    }
  }
  for (std::size_t at = 0; at < removes.size(); at += k_batch) {
    const auto part = std::span(removes).subspan(at, std::min(k_batch, removes.size() - at));
    if (!stop) stop = archive_group(part, out);
    if (stop)
      for (const auto* item : part)
        if (std::none_of(out.begin(), out.end(), [&](const auto& o) { return o.person_id == item->record->person_id; }))
          out.push_back({item->record->person_id, PushOutcome::Status::failed, "", stop});
  }
  const bool any = std::any_of(out.begin(), out.end(), [](const auto& o) { return !o.error; });
  if (stop && !any) return std::unexpected(*stop);  // nothing was delivered: the whole batch failed
  return out;
}

Result<Answer> HubSpotSink::send(const std::string& path, const nlohmann::json& body, const std::string& what) {
  auto resp = m_api.post(path, body, true);  // every request of this sink is an upsert or a read
  if (!resp) return std::unexpected(resp.error());
  Answer a{resp->status};
  if (a.status == 204) return a;
  if (a.status == 200 || a.status == 201 || a.status == 207) {
    auto parsed = parse_batch(resp->body);
    if (parsed)
      a.batch = std::move(*parsed);
    else
      a.refused = Error{Errc::protocol, fmt::format("{}: {}", what, parsed.error().message), name(), a.status};
    return a;
  }
  Error e = m_api.error("POST", path, *resp, what);
  if (stops(e)) return std::unexpected(std::move(e));
  a.refused = std::move(e);
  a.vendor = parse_error(resp->body);
  return a;
}

// What to do when another contact holds the person's email (HubSpot's CONFLICT names its id).
std::string HubSpotSink::conflict_advice(const std::string& person_id) const {
  return fmt::format(
      "; another HubSpot contact already holds this email: merge the two in HubSpot, or set {} = {} on that "
      "contact so chansync updates it",
      m_id_property, person_id);
}

// A 207 error about one input, with what to do where HubSpot's text does not say it.
Error HubSpotSink::person_error(const BatchError& e, const std::string& person_id) const {
  std::string text = "HubSpot refused it: " + e.text;
  if (e.category == "CONFLICT") text += conflict_advice(person_id);
  return Error{Errc::remote, std::move(text), name(), 207};
}

// Upserts the group's contacts, then its notes. Returns the error that stops the push, if any.
std::optional<Error> HubSpotSink::upsert_group(std::vector<Work>& work) {
  if (notes())
    if (auto stop = read_marks(work)) return stop;
  std::vector<Work*> all;
  for (auto& w : work)
    if (w.ok()) all.push_back(&w);
  if (auto stop = upsert_contacts(all)) return stop;
  for (auto& w : work)
    if (w.ok() && (!notes() || (w.notes = timeline_notes(*w.item->record, w.mark)).empty())) w.done = true;
  if (!notes()) return std::nullopt;
  if (auto stop = upsert_notes(work)) return stop;
  if (auto stop = associate_notes(work)) return stop;
  return update_marks(work);
}

std::optional<Error> HubSpotSink::upsert_contacts(std::span<Work*> part) {
  if (part.empty()) return std::nullopt;
  auto refused = try_contacts(part);
  if (!refused) return std::move(refused.error());
  return *refused ? narrow_contacts(part, **refused, true) : std::nullopt;
}

// HubSpot refusing a whole upsert (400/409/422) may be one input's fault: its pieces go again, down
// to single persons, so one bad record does not hold back the other 99. The first split is in
// quarters. When all four are refused just as the whole was, the first quarter is narrowed down to
// single persons: if each of them is refused alike too (a missing id property, a property type
// HubSpot will not take), the refusal is about the request, and it ends the push, where narrowing
// every quarter would send 199 requests for each batch of 100.
std::optional<Error> HubSpotSink::narrow_contacts(std::span<Work*> part, const Answer& refused, bool first) {
  const bool content = refused.status == 400 || refused.status == 409 || refused.status == 422;
  if (part.size() == 1 || !content) {
    for (auto* w : part)
      w->error =
          part.size() == 1 && !refused.vendor.empty()
              ? Error{Errc::remote,
                      fmt::format("HubSpot refused its contact with HTTP {}: {}{}", refused.status, refused.vendor,
                                  refused.status == 409 || refused.vendor.starts_with("CONFLICT")
                                      ? conflict_advice(w->person_id())
                                      : ""),
                      name(), refused.status}
              : refused.refused;
    return std::nullopt;
  }
  const std::size_t pieces = first && part.size() >= 4 ? 4 : 2;
  const auto spans = pieces_of(part, pieces);
  std::vector<std::optional<Answer>> answers;
  for (const auto piece : spans) {
    auto answer = try_contacts(piece);
    if (!answer) return std::move(answer.error());
    answers.push_back(std::move(*answer));
  }
  std::size_t i = 0;
  if (pieces == 4 && std::all_of(answers.begin(), answers.end(), [&](const auto& a) {
        return a && a->status == refused.status && vendor_words(*a) == vendor_words(refused);
      })) {
    if (auto stop = narrow_contacts(spans[0], *answers[0], false)) return stop;
    if (std::all_of(spans[0].begin(), spans[0].end(), [&](const Work* w) {
          return w->contact_id.empty() && w->error && w->error->http_status == refused.status &&
                 w->error->message.find(vendor_words(refused)) != std::string::npos;
        }))
      return Error{Errc::config,
                   fmt::format("HubSpot refused an upsert of {} contacts, each quarter of it and each contact of "
                               "the first quarter alike (HTTP {}: {}): that is about the request, not about a "
                               "contact in it; `chansync health` checks targets.{}'s properties",
                               part.size(), refused.status, refused.vendor, name()),
                   name(), refused.status};
    i = 1;
  }
  for (; i < spans.size(); ++i)
    if (answers[i])
      if (auto stop = narrow_contacts(spans[i], *answers[i], false)) return stop;
  return std::nullopt;
}

// Upserts `part` in one request and records each person's answer. Returns the answer when HubSpot
// refused the request as a whole, nullopt when it answered per person, or the error that ends the
// push.
Result<std::optional<Answer>> HubSpotSink::try_contacts(std::span<Work*> part) {
  nlohmann::json inputs = nlohmann::json::array();
  for (const auto* w : part) {
    nlohmann::json properties = contact_fields(*w->item->record);
    properties[m_id_property] = w->person_id();
    inputs.push_back({{"idProperty", m_id_property},
                      {"id", w->person_id()},
                      {"objectWriteTraceId", w->person_id()},
                      {"properties", properties}});
  }
  auto a = send("/crm/v3/objects/contacts/batch/upsert", {{"inputs", inputs}},
                fmt::format("upserting {} contacts", part.size()));
  if (!a) return std::unexpected(std::move(a.error()));
  if (a->refused) return std::optional(std::move(*a));
  auto find = [&](const std::string& person_id) {
    const auto it = std::find_if(part.begin(), part.end(), [&](Work* w) { return w->person_id() == person_id; });
    return it == part.end() ? nullptr : *it;
  };
  for (const auto& r : a->batch.results) {
    Work* w = find(r.trace_id);
    if (!w && r.properties.count(m_id_property)) w = find(r.properties.at(m_id_property));
    if (!w) continue;
    w->contact_id = r.id;
    w->created = r.is_new;
  }
  for (const auto& e : a->batch.errors) {
    bool matched = false;
    for (const auto& trace : e.trace_ids)
      if (Work* w = find(trace)) w->error = person_error(e, trace), matched = true;
    if (!matched)  // an error HubSpot did not tie to an input: it is about the unanswered ones
      for (auto* w : part)
        if (w->contact_id.empty() && !w->error) w->error = person_error(e, w->person_id());
  }
  for (auto* w : part)
    if (w->contact_id.empty() && !w->error)
      w->error = Error{Errc::protocol, "HubSpot's answer to the upsert did not mention this person", name()};
  return std::optional<Answer>();
}

// Contact ids of persons by person_id, read by id_property (persons HubSpot has no contact for are absent).
Result<std::map<std::string, BatchObject>> HubSpotSink::read_contacts(std::span<const PushItem* const> items,
                                                                      std::vector<std::string> properties) {
  nlohmann::json inputs = nlohmann::json::array();
  for (const auto* item : items) inputs.push_back({{"id", item->record->person_id}});
  properties.insert(properties.begin(), m_id_property);
  const nlohmann::json body = {{"idProperty", m_id_property},
                               {"inputs", inputs},
                               {"properties", properties},
                               {"propertiesWithHistory", nlohmann::json::array()}};
  auto a = send("/crm/v3/objects/contacts/batch/read", body, fmt::format("reading {} contacts", items.size()));
  if (!a) return std::unexpected(a.error());
  if (a->refused) return std::unexpected(*a->refused);
  std::map<std::string, BatchObject> out;
  for (auto& r : a->batch.results)
    if (r.properties.count(m_id_property)) out[r.properties.at(m_id_property)] = std::move(r);
  return out;
}

// Archived contacts can be restored in HubSpot for 90 days. Archiving twice changes nothing. Erased
// persons' contacts are deleted for good instead. The contact is the one holding the person's id
// now, not the id the ledger kept: HubSpot's own merges forward an old id to the surviving contact,
// which holds another person, and that one must not be archived or deleted.
std::optional<Error> HubSpotSink::archive_group(std::span<const PushItem* const> part, std::vector<PushOutcome>& out) {
  std::vector<std::pair<const PushItem*, std::string>> targets;  // (item, contact id)
  auto found = read_contacts(part, {});
  if (!found && stops(found.error())) return found.error();
  for (const auto* item : part) {
    const auto& id = item->record->person_id;
    const std::string ledger = item->previous ? item->previous->remote_id : "";
    if (!found) {
      out.push_back({id, PushOutcome::Status::failed, "", found.error()});
    } else if (found->count(id)) {
      targets.push_back({item, found->at(id).id});
    } else {
      // No contact holds the person's id: deleted or archived in HubSpot, or merged there into
      // another person's contact, which keeps that person's id and, for an erased one, perhaps
      // some of this one's data.
      if (item->erased() && !ledger.empty())
        spdlog::warn(
            "{}: erased person {} has no HubSpot contact of its own any more (contact {} was deleted, or "
            "merged in HubSpot into another contact, which chansync leaves alone): look up contact {} in "
            "HubSpot and remove what is left of the person by hand",
            name(), id, ledger, ledger);
      out.push_back({id, PushOutcome::Status::deleted});
    }
  }
  // An erased person's contact goes for good, with the notes associated with it alone: HubSpot's GDPR
  // delete, one contact per request (it has no batch form). A contact already gone answers 404.
  std::vector<std::pair<const PushItem*, std::string>> erasing;
  std::erase_if(targets, [&](const auto& t) {
    if (t.first->erased()) erasing.push_back(t);
    return t.first->erased();
  });
  for (const auto& [item, id] : erasing) {
    auto a = send("/crm/v3/objects/contacts/gdpr-delete", {{"objectId", id}},
                  fmt::format("deleting for good (GDPR) contact {} of an erased person", id));
    if (!a) return a.error();
    const bool gone = !a->refused || a->status == 404;
    out.push_back({item->record->person_id, gone ? PushOutcome::Status::deleted : PushOutcome::Status::failed, "",
                   gone ? std::nullopt : a->refused});
  }
  if (targets.empty()) return std::nullopt;
  nlohmann::json inputs = nlohmann::json::array();
  for (const auto& [item, id] : targets) inputs.push_back({{"id", id}});
  auto a = send("/crm/v3/objects/contacts/batch/archive", {{"inputs", inputs}},
                fmt::format("archiving {} contacts of persons merged away", targets.size()));
  if (!a) return a.error();
  for (const auto& [item, id] : targets)
    out.push_back({item->record->person_id, a->refused ? PushOutcome::Status::failed : PushOutcome::Status::deleted, "",
                   a->refused});
  return std::nullopt;
}

Result<std::vector<VerifyOutcome>> HubSpotSink::verify(std::span<const PushItem> items) {
  std::vector<VerifyOutcome> out;
  for (std::size_t at = 0; at < items.size(); at += k_batch) {
    std::vector<const PushItem*> part;
    for (std::size_t i = at; i < std::min(items.size(), at + k_batch); ++i) part.push_back(&items[i]);
    auto found = read_contacts(part, {std::begin(k_fields), std::end(k_fields)});
    if (!found) return std::unexpected(found.error());
    for (const auto* item : part) {
      const auto& id = item->record->person_id;
      const auto it = found->find(id);
      if (it == found->end()) {
        out.push_back({id, VerifyOutcome::State::missing,
                       fmt::format("no HubSpot contact has {} = {} (deleted, archived or merged away in HubSpot)",
                                   m_id_property, id)});
        continue;
      }
      std::vector<std::string> differ;
      for (const auto& [field, sent] : contact_fields(*item->record)) {
        const std::string has = it->second.properties.count(field) ? it->second.properties.at(field) : "";
        if (comparable(field, has) != comparable(field, sent))
          differ.push_back(fmt::format("{}: HubSpot has \"{}\", chansync sent \"{}\"", field, has, sent));
      }
      const std::string& remote = item->previous ? item->previous->remote_id : "";
      if (!remote.empty() && it->second.id != remote)
        differ.push_back(
            fmt::format("contact id: {} now, chansync wrote {} (merged in HubSpot?)", it->second.id, remote));
      out.push_back({id, differ.empty() ? VerifyOutcome::State::same : VerifyOutcome::State::edited,
                     fmt::format("{}", fmt::join(differ, "; "))});
    }
  }
  return out;
}

}  // namespace sink

AdapterType sink_type() {
  using K = OptionSpec::Kind;
  return adapter_type<sink::HubSpotSink>(
      sink::k_type,
      "HubSpot CRM contacts upserted by a unique person_id property, with the cross-channel timeline as notes; "
      "persons merged away are archived",
      with_status_page(
          {
              {"token", "private app access token (Bearer); scopes in chansync-adapters(7)", K::string, true, true,
               nullptr},
              {"id_property", "unique contact property holding person_id (create it first: chansync-adapters(7))",
               K::string, false, false, "chansync_person_id"},
              {"note_id_property", "unique note property keying each timeline note; \"\" = no notes", K::string, false,
               false, "chansync_note_id"},
              {"noted_property", "contact property holding the newest message already in a note", K::string, false,
               false, "chansync_noted_through"},
              {"base_url", "API root (regional endpoints, tests, the simulator)", K::url, false, false,
               "https://api.hubapi.com"},
          },
          k_hubspot_status_page));
}

}  // namespace chansync::adapters::hubspot
