#include "sync/run.hpp"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "sync/reconcile.hpp"
#include "sync/suggestions.hpp"

namespace chansync {

std::size_t SyncReport::failures() const {
  std::size_t n = 0;
  for (const auto& p : pulls) n += p.error.has_value();
  for (const auto& p : pushes) n += p.error.has_value();
  return n;
}

std::size_t SyncReport::partial_pushes() const {
  std::size_t n = 0;
  for (const auto& p : pushes) n += p.error && !p.dry_run && p.created + p.updated + p.deleted > 0;
  return n;
}

bool SyncReport::interrupted() const {
  return std::any_of(pulls.begin(), pulls.end(),
                     [](const PullStats& p) { return p.error && p.error->code == Errc::interrupted; });
}

std::vector<PullStats> pull_all(std::vector<Endpoint>& connectors, StateStore& store, const PullOptions& opts) {
  std::vector<PullJob> jobs;
  for (auto& c : connectors)
    if (c.adapter->conversations() || c.adapter->contacts()) jobs.push_back({c.name, c.adapter.get(), c.spool_dir});
  auto out = pull_connectors(jobs, store, opts);
  for (const auto& s : out) {
    if (s.error)
      spdlog::error("{}/{}: {}", s.connector, s.stream, s.error->message);
    else
      spdlog::info("{}/{}: {} pages, {} records, {} new or changed, {} rejected", s.connector, s.stream, s.pages,
                   s.received, s.written, s.rejected);
  }
  return out;
}

std::optional<Error> SyncReport::first_error() const {
  for (const auto& p : pulls)
    if (p.error) return p.error;
  for (const auto& p : pushes)
    if (p.error) return p.error;
  return std::nullopt;
}

namespace {

std::vector<std::string> own_handles(const std::vector<Endpoint>& connectors) {
  std::vector<std::string> out;
  for (const auto& c : connectors) {
    auto own = c.adapter->own_handles();
    out.insert(out.end(), own.begin(), own.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

IdentityInput identity_input(StateStore& store, const std::vector<Endpoint>& connectors, const IdentityRules& rules) {
  IdentityInput input = store.identity().input(own_handles(connectors));
  input.unjoinable = {rules.blocked.begin(), rules.blocked.end()};
  input.limits = rules.limits;
  return input;
}

ReconcileStats reconcile_store(StateStore& store, const std::vector<Endpoint>& connectors, bool force,
                               const IdentityRules& rules) {
  // The identity graph depends only on the records' customers and contacts, the rules and the
  // decisions people made: if none of them changed since the last reconcile (new messages in known
  // conversations change none), its result is what is stored.
  const auto mark = [&] {
    const std::set<std::string> unjoinable(rules.blocked.begin(), rules.blocked.end());
    std::string limits;
    for (const auto& [kind, n] : rules.limits) limits += fmt::format("{}={};", to_string(kind), n);
    return fmt::format("{} {} {} {} {} {}", store.identity_input_revision(), fmt::join(own_handles(connectors), ","),
                       fmt::join(unjoinable, ","), limits, rules.auto_merge_above.value_or(0),
                       store.decisions().digest());
  };
  if (!force && store.meta("reconciled") == mark()) {
    spdlog::debug("identities are up to date (no record, rule or decision changed since the last reconcile)");
    return ReconcileStats{.persons = store.identity().person_count(),
                          .conflicts = static_cast<std::size_t>(store.count("identity_conflicts")),
                          .skipped = true};
  }
  IdentityInput input = identity_input(store, connectors, rules);
  IdentityResult r = reconcile(input, mint_person_id);
  std::size_t auto_merged = 0;
  const std::size_t new_persons = r.new_persons.size();  // the second pass below sees them as stored
  try {
    store.identity().save(r);
    // Suggestions above the threshold become merge decisions; the graph is then made again with them.
    if (rules.auto_merge_above && (auto_merged = auto_merge(store, input, r, *rules.auto_merge_above)) > 0) {
      input = identity_input(store, connectors, rules);
      r = reconcile(input, mint_person_id);
      store.identity().save(r);
    }
    store.set_meta("reconciled", mark());
  } catch (const SQLite::Exception& e) {
    throw storage_failure(e, store.path(), "saving identities");
  }
  for (const auto& c : r.conflicts)
    spdlog::warn("identity conflict on {}: {} ({}); not merged", c.node, c.reason, fmt::join(c.records, ", "));
  return ReconcileStats{r.person_count(), new_persons, r.aliases.size(), r.conflicts.size(), auto_merged};
}

std::vector<PushStats> push_all(std::vector<Endpoint>& targets, StateStore& store, const PushOptions& opts) {
  std::vector<PushStats> out;
  for (auto& t : targets) {
    out.push_back(push_target(t.name, *t.adapter->sink(), store, opts));
    const auto& s = out.back();
    if (s.error)
      spdlog::error("{}", s.error->describe());
    else
      spdlog::info("{}: {} created, {} updated, {} unchanged, {} deleted", t.name, s.created, s.updated, s.unchanged,
                   s.deleted);
  }
  return out;
}

std::vector<VerifyStats> verify_all(std::vector<Endpoint>& targets, StateStore& store, const VerifyOptions& opts) {
  std::vector<VerifyStats> out;
  for (auto& t : targets) {
    out.push_back(verify_target(t.name, *t.adapter->sink(), store, opts));
    const auto& s = out.back();
    if (!s.readable)
      spdlog::warn("{}: a {} target cannot be read back; nothing was verified", t.name, t.type);
    else if (s.error)
      spdlog::error("{}", s.error->describe());
  }
  return out;
}

SyncReport sync_all(std::vector<Endpoint>& connectors, std::vector<Endpoint>& targets, StateStore& store,
                    const PushOptions& opts, const IdentityRules& rules, const PullOptions& pull) {
  SyncReport r;
  r.pulls = pull_all(connectors, store, pull);
  if (r.interrupted()) return r;
  // Reconcile and push even when a connector failed: what was committed is consistent.
  r.reconcile = reconcile_store(store, connectors, false, rules);
  r.pushes = push_all(targets, store, opts);
  return r;
}

void to_json(nlohmann::json& j, const PullStats& s) {
  j = {{"connector", s.connector}, {"stream", s.stream},   {"pages", s.pages},      {"requests", s.requests},
       {"received", s.received},   {"written", s.written}, {"rejected", s.rejected}};
  j["error"] = s.error ? nlohmann::json(s.error->message) : nlohmann::json(nullptr);
}

void to_json(nlohmann::json& j, const ReconcileStats& s) {
  j = {{"persons", s.persons},     {"new_persons", s.new_persons}, {"aliases", s.aliases},
       {"conflicts", s.conflicts}, {"auto_merged", s.auto_merged}, {"skipped", s.skipped}};
}

void to_json(nlohmann::json& j, const PushStats& s) {
  j = {{"target", s.target},       {"dry_run", s.dry_run}, {"created", s.created}, {"updated", s.updated},
       {"unchanged", s.unchanged}, {"deleted", s.deleted}, {"failed", s.failed},   {"parked", s.parked}};
  j["error"] = s.error ? nlohmann::json(s.error->message) : nlohmann::json(nullptr);
}

void to_json(nlohmann::json& j, const VerifyStats& s) {
  nlohmann::json drift = nlohmann::json::array();
  for (const auto& d : s.drift)
    drift.push_back(
        {{"person_id", d.person_id}, {"state", to_string(d.state)}, {"detail", d.detail}, {"repaired", d.repaired}});
  j = {{"target", s.target},   {"readable", s.readable}, {"checked", s.checked},  {"same", s.same},
       {"pending", s.pending}, {"drift", drift},         {"repaired", s.repaired}};
  j["error"] = s.error ? nlohmann::json(s.error->message) : nlohmann::json(nullptr);
}

void to_json(nlohmann::json& j, const SyncReport& r) {
  j = {{"pull", r.pulls}, {"push", r.pushes}};
  j["reconcile"] = r.reconcile ? nlohmann::json(*r.reconcile) : nlohmann::json(nullptr);
}

}  // namespace chansync
