// chansync-identity-bench: generates labelled people and their records (bench/identity/generator.hpp),
// runs the automatic identity pass (reconcile) on them alone, and reports its time, peak RSS and
// pairwise quality. Then, unless --no-suggest, the suggestions stage (sync/suggest.hpp) over the
// persons it made: its time, peak RSS and model, and the quality of the clustering when every
// suggestion at or above 0.9 or 0.99 is accepted. "Identities" are the identity graph's nodes: CRM
// records plus distinct handles.
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "sync/suggestions.hpp"
#include "tests/bench/identity/generator.hpp"
#include "tests/bench/identity/quality.hpp"

namespace {

using namespace chansync;
using namespace chansync::bench::identity;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// CPU seconds of the process so far: on a loaded machine the wall time of a single-threaded step
// says more about its neighbours than about it.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024;  // kB on Linux
}

double current_rss_mb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

// Starts a new peak-RSS window (VmHWM) for this process; false where the kernel does not offer it
// (/proc/self/clear_refs needs Linux 4.0), and the peak then stays the process's.
bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5" << std::flush;
  return static_cast<bool>(f);
}

double window_peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmHWM:")) return std::stod(line.substr(6)) / 1024;
  return peak_rss_mb();
}

// "name exact, email close, street similar": the fields a suggestion compared, and how.
std::string pattern(const Suggestion& s) {
  std::string out;
  for (const auto& f : s.fields)
    if (f.level >= 0)
      out += fmt::format("{}{} {}", out.empty() ? "" : ", ", to_string(f.field), level_name(f.field, f.level));
  return out;
}

// The commonest comparison patterns of true or false joins, with how many joins had each.
nlohmann::json top_patterns(const std::vector<Suggestion>& suggestions, const AcceptedQuality& a, bool same,
                            std::size_t top) {
  std::map<std::string, std::size_t> counts;
  for (const auto& [k, is_true] : a.joined)
    if (is_true == same) ++counts[pattern(suggestions[k])];
  std::vector<std::pair<std::size_t, std::string>> sorted;
  for (const auto& [p, n] : counts) sorted.emplace_back(n, p);
  std::sort(sorted.begin(), sorted.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < std::min(top, sorted.size()); ++i)
    out.push_back({{"joins", sorted[i].first}, {"pattern", sorted[i].second}});
  return out;
}

// A few false joins as the scorer saw them: each field's level and the two values compared.
template <class InHousehold>
nlohmann::json false_examples(const std::vector<Suggestion>& suggestions, const AcceptedQuality& a, bool household,
                              InHousehold in_household, std::size_t top) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [k, same] : a.joined) {
    if (same || in_household(suggestions[k]) != household) continue;
    const auto& s = suggestions[k];
    nlohmann::json fields;
    for (const auto& f : s.fields)
      if (f.level >= 0) fields[to_string(f.field)] = fmt::format("{}: {} | {}", level_name(f.field, f.level), f.a, f.b);
    out.push_back({{"probability", s.probability}, {"fields", fields}});
    if (out.size() == top) break;
  }
  return out;
}

