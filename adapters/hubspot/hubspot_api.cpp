#include "adapters/hubspot/hubspot_api.hpp"

#include <fmt/format.h>
#include <simdjson.h>

namespace chansync::adapters::hubspot {
namespace {

std::string str(simdjson::ondemand::value v) {
  if (v.is_null()) return {};
  return std::string(std::string_view(v.get_string()));
}

}  // namespace

Result<ContactsPage> parse_contacts_page(std::string& body) {
  ContactsPage page;
  try {
    thread_local simdjson::ondemand::parser parser;
    body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
    auto doc = parser.iterate(simdjson::padded_string_view(body.data(), body.size(), body.capacity()));
    bool saw_results = false;
    for (auto field : doc.get_object()) {
      const std::string_view key = field.unescaped_key();
      if (key == "results") {
        saw_results = true;
        for (auto item : field.value().get_array()) {
          simdjson::ondemand::object obj = item.get_object();
          WireContact c;
          c.raw = obj.raw_json();
          obj.reset();
          for (auto f : obj) {
            const std::string_view k = f.unescaped_key();
            if (k == "id")
              c.id = str(f.value());
            else if (k == "archived")
              c.archived = bool(f.value().get_bool());
            else if (k == "updatedAt")
              c.updated_at = str(f.value());
            else if (k == "properties") {
              for (auto p : f.value().get_object()) {
                const std::string_view pk = p.unescaped_key();
                std::string* dst = pk == "email"              ? &c.email
                                   : pk == "phone"            ? &c.phone
                                   : pk == "mobilephone"      ? &c.mobilephone
                                   : pk == "firstname"        ? &c.firstname
                                   : pk == "lastname"         ? &c.lastname
                                   : pk == "lastmodifieddate" ? &c.lastmodifieddate
                                                              : nullptr;
                if (dst) *dst = str(p.value());
              }
            }
          }
          if (c.id.empty())
            page.rejects.push_back({"", "contact without an id", std::string(c.raw)});
          else
            page.results.push_back(std::move(c));
        }
      } else if (key == "paging") {
        for (auto p : field.value().get_object())
          if (p.unescaped_key() == std::string_view("next"))
            for (auto n : p.value().get_object())
              if (n.unescaped_key() == std::string_view("after")) page.next_after = str(n.value());
      }
    }
    if (!saw_results) return fail(Errc::protocol, "HubSpot contacts page has no \"results\" array");
  } catch (const simdjson::simdjson_error& e) {
    return fail(Errc::protocol, fmt::format("HubSpot contacts page is not valid JSON ({})", e.what()));
  }
  return page;
}

std::string parse_error(const std::string& body) {
  std::string category, message;
  try {
    thread_local simdjson::ondemand::parser parser;
    simdjson::padded_string json(body);
    auto doc = parser.iterate(json);
    for (auto field : doc.get_object()) {
      const std::string_view key = field.unescaped_key();
      if (key == "category" || key == "errorType")
        category = str(field.value());
      else if (key == "message")
        message = str(field.value());
    }
  } catch (const simdjson::simdjson_error&) {
    return {};
  }
  return category.empty() ? message : fmt::format("{}: {}", category, message);
}

}  // namespace chansync::adapters::hubspot
