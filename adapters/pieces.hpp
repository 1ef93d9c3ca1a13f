#pragma once
// Splitting a refused batch to find whom the refusal is about (webhook, hubspot targets).
#include <cstddef>
#include <span>
#include <vector>

namespace chansync::adapters {

// `part` in `pieces` consecutive spans whose sizes differ by one at most, the larger first.
template <class T>
std::vector<std::span<T>> pieces_of(std::span<T> part, std::size_t pieces) {
  std::vector<std::span<T>> out;
  for (std::size_t i = 0, at = 0; i < pieces; ++i) {
    const std::size_t n = part.size() / pieces + (i < part.size() % pieces ? 1 : 0);
    out.push_back(part.subspan(at, n));
    at += n;
  }
  return out;
}

}  // namespace chansync::adapters