// The suggestions stage over the persons `result` made, and the quality of accepting its suggestions.
nlohmann::json suggestion_stage(const LabelledData& data, const IdentityResult& result,
                                std::span<const std::uint32_t> truth, std::span<const std::uint32_t> predicted) {
  std::unordered_map<std::string, std::vector<std::string>> node_names;  // as vendor_names reads them from the store
  for (std::size_t i = 0; i < data.handle_name.size(); ++i)
    if (!data.handle_name[i].empty())
      node_names[data.input.conversation_handles[i].key()].push_back(data.handle_name[i]);

  const double rss_before = current_rss_mb();
  const bool windowed = reset_peak_rss();
  double cpu0 = cpu_seconds();
  const auto profiles = person_profiles(data.contacts, result, node_names);
  const double profiles_cpu_s = cpu_seconds() - cpu0;
  SuggestOptions options;
  options.min_score = 0.9;
  cpu0 = cpu_seconds();
  const auto t0 = Clock::now();
  const SuggestResult found = suggest(profiles, options);
  const double suggest_s = seconds_since(t0), suggest_cpu_s = cpu_seconds() - cpu0;
  const double peak = window_peak_rss_mb();

  const auto& m = found.model;
  nlohmann::json model;
  for (std::size_t k = 0; k < k_suggest_fields; ++k)
    model[to_string(static_cast<SuggestField>(k))] = {{"m", m.m[k]}, {"u", m.u[k]}};
  const auto at_least = [&](double t) {
    return std::count_if(found.suggestions.begin(), found.suggestions.end(),
                         [&](const Suggestion& s) { return s.probability >= t; });
  };
  // False merges of two members of one household (a shared address and landline, often a last name)
  // are the hard case the generator plants on purpose; counted apart from other false merges.
  std::vector<std::uint32_t> household_of(data.people, UINT32_MAX);
  for (std::size_t h = 0; h < data.households.size(); ++h)
    for (const auto member : data.households[h].members) household_of[member] = static_cast<std::uint32_t>(h);
  std::vector<std::vector<std::uint32_t>> households_of(result.person_count());  // person → households of its records
  for (std::size_t i = 0; i < truth.size(); ++i)
    if (const auto h = household_of[truth[i]]; h != UINT32_MAX) households_of[predicted[i]].push_back(h);
  const auto same_household = [&](const Suggestion& s) {
    for (const auto h : households_of[s.a])
      if (std::find(households_of[s.b].begin(), households_of[s.b].end(), h) != households_of[s.b].end()) return true;
    return false;
  };
  nlohmann::json accepted = nlohmann::json::array();
  for (const double threshold : {0.9, 0.99}) {
    const auto a = accept_suggestions(truth, predicted, result.person_count(), found.suggestions, threshold);
    const auto& q = a.quality;
    std::size_t household_false = 0;
    for (const auto& [k, same] : a.joined) household_false += !same && same_household(found.suggestions[k]);
    accepted.push_back(
        {{"threshold", threshold},
         {"accepted", a.accepted},
         {"joins", a.joins},
         {"true_merges", a.true_merges},
         {"false_merges", a.false_merges},
         {"false_merges_in_household", household_false},
         {"persons", q.predicted_persons},
         {"precision", q.precision},
         {"recall", q.recall},
         {"f1", q.f1},
         {"correct_pairs", q.correct_pairs},
         {"predicted_pairs", q.predicted_pairs},
         {"over_merges", q.over_merges},
         {"under_merges", q.under_merges},
         {"true_merge_patterns", top_patterns(found.suggestions, a, true, 8)},
         {"false_merge_patterns", top_patterns(found.suggestions, a, false, 8)},
         {"false_merge_examples_household", false_examples(found.suggestions, a, true, same_household, 6)},
         {"false_merge_examples_other", false_examples(found.suggestions, a, false, same_household, 6)}});
  }
  return {{"profiles", profiles.size()},
          {"profiles_cpu_s", profiles_cpu_s},
          {"suggest_s", suggest_s},
          {"suggest_cpu_s", suggest_cpu_s},
          {"rss_before_mb", rss_before},
          {"peak_rss_mb", peak},
          {"peak_rss_scope", windowed ? "profiles + suggest (VmHWM reset before)" : "whole process"},
          {"candidate_pairs", m.candidate_pairs},
          {"skipped_blocks", m.skipped_blocks},
          {"prior", m.prior},
          {"em_iterations", m.iterations},
          {"suggestions_090", at_least(0.9)},
          {"suggestions_099", at_least(0.99)},
          {"model", model},
          {"accepted", accepted}};
}

