#pragma once
// Shared by the hubspot target's tests: the sink on a fake HubSpot, persons with messages, the
// items of a first and a later push, and the requests and outcomes a push left.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "adapters/hubspot/hubspot_notes.hpp"
#include "adapters/registry.hpp"
#include "sync/push.hpp"
#include "sync/reconcile.hpp"
#include "sync/state_store.hpp"
#include "tests/support/fake_hubspot.hpp"
#include "tests/support/log_capture.hpp"

namespace chansync::test::hubspot_sink {

using test::FakeHubSpot;
using test::FakeServer;

inline constexpr const char* k_upsert = "/crm/v3/objects/contacts/batch/upsert";
inline constexpr const char* k_notes = "/crm/v3/objects/notes/batch/upsert";
inline constexpr const char* k_marks = "/crm/v3/objects/contacts/batch/update";

struct Options {
  std::string token = FakeHubSpot::k_token;
  std::string note_property = "chansync_note_id";
  std::vector<std::chrono::milliseconds>* sleeps = nullptr;
};

inline std::unique_ptr<Adapter> hubspot(const std::string& base_url, const Options& o = {}) {
  EndpointConfig cfg{"hs", "hubspot"};
  cfg.options = {{"base_url", base_url},
                 {"id_property", "chansync_person_id"},
                 {"note_id_property", o.note_property},
                 {"noted_property", "chansync_noted_through"}};
  cfg.secrets = {{"token", o.token}};
  auto* sleeps = o.sleeps;
  return adapters::create_adapter(cfg, "DE", [sleeps](auto d) {
    if (sleeps) sleeps->push_back(d);
  });
}

inline Message message(int person, int i, std::string text = "") {
  return {"sms",
          "SM" + std::to_string(person) + "-" + std::to_string(i),
          "c" + std::to_string(person),
          "sms",
          Direction::inbound,
          AuthorKind::customer,
          "+49151123456" + std::to_string(10 + person),
          1'700'000'000'000 + Timestamp{i} * 60'000,
          text.empty() ? "hello " + std::to_string(i) : text};
}

inline PersonRecord person(int i, int messages = 1, const std::string& email = "") {
  PersonRecord p{"p_" + std::to_string(i), "Kim Lee" + std::to_string(i)};
  p.handles = {{HandleKind::email, email.empty() ? "kim" + std::to_string(i) + "@example.com" : email},
               {HandleKind::phone, "+49151123456" + std::to_string(10 + i)}};
  for (int m = 0; m < messages; ++m) p.messages.push_back(message(i, m));
  return p;
}

inline std::vector<PushItem> items(const std::vector<PersonRecord>& persons) {
  std::vector<PushItem> out;
  for (const auto& p : persons) out.push_back({&p, std::nullopt});
  return out;
}

// The items of a later push: each person with the ledger entry the first push left.
inline std::vector<PushItem> again(const std::vector<PersonRecord>& persons, const std::vector<PushOutcome>& first) {
  auto out = items(persons);
  for (auto& item : out)
    for (const auto& o : first)
      if (o.person_id == item.record->person_id)
        item.previous = PushLedgerEntry{o.person_id, content_hash(*item.record), o.remote_id};
  return out;
}

inline std::size_t count(FakeServer& server, const std::string& path) {
  std::size_t n = 0;
  for (const auto& r : server.requests()) n += r.path == path;
  return n;
}

inline const PushOutcome& outcome(const std::vector<PushOutcome>& out, const std::string& person_id) {
  for (const auto& o : out)
    if (o.person_id == person_id) {
      if (o.error) UNSCOPED_INFO(person_id << ": " << o.error->describe());
      return o;
    }
  FAIL("no outcome for " << person_id);
  return out.front();
}

// Three SMS customers (+4915112345670..72), one message each, committed to `store` as connector sms.
inline void commit_three_sms(StateStore& store) {
  std::vector<Conversation> page;
  for (int i = 0; i < 3; ++i) {
    const std::string number = "+49151123456" + std::to_string(70 + i);
    page.push_back({"sms",
                    "c" + std::to_string(i),
                    "sms",
                    {HandleKind::phone, number, true},
                    "+4930123456",
                    {{"sms", "m" + std::to_string(i), "c" + std::to_string(i), "sms", Direction::inbound,
                      AuthorKind::customer, number, 1000, "hi"}}});
  }
  store.records().commit_conversations("sms", "conversations", page, {}, "x");
}

}  // namespace chansync::test::hubspot_sink
