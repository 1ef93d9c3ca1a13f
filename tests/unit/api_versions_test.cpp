#include "sync/api_versions.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

using namespace chansync;

namespace {
constexpr Timestamp k_day = 86'400'000;

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Timestamp day(const char* iso) {
  return *parse_rfc3339(std::string(iso) + "T00:00:00Z");
}
}  // namespace

TEST_CASE("data/api_versions.toml parses, is sorted, lists Graph v18.0 to v24.0 and is what the binary embeds",
          "[health]") {
  const auto text = read(CHANSYNC_SOURCE_DIR "/data/api_versions.toml");
  REQUIRE_FALSE(text.empty());
  const auto table = parse_version_table(text);
  INFO((table ? "" : table.error().message));
  REQUIRE(table);
  const auto& graph = table->vendors.at("graph");
  for (const char* v : {"v18.0", "v19.0", "v20.0", "v21.0", "v22.0", "v23.0", "v24.0"})
    CHECK(
        std::any_of(graph.begin(), graph.end(), [&](const ApiVersion& a) { return a.version == v && a.end_of_life; }));
  CHECK_FALSE(table->sources.at("graph").empty());
  CHECK(shipped_versions_text() == text);  // a stale build would check against another table
  CHECK(shipped_versions().vendors.at("graph").size() == graph.size());
}

TEST_CASE("a malformed or unsorted API versions table is refused, naming the line", "[health]") {
  const auto bad = [](const std::string& text) {
    const auto r = parse_version_table(text);
    return r ? std::string() : r.error().message;
  };
  CHECK_THAT(bad("[[graph]\nversion = \"v1\""), Catch::Contains("not valid TOML"));
  CHECK_THAT(bad("[[graph]]\nversion = \"v1.0\"\n"), Catch::Contains(":1:") && Catch::Contains("released"));
  CHECK_THAT(bad("[[graph]]\nversion = \"v1.0\"\nreleased = \"2020-01-01\"\n"), Catch::Contains("TOML date"));
  CHECK_THAT(bad("[[graph]]\nversion = \"v2.0\"\nreleased = 2021-01-01\nend_of_life = 2023-01-01\n"
                 "[[graph]]\nversion = \"v1.0\"\nreleased = 2020-01-01\nend_of_life = 2022-01-01\n"),
             Catch::Contains(":5:") && Catch::Contains("oldest first"));
  CHECK_THAT(bad("[[graph]]\nversion = \"v1.0\"\nreleased = 2020-01-01\nend_of_life = 2023-01-01\n"
                 "[[graph]]\nversion = \"v2.0\"\nreleased = 2021-01-01\nend_of_life = 2022-01-01\n"),
             Catch::Contains("ends before v1.0"));
  CHECK_THAT(bad("[[graph]]\nversion = \"v1.0\"\nreleased = 2020-01-01\nend_of_life = 2019-01-01\n"),
             Catch::Contains("ends before it was released"));
  CHECK_THAT(bad("[[graph]]\nversion = \"v1.0\"\nreleased = 2020-01-01\nexpires = 2021-01-01\n"),
             Catch::Contains("unknown key \"expires\""));
  CHECK_THAT(bad("graph = \"v1.0\"\n"), Catch::Contains("array of tables"));
  CHECK(bad("[sources]\ngraph = \"x\"\n[[graph]]\nversion = \"v1.0\"\nreleased = 2020-01-01\n").empty());
}

TEST_CASE("a pinned api_version is ok far from its end of life, deprecated with the days left near it, gone after",
          "[health]") {
  const auto table = parse_version_table(
      "[[graph]]\nversion = \"v18.0\"\nreleased = 2023-09-12\nend_of_life = 2026-01-26\n"
      "[[graph]]\nversion = \"v24.0\"\nreleased = 2025-10-08\nend_of_life = 2028-02-18\n"
      "[[graph]]\nversion = \"v26.0\"\nreleased = 2026-07-29\n");
  REQUIRE(table);
  const auto ok = version_finding(*table, "graph", "v24.0", day("2027-01-01"), 90);
  REQUIRE(ok);
  CHECK(ok->cls == HealthClass::ok);
  CHECK_THAT(ok->detail, Catch::Contains("served until 2028-02-18"));
  const auto soon = version_finding(*table, "graph", "v18.0", day("2026-01-16"), 90);
  REQUIRE(soon);
  CHECK(soon->cls == HealthClass::deprecated);
  CHECK(soon->signal == "API version table");
  CHECK(soon->value == "v18.0");
  CHECK(soon->at == day("2026-01-26"));
  CHECK_THAT(soon->detail, Catch::Contains("2026-01-26 (10 days left)"));
  CHECK_THAT(soon->action, Catch::Contains("v26.0"));
  const auto gone = version_finding(*table, "graph", "v18.0", day("2026-01-26"), 90);
  REQUIRE(gone);
  CHECK(gone->cls == HealthClass::gone);
  CHECK_THAT(gone->detail, Catch::Contains("end of life on 2026-01-26 (0 days ago)"));
  CHECK(version_finding(*table, "graph", "v18.0", day("2026-01-26") - k_day, 0)->cls == HealthClass::ok);
  CHECK(version_finding(*table, "graph", "v26.0", day("2027-01-01"), 90)->cls == HealthClass::ok);
  CHECK(version_finding(*table, "graph", "v99.0", day("2027-01-01"), 90)->cls == HealthClass::ok);
  CHECK_THAT(version_finding(*table, "graph", "v99.0", day("2027-01-01"), 90)->detail,
             Catch::Contains("newer than the table"));
  // Older than the oldest listed, itself gone: gone too. A version the vendor never published, or a
  // typo, is not ok.
  const auto older = version_finding(*table, "graph", "v15.0", day("2027-01-01"), 90);
  REQUIRE(older);
  CHECK(older->cls == HealthClass::gone);
  CHECK_THAT(older->detail, Catch::Contains("older than v18.0") && Catch::Contains("2026-01-26"));
  CHECK(version_finding(*table, "graph", "v15.0", day("2025-01-01"), 90)->cls == HealthClass::unknown);
  for (const char* odd : {"23.0x", "v20.0", "latest", "v"}) {
    CAPTURE(odd);
    CHECK(version_finding(*table, "graph", odd, day("2027-01-01"), 90)->cls == HealthClass::unknown);
  }
  CHECK_FALSE(version_finding(*table, "twilio", "2010-04-01", day("2027-01-01"), 90));
}
