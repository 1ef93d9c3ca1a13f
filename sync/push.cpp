#include "sync/push.hpp"

#include <spdlog/spdlog.h>

#include <map>

namespace chansync {

PushStats push_target(const std::string& name, Sink& sink, StateStore& store, const PushOptions& opts) {
  PushStats stats{name};
  // Only persons changed since this target's last complete push can need it (all with --full, or
  // when the target never completed one). The ledger's content hashes then decide per person.
  const std::string mark_key = "pushed:" + name;
  const std::int64_t revision = store.revision();
  std::optional<std::int64_t> since;
  if (auto mark = store.meta(mark_key); mark && !opts.full) since = std::stoll(*mark);
  const auto ledger = store.ledger(name);
  std::vector<PersonRecord> batch;
  std::vector<std::string> hashes;

  auto flush = [&]() -> bool {
    if (batch.empty()) return true;
    auto outcomes = sink.push(batch);
    if (!outcomes) {
      stats.error = std::move(outcomes.error());
      if (stats.error->connector.empty()) stats.error->connector = name;
      return false;
    }
    std::map<std::string_view, const std::string*> hash_of;
    for (std::size_t i = 0; i < batch.size(); ++i) hash_of[batch[i].person_id] = &hashes[i];
    std::vector<PushLedgerEntry> entries;
    for (const auto& o : *outcomes)
      if (auto it = hash_of.find(o.person_id); it != hash_of.end())
        entries.push_back({o.person_id, *it->second, o.remote_id});
    store.record_push(name, entries);
    batch.clear();
    hashes.clear();
    return true;
  };

  bool failed = false;
  std::size_t planned = 0;
  store.for_each_person(
      [&](PersonRecord&& p) {
        ++planned;
        if (failed) return;
        const std::string hash = content_hash(p);
        const PlanAction action = plan_action(p.person_id, hash, ledger, opts.full);
        if (opts.on_plan) opts.on_plan(p, action);
        switch (action) {
          case PlanAction::create:
            ++stats.created;
            break;
          case PlanAction::update:
            ++stats.updated;
            break;
          case PlanAction::skip:
            ++stats.skipped;
            return;
        }
        if (opts.dry_run) return;
        batch.push_back(std::move(p));
        hashes.push_back(hash);
        if (batch.size() >= opts.batch_size && !flush()) failed = true;
      },
      since);
  if (!failed && !opts.dry_run && flush()) {
    if (auto done = sink.finish(); !done)
      stats.error = std::move(done.error());
    else
      store.set_meta(mark_key, std::to_string(revision));
  }
  if (since) stats.skipped += store.person_count() - planned;  // unchanged since the last push
  spdlog::debug("{}: {} created, {} updated, {} unchanged", name, stats.created, stats.updated, stats.skipped);
  return stats;
}

}  // namespace chansync
