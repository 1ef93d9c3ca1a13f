#pragma once
// Silence: a channel that stopped delivering without any error. From the inbound messages the state
// store holds, the expected rate by hour of week over the four weeks before the last one, summed over
// the gap since it (E = Σ λ(h)); a gap with chance e^(−E) below 1 in 1,000 is silent. Pure.
#include <span>
#include <string_view>

#include "sync/health.hpp"

namespace chansync {

inline constexpr std::size_t k_silence_min_messages = 30;  // fewer: the signal says it cannot judge
inline constexpr double k_silence_max_chance = 1e-3;

// The finding for one channel of one connector: silent (with the last message, the count expected
// since and the chance of such a gap), ok, or unknown when the history is too thin (fewer than 30
// inbound messages or less than a week of them in the four weeks before the last). `inbound`: the
// times of the channel's inbound messages, ascending. `connector` names the pull in the action.
Finding silence_finding(std::string_view connector, std::string_view channel, std::span<const Timestamp> inbound,
                        Timestamp now);

}  // namespace chansync
