#include "sync/push.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <random>
#include <set>
#include <utility>

#include "sync/worker.hpp"

namespace chansync {
namespace {

struct Pending {
  PersonRecord record;
  PersonDigest digest;  // of record (nothing for a deletion)
  std::optional<PushLedgerEntry> previous;
  bool remove = false;
  std::string merged_into;
  std::string survivor_remote_id;  // the survivor's in this target's ledger
};

// What the target confirmed, held back until finish() when the sink confirms_at_finish(); and, for
// the whole run, how many persons it took and which it refused (recorded at the end of the run).
struct Confirmed {
  std::vector<PushLedgerEntry> entries;
  std::vector<std::string> deleted;
  std::size_t created = 0, updated = 0, unchanged = 0;
  std::size_t accepted = 0;
  std::vector<PushFailure> refused;
};

// Records the run's refusals, which count towards parking a person (PushLedger::record_failures):
// when the target took someone else in the run, refused just one person, or refuses a person it
// refused before (the first time in a run where it took others: a later push sends the refused
// alone, and the target taking no one then says nothing new about it). A target that refuses
// everyone it is sent for the first time is misconfigured or broken (a receiver's new schema, a
// missing property), not a target with bad records: parking them all would turn every later push
// into a silent exit 0 that delivers nothing.
void record_refusals(const std::string& name, StateStore& store, const Confirmed& run) {
  if (run.refused.empty()) return;
  try {
    std::vector<PushFailure> counted = run.refused;
    if (run.accepted == 0 && run.refused.size() > 1) {
      const auto before = store.ledger().failures(name);
      std::erase_if(counted, [&](const PushFailure& f) { return !before.contains(f.person_id); });
      if (counted.size() < run.refused.size())
        spdlog::warn(
            "{}: it refused every person it was sent ({}), {} of them for the first time; those are not "
            "parked, and the next push sends them again",
            name, run.refused.size(), run.refused.size() - counted.size());
    }
    if (!counted.empty()) store.ledger().record_failures(name, counted);
  } catch (const SQLite::Exception& e) {
    throw storage_failure(e, store.path(), fmt::format("recording what {} refused", name));
  }
}

// A failure that is not the person's: it counts towards nobody's parking. A stop signal is one.
bool target_level(Errc code) {
  return code == Errc::unavailable || code == Errc::rate_limited || code == Errc::auth || code == Errc::config ||
         code == Errc::interrupted;
}

void record(const std::string& name, StateStore& store, const Confirmed& c) {
  try {
    store.ledger().record(name, c.entries);
    store.ledger().forget(name, c.deleted);
  } catch (const SQLite::Exception& e) {
    throw storage_failure(e, store.path(), fmt::format("recording what {} confirmed", name));
  }
}

using Outcomes = Result<std::vector<PushOutcome>>;

// Hands one batch to the sink, digesting first the persons whose plan did not need a digest.
Outcomes push_batch(Sink& sink, std::vector<Pending>& batch) {
  std::vector<Pending*> undigested;
  std::vector<const PersonRecord*> records;
  for (auto& p : batch)
    if (!p.remove && p.digest.hash.empty()) {
      undigested.push_back(&p);
      records.push_back(&p.record);
    }
  auto made = digests(records);
  for (std::size_t i = 0; i < made.size(); ++i) undigested[i]->digest = std::move(made[i]);
  std::vector<PushItem> items;
  items.reserve(batch.size());
  for (const auto& p : batch)
    items.push_back(
        {&p.record, p.previous, p.remove, p.merged_into, p.digest.json, p.digest.hash, p.survivor_remote_id});
  return sink.push(items);
}

// Whether the target went away part-way through a batch (Sink::push): a person failed for a reason of
// the target's, not of the person's.
bool target_went_away(const std::vector<PushOutcome>& outcomes) {
  return std::ranges::any_of(outcomes, [](const PushOutcome& o) {
    return o.status == PushOutcome::Status::failed && o.error && target_level(o.error->code);
  });
}

// Applies what the sink answered for `batch` to the stats and the ledger (or, for a sink that
// confirms at finish, to `held`), and empties the batch. Returns false when the push must stop: the
// batch failed as a whole, or the target went away part-way (see Sink::push). Adds the persons it
// confirmed to `confirmed` when given.
bool settle(const std::string& name, bool held_until_finish, StateStore& store, std::vector<Pending>& batch,
            Outcomes outcomes, PushStats& stats, Confirmed& held, std::set<std::string>* confirmed = nullptr) {
  if (!outcomes) {
    stats.error = std::move(outcomes.error());
    if (stats.error->connector.empty()) stats.error->connector = name;
    stats.failed += batch.size();
    batch.clear();
    return false;
  }
  std::map<std::string_view, Pending*> by_id;
  for (auto& p : batch) by_id[p.record.person_id] = &p;
  Confirmed now;
  std::vector<PushFailure> refused;
  // A target refusing a whole request fails every person in it with the same text: say it a few
  // times, not once per person.
  constexpr std::size_t k_logged = 3;
  std::size_t batch_failures = 0;
  auto failure = [&](const Pending& p, Error e) {
    ++stats.failed;
    if (e.connector.empty()) e.connector = name;
    // Refusals of the person count towards parking it; a target that went away refused nobody.
    if (!target_level(e.code))
      refused.push_back({p.record.person_id, p.remove ? "" : p.digest.hash, 0, 0, 0, e.message});
    if (++batch_failures <= k_logged)
      spdlog::warn("{}: person {} was not delivered: {}", name, p.record.person_id, e.message);
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
      case PushOutcome::Status::updated:
      case PushOutcome::Status::unchanged:
        ++(o.status == PushOutcome::Status::created   ? now.created
           : o.status == PushOutcome::Status::updated ? now.updated
                                                      : now.unchanged);
        now.entries.push_back({o.person_id, p.digest.hash, remote_id, p.digest.fields});
        break;
      case PushOutcome::Status::deleted:
        now.deleted.push_back(o.person_id);
        break;
      case PushOutcome::Status::failed:
        failure(p, o.error.value_or(Error{Errc::remote, "the target refused it without a reason"}));
        break;
    }
  }
  for (const auto& [id, p] : by_id)
    if (p) failure(*p, Error{Errc::remote, "the target reported no outcome for it"});
  if (batch_failures > k_logged)
    spdlog::warn("{}: {} more persons of this batch were not delivered", name, batch_failures - k_logged);
  if (confirmed)
    for (const auto& e : now.entries) confirmed->insert(e.person_id);
  held.accepted += now.entries.size() + now.deleted.size();
  held.refused.insert(held.refused.end(), std::make_move_iterator(refused.begin()),
                      std::make_move_iterator(refused.end()));
  if (held_until_finish) {
    held.entries.insert(held.entries.end(), now.entries.begin(), now.entries.end());
    held.deleted.insert(held.deleted.end(), now.deleted.begin(), now.deleted.end());
    held.created += now.created;
    held.updated += now.updated;
    held.unchanged += now.unchanged;
  } else {
    record(name, store, now);
    stats.created += now.created;
    stats.updated += now.updated;
    stats.unchanged += now.unchanged;
    stats.deleted += now.deleted.size();
  }
  batch.clear();
  return !target_went_away(*outcomes);  // the target went away part-way: what it confirmed is recorded; stop
}

// Sends one batch and settles it.
bool deliver(const std::string& name, Sink& sink, StateStore& store, std::vector<Pending>& batch, PushStats& stats,
             Confirmed& held, std::set<std::string>* confirmed = nullptr) {
  if (batch.empty()) return true;
  return settle(name, sink.confirms_at_finish(), store, batch, push_batch(sink, batch), stats, held, confirmed);
}

// The batch the sink is sending while the next one is read and built, so that the store's reading,
// the digests and the records overlap the target's own work (a server's inserts, an HTTP round
// trip): the sink is used by one thread at a time, the store only by the caller's. A batch goes once
// the one before it is answered, and that one is settled (the ledger written) while it goes: a 1M
// message push to NDJSON spent 0.18 s of its 1.9 s writing the ledger while the sink waited. Nothing
// goes after a batch that failed as a whole or whose target went away, so the ledger and the stop
// after a failed batch stay in order.
class InFlight {
 public:
  InFlight(const std::string& name, Sink& sink, StateStore& store, PushStats& stats, Confirmed& held)
      : m_name(name),
        m_sink(sink),
        m_held_until_finish(sink.confirms_at_finish()),
        m_store(store),
        m_stats(stats),
        m_held(held) {}

