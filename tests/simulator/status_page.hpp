#pragma once
// The simulator's vendor status page: GET /api/v2/summary.json shaped as Atlassian Statuspage serves
// it (page, status{indicator,description}, components, incidents, scheduled_maintenances), for the
// components a Twilio and a HubSpot connector watch ("SMS", "Voice", "REST API", "CRM"). All
// operational unless a /_sim/fault for vendor "statuspage" is armed (only faults naming it exactly):
//   outage       SMS major_outage, indicator major, an unresolved incident affecting SMS
//   degraded     SMS degraded_performance, indicator minor, an incident affecting SMS
//   maintenance  CRM under_maintenance, indicator maintenance, a maintenance in progress
//   voice_outage Voice major_outage, indicator major (SMS stays operational)
//   html         200 text/html (a status page not hosted on Statuspage)
//   invalid      200 application/json whose body is cut off
//   500          HTTP 500
#include <httplib.h>

#include <atomic>
#include <functional>
#include <optional>
#include <string>

namespace chansync::sim {

class StatusPageSim {
 public:
  // Takes the kind of the first fault armed for exactly `vendor`, consuming one of its count.
  using FaultTaker = std::function<std::optional<std::string>(const std::string& vendor)>;

  explicit StatusPageSim(FaultTaker faults) : m_faults(std::move(faults)) {}
  // Adds the route to `server`. The server must not outlive this object.
  void routes(httplib::Server& server);
  long requests() const { return m_requests; }

 private:
  FaultTaker m_faults;
  std::atomic<long> m_requests{0};
};

}  // namespace chansync::sim
