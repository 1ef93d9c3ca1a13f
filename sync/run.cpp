#include "sync/run.hpp"

#include <fmt/ranges.h>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "sync/checkpointer.hpp"
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

bool SyncReport::nothing_done() const {
  const bool pulls_failed =
      !pulls.empty() && std::all_of(pulls.begin(), pulls.end(), [](const auto& p) { return p.error.has_value(); });
  const bool delivered = std::any_of(pushes.begin(), pushes.end(),
                                     [](const auto& p) { return !p.dry_run && p.created + p.updated + p.deleted > 0; });
  return pulls_failed && !delivered;
}

bool SyncReport::interrupted() const {
  auto by_signal = [](const auto& s) { return s.error && s.error->code == Errc::interrupted; };
  return std::any_of(pulls.begin(), pulls.end(), by_signal) || std::any_of(pushes.begin(), pushes.end(), by_signal);
}

std::vector<PullStats> pull_all(std::vector<Endpoint>& connectors, StateStore& store, const PullOptions& opts) {
  std::vector<PullJob> jobs;
  for (auto& c : connectors)
    if (c.adapter->conversations() || c.adapter->contacts()) jobs.push_back({c.name, c.adapter.get(), c.spool_dir});
  auto out = pull_connectors(jobs, store, opts);
  // A stream's figures are the run report's (its table on stderr, or -o json); logged here at debug
  // only, so they are not printed twice. A failure is an error line too: all -q leaves.
  for (const auto& s : out) {
    if (s.error)
      spdlog::error("{}/{}: {}", s.connector, s.stream, s.error->message);
    else
      spdlog::debug("{}/{}: {} pages, {} records, {} new or changed, {} rejected", s.connector, s.stream, s.pages,
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

// Reconcile's append-only path. When the identity inputs changed since the last reconcile only by
// conversations of customers that no stored conversation had (identity_shape_revision stayed at or
// below the input revision that reconcile saw) and the rules and decisions are the same, each new
// customer handle is a node with no edge: a contact naming it would have made it a node already, and
// links or a changed customer would have moved the shape revision. So reconcile would make each a
// person of its own, and this does, reading only the conversations written since (by revision).
// nullopt when that does not hold (a rule or decision names a new handle, one customer comes both
// verified and not, [identity] auto_merge_above is set): then the whole graph is reconciled.
std::optional<ReconcileStats> reconcile_appended(StateStore& store, const std::string& stored_mark,
                                                 const std::string& mark, const std::vector<std::string>& own,
                                                 const IdentityRules& rules) {
  const auto space = stored_mark.find(' ');
  if (rules.auto_merge_above || space == std::string::npos || mark.find(' ') == std::string::npos ||
      stored_mark.substr(space) != mark.substr(mark.find(' ')))
    return std::nullopt;
  std::int64_t reconciled_rev = 0;
  try {
    reconciled_rev = std::stoll(stored_mark.substr(0, space));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (store.identity_shape_revision() > reconciled_rev) return std::nullopt;
  std::vector<std::pair<std::string, bool>> nodes;
  // Conversations written after that reconcile (by revision), whose customer is no node yet. Without
  // INDEXED BY, SQLite walks conversations_by_customer for the GROUP BY: every conversation.
  SQLite::Statement q(store.db(), R"sql(SELECT customer, min(customer_verified), max(customer_verified)
    FROM conversations c INDEXED BY conversations_by_rev WHERE rev > ?
      AND NOT EXISTS (SELECT 1 FROM person_handles ph WHERE ph.node = c.customer)
    GROUP BY customer)sql");
  q.bind(1, static_cast<int64_t>(reconciled_rev));
  SQLite::Statement decided(store.db(),
                            "SELECT 1 FROM identity_decisions WHERE instr(a_nodes, ?1) OR instr(b_nodes, ?1)");
  // A handle several records of one CRM list (a conflict) is no singleton: the whole graph keeps it
  // unverified.
  SQLite::Statement shared(store.db(), "SELECT 1 FROM identity_conflicts WHERE node = ?");
  while (q.executeStep()) {
    const std::string key = q.getColumn(0).getString();
    if (!Handle::from_key(key, true) || std::binary_search(own.begin(), own.end(), key)) continue;  // never a node
    if (q.getColumn(1).getInt() != q.getColumn(2).getInt()) return std::nullopt;
    if (std::find(rules.blocked.begin(), rules.blocked.end(), key) != rules.blocked.end()) return std::nullopt;
    shared.bind(1, key);
    const bool conflict = shared.executeStep();
    shared.reset();
    if (conflict) return std::nullopt;
    decided.bind(1, nlohmann::json(key).dump());
    const bool named = decided.executeStep();
    decided.reset();
    if (named) return std::nullopt;
    nodes.emplace_back(key, q.getColumn(1).getInt() != 0);
  }
  if (nodes.empty()) return std::nullopt;
  store.identity().add_singletons(nodes, mint_person_id);
  spdlog::debug("identities: {} new customers, each a person of its own (append-only reconcile)", nodes.size());
  return ReconcileStats{.persons = store.identity().person_count(),
                        .new_persons = nodes.size(),
                        .conflicts = static_cast<std::size_t>(store.count("identity_conflicts"))};
}

}  // namespace

IdentityInput identity_input(StateStore& store, const std::vector<Endpoint>& connectors, const IdentityRules& rules) {
  IdentityInput input = store.identity().input(own_handles(connectors));
  input.unjoinable = {rules.blocked.begin(), rules.blocked.end()};
  input.limits = rules.limits;
  return input;
}

namespace {

// The identity graph depends only on the records' customers and contacts, the rules and the
// decisions people made: if none of them changed since the last reconcile (new messages in known
// conversations change none), its result is what is stored. This names all of them.
std::string reconcile_mark(StateStore& store, const std::vector<Endpoint>& connectors, const IdentityRules& rules) {
  const std::set<std::string> unjoinable(rules.blocked.begin(), rules.blocked.end());
  std::string limits;
  for (const auto& [kind, n] : rules.limits) limits += fmt::format("{}={};", to_string(kind), n);
  return fmt::format("{} {} {} {} {} {}", store.identity_input_revision(), fmt::join(own_handles(connectors), ","),
                     fmt::join(unjoinable, ","), limits, rules.auto_merge_above.value_or(0),
                     store.decisions().digest());
}

ReconcileStats reconcile_untimed(StateStore& store, const std::vector<Endpoint>& connectors, bool force,
                                 const IdentityRules& rules) {
  const auto stored = store.meta("reconciled");
  const std::string current = reconcile_mark(store, connectors, rules);
  if (!force && stored == current) {
    spdlog::debug("identities are up to date (no record, rule or decision changed since the last reconcile)");
    return ReconcileStats{.persons = store.identity().person_count(),
                          .conflicts = static_cast<std::size_t>(store.count("identity_conflicts")),
                          .skipped = true};
  }
  if (!force && stored) try {
      // It changes neither the input revision nor the decisions: the mark stays `current`.
      if (auto appended = reconcile_appended(store, *stored, current, own_handles(connectors), rules)) {
        store.set_meta("reconciled", current);
        return *appended;
      }
    } catch (const SQLite::Exception& e) {
      throw storage_failure(e, store.path(), "saving identities");
    }
  IdentityInput input = identity_input(store, connectors, rules);
  IdentityResult r = reconcile(input, mint_person_id);
  std::size_t auto_merged = 0;
  const std::size_t new_persons = r.new_persons.size();  // the second pass below sees them as stored
  try {
    store.identity().save(r);
    // Suggestions above the threshold become merge decisions; the graph is then made again with them.
    if (rules.auto_merge_above && (auto_merged = auto_merge(store, r, *rules.auto_merge_above)) > 0) {
      input = identity_input(store, connectors, rules);
      r = reconcile(input, mint_person_id);
      store.identity().save(r);
    }
    store.set_meta("reconciled", reconcile_mark(store, connectors, rules));
  } catch (const SQLite::Exception& e) {
    throw storage_failure(e, store.path(), "saving identities");
  }
  for (const auto& c : r.conflicts)
    spdlog::warn("identity conflict on {}: {} ({}); not merged", c.node, c.reason, fmt::join(c.records, ", "));
  return ReconcileStats{r.person_count(), new_persons, r.aliases.size(), r.conflicts.size(), auto_merged};
}

double seconds_since(std::chrono::steady_clock::time_point started) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

}  // namespace

bool identities_current(StateStore& store, const std::vector<Endpoint>& connectors, const IdentityRules& rules) {
  return store.meta("reconciled") == reconcile_mark(store, connectors, rules);
}

ReconcileStats reconcile_store(StateStore& store, const std::vector<Endpoint>& connectors, bool force,
                               const IdentityRules& rules) {
  const auto started = std::chrono::steady_clock::now();
  ReconcileStats out = reconcile_untimed(store, connectors, force, rules);
  // The graph's maps and strings are freed by now, but the heap keeps their pages for reuse: given back,
  // a sync's push starts lower (1M messages: 74 -> 63-67 MB while it runs).
  ::malloc_trim(0);
  out.seconds = seconds_since(started);
  return out;
}

std::vector<PushStats> push_all(std::vector<Endpoint>& targets, StateStore& store, const PushOptions& opts) {
  std::vector<PushStats> out;
  for (auto& t : targets) {
    if (opts.stop && opts.stop->load()) {  // reported, so that every target has its line
      out.push_back(PushStats{.target = t.name,
                              .error = Error{Errc::interrupted, "not pushed: stopped by a signal before it", t.name}});
      spdlog::warn("{}", out.back().error->describe());
      continue;
    }
    const auto started = std::chrono::steady_clock::now();
    out.push_back(push_target(t.name, *t.adapter->sink(), store, opts));
    auto& s = out.back();
    s.seconds = seconds_since(started);
    if (s.error)
      spdlog::error("{}", s.error->describe());
    else
      spdlog::info("{}: {}{} created, {} updated, {} unchanged, {} deleted", t.name,
                   opts.dry_run ? "dry run, would be: " : "", s.created, s.updated, s.unchanged, s.deleted);
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
  // What the pull and reconcile wrote is copied into the store's file while the push runs, instead of
  // when the store closes.
  Checkpointer checkpointer(store);
  checkpointer.now();
  PushOptions push = opts;
  if (!push.stop) push.stop = pull.stop;  // a stop during reconcile or push ends the push after its batch
  r.pushes = push_all(targets, store, push);
  return r;
}

namespace {
double milliseconds_precision(double seconds) {
  return std::round(seconds * 1000) / 1000;
}
}  // namespace

void to_json(nlohmann::json& j, const PullStats& s) {
  j = {{"connector", s.connector}, {"stream", s.stream},   {"pages", s.pages},      {"requests", s.requests},
       {"received", s.received},   {"written", s.written}, {"rejected", s.rejected}};
  j["seconds"] = milliseconds_precision(s.seconds);
  j["error"] = s.error ? nlohmann::json(s.error->message) : nlohmann::json(nullptr);
}

void to_json(nlohmann::json& j, const ReconcileStats& s) {
  j = {{"persons", s.persons},     {"new_persons", s.new_persons}, {"aliases", s.aliases},
       {"conflicts", s.conflicts}, {"auto_merged", s.auto_merged}, {"skipped", s.skipped}};
  j["seconds"] = milliseconds_precision(s.seconds);
}

void to_json(nlohmann::json& j, const PushStats& s) {
  j = {{"target", s.target},       {"dry_run", s.dry_run}, {"created", s.created}, {"updated", s.updated},
       {"unchanged", s.unchanged}, {"deleted", s.deleted}, {"failed", s.failed},   {"parked", s.parked}};
  j["seconds"] = milliseconds_precision(s.seconds);
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
