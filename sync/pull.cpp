#include "sync/pull.hpp"

#include <spdlog/spdlog.h>

namespace chansync {
namespace {

template <class T, class Fetch, class Commit>
void page_loop(PullStats& stats, StateStore& store, int page_size, Fetch fetch, Commit commit) {
  std::string cursor = store.cursor(stats.connector);
  spdlog::debug("{}: pulling from cursor '{}'", stats.connector, cursor);
  for (;;) {
    Result<Page<T>> page = fetch(PullRequest{cursor, page_size});
    if (!page) {
      Error e = std::move(page.error());
      if (e.connector.empty()) e.connector = stats.connector;
      stats.error = std::move(e);
      return;
    }
    stats.requests += page->requests;
    const PageStats ps = commit(*page);
    ++stats.pages;
    stats.received += ps.received;
    stats.written += ps.written;
    stats.rejected += ps.rejected;
    spdlog::debug("{}: page {}: {} records, {} written", stats.connector, stats.pages, ps.received, ps.written);
    if (page->done) return;
    if (page->next_cursor == cursor) {
      stats.error = Error{Errc::protocol,
                          "the vendor returned the same page cursor twice; stopping to avoid a loop. The "
                          "committed pages are kept; report this with the connector's base_url",
                          stats.connector};
      return;
    }
    cursor = page->next_cursor;
  }
}

}  // namespace

PullStats pull_connector(const std::string& name, Adapter& adapter, StateStore& store, int page_size) {
  PullStats stats{name};
  if (auto* src = adapter.conversations()) {
    page_loop<Conversation>(
        stats, store, page_size, [&](const PullRequest& r) { return src->pull_conversations(r); },
        [&](const Page<Conversation>& p) { return store.commit_conversations(name, p.items, p.rejects, p.next_cursor); });
  } else if (auto* contacts = adapter.contacts()) {
    page_loop<Contact>(
        stats, store, page_size, [&](const PullRequest& r) { return contacts->pull_contacts(r); },
        [&](const Page<Contact>& p) { return store.commit_contacts(name, p.items, p.rejects, p.next_cursor); });
  }
  return stats;
}

}  // namespace chansync
