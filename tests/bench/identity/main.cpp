// chansync-identity-bench: generates labelled people and their records (bench/identity/generator.hpp),
// runs the automatic identity pass (reconcile) on them alone, and reports its time, peak RSS and
// pairwise quality. "Identities" are the identity graph's nodes: CRM records plus distinct handles.
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

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
          {"hidden_whatsapp_numbers", n.hidden_whatsapp_numbers}};
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
  fmt::print("chansync-identity-bench: seed {}, {} true people, automatic linking only\n\n",
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
  const auto q = pairwise_quality(true_persons(data), predicted_persons(data, result));
  const double evaluate_s = seconds_since(t0);

  const nlohmann::json r = {{"seed", seed},
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
  if (json)
    std::cout << r.dump() << '\n';
  else
    print_table(r);
  return 0;
}
