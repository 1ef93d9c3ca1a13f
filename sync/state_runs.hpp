#pragma once
// Run history (one row per sync) and health history (one row per check of a connector or stream).
#include <string>
#include <vector>

#include "sync/timestamp.hpp"

namespace chansync {

class StateStore;

struct HealthRow {
  std::string connector;
  std::string stream;  // "" = the connector as a whole (its probe)
  Timestamp checked_at = 0;
  std::string cls;
  std::string evidence_json;
};

class RunLog {
 public:
  explicit RunLog(StateStore& store) : m_store(store) {}

  // Starts a run row; returns its id for finish().
  std::int64_t begin(const std::string& command);
  void finish(std::int64_t run_id, const std::string& status, const std::string& summary_json);

  void record_health(const HealthRow& row);
  // The newest checks, newest first (at most `limit`).
  std::vector<HealthRow> health(const std::string& connector, std::size_t limit = 10);

 private:
  StateStore& m_store;
};

}  // namespace chansync
