// persons suggestions: pairs of persons that are probably one, with the evidence field by field.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>

#include "cli/output.hpp"
#include "cli/session.hpp"
#include "sync/suggestions.hpp"

namespace chansync::cli {
namespace {

std::string signed_weight(double w) {
  return fmt::format("{:+.2f}", w);
}

nlohmann::json suggestions_json(const SuggestionsReport& r) {
  const auto& m = r.result.model;
  nlohmann::json model = {{"prior", m.prior},
                          {"candidate_pairs", m.candidate_pairs},
                          {"skipped_blocks", m.skipped_blocks},
                          {"em_iterations", m.iterations},
                          {"fields", nlohmann::json::object()}};
  for (std::size_t k = 0; k < k_suggest_fields; ++k) {
    const auto f = static_cast<SuggestField>(k);
    nlohmann::json levels = nlohmann::json::object();
    for (std::size_t l = 0; l < m.m[k].size(); ++l)
      levels[level_name(f, static_cast<int>(l))] = {{"m", m.m[k][l]}, {"u", m.u[k][l]}};
    model["fields"][to_string(f)] = levels;
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : r.result.suggestions) {
    const auto& a = r.profiles[s.a].person_id;
    const auto& b = r.profiles[s.b].person_id;
    nlohmann::json fields = nlohmann::json::array();
    for (const auto& f : s.fields) {
      if (f.level < 0) continue;
      fields.push_back({{"field", to_string(f.field)},
                        {"level", level_name(f.field, f.level)},
                        {"m", f.m},
                        {"u", f.u},
                        {"weight", f.weight},
                        {"values", {f.a, f.b}}});
    }
    list.push_back({{"persons", {a, b}},
                    {"probability", s.probability},
                    {"weight", s.weight},
                    {"prior_weight", std::log2(m.prior / (1 - m.prior))},
                    {"fields", fields},
                    // Stale: persons new since the last reconcile have ids no store holds yet.
                    {"merge", r.stale ? nlohmann::json(nullptr)
                                      : nlohmann::json(fmt::format("chansync persons merge {} {}", a, b))}});
  }
  return {{"stale", r.stale}, {"model", model}, {"suggestions", list}};
}

// One block per pair: the probability and the command that accepts it, then the waterfall: the prior
// and each field's weight, which add up to the pair's weight.
void print_suggestions(const SuggestionsReport& r) {
  const double prior_weight = std::log2(r.result.model.prior / (1 - r.result.model.prior));
  for (const auto& s : r.result.suggestions) {
    const auto& a = r.profiles[s.a].person_id;
    const auto& b = r.profiles[s.b].person_id;
    if (r.stale)
      fmt::print("{:.4f}  {} + {}   (run `chansync reconcile` first: these ids are not stored yet)\n", s.probability, a,
                 b);
    else
      fmt::print("{:.4f}  {} + {}   chansync persons merge {} {}\n", s.probability, a, b, a, b);
    fmt::print("    {:<12} {:<9} {:>8}\n", "prior", "", signed_weight(prior_weight));
    for (const auto& f : s.fields) {
      if (f.level < 0) continue;
      const std::string values = f.a == f.b ? f.a : fmt::format("{} / {}", f.a, f.b);
      fmt::print("    {:<12} {:<9} {:>8}  {}  (m {:.3g}, u {:.3g})\n", to_string(f.field), level_name(f.field, f.level),
                 signed_weight(f.weight), values, f.m, f.u);
    }
    fmt::print("    {:<12} {:<9} {:>8}\n\n", "total", "", signed_weight(s.weight));
  }
}

}  // namespace

void add_persons_suggestions(CLI::App& persons, Context& ctx) {
  auto* cmd = persons.add_subcommand("suggestions", "pairs of persons that are probably one, with the evidence");
  auto min_score = std::make_shared<double>(SuggestOptions{}.min_score);
  auto limit = std::make_shared<std::size_t>(0);
  cmd->add_option("--min-score", *min_score, "list pairs at least this probable (0-1)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--limit", *limit, "list at most this many pairs, most probable first (0: all)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{1'000'000'000}));
  cmd->callback([&ctx, min_score, limit] {
    ctx.action = [&ctx, min_score, limit] {
      require_format(ctx.global.output, {"table", "json"}, "persons suggestions");
      // CLI::Range lets "nan" through: no comparison with it is true.
      if (!(*min_score >= 0.0 && *min_score <= 1.0))
        throw Failure(Errc::usage, "--min-score must be a number from 0 to 1, e.g. 0.9");
      Session s = open_session(ctx.global, "persons suggestions", Needs::store_and_adapters);
      SuggestOptions options;
      options.min_score = *min_score;
      auto r = list_suggestions(*s.store, s.connectors, s.config.identity, options);
      const std::size_t found = r.result.suggestions.size();
      if (*limit > 0 && found > *limit) r.result.suggestions.resize(*limit);
      if (r.stale)
        spdlog::warn(
            "records or rules changed since the last reconcile; these suggestions are for what "
            "`chansync reconcile` will make of them: run it, then list again to accept one");
      if (ctx.global.output == "json") {
        print_json(suggestions_json(r));
        return 0;
      }
      print_suggestions(r);
      spdlog::info("{} suggestion{} at >= {} from {} candidate pairs of {} persons{}", found, found == 1 ? "" : "s",
                   *min_score, r.result.model.candidate_pairs, r.profiles.size(),
                   *limit > 0 && found > *limit ? fmt::format(" ({} shown)", *limit) : "");
      return 0;
    };
  });
}

}  // namespace chansync::cli
