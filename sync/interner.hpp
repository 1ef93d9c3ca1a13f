#pragma once
// Numbering distinct strings without copying them: reconcile's node keys and person ids.
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>

#include "sync/page_vector.hpp"

namespace chansync {

inline constexpr std::uint32_t k_none = std::numeric_limits<std::uint32_t>::max();  // "no number"

// Distinct (tag, string) pairs numbered in first-seen order. The strings are not copied, so they
// must outlive the interner. Open addressing with linear probing; a slot holds 32 bits of the pair's
// hash, which also place it (so growing reads no string), and its number + 1.
class Interner {
 public:
  // A table for `count` pairs and room for as many: when most come twice, it never grows (at 3/4 full
  // it doubles); memory reserved and not written to costs nothing.
  void reserve(std::size_t count);
  std::uint32_t intern(std::string_view s, std::uint8_t tag = 0);      // the pair's number, added when new
  std::uint32_t find(std::string_view s, std::uint8_t tag = 0) const;  // the pair's number, or k_none
  // find() of each of `keys` (tag 0) into `out` (as long): the table's memory is fetched for all of
  // them at once, step by step, instead of one cache miss after another. For a few dozen keys at a
  // time in a table larger than the CPU's caches (MessageParts: 1M lookups among 107k conversations,
  // 0.5 s one by one).
  void find_each(std::span<const std::string_view> keys, std::span<std::uint32_t> out) const;
  std::string_view operator[](std::uint32_t i) const { return {m_entries[i].data, m_entries[i].size}; }
  std::uint8_t tag(std::uint32_t i) const { return m_entries[i].tag; }
  std::size_t size() const { return m_entries.size(); }
  void drop_index();  // frees the hash table: no more intern, only reading by number

 private:
  struct Entry {
    const char* data;
    std::uint32_t size;
    std::uint8_t tag;
  };
  static std::uint32_t hash(std::string_view s, std::uint8_t tag);
  // The slot holding the pair, or the empty slot where it would go.
  std::size_t probe(std::string_view s, std::uint8_t tag, std::uint32_t h) const;
  void rehash(std::size_t slots);

  PageVector<Entry> m_entries;
  PageVector<std::uint64_t> m_slots;  // 0: empty; else hash << 32 | (number + 1)
};

}  // namespace chansync
