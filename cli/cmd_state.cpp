#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <set>
#include <utility>

#include "cli/output.hpp"
#include "cli/session.hpp"

namespace chansync::cli {
namespace {

std::string when(Timestamp t) {
  return t ? format_rfc3339(t) : "never";
}

int show(Context& ctx) {
  require_format(ctx.global.output, {"table", "json"}, "state show");
  Session s = open_session(ctx.global, "state show", Needs::store_read);
  const auto streams = s.store->records().streams();
  const auto counts = s.store->counts();
  // A first pull killed, or whose index build failed, before its messages' indexes were built: until
  // they are, a message it fetched twice is two rows of the count.
  const bool pending = s.store->records().bulk_loading();
  if (ctx.global.output == "json") {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : streams) {
      const auto& p = r.last_pull;
      rows.push_back({{"connector", r.connector},
                      {"stream", r.stream},
                      {"cursor", r.cursor},
                      {"cursor_updated_at", r.updated_at ? nlohmann::json(format_rfc3339(r.updated_at)) : nullptr},
                      {"last_pull_at", r.last_pull_at ? nlohmann::json(format_rfc3339(r.last_pull_at)) : nullptr},
                      {"last_ok_at", r.last_ok_at ? nlohmann::json(format_rfc3339(r.last_ok_at)) : nullptr},
                      {"last_pull",
                       {{"pages", p.pages},
                        {"requests", p.requests},
                        {"received", p.received},
                        {"written", p.written},
                        {"rejected", p.rejected},
                        {"error", p.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.error)},
                        {"notice", p.notice.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.notice)}}}});
    }
    print_json({{"path", s.config.state_path},
                {"schema_version", s.store->schema_version()},
                {"streams", rows},
                {"counts", counts},
                {"indexes_pending", pending},
                {"in_use_by", s.beside.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.beside)}});
    return 0;
  }
  std::fputs(fmt::format("state {} (schema {})\n\n", s.config.state_path, s.store->schema_version()).c_str(), stdout);
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : streams) {
    const auto& p = r.last_pull;
    const std::string last = r.last_pull_at == 0 ? "never"
                             : p.error.empty()
                                 ? fmt::format("{}: {} records, {} written, {} rejected",
                                               format_rfc3339(r.last_pull_at), p.received, p.written, p.rejected)
                                 : fmt::format("{}: FAILED: {}", format_rfc3339(r.last_pull_at), p.error);
    const std::string notice = p.notice.empty() ? "" : fmt::format("; the vendor reported: {}", p.notice);
    // A long cursor (a Twilio backfill's open windows) is cut, at a character's start: the table is
    // for reading.
    std::size_t cut = std::min<std::size_t>(r.cursor.size(), 80);
    while (cut > 0 && cut < r.cursor.size() && (static_cast<unsigned char>(r.cursor[cut]) & 0xC0) == 0x80) --cut;
    const std::string cursor = r.cursor.empty()         ? "(full pull next)"
                               : cut == r.cursor.size() ? r.cursor
                                                        : fmt::format("{}… ({} bytes; -o json prints it whole)",
                                                                      r.cursor.substr(0, cut), r.cursor.size());
    rows.push_back({r.connector + "/" + r.stream, when(r.updated_at), cursor, last + notice});
  }
  print_table({"STREAM", "CURSOR UPDATED", "CURSOR", "LAST PULL"}, rows);
  std::fputs("\n", stdout);
  rows.clear();
  for (const auto& [table, n] : counts) rows.push_back({table, std::to_string(n)});
  print_table({"TABLE", "ROWS"}, rows);
  if (!s.beside.empty())
    std::fputs(fmt::format("\nIn use by {}: this is what it has committed so far.\n", s.beside).c_str(), stdout);
  if (pending && !s.beside.empty())
    std::fputs(
        "A first pull is loading messages: a message it fetched twice counts twice until it has built their "
        "indexes.\n",
        stdout);
  else if (pending)
    std::fputs(
        "\nThe first pull ended before the indexes of its messages were built: a message it fetched twice "
        "counts twice until they are. The next command that writes builds them.\n",
        stdout);
  return 0;
}

