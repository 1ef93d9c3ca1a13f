#include "sync/pull.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <future>

#include "sync/spool.hpp"

namespace chansync {
namespace {

// Fetches page N+1 on a worker thread while page N is committed, so the network and the disk overlap
// — unless the stream acknowledges, where fetching N+1 would confirm N to the server before N is safe.
// Calls into the adapter never overlap (each fetch starts after the previous one returned), and only
// the calling thread writes state: a prefetched page that is never committed leaves no trace.
template <class T, class Fetch, class Commit>
void page_loop(PullStats& stats, StateStore& store, const Stream& stream, int page_size, Adapter& adapter, Fetch fetch,
               Commit commit) {
  std::string cursor = store.records().cursor(stats.connector, stream.name);
  spdlog::debug("{}/{}: pulling from cursor '{}'", stats.connector, stream.name, cursor);
  auto request = [&](std::string from) { return PullRequest{stream.name, std::move(from), page_size}; };
  auto fetch_async = [&](std::string from) {
    return std::async(std::launch::async, [&fetch, req = request(std::move(from))] { return fetch(req); });
  };
  std::future<Result<Page<T>>> pending;
  if (!stream.acknowledges) pending = fetch_async(cursor);
  for (;;) {
    Result<Page<T>> page = stream.acknowledges ? fetch(request(cursor)) : pending.get();
    if (!page) {
      Error e = std::move(page.error());
      if (e.connector.empty()) e.connector = stats.connector;
      stats.error = std::move(e);
      return;
    }
    if (!page->done && page->next_cursor == cursor) {
      stats.error = Error{Errc::protocol,
                          fmt::format("stream {}: the vendor returned the same page cursor twice; stopping to avoid "
                                      "a loop. The committed pages are kept; report this with the connector's "
                                      "base_url",
                                      stream.name),
                          stats.connector};
      return;
    }
    if (!page->done && !stream.acknowledges) pending = fetch_async(page->next_cursor);
    stats.requests += page->requests;
    PageStats ps;
    try {
      ps = commit(*page);
    } catch (const SQLite::Exception& e) {
      if (pending.valid()) pending.wait();  // the prefetch references this frame
      throw storage_failure(e, store.path(),
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
    cursor = page->next_cursor;
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

}  // namespace

std::vector<PullStats> pull_connector(const std::string& name, Adapter& adapter, StateStore& store, int page_size,
                                      const std::string& spool_dir) {
  std::vector<PullStats> out;
  for (const Stream& stream : adapter.streams()) {
    PullStats stats{name, stream.name};
    auto* conversations = adapter.conversations();
    auto* contacts = adapter.contacts();
    if (stream.spool && adapter.webhooks()) {
      const WebhookReceiver& receiver = *adapter.webhooks();
      page_loop<Conversation>(
          stats, store, stream, page_size, adapter,
          [&](const PullRequest& r) { return spool_page(spool_dir, name, receiver, r); },
          [&](const Page<Conversation>& p) {
            auto ps = store.records().commit_conversations(name, stream.name, p.items, p.rejects, p.next_cursor);
            trim_spool(spool_dir, name, p.next_cursor);
            return ps;
          });
    } else if (stream.role == Role::conversations && conversations) {
      page_loop<Conversation>(
          stats, store, stream, page_size, adapter,
          [conversations](const PullRequest& r) { return conversations->pull_conversations(r); },
          [&](const Page<Conversation>& p) {
            return store.records().commit_conversations(name, stream.name, p.items, p.rejects, p.next_cursor);
          });
    } else if (stream.role == Role::contacts && contacts) {
      page_loop<Contact>(
          stats, store, stream, page_size, adapter,
          [contacts](const PullRequest& r) { return contacts->pull_contacts(r); },
          [&](const Page<Contact>& p) {
            return store.records().commit_contacts(name, stream.name, p.items, p.rejects, p.next_cursor);
          });
    } else {
      stats.error = Error{Errc::internal,
                          fmt::format("stream {} has role {}, which this adapter does not play; please report it",
                                      stream.name, to_string(stream.role)),
                          name};
    }
    try {
      store.records().record_pull(
          name, stream.name,
          {stats.pages, stats.requests, stats.received, stats.written, stats.rejected,
           stats.error ? stats.error->message : "", stats.error ? to_string(stats.error->code) : "", stats.notice});
    } catch (const SQLite::Exception& e) {
      throw storage_failure(e, store.path(), fmt::format("recording the pull of {}/{}", name, stream.name));
    }
    out.push_back(std::move(stats));
  }
  return out;
}

}  // namespace chansync
