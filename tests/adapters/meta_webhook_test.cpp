#include <fmt/format.h>

#include <catch2/catch.hpp>

#include "adapters/registry.hpp"
#include "tests/support/fake_server.hpp"

using namespace chansync;
using test::fixture;

namespace {

std::unique_ptr<Adapter> meta(const std::string& type) {
  EndpointConfig cfg{type == "meta-messenger" ? "fb" : "ig", type};
  cfg.options = {{"page_id", "1122334455"}, {"api_version", "v23.0"}, {"base_url", "http://127.0.0.1:9"}};
  cfg.secrets = {{"token", "EAAGpagetoken"}, {"app_secret", "appsecret"}, {"verify_token", "verify-me"}};
  return adapters::create_adapter(cfg, "DE", [](std::chrono::milliseconds) {});
}

Page<Conversation> map(const std::string& type, const std::string& payload) {
  Page<Conversation> page;
  meta(type)->webhooks()->map_webhook(payload, page);
  return page;
}

const Conversation& conversation(const Page<Conversation>& page, const std::string& id) {
  for (const auto& c : page.items)
    if (c.id == id) return c;
  FAIL("no conversation " << id);
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("meta adapters receive webhooks of their object on a spool stream beside the history", "[meta]") {
  for (const auto& [type, object] : {std::pair{"meta-messenger", "page"}, std::pair{"meta-instagram", "instagram"}}) {
    INFO(type);
    const auto adapter = meta(type);
    REQUIRE(adapter->webhooks());
    const auto spec = adapter->webhooks()->webhook();
    CHECK(spec.object == object);
    CHECK(spec.app_secret == "appsecret");
    CHECK(spec.verify_token == "verify-me");
    const auto streams = adapter->streams();
    REQUIRE(streams.size() == 2);
    CHECK(streams[0].name == "conversations");
    CHECK_FALSE(streams[0].spool);
    CHECK(streams[1].name == "webhooks");
    CHECK(streams[1].spool);
    CHECK(streams[1].acknowledges);
    const auto pulled = adapter->conversations()->pull_conversations({"webhooks", "", 0});
    REQUIRE_FALSE(pulled);
    CHECK(pulled.error().code == Errc::internal);
  }
}

TEST_CASE("meta-messenger webhook: messages keyed by mid, echoes outbound, deliveries receipts, reactions events",
          "[meta]") {
  const std::string payload = fixture("meta/webhook_messenger.json");
  const auto page = map("meta-messenger", payload);

  const auto& c = conversation(page, "1122334455:7001");
  CHECK(c.customer == Handle{HandleKind::messenger_psid, "1122334455:7001"});
  CHECK(c.channel == "messenger");
  CHECK(c.business == "1122334455");
  REQUIRE(c.messages.size() == 4);
  CHECK(c.messages[0].id == "m_wh_1");
  CHECK(c.messages[0].direction == Direction::inbound);
  CHECK(c.messages[0].author_kind == AuthorKind::customer);
  CHECK(c.messages[0].author_handle == "1122334455:7001");
  CHECK(c.messages[0].sent_at == 1'790'000'000'000);
  CHECK(c.messages[0].text == "Hallo, ist mein Paket unterwegs?");
  CHECK(c.messages[1].attachments ==
        std::vector<Attachment>{{"image", "", "https://scontent.xx.fbcdn.net/v/t1.15752-9/label.jpg"}});
  CHECK(c.messages[1].kind == MessageKind::message);
  CHECK(c.messages[2].id == "m_wh_3");
  CHECK(c.messages[2].direction == Direction::outbound);
  CHECK(c.messages[2].author_kind == AuthorKind::agent);
  CHECK(c.messages[2].author_handle == "1122334455");
  CHECK(c.messages[3].kind == MessageKind::event);
  CHECK(c.messages[3].text == "reacted \u2764\ufe0f to m_wh_3");
  // The delivery names m_wh_3; its watermark covers what was sent before it. Messenger's read names
  // no message: its watermark covers what was sent at or before it.
  REQUIRE(c.receipts.size() == 1);
  CHECK(c.receipts[0].id == "m_wh_3");
  CHECK(c.receipts[0].status == "delivered");
  CHECK(c.receipts[0].sent_at == 1'790'000'030'000);
  CHECK(c.receipts[0].direction == Direction::outbound);
  CHECK(c.watermarks ==
        std::vector<Conversation::Watermark>{{1'790'000'029'999, "delivered"}, {1'790'000'039'000, "read"}});

  const auto& postback = conversation(page, "1122334455:7002");
  REQUIRE(postback.messages.size() == 1);
  CHECK(postback.messages[0].id == "m_wh_pb");
  CHECK(postback.messages[0].kind == MessageKind::event);
  CHECK(postback.messages[0].text == "Get Started");

  CHECK(page.items.size() == 2);  // the optin is skipped; the message without a mid is a dead letter
  REQUIRE(page.rejects.size() == 2);
  CHECK(page.rejects[0].error == "message without a mid");
  CHECK_THAT(page.rejects[0].raw, Catch::Contains("no mid"));
  CHECK(page.rejects[1].record_id == "9999999999");
  CHECK(page.rejects[1].error == "for page 9999999999, not this connector's 1122334455");
  for (const auto& d : page.rejects) CHECK(payload.find(d.raw) != std::string::npos);
}

TEST_CASE("meta-messenger webhook: a payload's reads of one customer are one watermark, the latest", "[meta]") {
  auto read = [](Timestamp at) {
    return fmt::format(R"({{"sender": {{"id": "7001"}}, "recipient": {{"id": "1122334455"}}, "timestamp": {0}, )"
                       R"("read": {{"watermark": {0}}}}})",
                       at);
  };
  const std::string payload = fmt::format(
      R"({{"object": "page", "entry": [{{"id": "1122334455", "time": 1790000060000, "messaging": [{},{},{}]}}]}})",
      read(1'790'000'040'000), read(1'790'000'050'000), read(1'790'000'020'000));
  const auto page = map("meta-messenger", payload);
  REQUIRE(page.rejects.empty());
  REQUIRE(page.items.size() == 1);
  CHECK(page.items[0].watermarks == std::vector<Conversation::Watermark>{{1'790'000'050'000, "read"}});
  CHECK(page.items[0].messages.empty());
}

TEST_CASE("meta-instagram webhook: the customer is the side that is not the account; reads by mid are receipts",
          "[meta]") {
  const auto page = map("meta-instagram", fixture("meta/webhook_instagram.json"));
  REQUIRE(page.rejects.empty());
  REQUIRE(page.items.size() == 1);
  const auto& c = page.items[0];
  CHECK(c.id == "1122334455:6001");
  CHECK(c.customer == Handle{HandleKind::instagram_igsid, "1122334455:6001"});
  CHECK(c.channel == "instagram");
  REQUIRE(c.messages.size() == 3);
  CHECK(c.messages[0].direction == Direction::inbound);
  CHECK(c.messages[1].direction == Direction::outbound);
  CHECK(c.messages[1].text == "Yes, since Monday!");
  CHECK(c.messages[2].kind == MessageKind::event);
  CHECK(c.messages[2].text == "deleted message");
  REQUIRE(c.receipts.size() == 1);
  CHECK(c.watermarks.empty());  // a read by mid
  CHECK(c.receipts[0].id == "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAx");
  CHECK(c.receipts[0].status == "read");
}

TEST_CASE("meta-instagram webhook: with instagram_account_id, another account's entries are dead letters", "[meta]") {
  EndpointConfig cfg{"ig", "meta-instagram"};
  cfg.options = {{"page_id", "1122334455"},
                 {"instagram_account_id", "17841499999999999"},
                 {"api_version", "v23.0"},
                 {"base_url", "http://127.0.0.1:9"}};
  cfg.secrets = {{"token", "EAAGpagetoken"}, {"app_secret", "appsecret"}};
  const auto other = adapters::create_adapter(cfg, "DE", [](std::chrono::milliseconds) {});
  Page<Conversation> page;
  other->webhooks()->map_webhook(fixture("meta/webhook_instagram.json"), page);
  CHECK(page.items.empty());
  REQUIRE(page.rejects.size() == 1);
  CHECK(page.rejects[0].record_id == "17841400000000001");
  CHECK_THAT(page.rejects[0].error, Catch::Contains("not this connector's 17841499999999999"));
  CHECK_THAT(page.rejects[0].raw, Catch::StartsWith("{") && Catch::Contains("Is the blue one back in stock?"));

  cfg.options["instagram_account_id"] = "17841400000000001";  // its own
  const auto own = adapters::create_adapter(cfg, "DE", [](std::chrono::milliseconds) {});
  Page<Conversation> mine;
  own->webhooks()->map_webhook(fixture("meta/webhook_instagram.json"), mine);
  CHECK(mine.rejects.empty());
  CHECK(mine.items.size() == 1);
}

TEST_CASE("meta webhook payloads of another object or not JSON are one dead letter", "[meta]") {
  for (const std::string bad : {R"({"object":"instagram","entry":[]})", "<html>", R"({"object":"page"})"}) {
    INFO(bad);
    const auto page = map("meta-messenger", bad);
    CHECK(page.items.empty());
    REQUIRE(page.rejects.size() == 1);
    CHECK(page.rejects[0].raw == bad);
  }
}

TEST_CASE("meta-messenger webhook: what a customer wrote while another app held the thread (standby) is kept",
          "[meta]") {
  // Messenger's handover protocol: an app without thread control (beside a bot) is sent the
  // customer's messages under "standby", not "messaging", in the same event shape.
  const std::string payload = R"({"object":"page","entry":[{"id":"1122334455","time":1733400000000,
    "standby":[{"sender":{"id":"7002"},"recipient":{"id":"1122334455"},"timestamp":1733400000000,
                "message":{"mid":"m_standby_1","text":"Is anyone there?"}}],
    "messaging":[{"sender":{"id":"7003"},"recipient":{"id":"1122334455"},"timestamp":1733400001000,
                  "message":{"mid":"m_active_1","text":"Hello"}}]}]})";
  const auto page = map("meta-messenger", payload);
  REQUIRE(page.rejects.empty());
  REQUIRE(page.items.size() == 2);
  const auto& standby = conversation(page, "1122334455:7002");
  REQUIRE(standby.messages.size() == 1);
  CHECK(standby.messages[0].id == "m_standby_1");
  CHECK(standby.messages[0].text == "Is anyone there?");
  CHECK(standby.messages[0].direction == Direction::inbound);
  CHECK(conversation(page, "1122334455:7003").messages.size() == 1);
}

