// chansync erase: a person's data out of the state store for good (GDPR), tombstoned against re-pulls.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "cli/output.hpp"
#include "cli/session.hpp"
#include "sync/erase.hpp"

namespace chansync::cli {
namespace {

// What the erase cannot reach and this configuration has: an append-mode NDJSON target keeps the
// lines it wrote (the push appends a deletion), and the listen spool keeps payloads already pulled
// until their segment is trimmed. (Configuration fills in every option's default, so mode is there.)
struct Unreached {
  std::string kind;    // "feed" or "spool"
  std::string target;  // the feed's target; "" for the spool
  std::string path;
  std::string note;
};

std::vector<Unreached> not_reached(const Config& config, const std::vector<std::string>& targets) {
  std::vector<Unreached> out;
  for (const auto& t : config.targets)
    if (t.type == "ndjson" && std::find(targets.begin(), targets.end(), t.name) != targets.end() &&
        t.options.value("mode", std::string()) == "append")
      out.push_back(
          {"feed", t.name, t.options.value("path", std::string("-")), "its earlier lines stay; delete them there"});
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it(config.spool_dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".spool") {
      out.push_back({"spool", "", config.spool_dir,
                     "keeps webhook payloads until their segment is trimmed (once pulled and a newer one exists)"});
      break;
    }
  return out;
}

}  // namespace

void add_erase(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("erase", "delete a person's data from the state store for good (GDPR)");
  auto person = std::make_shared<std::string>();
  auto handle = std::make_shared<std::string>();
  auto dry_run = std::make_shared<bool>(false);
  auto* p = cmd->add_option("--person", *person, "the person id (a retired id works too)");
  auto* h = cmd->add_option("--handle", *handle, "KIND:VALUE of a handle; its person is erased");
  p->excludes(h);
  cmd->add_flag("--dry-run", *dry_run, "show what would be erased; change nothing");
  cmd->callback([&ctx, person, handle, dry_run] {
    ctx.action = [&ctx, person, handle, dry_run] {
      require_format(ctx.global.output, {"table", "json"}, "erase");
      if (person->empty() == handle->empty())
        throw Failure(Errc::usage, "erase needs --person ID or --handle KIND:VALUE");
      // The connectors (their own handles, no secret) let the erase reconcile first. Without a config
      // (the store named by --state alone) or with a connector it cannot build, it erases what the
      // last reconcile found: an erasure is not held back by a configuration problem.
      std::optional<Session> opened;
      try {
        opened.emplace(open_session(ctx.global, "erase", Needs::store_and_adapters));
      } catch (const Failure& f) {
        if (f.error().code != Errc::config) throw;
        opened.emplace(open_session(ctx.global, "erase", Needs::store));
        spdlog::warn("{}; erasing what the last reconcile found, without reconciling first", f.what());
      }
      Session& s = *opened;
      const bool reconciles = !s.connectors.empty();
      const std::string node = handle->empty() ? std::string() : handle_option(*handle, s.config);
      // Persons reconciled before the last pull may lack what it brought (a new number of theirs): the
      // erase would leave it, and the next sync would push it as a new person.
      if (reconciles && !identities_current(*s.store, s.connectors, s.config.identity)) {
        if (*dry_run) {
          spdlog::warn(
              "records changed since the last reconcile: the erase reconciles first and may find more of "
              "this person than this dry run shows (`chansync reconcile` first shows it all)");
        } else {
          reconcile_store(*s.store, s.connectors, false, s.config.identity);
          spdlog::info("records changed since the last reconcile: reconciled first, so the erase reaches them");
        }
      }
      const auto r = erase_person(*s.store, *person, node, *dry_run);
      const auto unreached = not_reached(s.config, r.targets);
      if (ctx.global.output == "json") {
        nlohmann::json unreached_json = nlohmann::json::array();
        for (const auto& u : unreached)
          unreached_json.push_back({{"kind", u.kind},
                                    {"target", u.target.empty() ? nlohmann::json(nullptr) : nlohmann::json(u.target)},
                                    {"path", u.path},
                                    {"note", u.note}});
        print_json({{"dry_run", r.dry_run},
                    {"person_id", r.person_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.person_id)},
                    {"nodes", r.nodes},
                    {"conversations", r.conversations},
                    {"messages", r.messages},
                    {"contacts", r.contacts},
                    {"dead_letters", r.dead_letters},
                    {"other_records", r.other_records},
                    {"decisions", r.decisions},
                    {"aliases", r.aliases},
                    {"targets", r.targets},
                    {"not_reached", unreached_json}});
        return 0;
      }
      std::string out =
          fmt::format("{}{}\n", r.dry_run ? "would erase " : "erased ",
                      r.person_id.empty() ? fmt::format("{} (no person holds it)", r.nodes.front()) : r.person_id);
      out += fmt::format("  handles and records  {}\n", fmt::join(r.nodes, ", "));
      out +=
          fmt::format("  conversations {}, messages {}, contacts {}, dead letters {}, decisions {}, retired ids {}\n",
                      r.conversations, r.messages, r.contacts, r.dead_letters, r.decisions, r.aliases);
      if (r.other_records > 0)
        out += fmt::format("  other people's records that {} an erased handle: {}\n", r.dry_run ? "would lose" : "lost",
                           r.other_records);
      if (!r.targets.empty()) out += fmt::format("  the next push deletes it on {}\n", fmt::join(r.targets, ", "));
      for (const auto& u : unreached)
        out += u.kind == "feed" ? fmt::format("  {} is an append-only feed ({}): {}\n", u.target, u.path, u.note)
                                : fmt::format("  the listen spool ({}) {}\n", u.path, u.note);
      if (!r.dry_run) out += "  a later pull will not store it again (tombstones)\n";
      std::fputs(out.c_str(), stdout);
      return 0;
    };
  });
}

}  // namespace chansync::cli
