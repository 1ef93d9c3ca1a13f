#pragma once
// String similarity for identity suggestions: names folded to plain lower-case ASCII with ICU, and the
// two edit measures record linkage uses (Jaro-Winkler for names, optimal string alignment for typed
// identifiers). No Debian bookworm package offers these for C++ (rapidfuzz-cpp is not packaged), so
// they are here, short and unit-tested against published values.
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chansync {

// A name as the scorer compares it: ICU "Any-Latin; Latin-ASCII; Lower" (Müller → muller,
// Дмитрий → dmitrij, Παπαδόπουλος → papadopoulos), every run of characters that is not a letter or
// digit turned into one space, trimmed. ASCII input takes a fast path without ICU. Not thread-safe
// across threads sharing nothing: each thread gets its own transliterator.
std::string fold_name(std::string_view text);
// The space-separated words of a folded name.
std::vector<std::string_view> name_tokens(std::string_view folded);

// Jaro-Winkler similarity in [0, 1] (1 = equal), prefix scale 0.1 over at most 4 characters, on bytes
// (callers fold first). Two empty strings are equal (1); one empty string is 0.
double jaro_winkler(std::string_view a, std::string_view b);

// Optimal string alignment distance (Levenshtein plus adjacent transpositions), on bytes. Stops early
// and returns `limit + 1` once the distance is known to exceed `limit`.
std::size_t osa_distance(std::string_view a, std::string_view b, std::size_t limit = 8);

// For "did you mean": the candidate closest to `word` by osa_distance within 3 (a word it begins, when
// at least 3 long, counts as 1), the first of equals; "" if none is that close.
std::string closest(std::string_view word, std::span<const std::string> candidates);

}  // namespace chansync
