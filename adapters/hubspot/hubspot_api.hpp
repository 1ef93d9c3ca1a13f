#pragma once
// HubSpot CRM v3 wire format: contact list/search pages and error bodies.
#include <string>
#include <vector>

#include "sync/error.hpp"
#include "sync/state_store.hpp"

namespace chansync::adapters::hubspot {

// The properties chansync asks for.
inline constexpr const char* k_properties = "email,phone,mobilephone,firstname,lastname,lastmodifieddate";

struct WireContact {
  std::string id;
  std::string email, phone, mobilephone, firstname, lastname;
  std::string lastmodifieddate;  // RFC 3339 (list) — search returns the same
  std::string updated_at;        // top-level "updatedAt"
  bool archived = false;
};

struct ContactsPage {
  std::vector<WireContact> results;
  std::vector<DeadLetter> rejects;  // results without an id
  std::string next_after;           // paging.next.after, "" on the last page
};

// Parses a list or search response with simdjson On-Demand. Errc::protocol when the body is not
// the documented shape.
Result<ContactsPage> parse_contacts_page(const std::string& body);

// {"status":"error","message":"...","category":"INVALID_AUTHENTICATION",...} → "CATEGORY: message".
std::string parse_error(const std::string& body);

}  // namespace chansync::adapters::hubspot
