// The ndjson target's snapshot mode: one line per person, replaced atomically; a push that does not
// finish leaves the old file and the ledger as they were.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "adapters/registry.hpp"
#include "sync/push.hpp"
#include "tests/contract/conformance.hpp"
#include "tests/unit/push_fixtures.hpp"

using namespace chansync;
using namespace chansync::test;

namespace {

EndpointConfig snapshot_config(const std::filesystem::path& path) {
  EndpointConfig cfg{"snap", "ndjson"};
  cfg.options = {{"path", path.string()}, {"mode", "snapshot"}};
  return cfg;
}

std::vector<std::string> lines_of(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::map<std::string, nlohmann::json> by_person(const std::filesystem::path& path) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& line : lines_of(path)) {
    auto j = nlohmann::json::parse(line);
    const std::string id = j.at("person_id");
    REQUIRE(out.count(id) == 0);  // one line per person
    out.emplace(id, std::move(j));
  }
  return out;
}

}  // namespace

TEST_CASE("an ndjson snapshot holds every person once and is replaced, not appended to", "[ndjson]") {
  Scratch dir;
  const auto file = dir.path / "persons.ndjson";
  StateStore store(":memory:");
  commit(store, customers(4));
  reconcile_now(store);
  auto adapter = adapters::create_adapter(snapshot_config(file), "DE");
  REQUIRE(push_target("snap", *adapter->sink(), store, {}).created == 4);
  auto first = by_person(file);
  CHECK(first.size() == 4);
  CHECK_FALSE(std::filesystem::exists(dir.path / "persons.ndjson.chansync-tmp"));

  // One person changes: its line is replaced, the other three are kept as they were.
  commit(store, {conversation("c2", "+4915112345672", 1, 40)});
  reconcile_now(store);
  auto again = adapters::create_adapter(snapshot_config(file), "DE");
  const auto r = push_target("snap", *again->sink(), store, {});
  CHECK(r.updated == 1);
  auto second = by_person(file);
  CHECK(second.size() == 4);
  std::size_t changed = 0;
  for (const auto& [id, j] : second) changed += j != first.at(id);
  CHECK(changed == 1);

  // Verify reads the file back.
  const auto v = verify_target("snap", *again->sink(), store, {});
  CHECK(v.checked == 4);
  CHECK(v.drift.empty());
}

TEST_CASE("an ndjson snapshot push that does not finish leaves the old file and the ledger", "[ndjson]") {
  Scratch dir;
  const auto file = dir.path / "persons.ndjson";
  StateStore store(":memory:");
  commit(store, customers(3));
  reconcile_now(store);
  {
    auto adapter = adapters::create_adapter(snapshot_config(file), "DE");
    REQUIRE(push_target("snap", *adapter->sink(), store, {}).created == 3);
  }
  const auto before = lines_of(file);
  const auto ledger = store.ledger().entries("snap");
  const auto mark = store.ledger().mark("snap");
  commit(store, {conversation("c0", "+4915112345670", 2, 50)});
  reconcile_now(store);

  SECTION("the process ends after the batches, before finish(): the temp file goes, the old file stays") {
    auto adapter = adapters::create_adapter(snapshot_config(file), "DE");
    PersonRecord changed;
    store.identity().for_each_person([&](PersonRecord&& r) {
      if (!r.handles.empty() && r.handles[0].value == "+4915112345670") changed = std::move(r);
    });
    REQUIRE_FALSE(changed.person_id.empty());
    const std::vector<PushItem> items = {{&changed, ledger.at(changed.person_id)}};
    REQUIRE(adapter->sink()->push(items));
    adapter.reset();  // no finish()
    CHECK(lines_of(file) == before);
    CHECK_FALSE(std::filesystem::exists(dir.path / "persons.ndjson.chansync-tmp"));
  }
  SECTION("finish() cannot rename into place: nothing is confirmed, the next push sends it again") {
    // The temp file can be written, but the rename cannot replace a non-empty directory.
    const auto blocked = dir.path / "blocked";
    std::filesystem::create_directories(blocked / "inside");
    auto adapter = adapters::create_adapter(snapshot_config(blocked), "DE");
    const auto r = push_target("snap", *adapter->sink(), store, {});
    REQUIRE(r.error);
    CHECK(r.error->code == Errc::io);
    CHECK(r.updated == 0);
    CHECK(r.failed == 1);
    for (const auto& [id, e] : store.ledger().entries("snap")) CHECK(e.hash == ledger.at(id).hash);
    CHECK(store.ledger().mark("snap") == mark);
    CHECK_FALSE(std::filesystem::exists(dir.path / "blocked.chansync-tmp"));
  }
}

