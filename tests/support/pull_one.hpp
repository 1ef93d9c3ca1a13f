#pragma once
// Pulls the one stream a connector pulls itself and returns that stream's figures. Streams read from
// the webhook spool (Stream::spool) are left out: the adapter is never asked to pull them.
#include <catch2/catch.hpp>

#include "sync/pull.hpp"

namespace chansync::test {

// `inner`'s roles and streams, without its spool streams.
class WithoutSpool final : public Adapter, public ConversationSource, public ContactSource {
 public:
  explicit WithoutSpool(Adapter& inner) : m_inner(inner) {}
  HealthReport probe() override { return m_inner.probe(); }
  std::vector<Stream> streams() const override {
    auto out = m_inner.streams();
    std::erase_if(out, [](const Stream& s) { return s.spool; });
    return out;
  }
  void committed(const std::string& stream, const std::string& cursor) override { m_inner.committed(stream, cursor); }
  std::vector<std::string> own_handles() const override { return m_inner.own_handles(); }
  Result<Page<Conversation>> pull_conversations(const PullRequest& req) override {
    if (!m_inner.conversations()) return fail(Errc::internal, "the wrapped adapter has no conversations role");
    return m_inner.conversations()->pull_conversations(req);
  }
  Result<Page<Contact>> pull_contacts(const PullRequest& req) override {
    if (!m_inner.contacts()) return fail(Errc::internal, "the wrapped adapter has no contacts role");
    return m_inner.contacts()->pull_contacts(req);
  }

 private:
  Adapter& m_inner;
};

inline PullStats pull_one(const std::string& name, Adapter& adapter, StateStore& store, int page_size = 0) {
  WithoutSpool pulled(adapter);
  auto all = pull_connector(name, pulled, store, page_size);
  REQUIRE(all.size() == 1);
  return all.front();
}

}  // namespace chansync::test
