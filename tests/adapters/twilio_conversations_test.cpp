#include <fmt/format.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "adapters/registry.hpp"
#include "sync/pull.hpp"
#include "sync/reconcile.hpp"
#include "sync/state_store.hpp"
#include "tests/support/fake_server.hpp"
#include "tests/support/fake_twilio_conversations.hpp"
#include "tests/support/past_url_check.hpp"
#include "tests/support/pull_one.hpp"
#include "tests/support/twilio_rig.hpp"

using namespace chansync;
using test::FakeServer;
using test::Scripted;

namespace {

constexpr const char* k_service = "IS0123456789abcdef0123456789abcdef";
constexpr const char* k_token = "conv-secret-token-4711";
const std::string k_ch1 = "CH00000000000000000000000000000001", k_ch2 = "CH00000000000000000000000000000002";

struct Rig {
  std::vector<std::chrono::milliseconds> sleeps;
  std::unique_ptr<Adapter> adapter;
  explicit Rig(const std::string& base_url, const std::string& service = "") {
    EndpointConfig cfg{"conv", "twilio-conversations"};
    cfg.options = {{"account_sid", test::k_twilio_sid},
                   {"own_numbers", {"+4930123456"}},
                   {"agent_identities", {"agent.lena"}},
                   {"base_url", base_url}};
    if (!service.empty()) cfg.options["service_sid"] = service;
    cfg.secrets = {{"auth_token", k_token}};
    // Past the URL check: some tests put credentials in base_url (past_url_check.hpp).
    adapter = test::create_past_url_check(cfg, [this](std::chrono::milliseconds d) { sleeps.push_back(d); });
  }
};

Scripted wire_at(const httplib::Request& req, const std::string& path) {
  return test::twilio_conversations_replay(req, path);
}

Scripted wire(const httplib::Request& req, std::size_t) {
  return wire_at(req, req.path);
}

const Conversation& conversation(const std::vector<Page<Conversation>>& pages, const std::string& id) {
  for (const auto& p : pages)
    for (const auto& c : p.items)
      if (c.id == id) return c;
  FAIL("no conversation " << id);
  throw;
}

// Pulls a whole pass by hand, page by page, returning the pages.
std::vector<Page<Conversation>> pass(Adapter& a, std::string cursor = "", int page_size = 2) {
  std::vector<Page<Conversation>> out;
  for (int i = 0; i < 10; ++i) {
    auto page = a.conversations()->pull_conversations({"conversations", cursor, page_size});
    INFO((page ? std::string("ok") : page.error().describe()));
    REQUIRE(page);
    cursor = page->next_cursor;
    out.push_back(std::move(*page));
    if (out.back().done) return out;
  }
  FAIL("the pass did not end");
  return out;
}

}  // namespace

TEST_CASE("twilio-conversations follows absolute next_page_urls to the end of every list", "[twilio-conversations]") {
  FakeServer server(wire);
  Rig rig(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("conv", *rig.adapter, store, 2);
  REQUIRE_FALSE(stats.error);
  CHECK(stats.pages == 2);
  CHECK(stats.received == 8);
  CHECK(stats.rejected == 4);
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 11);
  CHECK(reqs[0].path == "/v1/Conversations");
  CHECK(reqs[0].params.find("PageSize")->second == "2");
  CHECK(reqs[0].authorization.starts_with("Basic "));
  CHECK(reqs[1].path == "/v1/Conversations/" + k_ch1 + "/Participants");
  CHECK(reqs[2].path == "/v1/Conversations/" + k_ch1 + "/Messages");
  CHECK(reqs[3].params.find("PageToken")->second == "PTIM00000000000000000000000000000102");  // its second page
  CHECK(reqs[6].path == "/v1/Conversations");
  CHECK(reqs[6].params.find("PageToken")->second == "PTCH00000000000000000000000000000002");
  CHECK(reqs[10].path == "/v1/Conversations/CH00000000000000000000000000000004/Messages");
  const auto cursor = nlohmann::json::parse(store.records().cursor("conv", "conversations"));
  CHECK(cursor.at("since") == *parse_rfc3339("2026-10-02T10:00:00Z"));  // the newest date_updated
  CHECK_FALSE(cursor.contains("next"));
}

