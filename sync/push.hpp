#pragma once
// Stage 5: send the plan to a sink in batches and record in the push ledger what the target confirmed.
#include <atomic>
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
  std::size_t parked = 0;  // persons skipped: the target refused this content k_park_after pushes in a row
  bool dry_run = false;
  std::optional<Error> error;  // the batch error that stopped the push, the first person's failure, or
                               // Errc::interrupted when a stop (PushOptions::stop) ended it
  double seconds = 0;          // wall time of the target's push, planning included
};

struct PushOptions {
  bool full = false;           // re-send every person, parked ones included
  bool dry_run = false;        // plan only: nothing is sent or recorded
  std::size_t batch_size = 0;  // persons per Sink::push call; 0 = the sink's own Sink::batch_size()
  // Called for every planned person (skips included) with the target's name and what the target
  // last confirmed of the person (nullptr: nothing), e.g. to print a dry-run plan.
  std::function<void(const std::string& target, const PersonRecord&, PlanAction, const PushLedgerEntry*)> on_plan;
  // Set (by SIGINT or SIGTERM) to stop: the batch in flight is answered and recorded, no other is
  // sent, the target's mark stays, so the next push plans the persons not sent; PushStats::error is
  // Errc::interrupted. A batch is not cut short: the target may have taken part of it.
  const std::atomic<bool>* stop = nullptr;
};

// Streams persons from the store, plans each against the target's ledger, delivers the changed
// ones with their ledger entries, asks the target to delete persons it holds that no longer exist
// (merged away: PushItem::remove), and records each person the target confirmed. The target's mark
// (persons changed since it are considered next time) moves only after a push with no failure, so
// a failed person is planned again on the next push. Delivery is at-least-once: a crash between
// delivery and ledger commit re-sends that batch, which sinks must absorb (idempotent per person).
// A person the target refuses is counted in push_failures; after k_park_after refusals of the same
// content in a row it is parked (skipped, reported) until it changes or a --full push retries it.
// Throws Failure when the state store cannot be written.
PushStats push_target(const std::string& name, Sink& sink, StateStore& store, const PushOptions& opts);

// What push --verify found on one target.
struct VerifyStats {
  std::string target;
  bool readable = true;     // false: the target cannot be read back (nothing was checked)
  std::size_t checked = 0;  // persons compared with the target's copy
  std::size_t same = 0;
  std::size_t pending = 0;  // changed since the target's copy was written (the next push sends them): not compared
  struct Drift {
    std::string person_id;
    VerifyOutcome::State state = VerifyOutcome::State::missing;
    std::string detail;
    bool repaired = false;
  };
  std::vector<Drift> drift;  // missing or edited on the target since chansync wrote it
  std::size_t repaired = 0;  // with repair: drifted persons the target confirmed again
  std::optional<Error> error;
};

struct VerifyOptions {
  std::size_t sample = 0;  // compare this many persons, chosen at random (0 = all)
  bool repair = false;     // re-send drifted persons and record what the target confirmed
};

// Reads back the target's copy of persons it confirmed (Sink::verify) whose content has not changed
// since, and reports what was deleted or edited there. Throws Failure when the store cannot be written.
VerifyStats verify_target(const std::string& name, Sink& sink, StateStore& store, const VerifyOptions& opts);

}  // namespace chansync
