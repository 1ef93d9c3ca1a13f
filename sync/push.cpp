#include "sync/push.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>

namespace chansync {
namespace {

struct Pending {
  PersonRecord record;
  std::string hash;
  std::optional<PushLedgerEntry> previous;
  bool remove = false;
  std::string merged_into;
};

// Applies one batch's outcomes to the stats and the ledger. Returns false when the push must stop:
// the batch failed as a whole, or the target went away part-way (see Sink::push).
bool deliver(const std::string& name, Sink& sink, StateStore& store, std::vector<Pending>& batch, PushStats& stats) {
  if (batch.empty()) return true;
  std::vector<PushItem> items;
  items.reserve(batch.size());
  for (const auto& p : batch) items.push_back({&p.record, p.previous, p.remove, p.merged_into});
  auto outcomes = sink.push(items);
  if (!outcomes) {
    stats.error = std::move(outcomes.error());
    if (stats.error->connector.empty()) stats.error->connector = name;
    stats.failed += batch.size();
    return false;
  }
  std::map<std::string_view, Pending*> by_id;
  for (auto& p : batch) by_id[p.record.person_id] = &p;
  std::vector<PushLedgerEntry> confirmed;
  std::vector<std::string> deleted;
  // A target refusing a whole request fails every person in it with the same text: say it a few
  // times, not once per person.
  constexpr std::size_t k_logged = 3;
  std::size_t batch_failures = 0;
  bool target_down = false;
  auto failure = [&](const std::string& person_id, Error e) {
    ++stats.failed;
    target_down |= e.code == Errc::unavailable || e.code == Errc::rate_limited || e.code == Errc::auth;
    if (e.connector.empty()) e.connector = name;
    if (++batch_failures <= k_logged) spdlog::warn("{}: person {} was not delivered: {}", name, person_id, e.message);
    if (!stats.error) stats.error = std::move(e);
  };
  for (auto& o : *outcomes) {
    auto it = by_id.find(o.person_id);
    if (it == by_id.end() || !it->second) {
      spdlog::warn("{}: the target reported person {}, which was not in the batch (or twice); ignored", name,
                   o.person_id);
      continue;
    }
    Pending& p = *it->second;
    it->second = nullptr;  // answered
    const std::string remote_id = o.remote_id.empty() && p.previous ? p.previous->remote_id : o.remote_id;
    switch (o.status) {
      case PushOutcome::Status::created:
        ++stats.created;
        confirmed.push_back({o.person_id, p.hash, remote_id});
        break;
      case PushOutcome::Status::updated:
        ++stats.updated;
        confirmed.push_back({o.person_id, p.hash, remote_id});
        break;
      case PushOutcome::Status::unchanged:
        ++stats.unchanged;
        confirmed.push_back({o.person_id, p.hash, remote_id});
        break;
      case PushOutcome::Status::deleted:
        ++stats.deleted;
        deleted.push_back(o.person_id);
        break;
      case PushOutcome::Status::failed:
        failure(o.person_id, o.error.value_or(Error{Errc::remote, "the target refused it without a reason"}));
        break;
    }
  }
  for (const auto& [id, p] : by_id)
    if (p) failure(std::string(id), Error{Errc::remote, "the target reported no outcome for it"});
  if (batch_failures > k_logged)
    spdlog::warn("{}: {} more persons of this batch were not delivered", name, batch_failures - k_logged);
  try {
    store.ledger().record(name, confirmed);
    store.ledger().forget(name, deleted);
  } catch (const SQLite::Exception& e) {
    throw storage_failure(e, store.path(), fmt::format("recording what {} confirmed", name));
  }
  batch.clear();
  return !target_down;  // the target went away part-way: what it confirmed is recorded; stop
}

}  // namespace

PushStats push_target(const std::string& name, Sink& sink, StateStore& store, const PushOptions& opts) {
  PushStats stats{name};
  stats.dry_run = opts.dry_run;
  // Only persons changed since this target's last complete push can need it (all with --full, or
  // when the target never completed one). The ledger's content hashes then decide per person.
  const std::int64_t revision = store.revision();
  std::optional<std::int64_t> since = opts.full ? std::nullopt : store.ledger().mark(name);
  const auto ledger = store.ledger().entries(name);
  std::vector<Pending> batch;
  bool stopped = false;
  std::size_t planned = 0;
  store.identity().for_each_person(
      [&](PersonRecord&& p) {
        ++planned;
        if (stopped) return;
        std::string hash = content_hash(p);
        const auto it = ledger.find(p.person_id);
        const PushLedgerEntry* previous = it == ledger.end() ? nullptr : &it->second;
        const PlanAction action = plan_action(hash, previous, opts.full);
        if (opts.on_plan) opts.on_plan(p, action);
        if (action == PlanAction::skip) {
          ++stats.unchanged;
          return;
        }
        if (opts.dry_run) {
          ++(action == PlanAction::create ? stats.created : stats.updated);
          return;
        }
        batch.push_back(
            {std::move(p), std::move(hash), previous ? std::optional<PushLedgerEntry>(*previous) : std::nullopt});
        if (batch.size() >= opts.batch_size && !deliver(name, sink, store, batch, stats)) stopped = true;
      },
      since);
  // Persons the target holds that no longer exist (merged into another, or left without any record)
  // are deleted there. Identities change only with the revision, so a target whose last complete
  // push covered this revision has nothing to delete.
  if (!stopped && !ledger.empty() && !(since && *since == revision)) {
    const auto live = store.identity().live_person_ids();
    for (const auto& [id, entry] : ledger) {
      if (live.count(id)) continue;
      PersonRecord gone;
      gone.person_id = id;
      if (opts.on_plan) opts.on_plan(gone, PlanAction::remove);
      if (opts.dry_run) {
        ++stats.deleted;
        continue;
      }
      batch.push_back({std::move(gone), "", entry, true, store.identity().survivor_of(id).value_or("")});
      if (batch.size() >= opts.batch_size && !deliver(name, sink, store, batch, stats)) {
        stopped = true;
        break;
      }
    }
  }
  if (!stopped && !opts.dry_run && deliver(name, sink, store, batch, stats)) {
    if (auto done = sink.finish(); !done) {
      stats.error = std::move(done.error());
      if (stats.error->connector.empty()) stats.error->connector = name;
    } else if (stats.failed == 0) {
      store.ledger().set_mark(name, revision);
    }
  }
  if (since) stats.unchanged += store.identity().person_count() - planned;  // unchanged since the last push
  if (stats.failed > 0 && stats.error)
    stats.error->message = fmt::format(
        "{} of the persons sent were not delivered (first: {}); they are sent "
        "again on the next push",
        stats.failed, stats.error->message);
  spdlog::debug("{}: {} created, {} updated, {} unchanged, {} deleted, {} failed", name, stats.created, stats.updated,
                stats.unchanged, stats.deleted, stats.failed);
  return stats;
}

}  // namespace chansync