nlohmann::json noise_json(const NoiseCounts& n) {
  return {{"crm_duplicates", n.crm_duplicates},
          {"name_changes", n.name_changes},
          {"foreign_names", n.foreign_names},
          {"email_typos", n.email_typos},
          {"phone_typos", n.phone_typos},
          {"misread_national_numbers", n.misread_national},
          {"placeholders", n.placeholders},
          {"gmail_variants", n.gmail_variants},
          {"office_emails", n.office_emails},
          {"office_phones", n.office_phones},
          {"household_landlines", n.household_landlines},
          {"hidden_whatsapp_numbers", n.hidden_whatsapp_numbers},
          {"birth_dates", n.birth_dates},
          {"addresses", n.addresses},
          {"swapped_birth_dates", n.swapped_dates},
          {"birth_date_typos", n.date_typos},
          {"street_typos", n.street_typos},
          {"city_variants", n.city_variants},
          {"old_addresses", n.old_addresses}};
}

void print_table(const nlohmann::json& r) {
  auto row = [](std::string_view what, const std::string& value, std::string_view note = "") {
    fmt::print("{:<44} {:>14}  {}\n", what, value, note);
  };
  auto count = [](const nlohmann::json& v) {
    std::string digits = std::to_string(v.get<std::uint64_t>()), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
      if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
      out += digits[i];
    }
    return out;
  };
  fmt::print("chansync-identity-bench: seed {}, {} true people\n\nautomatic pass (reconcile)\n",
             r["seed"].get<std::uint64_t>(), count(r["people"]));
  row("identities (graph nodes)", count(r["identities"]), "CRM records + distinct handles");
  row("records scored", count(r["records"]), "CRM contacts + conversation handles");
  row("persons", count(r["persons"]), fmt::format("{} conflicts reported", count(r["conflicts"])));
  row("generate + normalise s", fmt::format("{:.2f}", r["generate_s"].get<double>()),
      fmt::format("{:.2f} s of it in normalize_phone/email", r["normalise_s"].get<double>()));
  row("reconcile s", fmt::format("{:.2f}", r["reconcile_s"].get<double>()),
      fmt::format("{:.2f} s CPU; target <= 2 s at 1M identities", r["reconcile_cpu_s"].get<double>()));
  row("peak RSS MB", fmt::format("{:.0f}", r["peak_rss_mb"].get<double>()),
      fmt::format("{:.0f} MB held before reconcile; target <= 300 MB", r["rss_before_reconcile_mb"].get<double>()));
  row("pairwise precision", fmt::format("{:.4f}", r["precision"].get<double>()));
  row("pairwise recall", fmt::format("{:.4f}", r["recall"].get<double>()));
  row("pairwise F1", fmt::format("{:.4f}", r["f1"].get<double>()));
  row("over-merges", count(r["over_merges"]), "predicted persons holding records of >= 2 true people");
  row("under-merges", count(r["under_merges"]), "true people spread over >= 2 predicted persons");
  if (const auto& s = r["suggest"]; !s.is_null()) {
    fmt::print("\nsuggestions (suggest over the persons above)\n");
    row("profiles", count(s["profiles"]), fmt::format("built in {:.2f} s CPU", s["profiles_cpu_s"].get<double>()));
    row("suggest s CPU", fmt::format("{:.2f}", s["suggest_cpu_s"].get<double>()),
        fmt::format("{:.2f} s wall", s["suggest_s"].get<double>()));
    row("peak RSS MB", fmt::format("{:.0f}", s["peak_rss_mb"].get<double>()),
        fmt::format("{:.0f} MB held before; {}", s["rss_before_mb"].get<double>(),
                    s["peak_rss_scope"].get<std::string>()));
    row("candidate pairs", count(s["candidate_pairs"]),
        fmt::format("{} blocking keys over max_block skipped", count(s["skipped_blocks"])));
    row("model prior", fmt::format("{:.3g}", s["prior"].get<double>()),
        fmt::format("after {} EM iterations", s["em_iterations"].get<std::uint64_t>()));
    row("suggestions >= 0.9 / >= 0.99",
        fmt::format("{} / {}", count(s["suggestions_090"]), count(s["suggestions_099"])));
    for (const auto& a : s["accepted"]) {
      const auto t = a["threshold"].get<double>();
      row(fmt::format("accepting >= {}: precision / recall / F1", t),
          fmt::format("{:.4f} / {:.4f} / {:.4f}", a["precision"].get<double>(), a["recall"].get<double>(),
                      a["f1"].get<double>()));
      row(fmt::format("accepting >= {}: true / false merges", t),
          fmt::format("{} / {}", count(a["true_merges"]), count(a["false_merges"])),
          fmt::format("{} of the false in one household; {} accepted, {} over-merges, {} under-merges",
                      count(a["false_merges_in_household"]), count(a["accepted"]), count(a["over_merges"]),
                      count(a["under_merges"])));
      for (const auto& p : a["false_merge_patterns"])
        fmt::print("    false merges {:>7}: {}\n", count(p["joins"]), p["pattern"].get<std::string>());
    }
  }
  fmt::print("\nnoise injected: {}\n", r["noise"].dump());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Reconciles generated, labelled identities and reports time, peak RSS and pairwise quality"};
  std::uint64_t seed = 1;
  std::size_t people = 10'000;
  bool json = false;
  app.add_option("--seed", seed, "Generator seed (same seed, same data)")->capture_default_str();
  app.add_option("--people", people, "True people to generate (about 3.4 identities each)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
  app.add_flag("--json", json, "One JSON object on stdout instead of the table");
  bool no_suggest = false;
  app.add_flag("--no-suggest", no_suggest, "Skip the suggestions stage (time the automatic pass alone)");
  CLI11_PARSE(app, argc, argv);

  auto t0 = Clock::now();
  const LabelledData data = generate(seed, people);
  const double generate_s = seconds_since(t0);

  const double rss_before = current_rss_mb();
  const double peak_before = peak_rss_mb();  // generation's peak: the pass's own peak is only above it
  std::uint64_t minted = 0;
  const double cpu0 = cpu_seconds();
  t0 = Clock::now();
  const IdentityResult result = reconcile(data.input, [&] { return fmt::format("p_{:016x}", ++minted); });
  const double reconcile_s = seconds_since(t0);
  const double reconcile_cpu_s = cpu_seconds() - cpu0;
  const double peak = peak_rss_mb();

  t0 = Clock::now();
  const auto truth = true_persons(data);
  const auto predicted = predicted_persons(data, result);
  const auto q = pairwise_quality(truth, predicted);
  const double evaluate_s = seconds_since(t0);

  nlohmann::json r = {{"seed", seed},
                      {"people", data.people},
                      {"identities", result.nodes.size()},
                      {"identity_unit", "graph nodes: CRM records + distinct handles"},
                      {"contacts", data.input.contacts.size()},
                      {"conversation_handles", data.input.conversation_handles.size()},
                      {"links", data.input.links.size()},
                      {"records", q.records},
                      {"persons", result.person_count()},
                      {"conflicts", result.conflicts.size()},
                      {"generate_s", generate_s},
                      {"normalise_s", data.normalise_seconds},
                      {"reconcile_s", reconcile_s},
                      {"reconcile_cpu_s", reconcile_cpu_s},
                      {"evaluate_s", evaluate_s},
                      {"rss_before_reconcile_mb", rss_before},
                      {"peak_rss_mb", peak},
                      {"peak_rss_before_reconcile_mb", peak_before},
                      {"precision", q.precision},
                      {"recall", q.recall},
                      {"f1", q.f1},
                      {"true_pairs", q.true_pairs},
                      {"predicted_pairs", q.predicted_pairs},
                      {"correct_pairs", q.correct_pairs},
                      {"true_persons", q.true_persons},
                      {"predicted_persons", q.predicted_persons},
                      {"over_merges", q.over_merges},
                      {"under_merges", q.under_merges},
                      {"result_digest", result_digest(result)},
                      {"noise", noise_json(data.noise)}};
  r["suggest"] = no_suggest ? nlohmann::json() : suggestion_stage(data, result, truth, predicted);
  if (json)
    std::cout << r.dump() << '\n';
  else
    print_table(r);
  return 0;
}
