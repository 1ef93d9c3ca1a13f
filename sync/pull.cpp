#include "sync/pull.hpp"

#include <spdlog/spdlog.h>

#include <future>

namespace chansync {
namespace {

// Fetches page N+1 on a worker thread while page N is committed, so the network and the disk overlap.
// Calls into the adapter never overlap (each fetch starts after the previous one returned), and only
// the committing thread writes state: a prefetched page that is never committed leaves no trace.
template <class T, class Fetch, class Commit>
void page_loop(PullStats& stats, StateStore& store, int page_size, Fetch fetch, Commit commit) {
  std::string cursor = store.cursor(stats.connector);
  spdlog::debug("{}: pulling from cursor '{}'", stats.connector, cursor);
  auto fetch_async = [&](std::string from) {
    return std::async(std::launch::async, [&fetch, page_size, from = std::move(from)] {
      return fetch(PullRequest{from, page_size});
    });
  };
  std::future<Result<Page<T>>> pending = fetch_async(cursor);
  for (;;) {
    Result<Page<T>> page = pending.get();
    if (!page) {
      Error e = std::move(page.error());
      if (e.connector.empty()) e.connector = stats.connector;
      stats.error = std::move(e);
      return;
    }
    if (!page->done && page->next_cursor == cursor) {
      stats.error = Error{Errc::protocol,
                          "the vendor returned the same page cursor twice; stopping to avoid a loop. The "
                          "committed pages are kept; report this with the connector's base_url",
                          stats.connector};
      return;
    }
    if (!page->done) pending = fetch_async(page->next_cursor);
    stats.requests += page->requests;
    const PageStats ps = commit(*page);
    ++stats.pages;
    stats.received += ps.received;
    stats.written += ps.written;
    stats.rejected += ps.rejected;
    spdlog::debug("{}: page {}: {} records, {} written", stats.connector, stats.pages, ps.received, ps.written);
    if (page->done) return;
    cursor = page->next_cursor;
  }
}

}  // namespace

PullStats pull_connector(const std::string& name, Adapter& adapter, StateStore& store, int page_size) {
  PullStats stats{name};
  if (auto* src = adapter.conversations()) {
    page_loop<Conversation>(
        stats, store, page_size, [&](const PullRequest& r) { return src->pull_conversations(r); },
        [&](const Page<Conversation>& p) {
          return store.commit_conversations(name, p.items, p.rejects, p.next_cursor);
        });
  } else if (auto* contacts = adapter.contacts()) {
    page_loop<Contact>(
        stats, store, page_size, [&](const PullRequest& r) { return contacts->pull_contacts(r); },
        [&](const Page<Contact>& p) { return store.commit_contacts(name, p.items, p.rejects, p.next_cursor); });
  }
  return stats;
}

}  // namespace chansync
