#include "sync/similarity.hpp"

#include <unicode/translit.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <memory>
#include <numeric>

namespace chansync {
namespace {

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Lower-case letters and digits kept, every other run of bytes one space, trimmed. Bytes past ASCII
// (left only when ICU could not transliterate) are kept as they are.
std::string squeeze(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool gap = false;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
    if (c >= 'A' && c <= 'Z') {
      if (gap && !out.empty()) out += ' ';
      gap = false;
      out += static_cast<char>(c - 'A' + 'a');
    } else if (keep) {
      if (gap && !out.empty()) out += ' ';
      gap = false;
      out += ch;
    } else {
      gap = true;
    }
  }
  return out;
}

icu::Transliterator* transliterator() {
  thread_local std::unique_ptr<icu::Transliterator> t = [] {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::Transliterator> made(icu::Transliterator::createInstance(
        icu::UnicodeString::fromUTF8("Any-Latin; Latin-ASCII; Lower"), UTRANS_FORWARD, status));
    return U_FAILURE(status) ? nullptr : std::move(made);
  }();
  return t.get();
}

double jaro(std::string_view a, std::string_view b) {
  if (a.empty() && b.empty()) return 1;
  if (a.empty() || b.empty()) return 0;
  const std::size_t la = a.size(), lb = b.size();
  const std::size_t longest = std::max(la, lb);
  const std::size_t window = longest / 2 > 0 ? longest / 2 - 1 : 0;
  std::vector<char> a_hit(la, 0), b_hit(lb, 0);
  std::size_t matches = 0;
  for (std::size_t i = 0; i < la; ++i) {
    const std::size_t lo = i > window ? i - window : 0;
    const std::size_t hi = std::min(i + window + 1, lb);
    for (std::size_t j = lo; j < hi; ++j)
      if (!b_hit[j] && a[i] == b[j]) {
        a_hit[i] = b_hit[j] = 1;
        ++matches;
        break;
      }
  }
  if (matches == 0) return 0;
  std::size_t half_transpositions = 0;
  for (std::size_t i = 0, k = 0; i < la; ++i) {
    if (!a_hit[i]) continue;
    while (!b_hit[k]) ++k;
    if (a[i] != b[k]) ++half_transpositions;
    ++k;
  }
  const double m = static_cast<double>(matches);
  const double t = static_cast<double>(half_transpositions / 2);
  return (m / static_cast<double>(la) + m / static_cast<double>(lb) + (m - t) / m) / 3.0;
}

}  // namespace

std::string fold_name(std::string_view text) {
  if (is_ascii(text)) return squeeze(text);
  auto* t = transliterator();
  if (t == nullptr) return squeeze(text);
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  t->transliterate(u);
  std::string out;
  u.toUTF8String(out);
  return squeeze(out);
}

std::vector<std::string_view> name_tokens(std::string_view folded) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start < folded.size()) {
    const std::size_t end = std::min(folded.find(' ', start), folded.size());
    if (end > start) out.push_back(folded.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

double jaro_winkler(std::string_view a, std::string_view b) {
  const double j = jaro(a, b);
  if (j <= 0.7) return j;  // Winkler's boost threshold
  std::size_t prefix = 0;
  while (prefix < 4 && prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  return j + static_cast<double>(prefix) * 0.1 * (1.0 - j);
}

std::size_t osa_distance(std::string_view a, std::string_view b, std::size_t limit) {
  const std::size_t la = a.size(), lb = b.size();
  if ((la > lb ? la - lb : lb - la) > limit) return limit + 1;
  std::vector<std::size_t> before(lb + 1), prev(lb + 1), cur(lb + 1);
  std::iota(prev.begin(), prev.end(), std::size_t{0});
  for (std::size_t i = 1; i <= la; ++i) {
    cur[0] = i;
    std::size_t row_min = cur[0];
    for (std::size_t j = 1; j <= lb; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) cur[j] = std::min(cur[j], before[j - 2] + 1);
      row_min = std::min(row_min, cur[j]);
    }
    if (row_min > limit) return limit + 1;
    before.swap(prev);
    prev.swap(cur);
  }
  return std::min(prev[lb], limit + 1);
}

std::string closest(std::string_view word, std::span<const std::string> candidates) {
  std::string best;
  std::size_t best_d = 4;
  for (const auto& c : candidates) {
    std::size_t d = osa_distance(word, c, 3);
    if (word.size() >= 3 && c.starts_with(word)) d = std::min<std::size_t>(d, 1);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

}  // namespace chansync
