#pragma once
// Shared by the chatwoot target's tests: a fake Chatwoot account on a loopback port, person records
// and batches for it, and a store seeded with SMS threads.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "adapters/chatwoot/chatwoot_api.hpp"
#include "adapters/registry.hpp"
#include "adapters/stop_waits.hpp"
#include "sync/push.hpp"
#include "sync/reconcile.hpp"
#include "tests/support/fake_chatwoot.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/past_url_check.hpp"

namespace chansync::test::chatwoot {

using chansync::test::LogCapture;
using test::FakeChatwoot;
using test::FakeServer;
using test::Recorded;
using test::Scripted;

inline constexpr Timestamp k_t0 = 1'700'000'000'000;

// A fake Chatwoot account served on a loopback port.
struct Chatwoot {
  explicit Chatwoot(std::string token = FakeChatwoot::k_token, std::string channel_type = "Channel::Api")
      : fake(std::move(token), std::move(channel_type)) {}
  FakeChatwoot fake;
  FakeServer server{[this](const httplib::Request& req, std::size_t) { return fake.handle(req); }};  // stops first

  std::unique_ptr<Adapter> adapter(std::int64_t inbox = FakeChatwoot::k_inbox) {
    return adapters::create_adapter(config(server.base_url(), inbox), "DE", [](auto) {});
  }
  static EndpointConfig config(const std::string& base_url, std::int64_t inbox = FakeChatwoot::k_inbox) {
    EndpointConfig cfg{"inbox", "chatwoot"};
    cfg.options = {{"base_url", base_url}, {"account_id", FakeChatwoot::k_account}, {"inbox_id", inbox}};
    cfg.secrets = {{"token", FakeChatwoot::k_token}};
    return cfg;
  }
  // Requests so far with this method whose path contains `part`.
  std::size_t count(const std::string& method, const std::string& part) {
    std::size_t n = 0;
    for (const auto& r : server.requests()) n += r.method == method && r.path.find(part) != std::string::npos;
    return n;
  }
  // An agent's reply posted in Chatwoot to the conversation (through the API, as the dashboard does).
  void agent_reply(std::int64_t conversation_id) {
    httplib::Client client(server.base_url());
    const auto r = client.Post(
        fmt::format("/api/v1/accounts/{}/conversations/{}/messages", FakeChatwoot::k_account, conversation_id),
        httplib::Headers{{"api_access_token", FakeChatwoot::k_token}},
        R"({"content":"agent reply","message_type":"outgoing"})", "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
  }
  const FakeChatwoot::Conversation* conversation(const std::string& source_id) {
    m_conversations = fake.conversations();
    for (const auto& c : m_conversations)
      if (c.source_id == source_id) return &c;
    return nullptr;
  }

 private:
  std::vector<FakeChatwoot::Conversation> m_conversations;
};

inline Message message(const std::string& id, const std::string& channel, Direction d, Timestamp t, std::string text,
                       std::string handle) {
  return {"twilio", id, "c-" + channel, channel, d, d == Direction::inbound ? AuthorKind::customer : AuthorKind::agent,
          handle,   t,  std::move(text)};
}

// A person on SMS and WhatsApp who is also a CRM contact.
inline PersonRecord anna() {
  PersonRecord p{
      "p_anna", "Anna Müller", {{HandleKind::email, "anna@example.com"}, {HandleKind::phone, "+4915112345670"}}};
  p.contacts = {{"crm", "51", "Anna", "Müller", {{HandleKind::email, "anna@example.com"}}, false, k_t0}};
  p.messages = {message("SM1", "sms", Direction::inbound, k_t0, "Hallo, ist mein Paket unterwegs?", "+4915112345670"),
                message("SM2", "sms", Direction::outbound, k_t0 + 60'000, "Ja, morgen.", "+4930123456"),
                message("WA1", "whatsapp", Direction::inbound, k_t0 + 120'000, "Danke 👋", "+4915112345670")};
  return p;
}

// A person with one SMS thread of `messages` messages.
inline PersonRecord sms_person(int i, int messages = 1) {
  const std::string phone = "+4915112345" + std::to_string(600 + i);
  PersonRecord p{"p_" + std::to_string(1000 + i), "Person " + std::to_string(i), {{HandleKind::phone, phone}}};
  for (int m = 0; m < messages; ++m)
    p.messages.push_back(message(fmt::format("SM{}-{}", i, m), "sms", Direction::inbound, k_t0 + m * 1000,
                                 fmt::format("message {}", m), phone));
  return p;
}

inline std::vector<PushItem> items(const std::vector<PersonRecord>& persons) {
  std::vector<PushItem> out;
  for (const auto& p : persons) out.push_back({&p, std::nullopt});
  return out;
}

// The contact id in a remote id ("123;sms=45": the contact, then each channel's conversation).
inline std::string contact_of(const std::string& remote_id) {
  return remote_id.substr(0, remote_id.find(';'));
}

// A remote id without the marks of what each conversation held and the digests of the contact's
// email and phone ("123;sms=45:812:40:<digest>:;@phone=<digest>" -> "123;sms=45").
inline std::string without_marks(const std::string& remote_id) {
  std::string out;
  for (std::size_t at = 0; at < remote_id.size();) {
    const auto next = std::min(remote_id.find(';', at), remote_id.size());
    const auto item = remote_id.substr(at, next - at);
    if (!item.starts_with('@')) out += (at ? ";" : "") + item.substr(0, item.find(':'));
    at = next + 1;
  }
  return out;
}

inline PushItem again(const PersonRecord& p, const PushOutcome& before) {
  return {&p, PushLedgerEntry{p.person_id, "h", before.remote_id}};
}

// Every chansync message id in the account, with how often it is there.
inline std::map<std::string, int> message_ids(const std::vector<FakeChatwoot::Conversation>& conversations) {
  std::map<std::string, int> out;
  for (const auto& c : conversations)
    for (const auto& m : c.messages)
      if (m.content_attributes.contains("chansync_id")) ++out[m.content_attributes["chansync_id"].get<std::string>()];
  return out;
}

// Persons p1..p<n> in a fresh store, each with one SMS thread of `messages` messages.
inline void seed(StateStore& store, int n, int messages) {
  std::vector<Conversation> page;
  for (int i = 0; i < n; ++i) {
    const std::string id = "c" + std::to_string(i), number = "+49151123456" + std::to_string(70 + i);
    Conversation c{"sms", id, "sms", {HandleKind::phone, number, true}, "+4930123456", {}};
    for (int m = 0; m < messages; ++m)
      c.messages.push_back({"sms", id + "-m" + std::to_string(m), id, "sms", Direction::inbound, AuthorKind::customer,
                            number, k_t0 + m, "hi " + std::to_string(m)});
    page.push_back(std::move(c));
  }
  store.records().commit_conversations("sms", "conversations", page, {}, "x");
  int k = 0;
  store.identity().save(reconcile(store.identity().input({}), [&] { return "p" + std::to_string(++k); }));
}

}  // namespace chansync::test::chatwoot