  // Whether the batch in flight, if any, is answered: launch() would not wait.
  bool answered() const {
    return !m_answer.valid() || m_answer.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  }

  // Settles the batch in flight, if any; false when the push must stop.
  bool land() {
    if (!m_answer.valid()) return true;
    Outcomes answer = m_answer.get();  // first: the sender reads m_batch until it answers
    std::vector<Pending> landed = std::exchange(m_batch, {});
    return settle(m_name, m_held_until_finish, m_store, landed, std::move(answer), m_stats, m_held);
  }

  // Sends `batch` (emptied) once the batch in flight is answered, then settles that one. False, with
  // `batch` dropped unsent, when the push must stop: the batch in flight failed, or `go` (asked only
  // when there is a batch to send) says no. When settling fails (the store cannot be written), the
  // batch sent meanwhile goes on to its end, unrecorded, before the failure reaches the caller: it is
  // sent again next time.
  bool launch(std::vector<Pending>& batch, const std::function<bool()>& go) {
    const bool answered = m_answer.valid();
    Outcomes answer;
    std::vector<Pending> landed;
    if (answered) {
      answer = m_answer.get();
      landed = std::exchange(m_batch, {});
    }
    const bool send = (!answered || (answer && !target_went_away(*answer))) && (batch.empty() || go());
    if (send && !batch.empty()) {
      try {
        note_sent(batch);
      } catch (...) {
        // The batch before was confirmed: recorded still, or it would be sent again for nothing.
        if (answered) settle(m_name, m_held_until_finish, m_store, landed, std::move(answer), m_stats, m_held);
        throw;
      }
      m_batch = std::move(batch);
      m_answer = m_sender.run([this] { return push_batch(m_sink, m_batch); });
    }
    batch.clear();
    const bool settled =
        !answered || settle(m_name, m_held_until_finish, m_store, landed, std::move(answer), m_stats, m_held);
    return send && settled;
  }

