#pragma once
// A stateful fake of the HubSpot CRM API parts the hubspot sink calls, for FakeServer: contacts
// upserted, read and updated by a unique property, archived; notes upserted by a unique property and
// associated with contacts; property definitions; the daily API budget. It answers with the shapes
// HubSpot documents (batch results with "new", 207 multi-status errors tied to inputs by
// objectWriteTraceId, OBJECT_NOT_FOUND errors listing the ids a batch read missed, the error body
// {status, message, correlationId, category}), and refuses what HubSpot refuses: an upsert by a
// property that is not unique, an invalid email, an email another contact holds, a wrong token.
// For the hubspot-contacts source it lists contacts (paged by `after`, archived=true for the archived
// ones), searches them by lastmodifieddate, reads one by id, and merges two as HubSpot does.
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sync/timestamp.hpp"
#include "tests/support/fake_server.hpp"

namespace chansync::test {

class FakeHubSpot {
 public:
  struct Object {
    std::string id;
    std::map<std::string, std::string> properties;
    bool archived = false;
    std::set<std::string> associated;  // notes: the contact ids it is associated with
    Timestamp modified = 0;            // lastmodifieddate; every change moves it one second on
  };

  static constexpr const char* k_token = "pat-na1-11111111-2222-3333-4444-555555555555";
  static constexpr const char* k_reset = "2026-12-03T05:00:00Z";  // the usage endpoint's resetsAt

  // A FakeServer::Handler over this state (the object must outlive the server).
  FakeServer::Handler handler();
  Scripted handle(const httplib::Request& req);

  // Set up before the server starts.
  std::set<std::string> missing_properties;  // "contacts.chansync_noted_through": answered 404
  std::set<std::string> plain_properties;    // exist without hasUniqueValue
  // Requests left today; each request spends one, and at 0 HubSpot answers 429 (policyName DAILY).
  std::optional<long> daily_budget;
  // An invalid email refuses the whole upsert with 400, as HubSpot does without multi-status.
  bool whole_batch_refusals = false;
  // hs_note_body's limit in characters: a longer note makes HubSpot refuse the whole notes batch.
  std::size_t note_body_limit = 65'536;
  // Called before each request is answered (n counts from 0), without the lock: a test edits
  // contacts here as someone would while a pull pages through them.
  std::function<void(FakeHubSpot&, const httplib::Request&, std::size_t n)> before_answer;

  std::vector<Object> contacts();  // every contact, archived ones too, by creation
  std::vector<Object> notes();
  std::optional<Object> contact(const std::string& person_id);  // the live contact holding it
  // Changes a live contact's property, as someone editing it in HubSpot would.
  void edit(const std::string& person_id, const std::string& property, const std::string& value);
  void archive(const std::string& person_id);
  // The same for a contact by its HubSpot id (one someone created there: no person_id).
  void edit_contact(const std::string& id, const std::string& property, const std::string& value);
  // A contact someone created in HubSpot (no person_id); returns its id.
  std::string add_contact(const std::map<std::string, std::string>& properties);
  // Merges contact `merged` into `primary` as HubSpot does (POST /crm/v3/objects/contacts/merge):
  // the primary keeps its values and takes the merged one's where it has none (a second email goes to
  // hs_additional_emails); its hs_merged_object_ids gains `merged` and whatever was merged into that;
  // its lastmodifieddate moves; `merged` is gone from the list, the search, the archived list and
  // GET by id (404). With `new_id` the survivor is a new contact listing both ids, as HubSpot's newer
  // merges mint one. Returns the survivor's id, "" when either is not a live contact.
  std::string merge(const std::string& primary, const std::string& merged, bool new_id = false);

 private:
  Scripted route(const httplib::Request& req);
  Scripted upsert(const std::string& body, std::vector<Object>& store, const std::string& key_property, bool contacts);
  Scripted read(const std::string& body);
  Scripted update(const std::string& body);
  Scripted archive_batch(const std::string& body);
  Scripted gdpr_delete(const std::string& body);
  Scripted associate(const std::string& body);
  Scripted property(const std::string& object, const std::string& name);
  Scripted list(const httplib::Request& req);
  Scripted search(const std::string& body);
  Scripted get(const std::string& id, bool archived);
  Scripted merge_route(const std::string& body);
  std::string merge_locked(const std::string& primary, const std::string& merged, bool new_id);
  void touch(Object& o);
  std::vector<std::pair<std::string, std::string>> headers();

  std::mutex m_mu;
  std::vector<Object> m_contacts, m_notes;
  long m_next_id = 1001;
  Timestamp m_clock = 1'796'202'000'000;  // 2026-12-02T09:00:00Z
};

}  // namespace chansync::test
