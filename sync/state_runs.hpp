#pragma once
// Run history (one row per sync) and health history (one row per check of a connector or stream).
// Both are kept for k_history_ms: each new entry deletes what has grown older (a health check every
// five minutes wrote about 1.3 GB a year, and nothing read rows that old).
#include <cstdint>
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
  std::string observed;  // the class the signals gave ("" = the same as cls)
  std::int64_t run_id = 0;

  // The class the signals gave: observed, or cls for rows written before it was kept.
  const std::string& observed_class() const { return observed.empty() ? cls : observed; }
};

// One `chansync health` run.
struct HealthRun {
  Timestamp started_at = 0;
  std::string status;  // OK, WARNING, CRITICAL, UNKNOWN
  int exit_code = 0;
  bool offline = false;
};

class RunLog {
 public:
  static constexpr std::int64_t k_history_ms = std::int64_t{90} * 24 * 3600 * 1000;  // 90 days
  // Health checks deleted at most per health run: a store that kept years of them catches up over
  // a few runs instead of one long transaction.
  static constexpr int k_prune_batch = 5000;

  explicit RunLog(StateStore& store) : m_store(store) {}

  // Starts a run row (deleting those older than k_history_ms); returns its id for finish().
  std::int64_t begin(const std::string& command);
  void finish(std::int64_t run_id, const std::string& status, const std::string& summary_json);

  void record_health(const HealthRow& row);
  // Records a run and its checks in one transaction (each row's run_id is set), and deletes runs and
  // (up to k_prune_batch) checks older than k_history_ms before run.started_at; returns the run id.
  std::int64_t record_health_run(const HealthRun& run, std::vector<HealthRow> rows);
  // The newest checks, newest first (at most `limit`).
  std::vector<HealthRow> health(const std::string& connector, std::size_t limit = 10);
  // The newest checks of one connector's stream ("" = its probe), newest first (at most `limit`).
  std::vector<HealthRow> health_of(const std::string& connector, const std::string& stream, std::size_t limit);
  // Every check at or after `from`, and the last one before it of each (connector, stream) so the
  // first change in the window is known; oldest first.
  std::vector<HealthRow> health_since(Timestamp from);

 private:
  StateStore& m_store;
};

}  // namespace chansync
