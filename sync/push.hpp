#pragma once
// Stage 5: send the plan to a sink in batches and record each delivered person in the push ledger.
#include <functional>
#include <optional>
#include <string>

#include "sync/adapter.hpp"
#include "sync/plan.hpp"
#include "sync/state_store.hpp"

namespace chansync {

struct PushStats {
  std::string target;
  std::size_t created = 0;
  std::size_t updated = 0;
  std::size_t skipped = 0;
  std::optional<Error> error;  // batches before it are delivered and recorded
};

struct PushOptions {
  bool full = false;     // re-send every person
  bool dry_run = false;  // plan only: nothing is sent or recorded
  std::size_t batch_size = 200;
  // Called for every planned person (skips included), e.g. to print a dry-run plan.
  std::function<void(const PersonRecord&, PlanAction)> on_plan;
};

// Streams persons from the store, plans each against the target's ledger, delivers the changed
// ones. Delivery is at-least-once: a crash between delivery and ledger commit re-sends that batch.
PushStats push_target(const std::string& name, Sink& sink, StateStore& store, const PushOptions& opts);

}  // namespace chansync