TEST_CASE("twilio-conversations with credentials in base_url: next_page_urls are followed, errors name no password",
          "[twilio-conversations]") {
  FakeServer server(wire);
  const std::string with_credentials = server.base_url_with_credentials();
  {
    // Twilio's next_page_url names the host without them: the same origin all the same.
    Rig rig(with_credentials);
    StateStore store(":memory:");
    const auto stats = test::pull_one("conv", *rig.adapter, store, 2);
    REQUIRE_FALSE(stats.error);
    CHECK(stats.pages == 2);
    CHECK(stats.received == 8);
    CHECK(server.requests().size() == 11);
  }
  FakeServer truncated([](const httplib::Request& req, std::size_t n) {
    if (req.path.ends_with("/Messages")) return Scripted{200, R"({"messages": [{"sid": "IM)"};
    return wire(req, n);
  });
  Rig rig(truncated.base_url_with_credentials());
  StateStore store(":memory:");
  const auto stats = test::pull_one("conv", *rig.adapter, store, 2);
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::protocol);
  CHECK_THAT(stats.error->message, Catch::Contains("(from http://127.0.0.1:") && Catch::Contains("/Messages)") &&
                                       !Catch::Contains("url-password-17"));
}

TEST_CASE("twilio-conversations sets the channel from the binding address and keeps one customer across them",
          "[twilio-conversations]") {
  FakeServer server(wire);
  Rig rig(server.base_url());
  const auto pages = pass(*rig.adapter);
  const auto& sms = conversation(pages, k_ch1);
  CHECK(sms.channel == "sms");
  CHECK(sms.customer == Handle{HandleKind::phone, "+4915112345678", true});
  CHECK(sms.business == "+4930123456");
  const auto& wa = conversation(pages, k_ch2);
  CHECK(wa.channel == "whatsapp");  // "whatsapp:+4915112345678"
  CHECK(wa.customer == sms.customer);
  CHECK(wa.business == "+4930123456");
  REQUIRE(wa.messages.size() == 2);
  CHECK(wa.messages[0].channel == "whatsapp");
  CHECK(wa.messages[0].author_handle == "+4915112345678");
  CHECK(wa.messages[0].direction == Direction::inbound);

  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("conv", *rig.adapter, store, 2).error);
  std::set<std::string> customers;  // SMS and WhatsApp share one; the web chat has its own
  for (const auto& h : store.identity().input({}).conversation_handles) customers.insert(h.key());
  CHECK(customers ==
        std::set<std::string>{"phone:+4915112345678", std::string("chat_identity:") + k_service + ":anna.web"});
  const auto a = store.records().message("conv", "IM00000000000000000000000000000101");  // SMS
  const auto b = store.records().message("conv", "IM00000000000000000000000000000201");  // WhatsApp
  REQUIRE((a && b));
  CHECK(a->channel == "sms");
  CHECK(b->channel == "whatsapp");
  CHECK(a->author_handle == b->author_handle);  // the same person's handle on both
}

TEST_CASE("twilio-conversations maps agents, the system and media; chat users get chat_identity handles",
          "[twilio-conversations]") {
  FakeServer server(wire);
  Rig rig(server.base_url());
  const auto pages = pass(*rig.adapter);
  const auto& sms = conversation(pages, k_ch1);
  REQUIRE(sms.messages.size() == 4);
  const auto& in = sms.messages[0];
  CHECK(in.id == "IM00000000000000000000000000000101");
  CHECK(in.direction == Direction::inbound);
  CHECK(in.author_kind == AuthorKind::customer);
  CHECK(in.text == "Hallo, wo bleibt meine Bestellung? 📦");
  CHECK(in.sent_at == *parse_rfc3339("2026-10-01T09:00:00Z"));
  const auto& agent = sms.messages[1];  // agent.lena, a listed chat identity
  CHECK(agent.direction == Direction::outbound);
  CHECK(agent.author_kind == AuthorKind::agent);
  CHECK(agent.author_handle == "agent.lena");
  CHECK(agent.status == "read");  // delivery: read "all"
  const auto& system = sms.messages[2];
  CHECK(system.author_kind == AuthorKind::system);
  CHECK(system.direction == Direction::outbound);
  CHECK(system.status == "failed");
  const auto& media = sms.messages[3];
  CHECK(media.text.empty());
  CHECK(media.kind == MessageKind::message);
  CHECK(media.attachments == std::vector<Attachment>{{"image", "parcel.jpg", ""}});
  CHECK(media.author_kind == AuthorKind::customer);

  // Not listed, but a chat user answering a WhatsApp customer: the business's.
  const auto& unlisted = conversation(pages, k_ch2).messages[1];
  CHECK(unlisted.author_kind == AuthorKind::agent);
  CHECK(unlisted.author_handle == "agent.jonas");
  CHECK(unlisted.status == "sent");

  const auto& chat = conversation(pages, "CH00000000000000000000000000000003");
  CHECK(chat.channel == "chat");
  CHECK(chat.customer == Handle{HandleKind::chat_identity, std::string(k_service) + ":anna.web", true});
  REQUIRE(chat.messages.size() == 2);
  CHECK(chat.messages[0].author_kind == AuthorKind::customer);
  CHECK(chat.messages[0].author_handle == chat.customer.value);
  CHECK(chat.messages[1].author_kind == AuthorKind::agent);  // agent.lena is listed
}

