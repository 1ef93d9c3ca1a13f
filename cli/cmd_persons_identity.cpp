// persons explain, merge, split, decisions, undo, conflicts: why a person is one person, and the
// decisions people make about it.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>

#include "cli/output.hpp"
#include "cli/session.hpp"
#include "sync/explain.hpp"
#include "sync/timestamp.hpp"

namespace chansync::cli {
namespace {

// "crm_id:hubspot/101" → "hubspot/101": a record reads better without its node prefix.
std::string shown(const std::string& node) {
  return node.starts_with("crm_id:") ? node.substr(7) : node;
}

std::string date_of(std::int64_t ms) {
  return ms > 0 ? format_rfc3339(ms).substr(0, 19) : "unknown";
}

// `decisions`: the explanation's, to tell a merge from a split keeping the rest of a person together.
std::string describe_edge(const IdentityEdge& e, const std::vector<DecisionRow>& decisions) {
  if (e.decision != 0) {
    const bool split = std::any_of(decisions.begin(), decisions.end(), [&](const DecisionRow& d) {
      return d.id == e.decision && d.kind == IdentityDecision::Kind::split;
    });
    return split ? fmt::format("decision #{} (a split) keeps {} with {}", e.decision, shown(e.a), shown(e.b))
                 : fmt::format("decision #{} merges {} with {}", e.decision, shown(e.a), shown(e.b));
  }
  if (e.a.starts_with("crm_id:")) return fmt::format("{} lists {}", shown(e.a), e.b);
  return fmt::format("a vendor says {} and {} are one customer", e.a, e.b);
}

std::string decision_state(const DecisionRow& d) {
  if (!d.undone_at) return "active";
  return fmt::format("{} {}", d.undo_note.empty() ? "undone" : d.undo_note, date_of(*d.undone_at));
}

std::string decision_detail(const DecisionRow& d) {
  const auto list = [](const std::vector<std::string>& nodes) {
    std::vector<std::string> out;
    for (const auto& n : nodes) out.push_back(shown(n));
    return fmt::format("{}", fmt::join(out, ", "));
  };
  if (d.kind == IdentityDecision::Kind::merge)
    return fmt::format("{} [{}] + {} [{}]", d.a_id, list(d.a_nodes), d.b_id, list(d.b_nodes));
  return fmt::format("{} out of {}", list(d.a_nodes), d.a_id);
}

nlohmann::json decision_json(const DecisionRow& d) {
  return {{"id", d.id},
          {"kind", to_string(d.kind)},
          {"made_at", format_rfc3339(d.made_at)},
          {"reason", d.reason},
          {"persons", d.b_id.empty() ? nlohmann::json{d.a_id} : nlohmann::json{d.a_id, d.b_id}},
          {"a_nodes", d.a_nodes},
          {"b_nodes", d.b_nodes},
          {"active", !d.undone_at},
          {"undone_at", d.undone_at ? nlohmann::json(format_rfc3339(*d.undone_at)) : nlohmann::json(nullptr)},
          {"undo_note", d.undo_note}};
}

nlohmann::json edge_json(const IdentityEdge& e, const std::vector<DecisionRow>& decisions) {
  static const char* outcomes[] = {"joined", "already", "refused"};
  nlohmann::json j = {{"a", e.a},
                      {"b", e.b},
                      {"via", e.decision != 0              ? "decision"
                              : e.a.starts_with("crm_id:") ? "record"
                                                           : "vendor_link"},
                      {"outcome", outcomes[static_cast<int>(e.outcome)]},
                      {"description", describe_edge(e, decisions)}};
  if (!e.handle.empty()) j["handle"] = e.handle;
  if (e.decision != 0) j["decision"] = e.decision;
  if (!e.why.empty()) j["rule"] = e.why;
  return j;
}

nlohmann::json explanation_json(const Explanation& x) {
  nlohmann::json nodes = nlohmann::json::array(), links = nlohmann::json::array(), refused = nlohmann::json::array();
  for (const auto& n : x.nodes) {
    nlohmann::json conv = nlohmann::json::object();
    for (const auto& [connector, count] : n.conversations) conv[connector] = count;
    nodes.push_back({{"node", n.node},
                     {"verified", n.verified},
                     {"since", n.since > 0 ? nlohmann::json(format_rfc3339(n.since)) : nlohmann::json(nullptr)},
                     {"conversations", conv},
                     {"listed_on", n.listed_on},
                     {"name", n.name}});
  }
  for (const auto& e : x.links) links.push_back(edge_json(e, x.decisions));
  for (const auto& e : x.refused) refused.push_back(edge_json(e, x.decisions));
  nlohmann::json elsewhere = nlohmann::json::object();
  for (const auto& [node, pid] : x.elsewhere) elsewhere[node] = pid;
  nlohmann::json shared = nlohmann::json::array();
  for (const auto& c : x.shared) shared.push_back({{"node", c.node}, {"reason", c.reason}, {"records", c.records}});
  nlohmann::json decisions = nlohmann::json::array();
  for (const auto& d : x.decisions) decisions.push_back(decision_json(d));
  return {{"person_id", x.person_id}, {"aliases", x.aliases}, {"stale", x.stale},
          {"nodes", nodes},           {"links", links},       {"refused", refused},
          {"elsewhere", elsewhere},   {"shared", shared},     {"decisions", decisions}};
}

void print_explanation(const Explanation& x) {
  std::string out = fmt::format("{}{}\n", x.person_id,
                                x.aliases.empty() ? "" : fmt::format("  (also {})", fmt::join(x.aliases, ", ")));
  if (x.stale)
    out +=
        "  note: records or rules changed since the last reconcile; this is what `chansync reconcile` would make "
        "of them\n";
  out += "nodes\n";
  for (const auto& n : x.nodes) {
    std::vector<std::string> seen;
    if (!n.name.empty()) seen.push_back(fmt::format("contact \"{}\"", n.name));
    for (const auto& [connector, count] : n.conversations)
      seen.push_back(fmt::format("{} conversation{} on {}", count, count == 1 ? "" : "s", connector));
    if (!n.listed_on.empty()) {
      std::vector<std::string> records;
      for (const auto& r : n.listed_on) records.push_back(shown(r));
      seen.push_back(fmt::format("listed on {}", fmt::join(records, ", ")));
    }
    if (!n.verified) seen.push_back("unverified: never joins");
    out += fmt::format("  {:<34} {}  (since {})\n", shown(n.node), fmt::join(seen, "; "), date_of(n.since));
  }
  out += "why these are one person\n";
  if (x.links.empty()) out += "  nothing joins them: one node\n";
  for (const auto& e : x.links)
    out += fmt::format("  {}{}\n", describe_edge(e, x.decisions),
                       e.outcome == IdentityEdge::Outcome::already ? "  (already joined)" : "");
  if (!x.refused.empty()) {
    out += "refused\n";
    std::map<std::string, std::string> elsewhere(x.elsewhere.begin(), x.elsewhere.end());
    for (const auto& e : x.refused) {
      std::string other;
      for (const auto* n : {&e.a, &e.b})
        if (auto it = elsewhere.find(*n); it != elsewhere.end()) other = fmt::format(" (that is {})", it->second);
      out += fmt::format("  {}: {}{}\n", describe_edge(e, x.decisions), e.why, other);
    }
  }
  for (const auto& c : x.shared) {
    std::vector<std::string> records;
    for (const auto& r : c.records) records.push_back(shown(r));
    out += fmt::format("shared  {} is {} ({}): it joins no one\n", c.node, c.reason, fmt::join(records, ", "));
  }
  if (!x.decisions.empty()) out += "decisions\n";
  for (const auto& d : x.decisions)
    out += fmt::format("  #{} {} {}  {}  {}{}\n", d.id, to_string(d.kind), date_of(d.made_at), decision_state(d),
                       decision_detail(d), d.reason.empty() ? "" : fmt::format("  \"{}\"", d.reason));
  std::fputs(out.c_str(), stdout);
}

// Reconciles with the new decision and says where the named persons are now.
int apply(Session& s, const GlobalOptions& g, const DecisionRow& d, const std::string& verb) {
  reconcile_store(*s.store, s.connectors, true, s.config.identity);
  std::vector<std::string> now;
  for (const auto* nodes : {&d.a_nodes, &d.b_nodes})
    if (!nodes->empty())  // one node per side tells where the side went
      if (auto p = s.store->identity().holder(nodes->front())) now.push_back(*p);
  if (g.output == "json") {
    nlohmann::json j = decision_json(d);
    j["persons_now"] = now;
    print_json(j);
  } else {
    std::string where = fmt::format("{}", fmt::join(now, " and "));
    if (now.size() == 2 && now[0] == now[1]) where = now[0];
    std::fputs(fmt::format("{} (decision #{}): now {}\n", verb, d.id, where).c_str(), stdout);
  }
  return 0;
}

}  // namespace

void add_persons_identity(CLI::App& persons, Context& ctx) {
  auto* explain = persons.add_subcommand("explain", "why a person is one person: every link, every refused union");
  auto explain_id = std::make_shared<std::string>();
  explain->add_option("PERSON_ID", *explain_id, "person id (a retired id works too)")->required();
  explain->callback([&ctx, explain_id] {
    ctx.action = [&ctx, explain_id] {
      require_format(ctx.global.output, {"table", "json"}, "persons explain");
      Session s = open_session(ctx.global, "persons explain", Needs::store_read_and_adapters);
      const auto x = explain_person(*s.store, s.connectors, s.config.identity, *explain_id);
      if (ctx.global.output == "json")
        print_json(explanation_json(x));
      else
        print_explanation(x);
      return 0;
    };
  });

  auto* merge = persons.add_subcommand("merge", "record that two persons are one (the older id survives)");
  auto ids = std::make_shared<std::vector<std::string>>();
  auto reason = std::make_shared<std::string>();
  merge->add_option("PERSON_IDS", *ids, "the two persons")->required()->expected(2);
  merge->add_option("--reason", *reason, "why, kept in the decision journal");
  merge->callback([&ctx, ids, reason] {
    ctx.action = [&ctx, ids, reason] {
      require_format(ctx.global.output, {"table", "json"}, "persons merge");
      Session s = open_session(ctx.global, "persons merge", Needs::store_and_adapters);
      const auto d = s.store->decisions().merge((*ids)[0], (*ids)[1], *reason);
      return apply(s, ctx.global, d, fmt::format("merged {} into {}", d.b_id, d.a_id));
    };
  });

  auto* split = persons.add_subcommand("split", "record that a handle or CRM record is not this person");
  auto split_id = std::make_shared<std::string>();
  auto handle = std::make_shared<std::string>();
  auto contact = std::make_shared<std::string>();
  auto split_reason = std::make_shared<std::string>();
  split->add_option("PERSON_ID", *split_id, "the person to split")->required();
  auto* h = split->add_option("--handle", *handle, "KIND:VALUE to split off, e.g. phone:+4915112345678");
  auto* c = split->add_option("--contact", *contact, "CONNECTOR/ID of a CRM record to split off");
  h->excludes(c);
  split->add_option("--reason", *split_reason, "why, kept in the decision journal");
  split->callback([&ctx, split_id, handle, contact, split_reason] {
    ctx.action = [&ctx, split_id, handle, contact, split_reason] {
      require_format(ctx.global.output, {"table", "json"}, "persons split");
      if (handle->empty() == contact->empty())
        throw Failure(Errc::usage, "persons split needs --handle KIND:VALUE or --contact CONNECTOR/ID");
      Session s = open_session(ctx.global, "persons split", Needs::store_and_adapters);
      std::string node;
      if (!handle->empty()) {
        node = handle_option(*handle, s.config, " (for a CRM record use --contact CONNECTOR/ID)");
      } else {
        const auto slash = contact->find('/');
        if (slash == std::string::npos || slash == 0 || slash + 1 == contact->size())
          throw Failure(Errc::usage, fmt::format("--contact \"{}\" must be CONNECTOR/ID, e.g. hubspot/101", *contact));
        node = crm_node(contact->substr(0, slash), contact->substr(slash + 1));
      }
      const auto d = s.store->decisions().split(*split_id, node, *split_reason);
      return apply(s, ctx.global, d, fmt::format("split {} from {}", shown(node), d.a_id));
    };
  });

  auto* decisions = persons.add_subcommand("decisions", "the merges and splits people made, with their ids");
  decisions->callback([&ctx] {
    ctx.action = [&ctx] {
      require_format(ctx.global.output, {"table", "json"}, "persons decisions");
      Session s = open_session(ctx.global, "persons decisions", Needs::store_read);
      const auto rows = s.store->decisions().list();
      if (ctx.global.output == "json") {
        nlohmann::json all = nlohmann::json::array();
        for (const auto& d : rows) all.push_back(decision_json(d));
        print_json(all);
        return 0;
      }
      std::vector<std::vector<std::string>> table;
      for (const auto& d : rows)
        table.push_back({fmt::format("#{}", d.id), to_string(d.kind), date_of(d.made_at), decision_state(d),
                         decision_detail(d), d.reason});
      print_table({"ID", "KIND", "MADE", "STATE", "WHAT", "REASON"}, table);
      return 0;
    };
  });

  auto* undo = persons.add_subcommand("undo", "reverse a merge or split (its row stays, marked undone)");
  auto undo_id = std::make_shared<std::string>();
  undo->add_option("DECISION_ID", *undo_id, "the decision's id, as `persons decisions` shows it (#3 or 3)")->required();
  undo->callback([&ctx, undo_id] {
    ctx.action = [&ctx, undo_id] {
      require_format(ctx.global.output, {"table", "json"}, "persons undo");
      std::string text = *undo_id;
      if (text.starts_with("#")) text.erase(0, 1);
      std::int64_t id = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
      if (ec != std::errc() || end != text.data() + text.size() || id <= 0)
        throw Failure(Errc::usage,
                      fmt::format("\"{}\" is not a decision id; `chansync persons decisions` lists them", *undo_id));
      Session s = open_session(ctx.global, "persons undo", Needs::store_and_adapters);
      const auto d = s.store->decisions().undo(id);
      return apply(s, ctx.global, d, fmt::format("undid {} #{}", to_string(d.kind), d.id));
    };
  });

  auto* conflicts = persons.add_subcommand("conflicts", "shared handles and refused unions, most persons first");
  conflicts->callback([&ctx] {
    ctx.action = [&ctx] {
      require_format(ctx.global.output, {"table", "json"}, "persons conflicts");
      Session s = open_session(ctx.global, "persons conflicts", Needs::store_read);
      const auto rows = list_conflicts(*s.store);
      if (ctx.global.output == "json") {
        nlohmann::json all = nlohmann::json::array();
        for (const auto& c : rows)
          all.push_back({{"node", c.node},
                         {"kind", c.kind},
                         {"reason", c.reason},
                         {"records", c.records},
                         {"persons", c.persons}});
        print_json(all);
        return 0;
      }
      std::vector<std::vector<std::string>> table;
      for (const auto& c : rows) {
        std::vector<std::string> records;
        for (const auto& r : c.records) records.push_back(shown(r));
        table.push_back({shown(c.node), c.kind, std::to_string(c.persons.size()), c.reason,
                         fmt::format("{}", fmt::join(records, ", "))});
      }
      print_table({"HANDLE", "KIND", "PERSONS", "WHY", "RECORDS"}, table);
      return 0;
    };
  });
}

}  // namespace chansync::cli
