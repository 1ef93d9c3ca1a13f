#pragma once
// PageTap: a source adapter wrapped for pipeline tests. It forwards every call to the adapter it
// wraps and keeps what each page returned; it can stop each stream after a number of pages (an
// interrupted pull) and fails a stream that is still not done after a bound (a pager that never ends).
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sync/adapter.hpp"

namespace chansync::test {

class PageTap final : public Adapter, public ConversationSource, public ContactSource {
 public:
  struct Limits {
    std::size_t stop_after = 0;  // > 0: the fetch after this many pages of a stream fails (k_interrupted)
    std::size_t bound = 100;     // a stream that has returned this many pages without done fails
  };
  // The message of the error a stopped stream reports.
  static constexpr const char* k_interrupted = "interrupted by the test";

  PageTap(std::unique_ptr<Adapter> inner, Limits limits) : m_inner(std::move(inner)), m_limits(limits) {}

  HealthReport probe() override { return m_inner->probe(); }
  // The wrapped adapter's streams except those read from the webhook spool: the adapter is never
  // asked to pull a spool stream (the pipeline reads the spool and calls map_webhook), so a tap that
  // counts an adapter's own pages has nothing to count there.
  std::vector<Stream> streams() const override;
  void committed(const std::string& stream, const std::string& cursor) override { m_inner->committed(stream, cursor); }
  std::vector<std::string> own_handles() const override { return m_inner->own_handles(); }
  // Forwarded to the wrapped adapter's role; Errc::internal when it does not play it.
  Result<Page<Conversation>> pull_conversations(const PullRequest& req) override;
  Result<Page<Contact>> pull_contacts(const PullRequest& req) override;

  // Pages a stream returned through this tap.
  std::size_t pages(const std::string& stream) const;
  // Whether the stream's last page said done.
  bool done(const std::string& stream) const;
  // Everything the pages returned, in fetch order.
  const std::vector<Conversation>& pulled_conversations() const { return m_conversations; }
  const std::vector<Contact>& pulled_contacts() const { return m_contacts; }
  const std::vector<DeadLetter>& pulled_rejects() const { return m_rejects; }
  // The earliest and latest sent_at of each page of a conversation stream that held a dated message,
  // in fetch order.
  std::vector<std::pair<Timestamp, Timestamp>> sent_spans(const std::string& stream) const;

 private:
  template <class T, class Fetch>
  Result<Page<T>> tap(const PullRequest& req, std::vector<T>& seen, Fetch fetch);

  std::unique_ptr<Adapter> m_inner;
  Limits m_limits;
  std::map<std::string, std::size_t> m_pages;
  std::map<std::string, bool> m_done;
  std::vector<Conversation> m_conversations;
  std::vector<Contact> m_contacts;
  std::vector<DeadLetter> m_rejects;
  std::map<std::string, std::vector<std::pair<Timestamp, Timestamp>>> m_spans;
};

}  // namespace chansync::test
