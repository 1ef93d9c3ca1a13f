#include <fmt/format.h>

#include "adapters/http.hpp"
#include "cli/output.hpp"
#include "cli/session.hpp"

namespace chansync::cli {
namespace {

nlohmann::json summary(const PersonRecord& p) {
  std::vector<std::string> handles;
  for (const auto& h : p.handles) handles.push_back(h.value);
  return {
      {"person_id", p.person_id},      {"display_name", p.display_name}, {"handles", handles},
      {"contacts", p.contacts.size()}, {"messages", p.messages.size()},  {"updated_at", format_rfc3339(p.updated_at)}};
}

void print_person(const PersonRecord& p) {
  std::string out = fmt::format("{}  {}\n", p.person_id, p.display_name);
  for (const auto& h : p.handles)
    out += fmt::format("  handle   {:<6} {}{}\n", to_string(h.kind), h.value,
                       h.verified ? "" : "  (unverified: never joins)");
  for (const auto& c : p.contacts)
    out +=
        fmt::format("  contact  {}/{}  {}{}\n", c.connector, c.id, c.display_name(), c.archived ? "  (archived)" : "");
  out += fmt::format("  timeline ({} messages)\n", p.messages.size());
  for (const auto& m : p.messages) {
    // Kind, status and attachments only when there is something to say, so an SMS line stays short.
    // One line per entry: an email's subject and body are folded onto it and cut at 160 bytes.
    const std::string line = m.text.empty() ? std::string() : adapters::body_excerpt(m.text, 160);
    std::string text = m.kind == MessageKind::message ? line : fmt::format("({}) {}", to_string(m.kind), line);
    if (!m.attachments.empty())
      text += fmt::format("{}[{} attachment{}]", text.empty() ? "" : "  ", m.attachments.size(),
                          m.attachments.size() == 1 ? "" : "s");
    if (!m.status.empty()) text += fmt::format("  ({})", m.status);
    out += fmt::format("    {}  {:<9} {} {:<8} {}\n", format_rfc3339(m.sent_at).substr(0, 19), m.channel,
                       m.direction == Direction::inbound ? "<-" : "->", to_string(m.author_kind), text);
  }
  std::fputs(out.c_str(), stdout);
}

}  // namespace

void add_persons(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("persons", "reconciled persons: list, show, explain, suggestions, merge, split, undo");
  cmd->require_subcommand(1);
  auto* list = cmd->add_subcommand("list", "one line per person: id, name, handles, counts");
  list->callback([&ctx] {
    ctx.action = [&ctx] {
      require_format(ctx.global.output, {"table", "json", "ndjson"}, "persons list");
      Session s = open_session(ctx.global, "persons list", Needs::store_read);
      const auto& fmt_ = ctx.global.output;
      std::vector<std::vector<std::string>> rows;
      nlohmann::json all = nlohmann::json::array();
      s.store->identity().for_each_person([&](PersonRecord&& p) {
        if (fmt_ == "ndjson") return print_ndjson_line(summary(p));
        if (fmt_ == "json") return all.push_back(summary(p));
        std::string handles;
        for (const auto& h : p.handles) handles += (handles.empty() ? "" : ",") + h.value;
        rows.push_back({p.person_id, p.display_name, handles, std::to_string(p.contacts.size()),
                        std::to_string(p.messages.size())});
      });
      if (fmt_ == "json")
        print_json(all);
      else if (fmt_ == "table")
        print_table({"PERSON_ID", "NAME", "HANDLES", "CONTACTS", "MESSAGES"}, rows);
      return 0;
    };
  });
  auto* show = cmd->add_subcommand("show", "one person: handles, contacts and the cross-channel timeline");
  auto id = std::make_shared<std::string>();
  show->add_option("PERSON_ID", *id, "person id (a retired id that was merged away works too)")->required();
  show->callback([&ctx, id] {
    ctx.action = [&ctx, id] {
      require_format(ctx.global.output, {"table", "json"}, "persons show");
      Session s = open_session(ctx.global, "persons show", Needs::store_read);
      auto p = s.store->identity().person(*id);
      if (!p)
        throw Failure(Errc::not_found, fmt::format("no person \"{}\"; `chansync persons list` shows the ids", *id));
      if (ctx.global.output == "json")
        print_json(*p);
      else
        print_person(*p);
      return 0;
    };
  });
  add_persons_identity(*cmd, ctx);
  add_persons_suggestions(*cmd, ctx);
}

}  // namespace chansync::cli
