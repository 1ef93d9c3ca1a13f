// MetaSim's health endpoints: debug_token and subscribed_apps (tests/simulator/meta.hpp).
#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "tests/simulator/meta.hpp"

namespace chansync::sim {
namespace {

using ojson = nlohmann::ordered_json;

constexpr const char* k_app_id = "555000111222333";
constexpr const char* k_app_name = "Sim Inbox App";

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

void MetaSim::debug_token(const httplib::Request& req, httplib::Response& res) {
  if (!admit(req, res)) return;
  const std::string kind = m_faults ? m_faults("meta/debug_token").value_or("") : "";
  const std::int64_t now = now_s(), day = 86'400;
  ojson scopes = {
      "pages_show_list", "pages_read_engagement",     "pages_manage_metadata",        "pages_messaging",
      "instagram_basic", "instagram_manage_messages", "whatsapp_business_management", "whatsapp_business_messaging"};
  ojson data = {{"app_id", k_app_id},
                {"type", "PAGE"},
                {"application", k_app_name},
                {"data_access_expires_at", now + 80 * day},
                {"expires_at", 0},
                {"is_valid", true},
                {"issued_at", now - 10 * day},
                {"profile_id", m_opts.page_id},
                {"scopes", scopes},
                {"user_id", "10229000000000001"}};
  if (kind == "expiring") data["expires_at"] = now + 5 * day;
  if (kind == "no_scopes") data["scopes"] = ojson{"pages_show_list", "pages_read_engagement"};
  if (kind == "expired") {
    data["is_valid"] = false;
    data["expires_at"] = now - 2 * day;
    data["error"] = {{"code", 190},
                     {"message", "Error validating access token: Session has expired on Sunday, 01-Nov-26."},
                     {"subcode", 463}};
  }
  res.set_content(ojson{{"data", data}}.dump(), "application/json");
}

void MetaSim::subscribed_apps(const httplib::Request& req, httplib::Response& res) {
  if (!admit(req, res)) return;
  const std::string id = req.matches[2];
  const std::string kind = m_faults ? m_faults("meta/subscribed_apps").value_or("") : "";
  ojson data = ojson::array();
  if (id == m_opts.waba_id) {
    if (kind != "gone")
      data.push_back({{"whatsapp_business_api_data",
                       {{"link", "https://sim.invalid/app"}, {"name", k_app_name}, {"id", k_app_id}}}});
  } else if (id == m_opts.page_id) {
    if (kind != "gone")
      data.push_back(
          {{"category", "Business"},
           {"link", "https://sim.invalid/app"},
           {"name", k_app_name},
           {"id", k_app_id},
           {"subscribed_fields", kind == "no_messages" ? ojson{"feed"} : ojson{"messages", "messaging_postbacks"}}});
  } else {
    res.status = 400;
    res.set_content(
        fmt::format(
            R"({{"error":{{"message":"Unsupported get request. Object with ID '{}' does not exist","type":"GraphMethodException","code":100,"error_subcode":33,"fbtrace_id":"AsimGraph100"}}}})",
            id),
        "application/json");
    return;
  }
  res.set_content(ojson{{"data", data}}.dump(), "application/json");
}

}  // namespace chansync::sim
