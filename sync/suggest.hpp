#pragma once
// Identity suggestions, pure: Fellegi-Sunter scoring of pairs of persons the automatic rules kept
// apart. Each person is a profile (names from CRM records and channel profiles, phone numbers, email
// addresses, the optional contact attributes); candidate pairs come from blocking keys, so cost stays
// near-linear; u probabilities are measured on random pairs, m probabilities are set (EM learnt the
// blocking's namesakes and shared addresses as matches; see fixed_m), the share of matches among all
// pairs is estimated by EM over the candidates' comparison patterns, and agreeing on a common name
// counts for less than on a rare one (term-frequency adjustment). Suggestions never join anyone by
// themselves: `persons merge` accepts one, and [identity] auto_merge_above records merges for pairs
// above it as decisions that can be undone.
#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace chansync {

// What is known about one person, as stored: names as written, E.164 numbers and normalised addresses
// (person_profiles leaves out handles that identify no one: unverified, or in a conflict), and the
// contact attributes a CRM or export carried ("" when unknown).
struct SuggestProfile {
  std::string person_id;
  std::vector<std::string> names;
  std::vector<std::string> phones;
  std::vector<std::string> emails;
  std::string birth_date;  // YYYY-MM-DD
  std::string postal_code;
  std::string city;
  std::string street;
};

enum class SuggestField { name, phone, email, birth_date, postal_code, city, street };
inline constexpr std::size_t k_suggest_fields = 7;
const char* to_string(SuggestField f);
// How two profiles compare on a field, best first; how many levels a field has.
// name: exact, close (Jaro-Winkler >= 0.92), partial (a given name agrees: every word but the last),
// different (a family name alone is what a household shares)
// phone: exact, close (one digit off, two swapped, or the same last 8 digits), different
// email: exact, close (the same mailbox at one domain written with a +tag or, at Gmail, dots; the same
// name of six or more characters at another provider; one typo in the name but not its digits; two in
// the domain), different
// birth_date: exact, close (day and month swapped, one digit off), different
// postal_code, city: exact, different; street: similar (Jaro-Winkler >= 0.9, the same house number),
// different. An address counts once: a similar street leaves postal code and city out (level -1), the
// same postal code the city.
std::size_t level_count(SuggestField f);
const char* level_name(SuggestField f, int level);

struct SuggestOptions {
  double min_score = 0.9;           // list pairs whose match probability is at least this
  std::size_t max_block = 50;       // a blocking key shared by more persons than this proposes no pairs
  std::size_t u_samples = 200'000;  // random pairs that estimate u
  std::size_t em_iterations = 100;  // for the prior
  std::uint64_t seed = 0x5eed;      // random pairs are drawn from it: the same data gives the same model
};

// The model the pairs were scored with, for the report and the tests.
struct SuggestModel {
  double prior = 0;  // the chance that two persons picked at random are one
  std::array<std::vector<double>, k_suggest_fields> m, u;
  std::size_t candidate_pairs = 0;
  std::size_t skipped_blocks = 0;  // blocking keys over max_block
  std::size_t iterations = 0;
};

// One field's part in a suggestion's score: the level, its m and u, and log2(m/u) added to the
// weight. level -1: one side has no value, weight 0. `a` and `b` are the values that compared best.
struct FieldScore {
  SuggestField field = SuggestField::name;
  int level = -1;
  double m = 0, u = 0, weight = 0;
  std::string a, b;
};

struct Suggestion {
  std::size_t a = 0, b = 0;  // profile indices, a < b
  double probability = 0;
  double weight = 0;  // log2 odds: prior weight + the fields' weights
  std::array<FieldScore, k_suggest_fields> fields;
};

struct SuggestResult {
  std::vector<Suggestion> suggestions;  // probability >= min_score, most probable first
  SuggestModel model;
};

// `apart(a, b)` is true for profile pairs never to suggest (kept apart by a split decision). May be
// empty.
SuggestResult suggest(std::span<const SuggestProfile> profiles, const SuggestOptions& options,
                      const std::function<bool(std::size_t, std::size_t)>& apart = {});

}  // namespace chansync
