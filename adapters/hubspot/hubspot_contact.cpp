#include "adapters/hubspot/hubspot_contact.hpp"

#include <algorithm>
#include <cctype>

namespace chansync::adapters::hubspot {
namespace {

std::string trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t") + 1);
  return s;
}

}  // namespace

std::map<std::string, std::string> contact_fields(const PersonRecord& p) {
  std::map<std::string, std::string> out;
  std::string first, last;
  const auto named = std::find_if(p.contacts.begin(), p.contacts.end(),
                                  [](const Contact& c) { return !c.first_name.empty() || !c.last_name.empty(); });
  if (named != p.contacts.end()) {
    first = named->first_name, last = named->last_name;
  } else {
    const std::string name = trim(p.display_name);
    const auto space = name.find(' ');
    first = name.substr(0, space);
    if (space != std::string::npos) last = trim(name.substr(space));
  }
  if (!first.empty()) out["firstname"] = first;
  if (!last.empty()) out["lastname"] = last;
  for (const auto& h : p.handles) {
    if (!h.verified) continue;
    if (h.kind == HandleKind::email && !out.count("email")) out["email"] = h.value;
    if (h.kind == HandleKind::phone && !out.count("phone")) out["phone"] = h.value;
  }
  return out;
}

std::string comparable(const std::string& field, const std::string& value) {
  std::string out;
  for (char c : value) {
    if (field == "phone" && !(std::isdigit(static_cast<unsigned char>(c)) || c == '+')) continue;
    out += field == "email" ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
  }
  return out;
}

}  // namespace chansync::adapters::hubspot
