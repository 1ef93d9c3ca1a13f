#include "sync/interner.hpp"

#include <algorithm>
#include <bit>
#include <functional>
#include <stdexcept>

namespace chansync {

std::uint32_t Interner::hash(std::string_view s, std::uint8_t tag) {
  const std::uint64_t h = std::hash<std::string_view>{}(s) ^ (tag * 0x9e3779b97f4a7c15ULL);
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

void Interner::reserve(std::size_t count) {
  m_entries.reserve(count);
  if (const std::size_t slots = std::bit_ceil(std::max<std::size_t>(1024, count)); slots > m_slots.size())
    rehash(slots);
}

void Interner::rehash(std::size_t slots) {
  PageVector<std::uint64_t> next(slots, 0);
  const std::size_t mask = slots - 1;
  for (const auto slot : m_slots)
    if (slot != 0) {
      std::size_t i = (slot >> 32) & mask;
      while (next[i] != 0) i = (i + 1) & mask;
      next[i] = slot;
    }
  m_slots = std::move(next);
}

std::size_t Interner::probe(std::string_view s, std::uint8_t tag, std::uint32_t h) const {
  const std::size_t mask = m_slots.size() - 1;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    const std::uint64_t slot = m_slots[i];
    if (slot == 0) return i;
    if (slot >> 32 == h) {
      const Entry& e = m_entries[static_cast<std::uint32_t>(slot) - 1];
      if (e.tag == tag && std::string_view(e.data, e.size) == s) return i;
    }
  }
}

std::uint32_t Interner::intern(std::string_view s, std::uint8_t tag) {
  if (m_slots.empty()) rehash(1024);
  const std::uint32_t h = hash(s, tag);
  const std::size_t i = probe(s, tag, h);
  if (m_slots[i] != 0) return static_cast<std::uint32_t>(m_slots[i]) - 1;
  const auto id = static_cast<std::uint32_t>(m_entries.size());
  if (id == k_none - 1 || s.size() > k_none) throw std::length_error("Interner: too many or too long strings");
  m_entries.push_back({s.data(), static_cast<std::uint32_t>(s.size()), tag});
  m_slots[i] = std::uint64_t{h} << 32 | (id + 1);
  if (m_entries.size() * 4 > m_slots.size() * 3) rehash(m_slots.size() * 2);
  return id;
}

std::uint32_t Interner::find(std::string_view s, std::uint8_t tag) const {
  if (m_slots.empty()) return k_none;
  const std::uint64_t slot = m_slots[probe(s, tag, hash(s, tag))];
  return slot == 0 ? k_none : static_cast<std::uint32_t>(slot) - 1;
}

void Interner::find_each(std::span<const std::string_view> keys, std::span<std::uint32_t> out) const {
  if (m_slots.empty()) {
    std::fill(out.begin(), out.end(), k_none);
    return;
  }
  // Each step touches what the last one prefetched and prefetches what the next one reads: the
  // hash's slot, the slot's entry, the entry's bytes. `out` holds the hashes until the last step.
  const std::size_t mask = m_slots.size() - 1;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    out[i] = hash(keys[i], 0);
    __builtin_prefetch(&m_slots[out[i] & mask]);
  }
  auto entry_of = [&](std::size_t i) -> const Entry* {
    const std::uint64_t slot = m_slots[out[i] & mask];
    return slot != 0 && slot >> 32 == out[i] ? &m_entries[static_cast<std::uint32_t>(slot) - 1] : nullptr;
  };
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (const Entry* e = entry_of(i)) __builtin_prefetch(e);
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (const Entry* e = entry_of(i)) __builtin_prefetch(e->data);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::uint64_t slot = m_slots[probe(keys[i], 0, out[i])];
    out[i] = slot == 0 ? k_none : static_cast<std::uint32_t>(slot) - 1;
  }
}

void Interner::drop_index() {
  m_slots = {};
}

}  // namespace chansync
