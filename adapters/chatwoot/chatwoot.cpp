#include "adapters/chatwoot/chatwoot.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string_view>
#include <vector>

#include "adapters/chatwoot/chatwoot_api.hpp"
#include "adapters/chatwoot/chatwoot_timeline.hpp"
#include "adapters/stop_waits.hpp"

namespace chansync::adapters::chatwoot {
namespace {

constexpr const char* k_type = "chatwoot";
constexpr const char* k_api_channel = "Channel::Api";

// Chatwoot's own check of a contact's phone_number (E.164).
bool is_e164(const std::string& s) {
  return s.size() >= 3 && s.size() <= 16 && s[0] == '+' && s[1] >= '1' && s[1] <= '9' &&
         std::all_of(s.begin() + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Chatwoot's (Devise's) check of an email: one '@' with something on each side, no whitespace.
bool is_email(const std::string& s) {
  const auto at = s.find('@');
  return at != std::string::npos && at > 0 && at + 1 < s.size() && s.find('@', at + 1) == std::string::npos &&
         s.find_first_of(" \t\r\n") == std::string::npos;
}

// The contact a person is in Chatwoot. Only verified handles: an unverified phone or a role address
// (info@) may be shared, and Chatwoot keeps emails and phone numbers unique per account.
ContactFields contact_fields(const PersonRecord& p) {
  ContactFields f{p.person_id, p.display_name, "", ""};
  for (const auto& h : p.handles) {
    if (!h.verified) continue;
    if (h.kind == HandleKind::phone && f.phone_number.empty() && is_e164(h.value)) f.phone_number = h.value;
    if (h.kind == HandleKind::email && f.email.empty() && is_email(h.value)) f.email = h.value;
  }
  if (f.name.empty()) f.name = !f.phone_number.empty() ? f.phone_number : !f.email.empty() ? f.email : p.person_id;
  return f;
}

// These errors are the target's, not the person's (see Sink::push): the push stops. So does a stop
// signal: a person can take thousands of requests, so it is seen between persons and messages.
bool stops_push(const Error& e) {
  return e.code == Errc::auth || e.code == Errc::unavailable || e.code == Errc::rate_limited ||
         e.code == Errc::interrupted;
}

std::optional<std::int64_t> parse_remote_id(const std::string& text) {
  const auto ids = parse_remote_ids(text);
  return ids ? std::optional(ids->contact) : std::nullopt;
}

std::int64_t positive_option(const EndpointConfig& cfg, const char* key) {
  const auto& v = cfg.options.at(key);
  const std::int64_t n = v.is_number_integer() ? v.get<std::int64_t>() : 0;
  if (n < 1)
    throw Failure(Errc::config, fmt::format("targets.{}.{} = {} is not a Chatwoot id; use the positive number in the "
                                            "inbox's settings URL (/app/accounts/<account_id>/settings/inboxes/"
                                            "<inbox_id>)",
                                            cfg.name, key, v.dump()));
  return n;
}

std::string base_url(const EndpointConfig& cfg) {
  std::string url = cfg.options.at("base_url").get<std::string>();
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

class ChatwootSink final : public Adapter, public Sink {
 public:
  explicit ChatwootSink(const AdapterContext& ctx)
      : m_name(ctx.config.name),
        m_account(positive_option(ctx.config, "account_id")),
        m_inbox(positive_option(ctx.config, "inbox_id")),
        m_has_token(ctx.config.secrets.count("token") > 0 && !ctx.config.secrets.at("token").empty()),
        m_api(ApiOptions{m_name, base_url(ctx.config), m_account, m_inbox,
                         m_has_token ? ctx.config.secrets.at("token") : "", ctx.sleep}) {}

  // GET of the inbox: proves the token, the account and the inbox, and that it is an API inbox.
  HealthReport probe() override {
    if (!m_has_token) {
      HealthReport r{m_name, k_type};
      r.checked_at = now_ms();
      r.summary = fmt::format("not checked: no token was read (targets.{}.token_env or token_file)", m_name);
      return r;
    }
    std::string body;
    auto obs = observe(m_api.http(), m_api.inbox_request(), &body);
    if (obs.http_status >= 300) obs.vendor_message = error_text(m_api.http().redact(body));
    const int st = obs.http_status;
    auto r = classify(m_name, k_type, std::move(obs));
    const auto inbox = st >= 200 && st < 300 ? parse_inbox(body) : std::nullopt;
    require_vendor_body(r, inbox.has_value(), "a Chatwoot inbox");
    if (r.cls == HealthClass::auth_failed)
      r.summary = fmt::format(
          "Chatwoot refused the access token (HTTP {}: {}); set targets.{}.token_env or token_file to the access "
          "token of a Chatwoot user (Profile settings) who administers account {} or is an agent of inbox {}",
          st, r.evidence.vendor_message, m_name, m_account, m_inbox);
    else if (st == 404)
      r.summary = fmt::format(
          "Chatwoot has no inbox {} in account {} (HTTP 404: {}); set targets.{}.account_id and inbox_id from the "
          "inbox's settings URL (/app/accounts/<account_id>/settings/inboxes/<inbox_id>)",
          m_inbox, m_account, r.evidence.vendor_message, m_name);
    else if (r.cls == HealthClass::ok && inbox->channel_type != k_api_channel) {
      r.cls = HealthClass::unknown;
      r.summary = fmt::format(
          "inbox {} (\"{}\") is a {} inbox; chansync posts the customers' messages, which Chatwoot accepts only in "
          "an API channel inbox: add one (Settings, Inboxes, Add Inbox, API) and set targets.{}.inbox_id to it",
          m_inbox, inbox->name, inbox->channel_type.empty() ? "non-API" : inbox->channel_type, m_name);
    }
    return r;
  }

  Result<std::vector<PushOutcome>> push(std::span<const PushItem> batch) override {
    if (!m_has_token)
      return fail(Errc::config, fmt::format("no token was read for targets.{}; set token_env or token_file", m_name),
                  m_name);
    std::vector<PushOutcome> out;
    out.reserve(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const PushItem& item = batch[i];
      if (const auto& dropped = m_api.attributes_dropped(); dropped && !item.remove) {
        out.push_back({item.record->person_id, PushOutcome::Status::failed, "", *dropped});
        continue;
      }
      auto outcome = i > 0 && stop_asked() ? fail(Errc::interrupted, "stopped by a signal before it was sent", m_name)
                     : item.remove         ? remove(item)
                                           : upsert(item);
      if (outcome) {
        out.push_back(std::move(*outcome));
        continue;
      }
      Error e = std::move(outcome.error());
      if (e.connector.empty()) e.connector = m_name;
      if (!stops_push(e)) {
        out.push_back({item.record->person_id, PushOutcome::Status::failed, "", std::move(e)});
        continue;
      }
      // The target went away (or refused the token): what it confirmed is reported, the rest fail
      // with its error, which stops the push (see Sink::push).
      if (out.empty()) return std::unexpected(std::move(e));
      for (std::size_t j = i; j < batch.size(); ++j)
        out.push_back({batch[j].record->person_id, PushOutcome::Status::failed, "", e});
      record_given(out);
      return out;
    }
    record_given(out);
    return out;
  }

  bool readable() const override { return true; }

  // Reads each contact back and compares the fields chansync set.
  Result<std::vector<VerifyOutcome>> verify(std::span<const PushItem> items) override {
    if (!m_has_token)
      return fail(Errc::config, fmt::format("no token was read for targets.{}; set token_env or token_file", m_name),
                  m_name);
    std::vector<VerifyOutcome> out;
    for (const auto& item : items) {
      const auto& p = *item.record;
      VerifyOutcome v{p.person_id};
      auto known = contact_id(item);
      if (!known) return std::unexpected(std::move(known.error()));
      const auto id = *known;
      if (!id) {
        out.push_back({p.person_id, VerifyOutcome::State::missing, "no contact has identifier " + p.person_id});
        continue;
      }
      auto contact = m_api.get_contact(*id);
      if (!contact && contact.error().http_status == 404) {
        out.push_back({p.person_id, VerifyOutcome::State::missing, fmt::format("contact {} was deleted", *id)});
        continue;
      }
      if (!contact) return std::unexpected(std::move(contact.error()));
      const auto want = contact_fields(p);
      std::vector<std::string> differ;
      if (contact->identifier != want.identifier) differ.push_back("identifier");
      if (contact->name != want.name) differ.push_back("name");
      // Chatwoot stores emails lower-cased, as chansync normalises them. One left empty is what a push
      // does when another contact holds it (drop_taken): not drift a repair could undo.
      if (!contact->email.empty() && !want.email.empty() && contact->email != want.email) differ.push_back("email");
      if (!contact->phone_number.empty() && !want.phone_number.empty() && contact->phone_number != want.phone_number)
        differ.push_back("phone_number");
      if (!differ.empty()) {
        v.state = VerifyOutcome::State::edited;
        v.detail = fmt::format("{} of contact {}", fmt::join(differ, ", "), *id);
      }
      out.push_back(std::move(v));
    }
    return out;
  }

 private:
  // Chatwoot keeps emails and phone numbers unique per account. When another contact holds one of
  // the person's (a landline several customers share, a contact an agent made by hand, a person
  // this push clears it from later), the person goes without it, with a warning, rather than fail
  // with its whole timeline; the value is noted in `dropped`. False when the refusal is not that, or
  // the field is already left off.
  bool drop_taken(const Error& e, ContactFields& f, std::vector<std::string>& dropped) const {
    if (e.http_status != 422) return false;
    std::string* field = nullptr;
    if (!f.phone_number.empty() && e.message.find("Phone number has already been taken") != std::string::npos)
      field = &f.phone_number;
    else if (!f.email.empty() && e.message.find("Email has already been taken") != std::string::npos)
      field = &f.email;
    if (!field) return false;
    spdlog::warn(
        "{}: {} of person {} belongs to another Chatwoot contact; the contact is sent without it for now (should "
        "this push clear it from a person of chansync's who no longer has it, it is sent again; otherwise merge the "
        "two in Chatwoot, or split the handle off in chansync, if they are one customer)",
        m_name, *field, f.identifier);
    dropped.push_back(*field);
    field->clear();
    return true;
  }

  // The email and phone number chansync set on contact `id` that the person no longer has are
  // cleared, when the contact still holds them (an agent may have set others since): after a split,
  // the person who has them now could not be given them otherwise. `clearing` gets the values.
  Result<void> clear_gone(std::int64_t id, const RemoteIds& before, ContactFields& fields,
                          std::vector<std::string>& clearing) {
    const bool email = fields.email.empty() && !before.email_set.empty(),
               phone = fields.phone_number.empty() && !before.phone_set.empty();
    if (!email && !phone) return {};
    auto held = m_api.get_contact(id);
    if (!held) return held.error().http_status == 404 ? Result<void>{} : std::unexpected(std::move(held.error()));
    fields.clear_email = email && !held->email.empty() && short_digest(held->email) == before.email_set;
    fields.clear_phone = phone && !held->phone_number.empty() && short_digest(held->phone_number) == before.phone_set;
    if (fields.clear_email) clearing.push_back(held->email);
    if (fields.clear_phone) clearing.push_back(held->phone_number);
    return {};
  }

  // Contacts that went without a value another contact held, given it now that this push cleared it
  // there (the person who lost it came later in the push): that value alone, so that another still
  // held elsewhere does not refuse it. What was given is in m_given for push() to record.
  void give_back_cleared() {
    for (auto it = m_waiting.begin(); it != m_waiting.end();) {
      if (std::find(m_cleared.begin(), m_cleared.end(), it->value) == m_cleared.end()) {
        ++it;
        continue;
      }
      ContactFields f{it->person, it->name, it->email ? it->value : "", it->email ? "" : it->value};
      if (auto r = m_api.update_contact(it->contact, f); r) {
        spdlog::info("{}: contact {} of person {} has {} now", m_name, it->contact, it->person, it->value);
        m_given.push_back(*it);
      } else {
        spdlog::warn("{}: contact {} of person {} still goes without {}: {}", m_name, it->contact, it->person,
                     it->value, r.error().message);
      }
      it = m_waiting.erase(it);
    }
  }

  // The values given back go into their persons' remote ids, for those in this batch's outcomes (an
  // earlier batch's are recorded already: such a person's contact keeps the value, unremembered).
  void record_given(std::vector<PushOutcome>& out) {
    for (const auto& g : m_given)
      for (auto& o : out)
        if (o.person_id == g.person && !o.error)
          if (auto ids = parse_remote_ids(o.remote_id)) {
            (g.email ? ids->email_set : ids->phone_set) = short_digest(g.value);
            o.remote_id = format_remote_ids(*ids);
          }
    m_given.clear();
  }

  // The contact of the person, created or updated; its id and whether it was created. `fields`
  // becomes what was sent.
  Result<std::pair<std::int64_t, bool>> upsert_contact(const PushItem& item, ContactFields& fields) {
    const ContactFields wanted = fields;
    std::vector<std::string> dropped, clearing;
    const auto note_dropped = [&](std::int64_t id) {
      for (auto& value : dropped)
        m_waiting.push_back({id, wanted.identifier, wanted.name, value, value == wanted.email});
    };
    auto update = [&](std::int64_t id) {
      for (;;)
        if (auto r = m_api.update_contact(id, fields); r || !drop_taken(r.error(), fields, dropped)) return r;
    };
    const RemoteIds before =
        item.previous ? parse_remote_ids(item.previous->remote_id).value_or(RemoteIds{}) : RemoteIds{};
    if (item.previous)
      if (auto id = parse_remote_id(item.previous->remote_id)) {
        if (auto cleared = clear_gone(*id, before, fields, clearing); !cleared) return std::unexpected(cleared.error());
        auto updated = update(*id);
        if (updated) {
          m_cleared.insert(m_cleared.end(), clearing.begin(), clearing.end());
          note_dropped(*id);
          return std::pair{*id, false};
        }
        if (updated.error().http_status != 404) return std::unexpected(std::move(updated.error()));
        spdlog::info("{}: contact {} of person {} is no longer in Chatwoot; looking it up by identifier", m_name, *id,
                     fields.identifier);
      }
    // Created at once: identifiers are unique per account, so only a 422 for a taken identifier (an
    // earlier push whose answer was lost, a state store replaced) needs the search, which Chatwoot
    // limits to 100 a minute per account (a search first for each person held a first push of
    // thousands to about 100 persons a run).
    // Chatwoot names every taken field at once: with the identifier among them the contact is the
    // person's own, and its email and number are not someone else's.
    const auto ours = [](const Error& e) {
      return e.http_status == 422 && e.message.find("Identifier has already been taken") != std::string::npos;
    };
    fields = wanted;
    dropped.clear();
    ContactFields sent = fields;
    auto created = m_api.create_contact(sent);
    while (!created && !ours(created.error()) && drop_taken(created.error(), sent, dropped))
      created = m_api.create_contact(sent);
    if (created) {
      fields = sent;
      note_dropped(*created);
      return std::pair{*created, true};
    }
    if (!ours(created.error())) return std::unexpected(std::move(created.error()));
    dropped.clear();
    auto found = m_api.find_contact(fields.identifier);
    if (!found) return std::unexpected(std::move(found.error()));
    if (!*found) return std::unexpected(std::move(created.error()));
    auto updated = update((*found)->id);
    if (!updated) return std::unexpected(std::move(updated.error()));
    note_dropped((*found)->id);
    return std::pair{(*found)->id, false};
  }

  Result<PushOutcome> upsert(const PushItem& item) {
    const PersonRecord& p = *item.record;
    ContactFields fields = contact_fields(p);
    auto contact = upsert_contact(item, fields);
    if (!contact) return std::unexpected(std::move(contact.error()));
    give_back_cleared();
    const auto [id, created] = *contact;
    RemoteIds ids{id, {}};
    ids.email_set = fields.email.empty() ? "" : short_digest(fields.email);
    ids.phone_set = fields.phone_number.empty() ? "" : short_digest(fields.phone_number);
    if (item.previous)
      if (auto known = parse_remote_ids(item.previous->remote_id); known && known->contact == id)
        ids.conversations = std::move(known->conversations);  // a contact made again has new ones
    if (auto timeline = deliver_timeline(m_api, m_name, m_inbox, p, ids); !timeline)
      return std::unexpected(std::move(timeline.error()));
    return PushOutcome{p.person_id, created ? PushOutcome::Status::created : PushOutcome::Status::updated,
                       format_remote_ids(ids)};
  }

  // The person's contact: the id the ledger remembers, else the contact found by the person's
  // identifier; nullopt when Chatwoot has none.
  Result<std::optional<std::int64_t>> contact_id(const PushItem& item) {
    if (item.previous)
      if (auto id = parse_remote_id(item.previous->remote_id)) return id;
    auto found = m_api.find_contact(item.record->person_id);
    if (!found) return std::unexpected(std::move(found.error()));
    if (*found) return (*found)->id;
    return std::nullopt;
  }

  // A person merged into another: their contact is merged into the survivor's (Chatwoot's contact
  // merge), never deleted, which would delete its conversations with everything agents wrote there.
  // A survivor without a contact yet takes this one (its identifier), which the survivor's upsert
  // then finds.
  Result<void> merge_away(std::int64_t id, const std::string& survivor, const std::string& survivor_remote) {
    // The survivor's contact as the ledger knows it: no search (Chatwoot allows 100 a minute, and an
    // identity pass may merge thousands). A 404 may be that contact gone: then it is searched for.
    if (const auto known = parse_remote_id(survivor_remote)) {
      if (*known == id) return {};
      auto merged = m_api.merge_contacts(*known, id);
      if (merged) {
        spdlog::debug("{}: contact {} merged into contact {} (person {})", m_name, id, *known, survivor);
        return {};
      }
      if (merged.error().http_status != 404) return std::unexpected(std::move(merged.error()));
    }
    auto base = m_api.find_contact(survivor);
    if (!base) return std::unexpected(std::move(base.error()));
    if (*base && (*base)->id == id) return {};  // already the survivor's
    if (*base) {
      auto merged = m_api.merge_contacts((*base)->id, id);
      // A 404 is done only when this contact is gone (merged by a repeat, or deleted meanwhile): a
      // Chatwoot or a proxy without the route answers 404 as well, and the contact is still there.
      if (!merged && merged.error().http_status == 404) {
        auto still = m_api.get_contact(id);
        if (still) return std::unexpected(std::move(merged.error()));
        if (still.error().http_status != 404) return std::unexpected(std::move(still.error()));
      } else if (!merged) {
        return std::unexpected(std::move(merged.error()));
      }
      spdlog::debug("{}: contact {} merged into contact {} (person {})", m_name, id, (*base)->id, survivor);
      return {};
    }
    auto held = m_api.get_contact(id);
    if (!held) {
      if (held.error().http_status == 404) return {};  // gone already
      return std::unexpected(std::move(held.error()));
    }
    ContactFields fields{survivor, held->name, held->email, held->phone_number};
    if (auto r = m_api.update_contact(id, fields); !r) return std::unexpected(std::move(r.error()));
    spdlog::debug("{}: contact {} is person {}'s now (it had no contact of its own)", m_name, id, survivor);
    return {};
  }

  Result<PushOutcome> remove(const PushItem& item) {
    const std::string& person = item.record->person_id;
    auto known = contact_id(item);
    if (!known) return std::unexpected(std::move(known.error()));
    const auto id = *known;
    if (id && !item.merged_into.empty()) {
      auto merged = merge_away(*id, item.merged_into, item.survivor_remote_id);
      if (!merged) return std::unexpected(std::move(merged.error()));
      return PushOutcome{person, PushOutcome::Status::deleted, std::to_string(*id)};
    }
    if (id) {
      auto deleted = m_api.delete_contact(*id);
      // Chatwoot lets only an administrator delete contacts, and answers an agent's token 401 "You are
      // not authorized to do this action" (Pundit): that person's deletion fails, and the push goes on
      // with the rest. Any other 401 (a revoked token) stops the push as before.
      const auto not_allowed = [](const Error& e) {
        return (e.http_status == 401 || e.http_status == 403) &&
               e.message.find("not authorized to do this action") != std::string::npos;
      };
      if (!deleted && not_allowed(deleted.error()))
        return std::unexpected(
            Error{Errc::remote,
                  fmt::format(
                      "Chatwoot refused to delete contact {} (HTTP {}): only an administrator of the account may "
                      "delete contacts; give targets.{} an administrator's access token (token_env or token_file), or "
                      "delete the contact in Chatwoot (refused on 3 pushes, the deletion is parked: `chansync push "
                      "--full` tries it again)",
                      *id, deleted.error().http_status, m_name),
                  m_name, deleted.error().http_status});
      if (!deleted && deleted.error().http_status != 404) return std::unexpected(std::move(deleted.error()));
    }
    // Gone either way: deleted now, or already (404, or never found).
    return PushOutcome{person, PushOutcome::Status::deleted, id ? std::to_string(*id) : ""};
  }

  std::string m_name;
  std::int64_t m_account, m_inbox;
  bool m_has_token;
  Api m_api;
  // A contact sent without `value` (its email, or else its phone number) because another contact
  // held it (see give_back_cleared).
  struct Waiting {
    std::int64_t contact;
    std::string person, name, value;
    bool email;
  };
  std::vector<Waiting> m_waiting, m_given;
  std::vector<std::string> m_cleared;  // values this push cleared from a contact
};

}  // namespace

AdapterType type() {
  using K = OptionSpec::Kind;
  return adapter_type<ChatwootSink>(
      k_type,
      "persons as Chatwoot contacts (identifier = person_id), with one conversation per channel in an API "
      "inbox holding their messages",
      {{"base_url", "Chatwoot's address", K::url, false, false, "https://app.chatwoot.com"},
       {"account_id", "the Chatwoot account's number (in the dashboard URL: /app/accounts/<account_id>/...)",
        K::integer, true, false, nullptr},
       {"inbox_id", "the API channel inbox the conversations are opened in (its settings URL ends in /<inbox_id>)",
        K::integer, true, false, nullptr},
       {"token", "the access token of a Chatwoot user (Profile settings), sent as the api_access_token header",
        K::string, true, true, nullptr}});
}

}  // namespace chansync::adapters::chatwoot