 private:
  // Once this batch goes, whatever comes back (a kill before the answer is recorded, a failure after
  // the target acted), the target may hold what it sends or what it held before: noted first. A
  // person it holds no entry of may be on it (so one merged away before it is confirmed is still
  // deleted there); one it holds an entry of is sent again even when an undo brings its content
  // back to what the entry says (PushLedger::unconfirmed).
  void note_sent(const std::vector<Pending>& batch) {
    std::vector<std::string> ids;
    for (const auto& p : batch) ids.push_back(p.record.person_id);
    try {
      m_store.ledger().note_sent(m_name, ids);
    } catch (const SQLite::Exception& e) {
      throw storage_failure(e, m_store.path(), fmt::format("noting what is sent to {}", m_name));
    }
  }

  const std::string& m_name;
  Sink& m_sink;
  const bool m_held_until_finish;  // read before the sender thread starts: the sink is its alone
  StateStore& m_store;
  PushStats& m_stats;
  Confirmed& m_held;
  std::vector<Pending> m_batch;  // the task reads it: declared before the worker, which joins first
  std::future<Outcomes> m_answer;
  Worker<Outcomes> m_sender;
};

}  // namespace

PushStats push_target(const std::string& name, Sink& sink, StateStore& store, const PushOptions& opts) {
  PushStats stats{name};
  stats.dry_run = opts.dry_run;
  // Only persons changed since this target's last complete push can need it (all with --full, or
  // when the target never completed one). The ledger's content hashes then decide per person.
  const std::int64_t revision = store.revision();
  std::optional<std::int64_t> since = opts.full ? std::nullopt : store.ledger().mark(name);
  // The ledger entries of the persons planned: all at once for a push of everyone, else one by one
  // (a push after a few changes reads a few, however many persons the target holds).
  auto ledger = since ? std::map<std::string, PushLedgerEntry>{} : store.ledger().entries(name);
  auto previous_of = [&](const std::string& id) -> std::optional<PushLedgerEntry> {
    if (since) return store.ledger().entry(name, id);
    const auto it = ledger.find(id);
    return it == ledger.end() ? std::nullopt : std::optional(it->second);
  };
  const auto failures = store.ledger().failures(name);
  const auto unconfirmed = store.ledger().unconfirmed(name);
  auto failure_of = [&](const std::string& id) {
    const auto it = failures.find(id);
    return it == failures.end() ? nullptr : &it->second;
  };
  const std::size_t batch_size = std::max<std::size_t>(1, opts.batch_size ? opts.batch_size : sink.batch_size());
  std::vector<Pending> batch;
  Confirmed held;
  InFlight flight(name, sink, store, stats, held);
  bool stopped = false;      // a batch failed, or a stop was asked for: nothing more is sent
  bool interrupted = false;  // the stop (PushOptions::stop)
  // A stop is seen before each person and before each batch is sent. The batch in flight is then
  // settled at once (its persons recorded), the one being built is dropped, and the pass ends.
  auto stop_seen = [&] {
    if (!opts.stop || !opts.stop->load()) return false;
    stopped = interrupted = true;
    flight.land();
    return true;
  };
  // The batch in flight is answered first: the wait for that answer is where a stop usually comes,
  // and it is seen before `batch` goes. False when the push must stop.
  auto send_batch = [&] {
    // While the sink still has the batch before, this thread digests persons of this one itself
    // rather than wait; the sender digests the rest. In a 1M-message push to NDJSON this thread had
    // waited 0.27 s for the sender, which was busy all but 0.09 s. A record digest() throws for (text
    // that is not UTF-8) is left to the sender, whose failure reaches the caller as any sink's does.
    for (auto& p : batch) {
      if (flight.answered()) break;
      if (p.remove || !p.digest.hash.empty()) continue;
      try {
        p.digest = digest(p.record);
      } catch (const std::exception&) {
        break;
      }
    }
    if (!flight.launch(batch, [&] { return !stop_seen(); })) {
      stopped = true;
      return false;
    }
    return true;
  };
  std::set<std::string> failed_seen;  // persons with refusals on record that this run planned
  // Persons the target holds that no longer exist (merged into another, or left without any record)
  // are deleted there, first and in batches of their own: a CRM or helpdesk keeps an email or a number
  // on one contact only, so the survivor of a merge, which now has the merged-away person's, is
  // refused until that person's contact is gone. A target whose last complete push came after the
  // persons last changed has nothing to delete.
  if (!(since && *since >= store.persons_revision())) {
    for (const auto& [id, entry] : store.ledger().orphans(name)) {
      if (stop_seen()) break;
      PersonRecord gone;
      gone.person_id = id;
      const PushFailure* failed = failure_of(id);
      if (failed) failed_seen.insert(id);
      const bool parked = failed && failed->hash.empty() && failed->runs >= k_park_after && !opts.full;
      if (opts.on_plan) opts.on_plan(name, gone, parked ? PlanAction::parked : PlanAction::remove, &entry);
      if (parked || opts.dry_run) {
        ++(parked ? stats.parked : stats.deleted);
        continue;
      }
      std::string survivor = store.identity().survivor_of(id).value_or("");
      std::string survivor_remote;
      if (!survivor.empty())
        if (auto e = store.ledger().entry(name, survivor)) survivor_remote = e->remote_id;
      batch.push_back({std::move(gone), {}, entry, true, std::move(survivor), std::move(survivor_remote)});
      if (batch.size() >= batch_size && !send_batch()) break;
    }
    if (!stopped && !batch.empty()) send_batch();
  }
  std::size_t planned = 0;
  store.identity().for_each_person(
      [&](PersonRecord&& p) {
        ++planned;
        if (stop_seen()) return;  // the pass ends after a failed batch (`more`), and here at a stop
        const auto stored = previous_of(p.person_id);
        const PushLedgerEntry* previous = stored ? &*stored : nullptr;
        const PushFailure* failed = failure_of(p.person_id);
        if (failed) failed_seen.insert(p.person_id);
        // A person new to the target and never refused is created whatever its content: its digest
        // waits for push_batch(), so that in a first push one thread reads the persons while the other
        // digests and sends them.
        PersonDigest d;
        if (previous || failed) d = digest(p);
        PlanAction action = previous || failed ? plan_action(d.hash, previous, opts.full, failed) : PlanAction::create;
        // Sent before without an answer: the target may hold that batch's content, whatever the entry says.
        if (action == PlanAction::skip && unconfirmed.contains(p.person_id)) action = PlanAction::update;
        if (opts.on_plan) opts.on_plan(name, p, action, previous);
        if (action == PlanAction::skip || action == PlanAction::parked) {
          ++(action == PlanAction::skip ? stats.unchanged : stats.parked);
          return;
        }
        if (opts.dry_run) {
          ++(action == PlanAction::create ? stats.created : stats.updated);
          return;
        }
        batch.push_back(
            {std::move(p), std::move(d), previous ? std::optional<PushLedgerEntry>(*previous) : std::nullopt});
        if (batch.size() >= batch_size) send_batch();
      },
      since, [&] { return !stopped; });
  // The last batch is sent, then everything in flight is settled before the sink finishes.
  const bool delivered = !stopped && !opts.dry_run && send_batch() && flight.land();
  // A sink that confirms at finish holds nothing yet: finish it even after a stop, so what it did
  // take is confirmed (or, if finishing fails, counted failed and sent again next time).
  Result<void> done;
  if (!opts.dry_run && (delivered || sink.confirms_at_finish())) done = sink.finish();
  if (!done) {
    stats.failed += held.entries.size() + held.deleted.size();
    if (!stats.error) {
      stats.error = std::move(done.error());
      if (stats.error->connector.empty()) stats.error->connector = name;
    }
  } else if (!held.entries.empty() || !held.deleted.empty()) {
    record(name, store, held);
    stats.created += held.created;
    stats.updated += held.updated;
    stats.unchanged += held.unchanged;
    stats.deleted += held.deleted.size();
  }
  if (!opts.dry_run) record_refusals(name, store, held);
  if (delivered && done && stats.failed == 0) store.ledger().set_mark(name, revision);
  // Unchanged since the last push; a push that stopped did not plan them all, and does not count them.
  // Persons parked by earlier pushes and unchanged since are not planned: still parked, not unchanged.
  if (since && !stopped) {
    std::size_t still_parked = 0, still_parked_persons = 0;
    for (const auto& [id, f] : failures) {
      if (f.runs < k_park_after || failed_seen.contains(id)) continue;
      // An upsert parked for a person since merged away or erased is nobody's now (a delete is an
      // orphan's, which this pass planned if it still needs one).
      if (!f.hash.empty() && store.identity().nodes_of(id).empty()) continue;
      ++still_parked;
      still_parked_persons += !f.hash.empty();  // an upsert: a person, counted by person_count()
      if (opts.dry_run && opts.on_plan) {       // the plan names every person it counts as parked
        auto person = store.identity().person(id);
        opts.on_plan(name, person ? *person : PersonRecord{id}, PlanAction::parked, nullptr);
      }
    }
    const std::size_t unplanned = store.identity().person_count() - planned;
    stats.parked += still_parked;
    stats.unchanged += unplanned - std::min(unplanned, still_parked_persons);
  }
  if (stats.failed > 0 && stats.error)
    stats.error->message = fmt::format(
        "{} of the persons sent were not delivered (first: {}); they are sent "
        "again on the next push",
        stats.failed, stats.error->message);
  // A stop that came while the last batch went: that batch is settled, and the run still says it was
  // stopped (exit 130 or 143), as a supervisor that sent the signal expects.
  if (opts.stop && opts.stop->load()) interrupted = true;
  if (interrupted) {
    const std::string also = stats.error ? "; " + stats.error->message : "";
    stats.error = Error{Errc::interrupted,
                        (opts.dry_run ? std::string("stopped by a signal; the plan above is not complete")
                                      : std::string("stopped by a signal; the persons the target confirmed are "
                                                    "recorded and the next push sends the others")) +
                            also,
                        name};
  }
  if (stats.parked > 0 && !opts.dry_run)
    spdlog::warn("{}: {} persons are parked (refused {} pushes in a row; `chansync push --show-parked` lists them)",
                 name, stats.parked, k_park_after);
  spdlog::debug("{}: {} created, {} updated, {} unchanged, {} deleted, {} failed, {} parked", name, stats.created,
                stats.updated, stats.unchanged, stats.deleted, stats.failed, stats.parked);
  return stats;
}

