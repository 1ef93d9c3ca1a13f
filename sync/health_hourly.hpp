#pragma once
// Inbound messages per hour of one connector, for the status page's chart (`health --html`): the
// pure bucketing and the state store query that feeds it.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sync/timestamp.hpp"

namespace chansync {

class StateStore;

inline constexpr std::int64_t k_hour_ms = 3'600'000;

// `hours` counts, oldest first: bucket i covers [end - (hours - i) h, end - (hours - i - 1) h).
// Times outside [end - hours h, end) are ignored. `times` need not be sorted. Pure.
std::vector<std::int64_t> hourly_counts(std::span<const Timestamp> times, Timestamp end, std::size_t hours);

// The inbound messages of `connector` (every channel) per hour over the `hours` hours before `end`,
// oldest first (hourly_counts of the messages table, read through the messages_inbound index).
std::vector<std::int64_t> inbound_per_hour(StateStore& store, const std::string& connector, Timestamp end,
                                           std::size_t hours);

}  // namespace chansync
