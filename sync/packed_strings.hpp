#pragma once
// Strings stored end to end in one buffer, read back as string_views: a million identity-graph keys
// take two allocations instead of a million, and no per-string header.
#include <cstdint>
#include <ranges>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace chansync {

class PackedStrings {
 public:
  // Room for `count` strings of `chars` characters in all, so appending them does not reallocate.
  void reserve(std::size_t count, std::size_t chars) {
    m_ends.reserve(count);
    m_chars.reserve(chars);
  }
  // Appends a copy of `s`; its index is the old size(). Throws std::length_error past 4 GiB in all.
  void push_back(std::string_view s) {
    if (m_chars.size() + s.size() > UINT32_MAX) throw std::length_error("PackedStrings: over 4 GiB");
    m_chars.append(s);
    m_ends.push_back(static_cast<std::uint32_t>(m_chars.size()));
  }
  std::string_view operator[](std::size_t i) const {
    const std::uint32_t begin = i == 0 ? 0 : m_ends[i - 1];
    return std::string_view(m_chars).substr(begin, m_ends[i] - begin);
  }
  std::size_t size() const { return m_ends.size(); }
  bool empty() const { return m_ends.empty(); }
  std::size_t chars() const { return m_chars.size(); }
  // The strings in order, as string_views (valid until the next push_back).
  auto views() const {
    return std::views::iota(std::size_t{0}, size()) |
           std::views::transform([this](std::size_t i) { return (*this)[i]; });
  }
  // The index of `s` in a list sorted by byte order, by binary search; npos when it is not there.
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  std::size_t find_sorted(std::string_view s) const {
    std::size_t lo = 0, hi = size();
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if ((*this)[mid] < s)
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo < size() && (*this)[lo] == s ? lo : npos;
  }
  friend bool operator==(const PackedStrings&, const PackedStrings&) = default;

 private:
  std::string m_chars;
  std::vector<std::uint32_t> m_ends;  // m_ends[i]: one past the last character of string i
};

}  // namespace chansync
