#pragma once
// HubSpot CRM v3 wire format: contact list/search pages, batch answers, property definitions, error
// bodies and rate-limit headers.
#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/http.hpp"
#include "sync/error.hpp"
#include "sync/model.hpp"

namespace chansync::adapters::hubspot {

// The properties chansync asks for (the list's `properties=` and the search body's "properties").
// hs_merged_object_ids names the contacts merged into this one, which HubSpot no longer lists.
// date_of_birth, zip, city and address are contact attributes: they only feed identity suggestions.
inline constexpr std::array<const char*, 11> k_property_names = {
    "email",         "phone", "mobilephone", "firstname", "lastname", "lastmodifieddate", "hs_merged_object_ids",
    "date_of_birth", "zip",   "city",        "address"};

struct WireContact {
  std::string id;
  std::string email, phone, mobilephone, firstname, lastname;
  std::string date_of_birth, zip, city, address;  // as sent; null and absent read as ""
  std::string lastmodifieddate;                   // RFC 3339 (list) — search returns the same
  std::string merged_object_ids;                  // hs_merged_object_ids as sent ("101;202"), "" when absent or null
  std::string updated_at;                         // top-level "updatedAt"
  bool archived = false;
  std::string_view raw;  // the contact's JSON exactly as received; points into the page body
};

struct ContactsPage {
  std::vector<WireContact> results;
  std::vector<DeadLetter> rejects;  // results without an id
  std::string next_after;           // paging.next.after, "" on the last page
};

// Parses a list or search response with simdjson On-Demand, in place: `body` gets simdjson's
// padding as spare capacity and must outlive the page, whose `raw` views point into it.
// Errc::protocol when the body is not the documented shape.
Result<ContactsPage> parse_contacts_page(std::string& body);

// The ids of hs_merged_object_ids: split at ';', each piece trimmed, empty pieces skipped, duplicates
// and `own_id` (the contact carrying the list) left out, in the order given. A piece that is not all
// digits goes to `malformed` instead.
struct MergedIds {
  std::vector<std::string> ids;
  std::vector<std::string> malformed;
};
MergedIds parse_merged_ids(std::string_view text, std::string_view own_id);

// {"status":"error","message":"...","category":"INVALID_AUTHENTICATION","correlationId":"..."} →
// "CATEGORY: message (correlationId ...)" (a 429 names errorType instead of category). "" when the
// body is not a HubSpot error.
std::string parse_error(const std::string& body);

// HubSpot's documented limits, seeded at 90% before the first response names the account's own:
// 100 requests per 10 s (the lowest tier; Pro and Enterprise get 190) and 4 search requests/s.
inline constexpr double k_seed_per_second = 0.9 * 100 / 10;
inline constexpr double k_search_per_second = 4;
inline constexpr const char* k_search_budget = "search";

// Whether `req` is a CRM search (POST .../search), which draws from the search budget as well.
bool is_search(const HttpRequest& req);
// The search budget: 97% of the documented 4/s, no burst. Search answers carry no rate headers to
// correct a lower seed upward, and strict spacing (258 ms: five span 1.03 s) keeps four in any second.
SubBudget search_budget();
// HttpOptions::shared_budgets of a client of HubSpot at `base` with `token`: HubSpot's limits are
// per token (a private app's), so every connector and target of one token in a run shares them.
// "" without a token.
std::string shared_budgets(std::string base, const std::string& token);

// A RatePolicy. X-HubSpot-RateLimit-Max requests per -Interval-Milliseconds (a rolling window) with
// -Remaining left: pace_for() of it on the main budget (a TEN_SECONDLY_ROLLING 429 says Remaining 0,
// which pauses). A 429 of policy SECONDLY (search, which sends no rate headers) pauses the search
// budget for a second and slows it by a fifth. Responses without HubSpot's headers: generic_reading().
RateReading rate_reading(const HttpRequest& req, const HttpResponse& resp);

// Whether the account's daily API budget is spent: X-HubSpot-RateLimit-Daily-Remaining is 0, or a 429
// whose policyName is DAILY. Retrying cannot help before HubSpot's daily reset.
bool daily_budget_spent(const HttpResponse& resp);

// One object of a CRM batch answer (upsert, update, read, create).
struct BatchObject {
  std::string id;                                 // HubSpot's record id
  std::string trace_id;                           // objectWriteTraceId, when HubSpot echoes it
  bool is_new = false;                            // upsert: created rather than updated
  std::map<std::string, std::string> properties;  // null values read as ""
};

// One entry of a batch answer's errors[] (a 207 multi-status, or a batch read's missing ids).
struct BatchError {
  std::string text;                    // "CATEGORY: message"
  std::string category;                // "VALIDATION_ERROR", "OBJECT_NOT_FOUND", "CONFLICT", ...
  std::vector<std::string> trace_ids;  // context.objectWriteTraceId: the inputs it is about
  std::vector<std::string> ids;        // context.ids: ids a batch read could not find
};

struct BatchAnswer {
  std::vector<BatchObject> results;
  std::vector<BatchError> errors;
};

// Parses a batch answer: {"status":..,"results":[..],"errors":[..],"numErrors":..}. An association
// batch answer (results of {fromObjectId,toObjectId}) parses with id = fromObjectId. Errc::protocol
// when the body has no results array.
Result<BatchAnswer> parse_batch(const std::string& body);

// A property definition (GET /crm/v3/properties/{objectType}/{name}).
struct PropertyInfo {
  std::string name;
  std::string type;     // "string", "number", ...
  bool unique = false;  // hasUniqueValue
};
Result<PropertyInfo> parse_property(const std::string& body);

// resetsAt of GET /account-info/v3/api-usage/daily/private-apps; nullopt when absent or unreadable.
std::optional<Timestamp> parse_daily_reset(const std::string& body);

}  // namespace chansync::adapters::hubspot