TEST_CASE("twilio-conversations unmappable messages are dead letters with their raw JSON", "[twilio-conversations]") {
  FakeServer server(wire);
  Rig rig(server.base_url());
  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("conv", *rig.adapter, store, 2).error);
  std::map<std::string, DeadLetterRow> dead;
  for (auto& d : store.records().dead_letters("conv")) dead[d.record_id] = d;
  REQUIRE(dead.size() == 4);
  const auto& stranger = dead.at("IM00000000000000000000000000000203");  // "+4917099999999" in a WhatsApp thread
  CHECK_THAT(stranger.error, Catch::Contains("+4917099999999") && Catch::Contains("agent_identities"));
  CHECK_THAT(stranger.raw,
             Catch::StartsWith(R"({"sid": "IM00000000000000000000000000000203")") && Catch::EndsWith("}"));
  CHECK_THAT(dead.at("IM00000000000000000000000000000204").error, Catch::Contains("yesterday"));
  CHECK_THAT(dead.at("IM00000000000000000000000000000303").error, Catch::Contains("\"mallory\""));
  CHECK_THAT(dead.at("IM00000000000000000000000000000401").error,
             Catch::Contains("2 customer participants") && Catch::Contains("+4917012345671"));
  CHECK_FALSE(store.records().message("conv", "IM00000000000000000000000000000203"));
}

TEST_CASE("twilio-conversations resumes by date_updated: nothing new reads only the list, an update re-reads one",
          "[twilio-conversations]") {
  std::atomic<bool> updated{false};
  FakeServer server([&](const httplib::Request& req, std::size_t n) {
    auto out = wire(req, n);
    if (!updated) return out;
    // CH2 gets a new message, and its date_updated moves.
    if (req.path == "/v1/Conversations" && !req.has_param("PageToken")) {
      auto j = nlohmann::json::parse(out.body);
      j["conversations"][1]["date_updated"] = "2026-10-03T09:00:00Z";
      out.body = j.dump();
    } else if (req.path == "/v1/Conversations/" + k_ch2 + "/Messages") {
      auto j = nlohmann::json::parse(out.body);
      auto m = j["messages"][0];
      m["sid"] = "IM00000000000000000000000000000205";
      m["body"] = "Danke!";
      m["date_created"] = "2026-10-03T09:00:00Z";
      j["messages"].push_back(m);
      out.body = j.dump();
    }
    return out;
  });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("conv", *rig.adapter, store, 2).error);
  const auto first = store.count("messages");
  CHECK(first == 8);

  const auto again = test::pull_one("conv", *rig.adapter, store, 2);
  REQUIRE_FALSE(again.error);
  CHECK(again.requests == 2);  // the two list pages, no conversation read
  CHECK(again.received == 0);
  CHECK(again.written == 0);

  updated = true;
  const auto third = test::pull_one("conv", *rig.adapter, store, 2);
  REQUIRE_FALSE(third.error);
  CHECK(third.requests == 4);  // the list, and CH2's participants and messages
  CHECK(third.received == 3);  // CH2's two known messages again, and the new one ...
  CHECK(third.written == 1);   // ... deduplicated by sid
  CHECK(store.count("messages") == first + 1);
  const auto fresh = store.records().message("conv", "IM00000000000000000000000000000205");
  REQUIRE(fresh);
  CHECK(fresh->conversation == k_ch2);
  CHECK(nlohmann::json::parse(store.records().cursor("conv", "conversations")).at("since") ==
        *parse_rfc3339("2026-10-03T09:00:00Z"));
}

TEST_CASE("twilio-conversations never sets its mark past the second its pass began by Twilio's clock",
          "[twilio-conversations]") {
  // CH2 is updated at 10:00:00, the very second the pass's first page is served: an update of CH2
  // that lands after it was listed, in the same second, must still be read by the next pass.
  FakeServer server([](const httplib::Request& req, std::size_t n) {
    auto out = wire(req, n);
    if (req.path == "/v1/Conversations") out.headers.push_back({"Date", "Fri, 02 Oct 2026 10:00:00 GMT"});
    return out;
  });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("conv", *rig.adapter, store, 2).error);
  CHECK(nlohmann::json::parse(store.records().cursor("conv", "conversations")).at("since") ==
        *parse_rfc3339("2026-10-02T09:59:59Z"));
  const auto again = test::pull_one("conv", *rig.adapter, store, 2);
  REQUIRE_FALSE(again.error);
  CHECK(again.requests == 4);  // CH2 read again
  CHECK(again.written == 0);
}

