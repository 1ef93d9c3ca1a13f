#include "sync/pull.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <future>
#include <mutex>
#include <thread>

#include "sync/bulk_load.hpp"
#include "sync/checkpointer.hpp"
#include "sync/spool.hpp"
#include "sync/worker.hpp"

namespace chansync {
namespace {

using Clock = std::chrono::steady_clock;

// The one writer of the state store during a pull: every stream of every connector writes its pages
// through it, one at a time, into the open batch (one transaction), which it commits by size and age.
// Every page is written with its stream's cursor, so whatever commits is consistent and whatever is
// lost in a crash is fetched again.
class PageWriter {
 public:
  explicit PageWriter(StateStore& store) : m_store(store) {}
  PageWriter(const PageWriter&) = delete;
  PageWriter& operator=(const PageWriter&) = delete;

  // Runs `f` on the store under the writer's lock (reads included: the connection is shared).
  template <class F>
  auto locked(F&& f) {
    std::lock_guard lock(m_mutex);
    return f();
  }

  // Writes one page (`write` runs inside the open batch) and commits the batch when it is full or
  // old, or at once when `commit_now`. Throws SQLite::Exception; the batch is then rolled back.
  template <class F>
  PageStats write(F&& write, bool commit_now) {
    std::lock_guard lock(m_mutex);
    // A rolled-back batch took other streams' pages with it while their cursors moved on in memory:
    // nothing may be committed after it, or those pages would be skipped.
    if (m_rolled_back) stop_after_rollback();
    try {
      if (!m_batch) {
        m_batch.emplace(m_store.db());
        m_opened = Clock::now();
        m_records = 0;
      }
      PageStats ps = write();
      m_records += ps.received + ps.rejected + 1;
      if (commit_now || m_records >= k_batch_records || Clock::now() - m_opened >= age()) commit_locked();
      return ps;
    } catch (...) {
      rollback(std::current_exception());
      throw;
    }
  }

  // Commits the open batch, if any.
  void commit() {
    commit_then([] {});
  }

  // Commits the open batch, then runs `f` (which may open its own transaction) under the same lock:
  // another stream's next page cannot open a batch in between.
  template <class F>
  void commit_then(F&& f) {
    std::lock_guard lock(m_mutex);
    try {
      commit_locked();
    } catch (...) {
      rollback(std::current_exception());
      throw;
    }
    f();
  }

  // How long the open batch may still wait for more pages; nullopt when no batch is open.
  std::optional<Clock::duration> time_left() {
    std::lock_guard lock(m_mutex);
    if (!m_batch) return std::nullopt;
    return std::max(Clock::duration::zero(), m_opened + age() - Clock::now());
  }

 private:
  static Clock::duration age() { return std::chrono::milliseconds(k_batch_age_ms); }
  void rollback(std::exception_ptr cause) {
    if (!m_rolled_back) m_cause = std::move(cause);
    m_rolled_back = true;
    m_batch.reset();
    m_store.records().forget_stored_conversations();
  }
  // Every stream after a rollback stops with the cause (a full disk, naming the store and the fix),
  // whichever of them reports first: the stream that met it may still be joining its fetch thread.
  [[noreturn]] void stop_after_rollback() const {
    if (m_cause) std::rethrow_exception(m_cause);
    throw Failure(Errc::io, "an earlier batch of this pull could not be committed; stopping every stream");
  }
  void commit_locked() {
    if (m_rolled_back) stop_after_rollback();
    if (!m_batch) return;
    m_batch->commit();
    m_batch.reset();
  }