VerifyStats verify_target(const std::string& name, Sink& sink, StateStore& store, const VerifyOptions& opts) {
  VerifyStats stats{name};
  if (!sink.readable()) {
    stats.readable = false;
    return stats;
  }
  const auto ledger = store.ledger().entries(name);
  // Persons whose content is what the target last confirmed: the target's copy should equal it.
  std::vector<std::string> in_sync;
  store.identity().for_each_person([&](PersonRecord&& p) {
    const auto it = ledger.find(p.person_id);
    if (it == ledger.end()) return;
    if (it->second.hash == content_hash(p))
      in_sync.push_back(p.person_id);
    else
      ++stats.pending;
  });
  if (opts.sample > 0 && opts.sample < in_sync.size()) {
    std::shuffle(in_sync.begin(), in_sync.end(), std::mt19937_64(std::random_device{}()));
    in_sync.resize(opts.sample);
  }
  const std::set<std::string> chosen(in_sync.begin(), in_sync.end());
  constexpr std::size_t k_batch = 200;
  std::vector<PersonRecord> records;
  std::vector<Pending> repairs;
  bool stopped = false;
  auto check = [&] {
    if (records.empty() || stopped) return;
    std::vector<PushItem> items;
    for (const auto& r : records) items.push_back({&r, ledger.at(r.person_id)});
    auto outcomes = sink.verify(items);
    if (!outcomes) {
      stats.error = std::move(outcomes.error());
      if (stats.error->connector.empty()) stats.error->connector = name;
      stopped = true;
      return;
    }
    std::map<std::string_view, const PersonRecord*> by_id;
    for (const auto& r : records) by_id[r.person_id] = &r;
    for (auto& o : *outcomes) {
      const auto it = by_id.find(o.person_id);
      if (it == by_id.end() || !it->second) continue;
      ++stats.checked;
      if (o.state == VerifyOutcome::State::same) {
        ++stats.same;
      } else {
        stats.drift.push_back({o.person_id, o.state, o.detail});
        // Re-sent as the target's copy stands: a missing person is created again, an edited one updated.
        if (opts.repair) {
          auto d = digest(*it->second);
          repairs.push_back(
              {*it->second, std::move(d),
               o.state == VerifyOutcome::State::missing ? std::nullopt : std::optional(ledger.at(o.person_id))});
        }
      }
      it->second = nullptr;
    }
    for (const auto& [id, r] : by_id)
      if (r) {
        ++stats.checked;
        stats.drift.push_back({std::string(id), VerifyOutcome::State::missing, "the target did not report it"});
      }
    records.clear();
  };
  store.identity().for_each_person([&](PersonRecord&& p) {
    if (stopped || !chosen.count(p.person_id)) return;
    records.push_back(std::move(p));
    if (records.size() >= k_batch) check();
  });
  check();
  if (opts.repair && !repairs.empty() && !stats.error) {
    PushStats pushed{name};
    Confirmed held;
    std::set<std::string> confirmed;
    for (std::size_t at = 0; at < repairs.size(); at += k_batch) {
      std::vector<Pending> part(repairs.begin() + static_cast<long>(at),
                                repairs.begin() + static_cast<long>(std::min(repairs.size(), at + k_batch)));
      if (!deliver(name, sink, store, part, pushed, held, &confirmed)) break;
    }
    if (auto done = sink.finish(); !done) {
      if (sink.confirms_at_finish()) confirmed.clear();
      if (!pushed.error) pushed.error = std::move(done.error());
    } else if (!held.entries.empty() || !held.deleted.empty()) {
      record(name, store, held);
    }
    record_refusals(name, store, held);
    for (auto& d : stats.drift) stats.repaired += (d.repaired = confirmed.count(d.person_id) > 0);
    if (pushed.error) {
      stats.error = std::move(pushed.error);
      if (stats.error->connector.empty()) stats.error->connector = name;
    }
  }
  return stats;
}

}  // namespace chansync
