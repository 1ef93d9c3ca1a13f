#pragma once
// Composition of the stages, used by `pull`, `reconcile`, `push` and `sync`.
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "sync/adapter.hpp"
#include "sync/pull.hpp"
#include "sync/push.hpp"
#include "sync/state_store.hpp"

namespace chansync {

// A configured connector or target with its adapter instance.
struct Endpoint {
  std::string name;
  std::string type;
  std::unique_ptr<Adapter> adapter;
  std::string spool_dir;  // [listen] spool_dir, for connectors that receive webhooks
};

struct ReconcileStats {
  std::size_t persons = 0;
  std::size_t new_persons = 0;
  std::size_t aliases = 0;
  std::size_t conflicts = 0;
  std::size_t auto_merged = 0;  // merges recorded for suggestions above [identity] auto_merge_above
  bool skipped = false;         // nothing changed since the last reconcile: the stored result was kept
  double seconds = 0;           // wall time, reading the store and saving the result included
};

struct SyncReport {
  std::vector<PullStats> pulls;
  std::optional<ReconcileStats> reconcile;
  std::vector<PushStats> pushes;
  std::size_t failures() const;  // streams or targets that stopped with an error
  // Of those, targets that also delivered something this run (some persons refused or left over):
  // the run did part of its work.
  std::size_t partial_pushes() const;
  std::optional<Error> first_error() const;
  // Every stream failed and no target delivered anything: the run did nothing (an expired token, a
  // vendor down), so its code is the failure's, not "partial".
  bool nothing_done() const;
  // A signal stopped the run: a pull (nothing was then reconciled or pushed) or a push (the targets
  // after it are reported as not pushed).
  bool interrupted() const;
};

// Pulls every stream of every source connector, connectors concurrently (pull_connectors()); one
// failing stream does not stop the others. Returns one entry per stream, in connector order, and logs
// one line per stream.
std::vector<PullStats> pull_all(std::vector<Endpoint>& connectors, StateStore& store, const PullOptions& opts = {});

// Rebuilds identities from the store. Handles the connectors report as the business's own never
// identify a customer. Without `force`, does nothing when no record changed since the last run.
// The reconcile input for the store as it is: its records and decisions, the handles the connectors
// report as the business's own, and the [identity] rules.
IdentityInput identity_input(StateStore& store, const std::vector<Endpoint>& connectors, const IdentityRules& rules);

// Whether the stored persons are what reconcile would make now: no record, rule or decision changed
// since the last reconcile.
bool identities_current(StateStore& store, const std::vector<Endpoint>& connectors, const IdentityRules& rules);

// `rules`: [identity] blocked (handles that join no one, beside the connectors' own) and limits.
ReconcileStats reconcile_store(StateStore& store, const std::vector<Endpoint>& connectors, bool force,
                               const IdentityRules& rules = {});

// Pushes to every target in turn; after a stop (PushOptions::stop) the targets left are reported as
// not pushed (Errc::interrupted).
std::vector<PushStats> push_all(std::vector<Endpoint>& targets, StateStore& store, const PushOptions& opts);

// push --verify on every target in turn; targets that cannot be read back are reported as such.
std::vector<VerifyStats> verify_all(std::vector<Endpoint>& targets, StateStore& store, const VerifyOptions& opts);

// pull → reconcile → push; a pull stopped by a signal (PullOptions::stop) ends the run there. A stop
// asked during reconcile lets it finish (one transaction) and the push then sends nothing; during the
// push, the batch in flight is answered and recorded and no other is sent (PushOptions::stop).
SyncReport sync_all(std::vector<Endpoint>& connectors, std::vector<Endpoint>& targets, StateStore& store,
                    const PushOptions& opts, const IdentityRules& rules = {}, const PullOptions& pull = {});

void to_json(nlohmann::json& j, const PullStats& s);
void to_json(nlohmann::json& j, const ReconcileStats& s);
void to_json(nlohmann::json& j, const PushStats& s);
void to_json(nlohmann::json& j, const SyncReport& r);
void to_json(nlohmann::json& j, const VerifyStats& s);

}  // namespace chansync
