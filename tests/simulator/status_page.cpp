#include "tests/simulator/status_page.hpp"

#include <nlohmann/json.hpp>

namespace chansync::sim {
namespace {

using ojson = nlohmann::ordered_json;

constexpr const char* k_page_id = "sim0statuspg";
constexpr const char* k_time = "2026-11-30T08:00:00.000Z";

ojson component(const char* id, const char* name, const std::string& status, int position) {
  return {{"id", id},
          {"name", name},
          {"status", status},
          {"created_at", k_time},
          {"updated_at", k_time},
          {"position", position},
          {"description", nullptr},
          {"showcase", true},
          {"start_date", nullptr},
          {"group_id", nullptr},
          {"page_id", k_page_id},
          {"group", false},
          {"only_show_if_degraded", false}};
}

ojson incident(const char* id, const char* name, const char* status, const char* impact, const ojson& affected,
               const char* update) {
  return {{"id", id},
          {"name", name},
          {"status", status},
          {"created_at", k_time},
          {"updated_at", k_time},
          {"monitoring_at", nullptr},
          {"resolved_at", nullptr},
          {"impact", impact},
          {"shortlink", "https://stspg.io/sim"},
          {"started_at", k_time},
          {"page_id", k_page_id},
          {"incident_updates", ojson::array({{{"id", std::string(id) + "u1"},
                                              {"status", status},
                                              {"body", update},
                                              {"incident_id", id},
                                              {"created_at", k_time},
                                              {"updated_at", k_time},
                                              {"display_at", k_time},
                                              {"affected_components", nullptr}}})},
          {"components", affected}};
}

// The summary for fault `kind` ("" = all operational).
ojson summary(const std::string& kind) {
  std::string sms = "operational", voice = "operational", crm = "operational";
  std::string indicator = "none", description = "All Systems Operational";
  ojson incidents = ojson::array(), maintenances = ojson::array();
  if (kind == "outage") {
    sms = "major_outage", indicator = "major", description = "Partial System Outage";
    incidents.push_back(incident("simout000001", "SMS delivery delayed in all regions", "investigating", "major",
                                 ojson::array({component("sim0cmp0sms0", "SMS", sms, 1)}),
                                 "We are investigating delays in inbound and outbound SMS."));
  } else if (kind == "degraded") {
    sms = "degraded_performance", indicator = "minor", description = "Minor Service Outage";
    incidents.push_back(incident("simdeg000001", "Increased SMS API latency", "identified", "minor",
                                 ojson::array({component("sim0cmp0sms0", "SMS", sms, 1)}),
                                 "Some API requests for SMS take longer than usual."));
  } else if (kind == "maintenance") {
    crm = "under_maintenance", indicator = "maintenance", description = "Service Under Maintenance";
    maintenances.push_back(incident("simmnt000001", "CRM database maintenance", "in_progress", "maintenance",
                                    ojson::array({component("sim0cmp0crm0", "CRM", crm, 4)}),
                                    "Scheduled maintenance is in progress."));
  } else if (kind == "voice_outage") {
    voice = "major_outage", indicator = "major", description = "Partial System Outage";
    incidents.push_back(incident("simout000002", "Calls failing in Europe", "identified", "major",
                                 ojson::array({component("sim0cmp0voi0", "Voice", voice, 2)}),
                                 "Inbound and outbound calls fail for some European numbers."));
  }
  return {{"page",
           {{"id", k_page_id},
            {"name", "Sim Vendor"},
            {"url", "https://status.sim.invalid"},
            {"time_zone", "Etc/UTC"},
            {"updated_at", k_time}}},
          {"components",
           ojson::array({component("sim0cmp0sms0", "SMS", sms, 1), component("sim0cmp0voi0", "Voice", voice, 2),
                         component("sim0cmp0api0", "REST API", "operational", 3),
                         component("sim0cmp0crm0", "CRM", crm, 4)})},
          {"incidents", incidents},
          {"scheduled_maintenances", maintenances},
          {"status", {{"indicator", indicator}, {"description", description}}}};
}

}  // namespace

void StatusPageSim::routes(httplib::Server& server) {
  server.Get("/api/v2/summary.json", [this](const httplib::Request&, httplib::Response& res) {
    ++m_requests;
    const std::string kind = m_faults ? m_faults("statuspage").value_or("") : "";
    if (kind == "html") {
      res.set_content("<!DOCTYPE html><html><head><title>Status</title></head><body>All good</body></html>",
                      "text/html; charset=utf-8");
    } else if (kind == "invalid") {
      res.set_content(R"({"page":{"id":"sim0statuspg","name":"Sim Vendor")", "application/json");
    } else if (kind == "500") {
      res.status = 500;
      res.set_content(R"({"error":"internal"})", "application/json");
    } else {
      res.set_content(summary(kind).dump(), "application/json; charset=utf-8");
    }
  });
}

}  // namespace chansync::sim
