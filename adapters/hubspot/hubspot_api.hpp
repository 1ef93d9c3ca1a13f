#pragma once
// HubSpot CRM v3 wire format: contact list/search pages and error bodies.
#include <string>
#include <string_view>
#include <vector>

#include "sync/error.hpp"
#include "sync/model.hpp"

namespace chansync::adapters::hubspot {

// The properties chansync asks for.
inline constexpr const char* k_properties = "email,phone,mobilephone,firstname,lastname,lastmodifieddate";

struct WireContact {
  std::string id;
  std::string email, phone, mobilephone, firstname, lastname;
  std::string lastmodifieddate;  // RFC 3339 (list) — search returns the same
  std::string updated_at;        // top-level "updatedAt"
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

// {"status":"error","message":"...","category":"INVALID_AUTHENTICATION",...} → "CATEGORY: message".
std::string parse_error(const std::string& body);

}  // namespace chansync::adapters::hubspot