// CONNECTOR or CONNECTOR/STREAM, checked against the config and the store: a mistyped name is an
// error, not an empty answer.
std::pair<std::string, std::optional<std::string>> known_target(Session& s, const std::string& target) {
  const auto slash = target.find('/');
  const std::string connector = target.substr(0, slash);
  const std::optional<std::string> stream =
      slash == std::string::npos ? std::nullopt : std::optional(target.substr(slash + 1));
  std::set<std::string> known_connectors, known_streams;
  for (const auto& c : s.config.connectors) known_connectors.insert(c.name);
  for (const auto& r : s.store->records().streams()) {
    known_connectors.insert(r.connector);
    if (r.connector == connector) known_streams.insert(r.stream);
  }
  if (!known_connectors.count(connector))
    throw Failure(Errc::not_found,
                  fmt::format("no connector named \"{}\" in the config or the state (known: {})", connector,
                              known_connectors.empty() ? std::string("none")
                                                       : fmt::format("{}", fmt::join(known_connectors, ", "))));
  if (stream && !known_streams.count(*stream))
    throw Failure(Errc::not_found,
                  fmt::format("connector \"{}\" has no stream \"{}\" in the state (known: {}); `chansync state show` "
                              "lists them",
                              connector, *stream,
                              known_streams.empty() ? "none" : fmt::format("{}", fmt::join(known_streams, ", "))));
  return {connector, stream};
}

int reset(Context& ctx, const std::string& target) {
  require_format(ctx.global.output, {"table"}, "state reset");
  Session s = open_session(ctx.global, "state reset", Needs::store);
  const auto [connector, stream] = known_target(s, target);
  const std::size_t n = s.store->records().reset(connector, stream);
  if (n == 0)
    spdlog::info("{}: no cursor to reset; the next pull is a full pull already", target);
  else
    spdlog::info("{}: {} cursor{} removed; the next pull of {} is a full pull (stored records are kept)", target, n,
                 n == 1 ? "" : "s", stream ? "this stream" : "every stream");
  return 0;
}

// What a pull could not map, newest first: for support, the raw payload is the evidence to report.
int dead_letters(Context& ctx, const std::string& target, std::size_t limit) {
  require_format(ctx.global.output, {"table", "json", "ndjson"}, "state dead-letters");
  Session s = open_session(ctx.global, "state dead-letters", Needs::store_read);
  std::string connector, stream;
  if (!target.empty()) {
    const auto known = known_target(s, target);
    connector = known.first;
    stream = known.second.value_or("");
  }
  const auto rows = s.store->records().dead_letters(connector, stream, limit);
  const std::size_t total = s.store->records().dead_letter_count(connector, stream);
  if (ctx.global.output != "table") {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& r : rows) {
      nlohmann::json j = {{"connector", r.connector}, {"stream", r.stream},
                          {"record_id", r.record_id}, {"received_at", format_rfc3339(r.received_at)},
                          {"error", r.error},         {"raw", r.raw}};
      if (ctx.global.output == "ndjson")
        print_ndjson_line(j);
      else
        all.push_back(std::move(j));
    }
    if (ctx.global.output == "json") print_json(all);
  } else {
    std::vector<std::vector<std::string>> table;
    for (const auto& r : rows)
      table.push_back({format_rfc3339(r.received_at), r.connector + "/" + r.stream,
                       r.record_id.empty() ? "-" : r.record_id, std::to_string(r.raw.size()), r.error});
    print_table({"RECEIVED", "STREAM", "RECORD", "BYTES", "ERROR"}, table);
  }
  if (rows.size() < total)
    spdlog::info("{} of {} dead letters shown, newest first; --limit 0 shows all", rows.size(), total);
  else if (total > 0 && ctx.global.output == "table")
    spdlog::info("-o json prints each one's raw payload as it arrived");
  return 0;
}

}  // namespace

void add_state(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("state", "inspect or reset the state store");
  cmd->require_subcommand(1);
  auto* show_cmd = cmd->add_subcommand("show", "every stream's cursor and last pull, and record counts");
  show_cmd->callback([&ctx] { ctx.action = [&ctx] { return show(ctx); }; });
  auto* reset_cmd = cmd->add_subcommand(
      "reset", "forget the cursor of a connector's streams (or of one): the next pull is a full pull");
  auto name = std::make_shared<std::string>();
  reset_cmd->add_option("NAME", *name, "a connector (all its streams), or CONNECTOR/STREAM")->required();
  reset_cmd->callback([&ctx, name] { ctx.action = [&ctx, name] { return reset(ctx, *name); }; });
  auto* dead_cmd = cmd->add_subcommand(
      "dead-letters", "what a pull stored but could not map, newest first, with the reason and the raw payload");
  auto filter = std::make_shared<std::string>();
  auto limit = std::make_shared<std::size_t>(20);
  dead_cmd->add_option("NAME", *filter, "only a connector's, or CONNECTOR/STREAM's");
  dead_cmd->add_option("--limit", *limit, "at most N, newest first (0: all)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{1'000'000'000}));
  dead_cmd->callback(
      [&ctx, filter, limit] { ctx.action = [&ctx, filter, limit] { return dead_letters(ctx, *filter, *limit); }; });
}

}  // namespace chansync::cli
