#include "sync/health_silence.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace chansync {
namespace {

constexpr Timestamp k_hour = 3'600'000;
constexpr Timestamp k_day = 24 * k_hour;
constexpr Timestamp k_window = 28 * k_day;
constexpr Timestamp k_burst = 5 * 60'000;  // messages this close to a run's first are one arrival
constexpr std::size_t k_slots = 7 * 24;

// Hour of the week (UTC; the epoch began on a Thursday, which only shifts every slot alike).
std::size_t slot_of(Timestamp t) {
  return static_cast<std::size_t>((t / k_hour) % static_cast<Timestamp>(k_slots));
}

// Calls f(slot, hours) for each piece of [from, to) cut at hour boundaries.
template <typename F>
void for_each_hour(Timestamp from, Timestamp to, F&& f) {
  for (Timestamp t = from; t < to;) {
    const Timestamp next = std::min(to, (t / k_hour + 1) * k_hour);
    f(slot_of(t), static_cast<double>(next - t) / static_cast<double>(k_hour));
    t = next;
  }
}

std::string gap_text(Timestamp ms) {
  const auto hours = ms / k_hour;
  if (hours < 2) return fmt::format("{} min", ms / 60'000);
  if (hours < 48) return fmt::format("{} h", hours);
  return fmt::format("{} days", hours / 24);
}

}  // namespace

Finding silence_finding(std::string_view connector, std::string_view channel, std::span<const Timestamp> inbound,
                        Timestamp now) {
  const std::string signal = fmt::format("inbound {} messages", channel);
  if (inbound.empty())
    return {HealthClass::unknown, signal, "none stored",
            fmt::format("no inbound {} message is stored, so silence cannot be judged", channel), ""};
  const Timestamp last = inbound.back();
  const Timestamp start = std::max(last - k_window, inbound.front());
  const auto first = std::lower_bound(inbound.begin(), inbound.end(), start);
  const auto n = static_cast<std::size_t>(inbound.end() - first);
  if (n < k_silence_min_messages || last - start < 7 * k_day)
    return {HealthClass::unknown, signal, fmt::format("{} in {} before the last", n, gap_text(last - start)),
            fmt::format("{} inbound {} messages over {} are too few to judge silence (needs {} over a week)", n,
                        channel, gap_text(last - start), k_silence_min_messages),
            ""};

  // Arrivals, not messages: a customer writes several lines within minutes, and counted one by one
  // they made the expected count several times too high (a 24/7 channel of two conversations an
  // hour, four lines each, was "silent" after 45 minutes). A message within k_burst of the first of
  // a run of messages joins it.
  std::vector<Timestamp> arrivals;
  for (auto it = first; it != inbound.end(); ++it)
    if (arrivals.empty() || *it - arrivals.back() >= k_burst) arrivals.push_back(*it);
  // The rate per hour of week: arrivals in each slot over the hours that slot was observed.
  std::array<double, k_slots> count{}, exposure{};
  for (const auto t : arrivals) count[slot_of(t)] += 1;
  for_each_hour(start, last, [&](std::size_t s, double h) { exposure[s] += h; });
  const double mean =
      static_cast<double>(arrivals.size()) / (static_cast<double>(last - start) / static_cast<double>(k_hour));
  double expected = 0;
  for_each_hour(last, now,
                [&](std::size_t s, double h) { expected += h * (exposure[s] > 0 ? count[s] / exposure[s] : mean); });
  const double chance = std::exp(-expected);
  const std::string value = format_rfc3339(last);
  if (chance < k_silence_max_chance)
    return {HealthClass::silent,
            signal,
            "last " + value,
            fmt::format("no inbound {} message for {} (last {}); the last four weeks' hourly pattern expects about "
                        "{:.0f} by now, counting messages within 5 min of each other once (chance of such a gap {})",
                        channel, gap_text(now - last), value, expected,
                        chance > 0 ? fmt::format("{:.0e}", chance) : std::string("below 1e-300")),
            fmt::format("check the channel on the vendor's side (number or page still connected, webhook "
                        "subscription, messages in the vendor's console), then `chansync pull {}`",
                        connector),
            last};
  return {HealthClass::ok, signal, "last " + value,
          fmt::format("last inbound {} message {} ago; {:.1f} expected since, a plausible gap", channel,
                      gap_text(now - last), expected),
          ""};
}

}  // namespace chansync