TEST_CASE("ndjson snapshot mode refuses stdout and unknown modes are config errors", "[ndjson]") {
  EndpointConfig cfg{"snap", "ndjson"};
  cfg.options = {{"path", "-"}, {"mode", "snapshot"}};
  try {
    adapters::create_adapter(cfg, "DE");
    FAIL("no error");
  } catch (const Failure& f) {
    CHECK(f.error().code == Errc::config);
    CHECK_THAT(f.error().message, Catch::Contains("cannot be stdout"));
  }
}

TEST_CASE("an ndjson feed writes a batch larger than one writev takes whole and in order", "[ndjson]") {
  Scratch dir;
  const auto file = dir.path / "persons.ndjson";
  StateStore store(":memory:");
  commit(store, customers(600));  // 600 lines: 1,200 buffers with their newlines, over IOV_MAX (1,024)
  reconcile_now(store);
  EndpointConfig cfg{"feed", "ndjson"};
  cfg.options = {{"path", file.string()}};
  auto adapter = adapters::create_adapter(cfg, "DE");
  PushOptions opts;
  opts.batch_size = 600;
  REQUIRE(push_target("feed", *adapter->sink(), store, opts).created == 600);
  std::vector<std::string> expected;
  store.identity().for_each_person([&](PersonRecord&& p) { expected.push_back(nlohmann::json(p).dump()); });
  CHECK(lines_of(file) == expected);
  // Names, numbers and conversations: readable by its owner alone, as the state store is.
  CHECK((std::filesystem::status(file).permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
}

TEST_CASE("an ndjson feed left ending in part of a line by a killed push is cut back before it is appended to",
          "[ndjson]") {
  Scratch dir;
  const auto file = dir.path / "persons.ndjson";
  EndpointConfig cfg{"feed", "ndjson"};
  cfg.options = {{"path", file.string()}};
  for (const std::string& before : {std::string(R"({"person_id":"p_old"})") + "\n" + R"({"person_id":"p_torn","na)",
                                    std::string(R"({"person_id":"p_torn","na)")}) {
    INFO(before);
    { std::ofstream(file, std::ios::binary | std::ios::trunc) << before; }
    StateStore store(":memory:");
    commit(store, customers(3));
    reconcile_now(store);
    auto adapter = adapters::create_adapter(cfg, "DE");
    const auto stats = push_target("feed", *adapter->sink(), store, PushOptions{});
    INFO((stats.error ? stats.error->message : std::string("no error")));
    REQUIRE(stats.created == 3);
    const auto lines = lines_of(file);
    const bool kept_old = before.starts_with(R"({"person_id":"p_old"})");
    REQUIRE(lines.size() == (kept_old ? 4 : 3));
    for (const auto& line : lines) CHECK(nlohmann::json::parse(line, nullptr, false).is_object());
    if (kept_old) CHECK(lines[0] == R"({"person_id":"p_old"})");
  }
}

TEST_CASE("ndjson verify reads each person's last line, across batches, and sees the file change", "[ndjson]") {
  Scratch dir;
  const auto file = dir.path / "feed.ndjson";
  StateStore store(":memory:");
  commit(store, customers(450));  // three verify batches of 200
  reconcile_now(store);
  EndpointConfig cfg{"feed", "ndjson"};
  cfg.options = {{"path", file.string()}};
  auto adapter = adapters::create_adapter(cfg, "DE");
  REQUIRE(push_target("feed", *adapter->sink(), store, {}).created == 450);
  auto v = verify_target("feed", *adapter->sink(), store, {});
  CHECK(v.checked == 450);
  CHECK(v.same == 450);

  // Someone appends to the feed: a deletion of the first person, an edited copy of the second.
  const auto lines = lines_of(file);
  auto first = nlohmann::json::parse(lines[0]), second = nlohmann::json::parse(lines[1]);
  second["display_name"] = "Someone Else";
  {
    std::ofstream out(file, std::ios::app);
    out << nlohmann::json{{"person_id", first.at("person_id")}, {"deleted", true}}.dump() << '\n'
        << second.dump() << '\n';
  }
  v = verify_target("feed", *adapter->sink(), store, {});
  CHECK(v.checked == 450);
  CHECK(v.same == 448);
  std::map<std::string, VerifyOutcome::State> drift;
  for (const auto& d : v.drift) drift[d.person_id] = d.state;
  CHECK(drift.at(first.at("person_id").get<std::string>()) == VerifyOutcome::State::missing);
  CHECK(drift.at(second.at("person_id").get<std::string>()) == VerifyOutcome::State::edited);
}
