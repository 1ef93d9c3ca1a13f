#pragma once
// Pairwise quality of a clustering against true labels, counted from a contingency table (cluster
// sizes), never by listing pairs: a million records take a sort, not 10^12 comparisons.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sync/suggest.hpp"
#include "tests/bench/identity/generator.hpp"

namespace chansync::bench::identity {

struct PairwiseQuality {
  std::size_t records = 0, true_persons = 0, predicted_persons = 0;
  std::uint64_t true_pairs = 0;              // record pairs of one true person
  std::uint64_t predicted_pairs = 0;         // record pairs put in one predicted person
  std::uint64_t correct_pairs = 0;           // both
  double precision = 1, recall = 1, f1 = 1;  // precision 1 when nothing was joined, recall 1 when nothing should be
  std::size_t over_merges = 0;               // predicted persons holding records of ≥ 2 true persons
  std::size_t under_merges = 0;              // true persons whose records are spread over ≥ 2 predicted persons
};

// truth[i] and predicted[i] label record i (any integers; equal means same person). The spans must
// have equal length.
PairwiseQuality pairwise_quality(std::span<const std::uint32_t> truth, std::span<const std::uint32_t> predicted);

// What accepting every suggestion at or above `threshold` does: the automatic persons joined by
// union-find, in the suggestions' order (most probable first as suggest() returns them).
struct AcceptedQuality {
  double threshold = 0;
  std::size_t accepted = 0;      // suggestions at or above the threshold
  std::size_t joins = 0;         // of them, those that joined two clusters (the rest were one already)
  std::size_t true_merges = 0;   // joins of two clusters holding records of one true person
  std::size_t false_merges = 0;  // joins of clusters with no true person in common (or no records)
  PairwiseQuality quality;       // of the joined clustering
  std::vector<std::pair<std::size_t, bool>> joined;  // each join: (index into suggestions, true merge)
};

// `truth` and `predicted` label the records as for pairwise_quality, `predicted` with person indices
// below `persons` (predicted_persons); the suggestions' a and b are person indices too (the profiles
// of person_profiles). Throws std::invalid_argument when an index is out of range.
AcceptedQuality accept_suggestions(std::span<const std::uint32_t> truth, std::span<const std::uint32_t> predicted,
                                   std::size_t persons, std::span<const Suggestion> suggestions, double threshold);

// The records of `data` in one order (contacts, then conversation handles): their true persons, and
// the person `result` assigned each (a dense index per person_id). Throws std::out_of_range when a
// record's node is missing from result.nodes.
std::vector<std::uint32_t> true_persons(const LabelledData& data);
std::vector<std::uint32_t> predicted_persons(const LabelledData& data, const IdentityResult& result);

// A 64-bit FNV-1a digest of everything `result` says (every node with its person id and verified
// flag in key order, conflicts, new, aliased and revived ids), as 16 hex digits: two runs, or two
// implementations of reconcile, agree on a data set exactly when their digests are equal.
std::string result_digest(const IdentityResult& result);

}  // namespace chansync::bench::identity
