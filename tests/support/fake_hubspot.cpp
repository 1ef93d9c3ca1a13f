#include "tests/support/fake_hubspot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

namespace chansync::test {
namespace {

using nlohmann::json;

constexpr const char* k_id_property = "chansync_person_id";
constexpr const char* k_note_property = "chansync_note_id";
constexpr const char* k_noted_property = "chansync_noted_through";
constexpr const char* k_when = "2026-12-02T09:00:00.000Z";

Scripted error(int status, const std::string& category, const std::string& message) {
  return {status, json{{"status", "error"},
                       {"message", message},
                       {"correlationId", "3f5c1a52-7d7e-4b0e-9d1a-0a8f5e2c4b11"},
                       {"category", category}}
                      .dump()};
}

json input_error(const std::string& category, const std::string& message, const json& context) {
  return {{"status", "error"}, {"category", category}, {"message", message}, {"context", context}};
}

// A batch answer: 200 (or `ok`), 207 when some inputs failed.
Scripted batch(const json& results, const json& errors, int ok = 200) {
  json body = {{"status", "COMPLETE"}, {"results", results}, {"startedAt", k_when}, {"completedAt", k_when}};
  if (errors.empty()) return {ok, body.dump()};
  body["numErrors"] = errors.size();
  body["errors"] = errors;
  return {207, body.dump()};
}

std::string modified_of(const FakeHubSpot::Object& o) {
  return format_rfc3339(o.modified);
}

json as_json(const FakeHubSpot::Object& o, const json& properties, std::optional<bool> is_new = std::nullopt) {
  json j = {{"id", o.id},
            {"properties", properties},
            {"createdAt", k_when},
            {"updatedAt", modified_of(o)},
            {"archived", o.archived}};
  if (is_new) j["new"] = *is_new;
  return j;
}

json all_properties(const FakeHubSpot::Object& o) {
  json p = o.properties;
  p["hs_object_id"] = o.id;
  p["createdate"] = k_when;
  p["lastmodifieddate"] = modified_of(o);
  return p;
}

// The properties HubSpot always returns, and the asked-for ones (null when unset).
json properties_of(const FakeHubSpot::Object& o, const std::vector<std::string>& asked) {
  json p = {{"hs_object_id", o.id}, {"createdate", k_when}, {"lastmodifieddate", modified_of(o)}};
  for (const auto& name : asked)
    if (name != "lastmodifieddate") p[name] = o.properties.count(name) ? json(o.properties.at(name)) : json(nullptr);
  return p;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto end = std::min(text.find(sep, start), text.size());
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// One page of `all` from the offset `after` names ("" = the start): HubSpot's paging shape.
json paged(const std::vector<const FakeHubSpot::Object*>& all, const std::string& after, std::size_t limit,
           const std::vector<std::string>& asked) {
  const std::size_t from = after.empty() ? 0 : std::stoul(after);
  json results = json::array();
  for (std::size_t i = from; i < all.size() && i < from + limit; ++i)
    results.push_back(as_json(*all[i], properties_of(*all[i], asked)));
  json page = {{"results", results}};
  if (from + limit < all.size()) {
    const std::string next = std::to_string(from + limit);
    page["paging"] = {
        {"next", {{"after", next}, {"link", "https://api.hubapi.com/crm/v3/objects/contacts?after=" + next}}}};
  }
  return page;
}

FakeHubSpot::Object* live(std::vector<FakeHubSpot::Object>& store, const std::string& property,
                          const std::string& value) {
  for (auto& o : store)
    if (!o.archived && o.properties.count(property) && o.properties.at(property) == value) return &o;
  return nullptr;
}

// The request's inputs, by value: a range-for over json::parse(...).at(...) would dangle.
json inputs_of(const std::string& body) {
  return json::parse(body).at("inputs");
}

bool valid_email(const std::string& email) {
  const auto at = email.find('@');
  return at != std::string::npos && at > 0 && email.find('.', at) != std::string::npos &&
         email.find("invalid") == std::string::npos;
}

}  // namespace

FakeServer::Handler FakeHubSpot::handler() {
  return [this](const httplib::Request& req, std::size_t n) {
    if (before_answer) before_answer(*this, req, n);
    return handle(req);
  };
}

Scripted FakeHubSpot::handle(const httplib::Request& req) {
  std::lock_guard lock(m_mu);
  if (req.get_header_value("Authorization") != std::string("Bearer ") + k_token)
    return {401, fixture("hubspot/error_401.json")};
  // The usage endpoint answers even on a spent day, so a test sees the reset time reach the error.
  if (req.path == "/account-info/v3/api-usage/daily/private-apps")
    return {200, json{{"results",
                       {{{"name", "private-apps-api-calls-daily"},
                         {"usageLimit", 250000},
                         {"currentUsage", 250000},
                         {"collectedAt", k_when},
                         {"fetchStatus", "SUCCESS"},
                         {"resetsAt", k_reset}}}}}
                     .dump()};
  if (daily_budget && *daily_budget <= 0) {
    Scripted s{429, fixture("hubspot/rate_limit_daily_429.json")};
    s.headers = headers();
    return s;
  }
  if (daily_budget) --*daily_budget;
  Scripted s = route(req);
  for (auto& h : headers()) s.headers.push_back(std::move(h));
  return s;
}

std::vector<std::pair<std::string, std::string>> FakeHubSpot::headers() {
  // Date by the fake's own clock, the one lastmodifieddate follows, as HubSpot's are one clock.
  const std::time_t now = static_cast<std::time_t>(m_clock / 1000);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char date[64];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  std::vector<std::pair<std::string, std::string>> h = {
      {"X-HubSpot-RateLimit-Max", "190"}, {"X-HubSpot-RateLimit-Interval-Milliseconds", "10000"}, {"Date", date}};
  if (daily_budget) {
    h.push_back({"X-HubSpot-RateLimit-Daily", "250000"});
    h.push_back({"X-HubSpot-RateLimit-Daily-Remaining", std::to_string(std::max(0L, *daily_budget))});
  }
  return h;
}

Scripted FakeHubSpot::route(const httplib::Request& req) {
  const std::string& p = req.path;
  if (req.method == "GET" && p == "/crm/v3/objects/contacts") return list(req);
  if (req.method == "GET" && p.starts_with("/crm/v3/objects/contacts/"))
    return get(p.substr(25), req.get_param_value("archived") == "true");
  if (req.method == "GET" && p.starts_with("/crm/v3/properties/")) {
    const std::string rest = p.substr(19);
    const auto slash = rest.find('/');
    if (slash != std::string::npos) return property(rest.substr(0, slash), rest.substr(slash + 1));
  }
  if (req.method == "POST") {
    if (p == "/crm/v3/objects/contacts/search") return search(req.body);
    if (p == "/crm/v3/objects/contacts/merge") return merge_route(req.body);
    if (p == "/crm/v3/objects/contacts/batch/upsert") return upsert(req.body, m_contacts, k_id_property, true);
    if (p == "/crm/v3/objects/notes/batch/upsert") return upsert(req.body, m_notes, k_note_property, false);
    if (p == "/crm/v3/objects/contacts/batch/read") return read(req.body);
    if (p == "/crm/v3/objects/contacts/batch/update") return update(req.body);
    if (p == "/crm/v3/objects/contacts/batch/archive") return archive_batch(req.body);
    if (p == "/crm/v3/objects/contacts/gdpr-delete") return gdpr_delete(req.body);
    if (p == "/crm/v4/associations/notes/contacts/batch/create") return associate(req.body);
  }
  return error(404, "OBJECT_NOT_FOUND", fmt::format("No route for {} {}", req.method, p));
}

Scripted FakeHubSpot::property(const std::string& object, const std::string& name) {
  const std::string key = object + "." + name;
  const bool known = key == std::string("contacts.") + k_id_property ||
                     key == std::string("notes.") + k_note_property ||
                     key == std::string("contacts.") + k_noted_property;
  if (!known || missing_properties.count(key))
    return error(404, "OBJECT_NOT_FOUND",
                 fmt::format("Unable to find property {} for object type {} in portal ID 891936587", name,
                             object == "notes" ? "0-46" : "0-1"));
  const bool unique = name != k_noted_property && !plain_properties.count(key);
  return {200, json{{"updatedAt", k_when},
                    {"createdAt", k_when},
                    {"name", name},
                    {"label", name},
                    {"type", "string"},
                    {"fieldType", "text"},
                    {"description", ""},
                    {"groupName", object == "notes" ? "note" : "contactinformation"},
                    {"options", json::array()},
                    {"displayOrder", -1},
                    {"calculated", false},
                    {"externalOptions", false},
                    {"hasUniqueValue", unique},
                    {"hidden", false},
                    {"hubspotDefined", false},
                    {"modificationMetadata",
                     {{"archivable", true}, {"readOnlyDefinition", false}, {"readOnlyValue", false}}},
                    {"formField", false},
                    {"dataSensitivity", "non_sensitive"}}
                   .dump()};
}

Scripted FakeHubSpot::upsert(const std::string& body, std::vector<Object>& store, const std::string& key_property,
                             bool contacts) {
  const auto in = json::parse(body).at("inputs");
  if (in.size() > 100) return error(400, "VALIDATION_ERROR", "Batch size exceeds the limit of 100");
  const std::string object = contacts ? "contacts" : "notes";
  json results = json::array(), errors = json::array();
  for (const auto& input : in) {
    const std::string id_property = input.value("idProperty", "");
    if (id_property != key_property || plain_properties.count(object + "." + key_property))
      return error(400, "VALIDATION_ERROR",
                   fmt::format("Unable to perform update/upsert by non-unique {} property {} in portal ID 891936587",
                               contacts ? "0-1" : "0-46", id_property));
    if (!contacts) {
      const std::string body = input.at("properties").value("hs_note_body", "");
      const auto chars = std::count_if(body.begin(), body.end(), [](char c) { return (c & 0xc0) != 0x80; });
      if (static_cast<std::size_t>(chars) > note_body_limit)
        return error(400, "VALIDATION_ERROR",
                     fmt::format("Property values were not valid: [{{\"isValid\":false,\"message\":\"hs_note_body is "
                                 "too long: {} characters, at most {}\",\"error\":\"INVALID_LENGTH\",\"name\":"
                                 "\"hs_note_body\"}}]",
                                 chars, note_body_limit));
    }
    if (contacts && whole_batch_refusals)
      if (const Object* holder = live(store, "email", input.at("properties").value("email", ""));
          holder && holder->properties.count(key_property) == 0)
        return error(409, "CONFLICT", "Contact already exists. Existing ID: " + holder->id);
    if (contacts && whole_batch_refusals && !valid_email(input.at("properties").value("email", "x@ok.example")))
      return error(400, "VALIDATION_ERROR",
                   "Property values were not valid: [{\"isValid\":false,\"message\":\"Email address is invalid\","
                   "\"error\":\"INVALID_EMAIL\",\"name\":\"email\"}]");
  }
  for (const auto& input : in) {
    const std::string key = input.at("id"), trace = input.value("objectWriteTraceId", "");
    const auto& properties = input.at("properties");
    if (contacts && properties.contains("email")) {
      const std::string email = properties.at("email");
      if (!valid_email(email)) {
        errors.push_back(input_error(
            "VALIDATION_ERROR",
            fmt::format("Property values were not valid: [{{\"isValid\":false,\"message\":\"Email address {} is "
                        "invalid\",\"error\":\"INVALID_EMAIL\",\"name\":\"email\"}}]",
                        email),
            {{"objectWriteTraceId", {trace}}}));
        continue;
      }
      const Object* holder = live(store, "email", email);
      if (holder && holder->properties.count(key_property) == 0) {
        errors.push_back(input_error("CONFLICT", "Contact already exists. Existing ID: " + holder->id,
                                     {{"objectWriteTraceId", {trace}}, {"existingId", {holder->id}}}));
        continue;
      }
    }
    Object* o = live(store, key_property, key);
    const bool is_new = !o;
    if (is_new) {
      store.push_back({std::to_string(m_next_id++), {{key_property, key}}});
      o = &store.back();
    }
    for (const auto& [k, v] : properties.items()) o->properties[k] = v.get<std::string>();
    touch(*o);
    results.push_back(as_json(*o, all_properties(*o), is_new));
  }
  return batch(results, errors);
}

Scripted FakeHubSpot::read(const std::string& body) {
  const auto j = json::parse(body);
  const std::string id_property = j.value("idProperty", "");
  json results = json::array(), missing = json::array();
  for (const auto& input : j.at("inputs")) {
    const std::string key = input.at("id");
    const Object* o = live(m_contacts, id_property.empty() ? "hs_object_id" : id_property, key);
    if (id_property.empty())
      for (auto& c : m_contacts)
        if (!c.archived && c.id == key) o = &c;
    if (!o) {
      missing.push_back(key);
      continue;
    }
    json properties = {{"hs_object_id", o->id}, {"createdate", k_when}, {"lastmodifieddate", k_when}};
    for (const auto& name : j.at("properties"))
      properties[name.get<std::string>()] =
          o->properties.count(name) ? json(o->properties.at(name)) : json(nullptr);  // unset: null
    results.push_back(as_json(*o, properties));
  }
  json errors = json::array();
  if (!missing.empty())
    errors.push_back(input_error("OBJECT_NOT_FOUND",
                                 "Could not get some CONTACT objects, they may be deleted or not exist. Check that "
                                 "ids are valid.",
                                 {{"ids", missing}}));
  return batch(results, errors);
}

Scripted FakeHubSpot::update(const std::string& body) {
  json results = json::array(), missing = json::array();
  for (const auto& input : inputs_of(body)) {
    Object* o = nullptr;
    for (auto& c : m_contacts)
      if (!c.archived && c.id == input.at("id")) o = &c;
    if (!o) {
      missing.push_back(input.at("id"));
      continue;
    }
    for (const auto& [k, v] : input.at("properties").items()) o->properties[k] = v.get<std::string>();
    touch(*o);
    results.push_back(as_json(*o, all_properties(*o)));
  }
  json errors = json::array();
  if (!missing.empty())
    errors.push_back(input_error("OBJECT_NOT_FOUND", "Could not find some CONTACT objects", {{"ids", missing}}));
  return batch(results, errors);
}

Scripted FakeHubSpot::archive_batch(const std::string& body) {
  for (const auto& input : inputs_of(body))
    for (auto& c : m_contacts)
      if (c.id == input.at("id")) {
        c.archived = true;
        touch(c);
      }
  return {204, ""};
}

// Permanently deletes the contact (archived or not) and the notes associated with it alone; 204, or
// 404 when no contact has that id. (idProperty = email, which blocklists an unknown address, is not
// modelled: chansync always sends the contact id.)
Scripted FakeHubSpot::gdpr_delete(const std::string& body) {
  const auto in = json::parse(body);
  if (in.contains("idProperty")) return error(400, "VALIDATION_ERROR", "chansync sends contact ids only");
  const std::string id = in.at("objectId");
  const auto found = std::find_if(m_contacts.begin(), m_contacts.end(), [&](const Object& c) { return c.id == id; });
  if (found == m_contacts.end()) return error(404, "OBJECT_NOT_FOUND", "resource not found");
  m_contacts.erase(found);
  std::erase_if(m_notes, [&](const Object& n) { return n.associated == std::set<std::string>{id}; });
  return {204, ""};
}

Scripted FakeHubSpot::associate(const std::string& body) {
  json results = json::array(), errors = json::array();
  for (const auto& input : inputs_of(body)) {
    const auto& type = input.at("types").at(0);
    if (type.at("associationCategory") != "HUBSPOT_DEFINED" || type.at("associationTypeId") != 202)
      return error(400, "VALIDATION_ERROR", "Invalid association type for note to contact: " + type.dump());
    const std::string note_id = input.at("from").at("id"), contact_id = input.at("to").at("id");
    Object* note = nullptr;
    for (auto& n : m_notes)
      if (n.id == note_id) note = &n;
    const bool contact = std::any_of(m_contacts.begin(), m_contacts.end(),
                                     [&](const Object& c) { return !c.archived && c.id == contact_id; });
    if (!note || !contact) {
      errors.push_back(input_error("VALIDATION_ERROR", "One or more object ids are invalid",
                                   {{"fromObjectId", {note_id}}, {"toObjectId", {contact_id}}}));
      continue;
    }
    note->associated.insert(contact_id);
    results.push_back({{"fromObjectTypeId", "0-46"},
                       {"fromObjectId", std::stoll(note_id)},
                       {"toObjectTypeId", "0-1"},
                       {"toObjectId", std::stoll(contact_id)},
                       {"labels", json::array()}});
  }
  return batch(results, errors, 201);
}

std::vector<FakeHubSpot::Object> FakeHubSpot::contacts() {
  std::lock_guard lock(m_mu);
  return m_contacts;
}

std::vector<FakeHubSpot::Object> FakeHubSpot::notes() {
  std::lock_guard lock(m_mu);
  return m_notes;
}

std::optional<FakeHubSpot::Object> FakeHubSpot::contact(const std::string& person_id) {
  std::lock_guard lock(m_mu);
  const Object* o = live(m_contacts, k_id_property, person_id);
  return o ? std::optional<Object>(*o) : std::nullopt;
}

void FakeHubSpot::edit(const std::string& person_id, const std::string& property, const std::string& value) {
  std::lock_guard lock(m_mu);
  if (Object* o = live(m_contacts, k_id_property, person_id)) {
    o->properties[property] = value;
    touch(*o);
  }
}

void FakeHubSpot::edit_contact(const std::string& id, const std::string& property, const std::string& value) {
  std::lock_guard lock(m_mu);
  for (auto& o : m_contacts)
    if (o.id == id && !o.archived) {
      o.properties[property] = value;
      touch(o);
    }
}

void FakeHubSpot::archive(const std::string& person_id) {
  std::lock_guard lock(m_mu);
  if (Object* o = live(m_contacts, k_id_property, person_id)) {
    o->archived = true;
    touch(*o);
  }
}

std::string FakeHubSpot::add_contact(const std::map<std::string, std::string>& properties) {
  std::lock_guard lock(m_mu);
  m_contacts.push_back({std::to_string(m_next_id++), properties});
  touch(m_contacts.back());
  return m_contacts.back().id;
}

std::string FakeHubSpot::merge(const std::string& primary, const std::string& merged, bool new_id) {
  std::lock_guard lock(m_mu);
  return merge_locked(primary, merged, new_id);
}

void FakeHubSpot::touch(Object& o) {
  m_clock += 1000;
  o.modified = m_clock;
}

Scripted FakeHubSpot::list(const httplib::Request& req) {
  const bool archived = req.get_param_value("archived") == "true";
  const std::size_t limit = req.has_param("limit") ? std::min(100UL, std::stoul(req.get_param_value("limit"))) : 10;
  std::vector<const Object*> all;
  for (const auto& c : m_contacts)
    if (c.archived == archived) all.push_back(&c);
  std::sort(all.begin(), all.end(), [](auto* a, auto* b) { return std::stoll(a->id) < std::stoll(b->id); });
  return {200, paged(all, req.get_param_value("after"), limit, split(req.get_param_value("properties"), ',')).dump()};
}

Scripted FakeHubSpot::search(const std::string& body) {
  const auto j = json::parse(body);
  Timestamp since = 0;
  for (const auto& group : j.value("filterGroups", json::array()))
    for (const auto& f : group.value("filters", json::array())) {
      if (f.value("propertyName", "") != "lastmodifieddate" || f.value("operator", "") != "GTE")
        return error(400, "VALIDATION_ERROR", "this fake searches only lastmodifieddate GTE: " + f.dump());
      since = std::stoll(f.at("value").get<std::string>());
    }
  std::vector<const Object*> all;
  for (const auto& c : m_contacts)
    if (!c.archived && c.modified >= since) all.push_back(&c);
  std::stable_sort(all.begin(), all.end(), [](auto* a, auto* b) { return a->modified < b->modified; });
  const auto limit = std::min<std::size_t>(200, j.value("limit", 10));
  auto page = paged(all, j.value("after", ""), limit, j.value("properties", std::vector<std::string>{}));
  page["total"] = all.size();
  return {200, page.dump()};
}

Scripted FakeHubSpot::get(const std::string& id, bool archived) {
  for (const auto& c : m_contacts)
    if (c.id == id && c.archived == archived) return {200, as_json(c, all_properties(c)).dump()};
  return error(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.");
}

Scripted FakeHubSpot::merge_route(const std::string& body) {
  const auto j = json::parse(body);
  const std::string survivor = merge_locked(j.value("primaryObjectId", ""), j.value("objectIdToMerge", ""), false);
  if (survivor.empty()) return error(400, "VALIDATION_ERROR", "Cannot merge: both objects must exist and be live");
  return get(survivor, false);
}

std::string FakeHubSpot::merge_locked(const std::string& primary, const std::string& merged, bool new_id) {
  auto find = [&](const std::string& id) {
    return std::find_if(m_contacts.begin(), m_contacts.end(),
                        [&](const Object& c) { return c.id == id && !c.archived; });
  };
  auto p = find(primary), m = find(merged);
  if (primary == merged || p == m_contacts.end() || m == m_contacts.end()) return {};
  Object survivor = *p;
  const Object gone = *m;
  for (const auto& [k, v] : gone.properties) {
    if (k == "hs_merged_object_ids" || k == "hs_additional_emails") continue;
    auto& mine = survivor.properties[k];
    if (mine.empty())
      mine = v;
    else if (k == "email" && v != mine) {
      auto& extra = survivor.properties["hs_additional_emails"];
      extra += (extra.empty() ? "" : ";") + v;
    }
  }
  std::vector<std::string> ids;
  auto gather = [&](const Object& o) {
    if (o.properties.count("hs_merged_object_ids"))
      for (const auto& id : split(o.properties.at("hs_merged_object_ids"), ';')) ids.push_back(id);
  };
  gather(survivor);
  if (new_id) ids.push_back(survivor.id);
  gather(gone);
  ids.push_back(gone.id);
  std::string list;
  for (const auto& id : ids) list += (list.empty() ? "" : ";") + id;
  survivor.properties["hs_merged_object_ids"] = list;
  if (new_id) survivor.id = std::to_string(m_next_id++);
  touch(survivor);
  std::erase_if(m_contacts, [&](const Object& c) { return c.id == gone.id || (new_id && c.id == primary); });
  if (new_id) {
    m_contacts.push_back(std::move(survivor));
    return m_contacts.back().id;
  }
  *find(primary) = std::move(survivor);
  return primary;
}

}  // namespace chansync::test