TEST_CASE("twilio-conversations reads a Conversations service's own paths when service_sid is set",
          "[twilio-conversations]") {
  const std::string root = std::string("/v1/Services/") + k_service;
  FakeServer server([&](const httplib::Request& req, std::size_t) {
    if (req.path == root) return Scripted{200, test::twilio_conversations_fixture(req, "service.json")};
    if (!req.path.starts_with(root + "/")) return test::conversations_not_found();
    auto out = wire_at(req, "/v1" + req.path.substr(root.size()));
    // Twilio's links name the service: rewrite them the same way.
    const std::string from = "/v1/Conversations", to = root + "/Conversations";
    for (auto at = out.body.find(from); at != std::string::npos; at = out.body.find(from, at + to.size()))
      out.body.replace(at, from.size(), to);
    return out;
  });
  Rig rig(server.base_url(), k_service);
  StateStore store(":memory:");
  const auto stats = test::pull_one("conv", *rig.adapter, store, 2);
  REQUIRE_FALSE(stats.error);
  CHECK(stats.received == 8);
  for (const auto& r : server.requests()) CHECK(r.path.starts_with(root + "/Conversations"));
  CHECK(rig.adapter->probe().cls == HealthClass::ok);
  CHECK(server.requests().back().path == root);
  CHECK_THROWS_WITH(Rig(server.base_url(), "IS-not-a-sid"), Catch::Contains("service_sid") && Catch::Contains("IS…"));
}

TEST_CASE("twilio-conversations 401 is an auth error, not retried, without the token", "[twilio-conversations]") {
  FakeServer server([](const auto&, std::size_t) { return Scripted{401, test::fixture("twilio/error_20003.json")}; });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("conv", *rig.adapter, store, 2);
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::auth);
  CHECK_THAT(stats.error->message, Catch::Contains("20003") && Catch::Contains("conversations"));
  CHECK(stats.error->message.find(k_token) == std::string::npos);
  CHECK(rig.sleeps.empty());
  CHECK(server.requests().size() == 1);
  const auto probe = rig.adapter->probe();
  CHECK(probe.cls == HealthClass::auth_failed);
  CHECK(probe.summary.find(k_token) == std::string::npos);
}

TEST_CASE("twilio-conversations 429 honours Retry-After and a 5xx is retried, on nested lists too",
          "[twilio-conversations]") {
  FakeServer server([](const httplib::Request& req, std::size_t n) {
    if (n == 0) return Scripted{429, R"({"code":20429,"message":"Too Many Requests"})", {{"Retry-After", "3"}}};
    if (n == 3) return Scripted{503, R"({"code":20503,"message":"Service Unavailable"})"};  // CH1's messages
    return wire(req, n);
  });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("conv", *rig.adapter, store, 2);
  REQUIRE_FALSE(stats.error);
  REQUIRE(rig.sleeps.size() == 2);
  CHECK(rig.sleeps[0] == std::chrono::milliseconds(3000));
  CHECK(rig.sleeps[1] <= std::chrono::milliseconds(1000));
  CHECK(stats.requests == 13);
  CHECK(stats.received == 8);
}

TEST_CASE("twilio-conversations 5xx that persists fails the pull with the cursor kept", "[twilio-conversations]") {
  FakeServer server([](const httplib::Request& req, std::size_t n) {
    if (req.path.ends_with("/Participants")) return Scripted{500, R"({"code":20500,"message":"Internal"})"};
    return wire(req, n);
  });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("conv", *rig.adapter, store, 2);
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::unavailable);
  CHECK_THAT(stats.error->message, Catch::Contains("participants of conversation " + k_ch1));
  CHECK(stats.pages == 0);
  CHECK(store.records().cursor("conv", "conversations").empty());
  CHECK(store.count("messages") == 0);
}

