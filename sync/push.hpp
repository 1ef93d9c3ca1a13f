#pragma once
// Stage 5: send the plan to a sink in batches and record in the push ledger what the target confirmed.
#include <functional>
#include <optional>
#include <string>

#include "sync/adapter.hpp"
#include "sync/plan.hpp"
#include "sync/state_store.hpp"

namespace chansync {

// What the target confirmed (or, with dry_run, what the plan would send). `unchanged` also counts
// persons the ledger says the target already has.
struct PushStats {
  std::string target;
  std::size_t created = 0;
  std::size_t updated = 0;
  std::size_t unchanged = 0;
  std::size_t deleted = 0;
  std::size_t failed = 0;  // persons the target refused or did not report; retried on the next push
  bool dry_run = false;
  std::optional<Error> error;  // the batch error that stopped the push, or the first person's failure
};

struct PushOptions {
  bool full = false;     // re-send every person
  bool dry_run = false;  // plan only: nothing is sent or recorded
  std::size_t batch_size = 200;
  // Called for every planned person (skips included), e.g. to print a dry-run plan.
  std::function<void(const PersonRecord&, PlanAction)> on_plan;
};

// Streams persons from the store, plans each against the target's ledger, delivers the changed
// ones with their ledger entries, asks the target to delete persons it holds that no longer exist
// (merged away: PushItem::remove), and records each person the target confirmed. The target's mark
// (persons changed since it are considered next time) moves only after a push with no failure, so
// a failed person is planned again on the next push. Delivery is at-least-once: a crash between
// delivery and ledger commit re-sends that batch, which sinks must absorb (idempotent per person).
// Throws Failure when the state store cannot be written.
PushStats push_target(const std::string& name, Sink& sink, StateStore& store, const PushOptions& opts);

}  // namespace chansync
