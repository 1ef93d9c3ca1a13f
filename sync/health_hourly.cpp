#include "sync/health_hourly.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include "sync/state_records.hpp"
#include "sync/state_store.hpp"

namespace chansync {

std::vector<std::int64_t> hourly_counts(std::span<const Timestamp> times, Timestamp end, std::size_t hours) {
  std::vector<std::int64_t> out(hours, 0);
  const Timestamp start = end - static_cast<Timestamp>(hours) * k_hour_ms;
  for (const Timestamp t : times) {
    if (t < start || t >= end) continue;
    out[static_cast<std::size_t>((t - start) / k_hour_ms)] += 1;
  }
  return out;
}

std::vector<std::int64_t> inbound_per_hour(StateStore& store, const std::string& connector, Timestamp end,
                                           std::size_t hours) {
  const Timestamp start = end - static_cast<Timestamp>(hours) * k_hour_ms;
  // During a bulk load a message pulled twice is two rows until the load ends: one counts.
  SQLite::Statement q(store.db(), store.records().bulk_loading()
                                      ? "SELECT min(sent_at) FROM messages WHERE connector = ? AND direction = "
                                        "'inbound' AND sent_at >= ? AND sent_at < ? GROUP BY id"
                                      : "SELECT sent_at FROM messages WHERE connector = ? AND direction = 'inbound' "
                                        "AND sent_at >= ? AND sent_at < ?");
  q.bind(1, connector);
  q.bind(2, static_cast<std::int64_t>(start));
  q.bind(3, static_cast<std::int64_t>(end));
  std::vector<Timestamp> times;
  while (q.executeStep()) times.push_back(q.getColumn(0).getInt64());
  return hourly_counts(times, end, hours);
}

}  // namespace chansync
