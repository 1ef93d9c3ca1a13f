#include "tests/bench/identity/quality.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

namespace chansync::bench::identity {
namespace {

class Fnv1a {
 public:
  void add(std::string_view text) {
    for (const unsigned char c : text) m_hash = (m_hash ^ c) * 0x100000001b3ULL;
    m_hash = (m_hash ^ 0xffU) * 0x100000001b3ULL;  // a separator no UTF-8 text holds
  }
  std::uint64_t value() const { return m_hash; }

 private:
  std::uint64_t m_hash = 0xcbf29ce484222325ULL;
};

std::uint64_t pairs(std::uint64_t n) {
  return n * (n - (n > 0)) / 2;
}

}  // namespace

PairwiseQuality pairwise_quality(std::span<const std::uint32_t> truth, std::span<const std::uint32_t> predicted) {
  if (truth.size() != predicted.size()) throw std::invalid_argument("pairwise_quality: label counts differ");
  PairwiseQuality q;
  q.records = truth.size();
  // Cells of the contingency table as (predicted, true) keys, sorted: equal keys are one cell, and
  // a predicted person's cells are adjacent.
  std::vector<std::uint64_t> cells(truth.size());
  for (std::size_t i = 0; i < truth.size(); ++i) cells[i] = std::uint64_t{predicted[i]} << 32 | truth[i];
  std::sort(cells.begin(), cells.end());
  std::unordered_map<std::uint32_t, std::pair<std::uint64_t, std::uint32_t>> by_truth;  // size, cells
  by_truth.reserve(truth.size() / 2);
  for (std::size_t i = 0; i < cells.size();) {
    const auto row = static_cast<std::uint32_t>(cells[i] >> 32);
    std::uint64_t row_size = 0, row_cells = 0;
    std::size_t j = i;
    while (j < cells.size() && cells[j] >> 32 == row) {
      std::size_t k = j;
      while (k < cells.size() && cells[k] == cells[j]) ++k;
      const std::uint64_t n = k - j;
      q.correct_pairs += pairs(n);
      row_size += n, ++row_cells;
      auto& column = by_truth[static_cast<std::uint32_t>(cells[j])];
      column.first += n, ++column.second;
      j = k;
    }
    q.predicted_pairs += pairs(row_size);
    ++q.predicted_persons;
    if (row_cells > 1) ++q.over_merges;
    i = j;
  }
  q.true_persons = by_truth.size();
  for (const auto& [label, column] : by_truth) {
    q.true_pairs += pairs(column.first);
    if (column.second > 1) ++q.under_merges;
  }
  if (q.predicted_pairs > 0)
    q.precision = static_cast<double>(q.correct_pairs) / static_cast<double>(q.predicted_pairs);
  if (q.true_pairs > 0) q.recall = static_cast<double>(q.correct_pairs) / static_cast<double>(q.true_pairs);
  q.f1 = q.precision + q.recall > 0 ? 2 * q.precision * q.recall / (q.precision + q.recall) : 0;
  return q;
}

AcceptedQuality accept_suggestions(std::span<const std::uint32_t> truth, std::span<const std::uint32_t> predicted,
                                   std::size_t persons, std::span<const Suggestion> suggestions, double threshold) {
  if (truth.size() != predicted.size()) throw std::invalid_argument("accept_suggestions: label counts differ");
  AcceptedQuality out;
  out.threshold = threshold;
  // Each cluster's true people, sorted: a join is true when the two sides share one.
  std::vector<std::vector<std::uint32_t>> true_of(persons);
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (predicted[i] >= persons) throw std::invalid_argument("accept_suggestions: a record's person is out of range");
    true_of[predicted[i]].push_back(truth[i]);
  }
  for (auto& t : true_of) {
    std::sort(t.begin(), t.end());
    t.erase(std::unique(t.begin(), t.end()), t.end());
  }
  std::vector<std::uint32_t> root(persons);
  for (std::uint32_t p = 0; p < persons; ++p) root[p] = p;
  const auto find = [&](std::uint32_t x) {
    while (root[x] != x) x = root[x] = root[root[x]];
    return x;
  };
  for (std::size_t k = 0; k < suggestions.size(); ++k) {
    const auto& s = suggestions[k];
    if (s.probability < threshold) continue;
    if (s.a >= persons || s.b >= persons)
      throw std::invalid_argument("accept_suggestions: a suggestion's person is out of range");
    ++out.accepted;
    auto a = find(static_cast<std::uint32_t>(s.a)), b = find(static_cast<std::uint32_t>(s.b));
    if (a == b) continue;
    ++out.joins;
    auto& ta = true_of[a];
    auto& tb = true_of[b];
    std::vector<std::uint32_t> both;
    std::set_union(ta.begin(), ta.end(), tb.begin(), tb.end(), std::back_inserter(both));
    const bool same = both.size() < ta.size() + tb.size();
    ++(same ? out.true_merges : out.false_merges);
    out.joined.emplace_back(k, same);
    root[b] = a;
    ta = std::move(both);
    std::vector<std::uint32_t>().swap(tb);
  }
  std::vector<std::uint32_t> joined(predicted.size());
  for (std::size_t i = 0; i < predicted.size(); ++i) joined[i] = find(predicted[i]);
  out.quality = pairwise_quality(truth, joined);
  return out;
}

std::vector<std::uint32_t> true_persons(const LabelledData& data) {
  std::vector<std::uint32_t> out(data.contact_person);
  out.insert(out.end(), data.handle_person.begin(), data.handle_person.end());
  return out;
}

std::vector<std::uint32_t> predicted_persons(const LabelledData& data, const IdentityResult& result) {
  std::vector<std::uint32_t> out;
  out.reserve(data.contact_person.size() + data.handle_person.size());
  auto add = [&](const std::string& node) {
    const std::size_t i = result.find(node);
    if (i == IdentityResult::npos) throw std::out_of_range("predicted_persons: no node " + node);
    out.push_back(result.person[i]);
  };
  for (const auto& c : data.input.contacts) add(crm_node(c.connector, c.id));
  for (const auto& h : data.input.conversation_handles) add(h.key());
  return out;
}

std::string result_digest(const IdentityResult& result) {
  Fnv1a h;
  for (std::size_t i = 0; i < result.nodes.size(); ++i) {
    h.add(result.nodes[i]);
    h.add(result.person_id(i));
    h.add(result.verified[i] ? "v" : "u");
  }
  for (const auto& c : result.conflicts) {
    h.add(c.node);
    h.add(c.reason);
    for (const auto& r : c.records) h.add(r);
  }
  h.add("new");
  for (const auto p : result.new_persons) h.add(result.person_ids[p]);
  h.add("aliases");
  for (const auto& [alias, survivor] : result.aliases) {
    h.add(alias);
    h.add(survivor);
  }
  h.add("revived");
  for (const auto& id : result.revived) h.add(id);
  return fmt::format("{:016x}", h.value());
}

}  // namespace chansync::bench::identity