TEST_CASE("meta webhooks: a customer's edit is an entry beside the message, with the new text", "[meta]") {
  // message_edits (a Messenger field; Instagram's events have the same shape, should it send them):
  // the mid edited, its text now, how many edits so far; the event's timestamp is the edit's.
  for (const auto& [type, object] : {std::pair{"meta-messenger", "page"}, std::pair{"meta-instagram", "instagram"}}) {
    INFO(type);
    const std::string payload = fmt::format(R"({{"object":"{}","entry":[{{"id":"1122334455","time":1790000100000,
      "messaging":[
        {{"sender":{{"id":"7001"}},"recipient":{{"id":"1122334455"}},"timestamp":1790000000000,
          "message":{{"mid":"m_typo","text":"Order 4421"}}}},
        {{"sender":{{"id":"7001"}},"recipient":{{"id":"1122334455"}},"timestamp":1790000060000,
          "message_edit":{{"mid":"m_typo","text":"Order 4412","num_edit":1}}}},
        {{"sender":{{"id":"7001"}},"recipient":{{"id":"1122334455"}},"timestamp":1790000090000,
          "message_edit":{{"mid":"m_typo","text":"Order 4412, please","num_edit":2}}}},
        {{"sender":{{"id":"7001"}},"recipient":{{"id":"1122334455"}},"timestamp":1790000095000,
          "message_edit":{{"text":"no mid"}}}}]}}]}})",
                                            object);
    const auto page = map(type, payload);
    const auto& c = conversation(page, "1122334455:7001");
    REQUIRE(c.messages.size() == 3);
    CHECK(c.messages[0].text == "Order 4421");  // what was first sent stays
    CHECK(c.messages[1].id == "m_typo#edit1");
    CHECK(c.messages[1].kind == MessageKind::event);
    CHECK(c.messages[1].text == "edited m_typo: Order 4412");
    CHECK(c.messages[1].sent_at == 1'790'000'060'000);
    CHECK(c.messages[1].direction == Direction::inbound);
    CHECK(c.messages[2].id == "m_typo#edit2");
    CHECK(c.messages[2].text == "edited m_typo: Order 4412, please");
    REQUIRE(page.rejects.size() == 1);
    CHECK(page.rejects[0].error == "message_edit without a mid");
    CHECK_THAT(page.rejects[0].raw, Catch::Contains("no mid"));
  }
}