TEST_CASE("twilio-conversations malformed pages are protocol errors and the cursor is not advanced",
          "[twilio-conversations]") {
  SECTION("a truncated conversations page") {
    FakeServer server([](const httplib::Request& req, std::size_t n) {
      if (req.path == "/v1/Conversations" && req.has_param("PageToken"))
        return Scripted{200, R"({"conversations": [{"sid": "CH)"};
      return wire(req, n);
    });
    Rig rig(server.base_url());
    StateStore store(":memory:");
    const auto stats = test::pull_one("conv", *rig.adapter, store, 2);
    REQUIRE(stats.error);
    CHECK(stats.error->code == Errc::protocol);
    CHECK_THAT(stats.error->message,
               Catch::Contains("conversations page is not valid JSON") && Catch::Contains("cursor was not advanced"));
    CHECK(stats.pages == 1);
    CHECK_THAT(nlohmann::json::parse(store.records().cursor("conv", "conversations")).at("next").get<std::string>(),
               Catch::Contains("PageToken=PTCH00000000000000000000000000000002"));
  }
  SECTION("a messages page without a messages array") {
    FakeServer server([](const httplib::Request& req, std::size_t n) {
      if (req.path.ends_with("/Messages")) return Scripted{200, R"({"participants": [], "meta": {}})"};
      return wire(req, n);
    });
    Rig rig(server.base_url());
    StateStore store(":memory:");
    const auto stats = test::pull_one("conv", *rig.adapter, store, 2);
    REQUIRE(stats.error);
    CHECK(stats.error->code == Errc::protocol);
    CHECK_THAT(stats.error->message, Catch::Contains("no \"messages\" array") && Catch::Contains("Messages"));
    CHECK(store.records().cursor("conv", "conversations").empty());
  }
  SECTION("a next_page_url on another host, or on base_url's host without a path, is not followed") {
    // `next` is given the Host the request came to.
    const std::vector<std::pair<std::function<std::string(const std::string&)>, std::string>> links = {
        {[](const std::string&) { return "https://evil.example/v1/Conversations?PageToken=x"; },
         "https://evil.example"},
        {[](const std::string& host) { return "http://" + host + "?PageToken=x"; }, "names no path"},
    };
    for (const auto& [next, words] : links) {
      INFO(words);
      FakeServer server([&next = next](const httplib::Request& req, std::size_t n) {
        auto out = wire(req, n);
        if (req.path == "/v1/Conversations" && !req.has_param("PageToken")) {
          auto j = nlohmann::json::parse(out.body);
          j["meta"]["next_page_url"] = next(req.get_header_value("Host"));
          out.body = j.dump();
        }
        return out;
      });
      Rig rig(server.base_url());
      StateStore store(":memory:");
      const auto stats = test::pull_one("conv", *rig.adapter, store, 2);
      REQUIRE(stats.error);
      CHECK(stats.error->code == Errc::protocol);
      CHECK_THAT(stats.error->message, Catch::Contains(words) && Catch::Contains("not followed"));
      CHECK(store.records().cursor("conv", "conversations").empty());
    }
  }
}

TEST_CASE("twilio-conversations skips a conversation deleted while it was read, with a notice",
          "[twilio-conversations]") {
  FakeServer server([](const httplib::Request& req, std::size_t n) {
    if (req.path == "/v1/Conversations/" + k_ch2 + "/Messages") return test::conversations_not_found();
    return wire(req, n);
  });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("conv", *rig.adapter, store, 2);
  REQUIRE_FALSE(stats.error);
  CHECK(stats.received == 6);  // CH2's two are not there
  CHECK_THAT(stats.notice, Catch::Contains(k_ch2) && Catch::Contains("deleted"));
}

TEST_CASE("twilio-conversations probe reads the account's Conversations configuration", "[twilio-conversations]") {
  SECTION("ok when it is this account's") {
    FakeServer server(wire);
    Rig rig(server.base_url());
    const auto r = rig.adapter->probe();
    CHECK(r.cls == HealthClass::ok);
    CHECK(server.requests().at(0).path == "/v1/Configuration");
  }
  SECTION("unknown when another account's answers") {
    FakeServer server([](const auto&, std::size_t) {
      return Scripted{200, R"({"account_sid": "AC00000000000000000000000000000000", "url": "x"})"};
    });
    Rig rig(server.base_url());
    CHECK(rig.adapter->probe().cls == HealthClass::unknown);
  }
  SECTION("a missing service names service_sid") {
    FakeServer server([](const auto&, std::size_t) { return test::conversations_not_found(); });
    Rig rig(server.base_url(), k_service);
    const auto r = rig.adapter->probe();
    CHECK(r.cls != HealthClass::ok);
    CHECK_THAT(r.summary, Catch::Contains("service_sid") && Catch::Contains(k_service));
  }
}
