#pragma once
// Stage 1: the page loop. Each page is written with its cursor in the same transaction, so a crash at
// any point resumes from the last committed page without loss or duplicates. Pages are committed in
// batches (every page with its own cursor inside): a commit costs every index page the batch dirtied,
// so a few large commits write a fraction of what one commit per page does.
#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sync/adapter.hpp"
#include "sync/state_store.hpp"

namespace chansync {

// One stream's pull. Figures count one unit each: messages (conversation streams) or contacts.
struct PullStats {
  std::string connector;
  std::string stream;
  std::size_t pages = 0;
  std::size_t requests = 0;
  std::size_t received = 0;
  std::size_t written = 0;
  std::size_t rejected = 0;
  std::optional<Error> error;  // set when the pull stopped early; pages before it are committed
  std::string notice;          // the last problem the vendor reported inside the data (Page::notices)
  double seconds = 0;          // wall time from the stream's first request to its figures recorded
};

// One connector to pull: its name, adapter and [listen] spool_dir (where spool streams are read from).
struct PullJob {
  std::string name;
  Adapter* adapter = nullptr;
  std::string spool_dir;
};

struct PullOptions {
  int page_size = 0;  // 0 = the largest page each vendor serves
  // Connectors pulled at once, each fetching and parsing on its own thread while one writer commits
  // for all of them. 0 = one per connector, at most k_default_jobs.
  std::size_t jobs = 0;
  // Set (by a signal handler) to stop every stream after the page it is on; what was fetched is
  // committed and each stopped stream reports Errc::interrupted.
  const std::atomic<bool>* stop = nullptr;
  // Runs when a stream's pages are all committed, before its figures are recorded, on the writer's
  // lock: no other stream writes until it returns. The seam for tests of that ordering.
  std::function<void(const std::string& connector, const std::string& stream)> stream_committed;
};

constexpr std::size_t k_default_jobs = 8;

// A batch is committed when it holds this many records, when its first page is this old (also while
// waiting for a slow vendor), and whenever a stream ends, fails or is stopped. Acknowledging streams
// commit every page (the server forgets a page once the next is fetched); a spool stream's spool is
// trimmed once its pages are committed.
constexpr std::size_t k_batch_records = 100'000;
constexpr int k_batch_age_ms = 1'000;

// Pulls every stream of every job (every role each plays) until each reports done or fails; one
// stream's failure stops neither the others nor other connectors. Jobs run concurrently (`jobs`);
// within a stream, non-acknowledging streams fetch page N+1 while page N is written; acknowledging
// streams fetch only after the previous page is committed and call Adapter::committed() after each
// commit. Never throws for remote problems: they end up in the stream's `error`, with every page
// before them committed. Throws Failure when the state store cannot be written (disk full, read-only:
// see storage_failure()), after stopping every other stream. Returns the streams in job order.
std::vector<PullStats> pull_connectors(const std::vector<PullJob>& jobs, StateStore& store,
                                       const PullOptions& opts = {});

// One connector, on the calling thread.
std::vector<PullStats> pull_connector(const std::string& name, Adapter& adapter, StateStore& store, int page_size = 0,
                                      const std::string& spool_dir = {});

// Payloads per page of a spool stream (each may hold several messages).
constexpr std::size_t k_spool_page = 500;

}  // namespace chansync
