#include "tests/support/page_tap.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <type_traits>

namespace chansync::test {

// Fetches never overlap (the page loop starts the next one after the previous returned), so the
// bookkeeping needs no lock even though the prefetch runs on another thread.
template <class T, class Fetch>
Result<Page<T>> PageTap::tap(const PullRequest& req, std::vector<T>& seen, Fetch fetch) {
  std::size_t& pages = m_pages[req.stream];
  if (m_limits.stop_after > 0 && pages >= m_limits.stop_after) return fail(Errc::unavailable, k_interrupted);
  if (pages >= m_limits.bound)
    return fail(Errc::protocol, fmt::format("stream {} is not done after {} pages", req.stream, pages));
  auto page = fetch(req);
  if (!page) return page;
  ++pages;
  m_done[req.stream] = page->done;
  if constexpr (std::is_same_v<T, Conversation>) {
    std::optional<std::pair<Timestamp, Timestamp>> span;
    for (const auto& c : page->items)
      for (const auto& m : c.messages)
        if (m.sent_at > 0)
          span = span ? std::pair{std::min(span->first, m.sent_at), std::max(span->second, m.sent_at)}
                      : std::pair{m.sent_at, m.sent_at};
    if (span) m_spans[req.stream].push_back(*span);
  }
  seen.insert(seen.end(), page->items.begin(), page->items.end());
  m_rejects.insert(m_rejects.end(), page->rejects.begin(), page->rejects.end());
  return page;
}

Result<Page<Conversation>> PageTap::pull_conversations(const PullRequest& req) {
  auto* source = m_inner->conversations();
  if (!source) return fail(Errc::internal, "the wrapped adapter has no conversations role");
  return tap(req, m_conversations, [source](const PullRequest& r) { return source->pull_conversations(r); });
}

Result<Page<Contact>> PageTap::pull_contacts(const PullRequest& req) {
  auto* source = m_inner->contacts();
  if (!source) return fail(Errc::internal, "the wrapped adapter has no contacts role");
  return tap(req, m_contacts, [source](const PullRequest& r) { return source->pull_contacts(r); });
}

std::vector<Stream> PageTap::streams() const {
  auto out = m_inner->streams();
  std::erase_if(out, [](const Stream& s) { return s.spool; });
  return out;
}

std::size_t PageTap::pages(const std::string& stream) const {
  auto it = m_pages.find(stream);
  return it == m_pages.end() ? 0 : it->second;
}

std::vector<std::pair<Timestamp, Timestamp>> PageTap::sent_spans(const std::string& stream) const {
  auto it = m_spans.find(stream);
  return it == m_spans.end() ? std::vector<std::pair<Timestamp, Timestamp>>{} : it->second;
}

bool PageTap::done(const std::string& stream) const {
  auto it = m_done.find(stream);
  return it != m_done.end() && it->second;
}

}  // namespace chansync::test