  StateStore& m_store;
  std::mutex m_mutex;
  std::optional<SQLite::Transaction> m_batch;
  Clock::time_point m_opened;
  std::size_t m_records = 0;
  bool m_rolled_back = false;
  std::exception_ptr m_cause;  // what made the first rollback
};

struct LoopContext {
  StateStore& store;
  PageWriter& writer;
  const PullOptions& opts;
  const std::atomic<bool>& failed;  // another stream met a storage failure
  bool stopping() const { return failed || (opts.stop && *opts.stop); }
};

// Fetches page N+1 on a worker thread while page N is written, so the network and the disk overlap
// — unless the stream acknowledges, where fetching N+1 would confirm N to the server before N is safe.
// Calls into the adapter never overlap (each fetch starts after the previous one returned), and only
// the writer writes state: a prefetched page that is never written leaves no trace.
template <class T, class Fetch, class Write>
void page_loop(PullStats& stats, LoopContext& ctx, const Stream& stream, Adapter& adapter, Fetch fetch, Write write) {
  PageWriter& writer = ctx.writer;
  std::string cursor = writer.locked([&] { return ctx.store.records().cursor(stats.connector, stream.name); });
  spdlog::debug("{}/{}: pulling from cursor '{}'", stats.connector, stream.name, cursor);
  auto request = [&](std::string from) { return PullRequest{stream.name, std::move(from), ctx.opts.page_size}; };
  // `spent`, the page written last, is freed on the fetching thread: a page is thousands of small
  // allocations, and the writer is the pull's bottleneck.
  std::optional<Result<Page<T>>> spent;
  // Fetches run on one thread for the whole stream. However the loop ends, its destructor waits for
  // a fetch under way: the fetch references this frame.
  Worker<Result<Page<T>>> fetcher;
  auto fetch_async = [&](std::string from) {
    return fetcher.run([&fetch, req = request(std::move(from)), spent = std::exchange(spent, std::nullopt)]() mutable {
      spent.reset();
      return fetch(req);
    });
  };
  // Waits for the prefetched page; a batch waiting on a slow vendor is committed once it is old.
  auto next_page = [&](std::future<Result<Page<T>>>& pending) {
    while (auto left = writer.time_left()) {
      if (pending.wait_for(*left) == std::future_status::ready) break;
      writer.commit();
    }
    return pending.get();
  };
  std::future<Result<Page<T>>> pending;
  auto stop = [&](Error e) {
    if (e.connector.empty()) e.connector = stats.connector;
    stats.error = std::move(e);
  };
  auto stopped = [&] {
    stop(Error{ctx.failed ? Errc::io : Errc::interrupted,
               ctx.failed ? fmt::format("stream {}: stopped after page {} because the state store could not be "
                                        "written (see the error before this one)",
                                        stream.name, stats.pages)
                          : fmt::format("stream {}: stopped by a signal after page {}; the pages pulled are "
                                        "committed and the next pull resumes after them",
                                        stream.name, stats.pages)});
  };
  if (ctx.stopping()) return stopped();
  if (!stream.acknowledges) pending = fetch_async(cursor);
  for (;;) {
    // Waiting for a page commits a batch that grew old (next_page): its failure is the store's too.
    Result<Page<T>> page = [&] {
      if (stream.acknowledges) return fetch(request(cursor));
      try {
        return next_page(pending);
      } catch (const SQLite::Exception& e) {
        throw storage_failure(
            e, ctx.store.path(),
            fmt::format("committing the pages before page {} of {}/{}", stats.pages + 1, stats.connector, stream.name));
      }
    }();
    if (!page) return stop(std::move(page.error()));
    if (!page->done && page->next_cursor == cursor)
      return stop(Error{Errc::protocol,
                        fmt::format("stream {}: the vendor returned the same page cursor twice; stopping to avoid "
                                    "a loop. The committed pages are kept; report this with the connector's "
                                    "base_url",
                                    stream.name)});
    // A stop asked for while this page was on its way: it is committed, the next is not fetched.
    if (!page->done && !stream.acknowledges && !ctx.stopping()) pending = fetch_async(page->next_cursor);
    stats.requests += page->requests;
    PageStats ps;
    try {
      ps = writer.write([&] { return write(*page); }, stream.acknowledges || page->done);
    } catch (const SQLite::Exception& e) {
      throw storage_failure(e, ctx.store.path(),
                            fmt::format("committing page {} of {}/{}", stats.pages + 1, stats.connector, stream.name));
    }
    if (stream.acknowledges) adapter.committed(stream.name, page->next_cursor);
    for (const auto& n : page->notices) spdlog::warn("{}/{}: the vendor reports: {}", stats.connector, stream.name, n);
    if (!page->notices.empty()) stats.notice = page->notices.back();
    ++stats.pages;
    stats.received += ps.received;
    stats.written += ps.written;
    stats.rejected += ps.rejected;
    spdlog::debug("{}/{}: page {}: {} records, {} new or changed, {} rejected", stats.connector, stream.name,
                  stats.pages, ps.received, ps.written, ps.rejected);
    if (page->done) return;
    if (ctx.stopping()) return stopped();  // a page on its way is dropped; the next pull fetches it
    cursor = page->next_cursor;
    spent.emplace(std::move(page));
  }
}

// A page of a spool stream: the next payloads after the cursor, each mapped by the connector.
Result<Page<Conversation>> spool_page(const std::string& spool_dir, const std::string& connector,
                                      const WebhookReceiver& receiver, const PullRequest& req) {
  if (spool_dir.empty())
    return fail(Errc::config, "no webhook spool directory is configured; set [listen] spool_dir", connector);
  const std::size_t max = req.page_size > 0 ? static_cast<std::size_t>(req.page_size) : k_spool_page;
  auto spooled = read_spool(spool_dir, connector, req.cursor, max);
  if (!spooled) {
    spooled.error().connector = connector;
    return std::unexpected(spooled.error());
  }
  Page<Conversation> page;
  for (const auto& payload : spooled->payloads) receiver.map_webhook(payload, page);
  page.rejects.insert(page.rejects.end(), std::make_move_iterator(spooled->corrupt.begin()),
                      std::make_move_iterator(spooled->corrupt.end()));
  page.next_cursor = std::move(spooled->next_cursor);
  page.done = spooled->done;
  return page;
}

// Every stream of one connector, in turn.
std::vector<PullStats> pull_job(const PullJob& job, LoopContext& ctx) {
  std::vector<PullStats> out;
  Adapter& adapter = *job.adapter;
  const std::string& name = job.name;
  auto& records = ctx.store.records();
  for (const Stream& stream : adapter.streams()) {
    const auto started = Clock::now();
    PullStats stats{name, stream.name};
    auto* conversations = adapter.conversations();
    auto* contacts = adapter.contacts();
    if (stream.spool && adapter.webhooks()) {
      const WebhookReceiver& receiver = *adapter.webhooks();
      // The spool is trimmed once the stream's pages are committed (below).
      page_loop<Conversation>(
          stats, ctx, stream, adapter,
          [&](const PullRequest& r) { return spool_page(job.spool_dir, name, receiver, r); },
          [&](const Page<Conversation>& p) {
            return records.write_conversations(name, stream.name, p.items, p.rejects, p.next_cursor);
          });
    } else if (stream.role == Role::conversations && conversations) {
      page_loop<Conversation>(
          stats, ctx, stream, adapter,
          [conversations](const PullRequest& r) { return conversations->pull_conversations(r); },
          [&](const Page<Conversation>& p) {
            return records.write_conversations(name, stream.name, p.items, p.rejects, p.next_cursor);
          });
    } else if (stream.role == Role::contacts && contacts) {
      page_loop<Contact>(
          stats, ctx, stream, adapter, [contacts](const PullRequest& r) { return contacts->pull_contacts(r); },
          [&](const Page<Contact>& p) {
            return records.write_contacts(name, stream.name, p.items, p.rejects, p.next_cursor);
          });
    } else {
      stats.error = Error{Errc::internal,
                          fmt::format("stream {} has role {}, which this adapter does not play; please report it",
                                      stream.name, to_string(stream.role)),
                          name};
    }
    try {
      // The stream's pages are committed before its figures are recorded (and before the spool is
      // trimmed to what is committed).
      ctx.writer.commit_then([&] {
        if (ctx.opts.stream_committed) ctx.opts.stream_committed(name, stream.name);
        records.record_pull(
            name, stream.name,
            {stats.pages, stats.requests, stats.received, stats.written, stats.rejected,
             stats.error ? stats.error->message : "", stats.error ? to_string(stats.error->code) : "", stats.notice});
        if (stream.spool && stats.pages > 0) trim_spool(job.spool_dir, name, records.cursor(name, stream.name));
      });
    } catch (const SQLite::Exception& e) {
      throw storage_failure(e, ctx.store.path(), fmt::format("recording the pull of {}/{}", name, stream.name));
    }
    stats.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    out.push_back(std::move(stats));
  }
  return out;
}

}  // namespace

std::vector<PullStats> pull_connectors(const std::vector<PullJob>& jobs, StateStore& store, const PullOptions& opts) {
  // Whether every stream that brings messages brings them by time: a bulk load then keeps the index
  // by time (bulk_load.hpp).
  const bool in_time_order = std::ranges::all_of(jobs, [](const PullJob& job) {
    return std::ranges::all_of(job.adapter->streams(),
                               [](const Stream& s) { return s.role != Role::conversations || s.in_time_order; });
  });
  // Only a pull that brings messages loads them in bulk: a contacts-only pull (a CSV export) into an
  // empty store leaves the messages' indexes as they are.
  const bool brings_messages = std::ranges::any_of(jobs, [](const PullJob& job) {
    return std::ranges::any_of(job.adapter->streams(), [](const Stream& s) { return s.role == Role::conversations; });
  });
  bool bulk = false;
  try {
    if (brings_messages) bulk = begin_bulk_load(store, in_time_order);
  } catch (const SQLite::Exception& e) {
    throw storage_failure(e, store.path(), "preparing the first pull into it");
  }
  // A stream whose committed pages are then gone from their source (a server that deletes what was
  // acknowledged, a spool trimmed) must not lose a commit to a power cut or an OS crash: its commits
  // are synced to disk (synchronous = FULL) for this pull, not only ordered (NORMAL, which a process
  // crash cannot undo but a system crash can, the source then fetching them again).
  const bool sources_forget = std::ranges::any_of(jobs, [](const PullJob& job) {
    return std::ranges::any_of(job.adapter->streams(), [](const Stream& s) { return s.acknowledges || s.spool; });
  });
  struct SyncedCommits {
    SQLite::Database* db = nullptr;
    ~SyncedCommits() {
      if (!db) return;
      try {
        db->exec("PRAGMA synchronous = NORMAL");
      } catch (const SQLite::Exception& e) {
        spdlog::warn("restoring synchronous = NORMAL on the state store failed: {}", e.what());
      }
    }
  } synced;
  if (sources_forget) try {
      store.db().exec("PRAGMA synchronous = FULL");
      synced.db = &store.db();
    } catch (const SQLite::Exception& e) {
      throw storage_failure(e, store.path(), "making its commits durable for streams whose sources forget");
    }
  Checkpointer checkpointer(store);
  PageWriter writer(store);
  std::atomic<bool> failed{false};
  LoopContext ctx{store, writer, opts, failed};
  std::vector<std::vector<PullStats>> results(jobs.size());
  std::exception_ptr failure;
  std::mutex failure_mutex;
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i; (i = next++) < jobs.size() && !failed;) {
      try {
        results[i] = pull_job(jobs[i], ctx);
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        failed = true;
      }
    }
  };
  const std::size_t threads = std::min(jobs.size(), opts.jobs > 0 ? opts.jobs : k_default_jobs);
  if (threads <= 1) {
    worker();
  } else {
    std::vector<std::jthread> pool;
    for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  }
  // However the pull ended, the rows it committed get their indexes now; if that fails, the next run
  // that holds the state lock builds them.
  if (bulk) try {
      // The rows are copied into the file while their indexes are built, and each index while the next is.
      checkpointer.now();
      end_bulk_load(store, [&] { checkpointer.now(); });
    } catch (const Failure& f) {
      if (failure) {
        spdlog::error("{}", f.what());
      } else {
        failure = std::current_exception();
      }
    }
  if (failure) std::rethrow_exception(failure);
  std::vector<PullStats> out;
  for (auto& r : results) out.insert(out.end(), std::make_move_iterator(r.begin()), std::make_move_iterator(r.end()));
  return out;
}

std::vector<PullStats> pull_connector(const std::string& name, Adapter& adapter, StateStore& store, int page_size,
                                      const std::string& spool_dir) {
  return pull_connectors({PullJob{name, &adapter, spool_dir}}, store, PullOptions{.page_size = page_size});
}

}  // namespace chansync
