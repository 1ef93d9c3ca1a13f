#pragma once
// Sorting many strings by byte order without chasing a pointer per comparison.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <tuple>

namespace chansync {

// Bytes offset … offset + 7 of s as a big-endian number, zero-padded: when two strings' words differ,
// the strings compare as the words do.
inline std::uint64_t word(std::string_view s, std::size_t offset) {
  std::uint64_t w = 0;
  if (offset + 8 <= s.size() && std::endian::native == std::endian::little) {
    std::memcpy(&w, s.data() + offset, 8);
    return std::byteswap(w);
  }
  for (std::size_t i = offset; i < offset + 8; ++i) w = w << 8 | (i < s.size() ? static_cast<unsigned char>(s[i]) : 0u);
  return w;
}

// An item to sort, with the 16 bytes of its string being compared.
struct Keyed {
  std::uint64_t w0, w1;
  std::uint32_t item;
};

// Sorts v by the strings str(item) in byte order, 16 bytes at a time as two integers: the next 16
// bytes are read only for runs still tied, so comparisons seldom reach the strings, spread over the
// heap, themselves. Keys share long prefixes ("crm_id:salesforce/00300000…"), so one round is not enough.
template <class Str>
void sort_by_string(std::span<Keyed> v, const Str& str, std::size_t offset = 0) {
  for (auto& k : v) {
    const std::string_view s = str(k.item);
    k.w0 = word(s, offset);
    k.w1 = word(s, offset + 8);
  }
  std::sort(v.begin(), v.end(),
            [](const Keyed& a, const Keyed& b) { return std::tie(a.w0, a.w1) < std::tie(b.w0, b.w1); });
  for (std::size_t i = 0; i < v.size();) {
    std::size_t j = i + 1;
    while (j < v.size() && v[j].w0 == v[i].w0 && v[j].w1 == v[i].w1) ++j;
    if (const auto run = v.subspan(i, j - i); run.size() > 1) {
      if (std::any_of(run.begin(), run.end(), [&](const Keyed& k) { return str(k.item).size() > offset + 16; }))
        sort_by_string(run, str, offset + 16);
      else  // all end within these 16 bytes: they differ only in trailing NULs, which padding hides
        std::sort(run.begin(), run.end(), [&](const Keyed& a, const Keyed& b) { return str(a.item) < str(b.item); });
    }
    i = j;
  }
}

}  // namespace chansync
