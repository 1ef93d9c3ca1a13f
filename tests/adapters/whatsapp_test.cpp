#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adapters/registry.hpp"
#include "adapters/whatsapp/whatsapp_api.hpp"
#include "sync/reconcile.hpp"
#include "sync/state_store.hpp"
#include "tests/support/fake_server.hpp"

using namespace chansync;
using test::FakeServer;
using test::fixture;
using test::Scripted;

namespace {

constexpr const char* k_number_id = "106540352242922";
constexpr const char* k_sheena = "106540352242922:+16505551234";  // conversation id
constexpr const char* k_bsuid = "419561257915477:US.13491208655302741918";

std::unique_ptr<Adapter> whatsapp(const std::string& base_url = "http://127.0.0.1:9") {
  EndpointConfig cfg{"wa", "whatsapp-cloud"};
  cfg.options = {{"phone_number_id", k_number_id}, {"api_version", "v23.0"}, {"base_url", base_url}};
  cfg.secrets = {{"token", "EAAGsystemusertoken"}, {"app_secret", "appsecret"}, {"verify_token", "verify-me"}};
  return adapters::create_adapter(cfg, "DE", [](std::chrono::milliseconds) {});
}

Page<Conversation> map(const std::string& payload) {
  Page<Conversation> page;
  whatsapp()->webhooks()->map_webhook(payload, page);
  return page;
}

Page<Conversation> map_fixture(const std::string& name) {
  return map(fixture("whatsapp/" + name));
}

// The one conversation of a page, with its one message.
const Message& only_message(const Page<Conversation>& page) {
  REQUIRE(page.rejects.empty());
  REQUIRE(page.items.size() == 1);
  REQUIRE(page.items[0].messages.size() == 1);
  return page.items[0].messages[0];
}

}  // namespace

TEST_CASE("whatsapp-cloud has one spool stream, no pull, and asks listen for the app's secrets", "[whatsapp]") {
  const auto adapter = whatsapp();
  const auto streams = adapter->streams();
  REQUIRE(streams.size() == 1);
  CHECK(streams[0].name == "webhooks");
  CHECK(streams[0].role == Role::conversations);
  CHECK(streams[0].acknowledges);
  CHECK(streams[0].spool);
  const auto pulled = adapter->conversations()->pull_conversations({"webhooks", "", 0});
  REQUIRE_FALSE(pulled);
  CHECK(pulled.error().code == Errc::internal);
  CHECK_THAT(pulled.error().message, Catch::Contains("spool"));
  REQUIRE(adapter->webhooks());
  const auto spec = adapter->webhooks()->webhook();
  CHECK(spec.object == "whatsapp_business_account");
  CHECK(spec.app_secret == "appsecret");
  CHECK(spec.verify_token == "verify-me");
}

TEST_CASE("whatsapp-cloud maps a text message to the sender's phone conversation", "[whatsapp]") {
  const auto page = map_fixture("text.json");
  const auto& m = only_message(page);
  const auto& c = page.items[0];
  CHECK(c.connector == "wa");
  CHECK(c.id == k_sheena);
  CHECK(c.channel == "whatsapp");
  CHECK(c.customer == Handle{HandleKind::phone, "+16505551234"});
  CHECK(c.business == "+15550783881");
  CHECK(c.customer_name == "Sheena Nelson");
  CHECK(c.customer_links.empty());
  CHECK(m.id == "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=");
  CHECK(m.conversation == k_sheena);
  CHECK(m.direction == Direction::inbound);
  CHECK(m.author_kind == AuthorKind::customer);
  CHECK(m.author_handle == "+16505551234");
  CHECK(m.sent_at == 1'749'416'383'000);
  CHECK(m.text == "Does it come in another color?");
  CHECK(m.kind == MessageKind::message);
  CHECK(page.notices.empty());
}

TEST_CASE("whatsapp-cloud a Brazilian wa_id without the ninth digit is the customer's mobile number", "[whatsapp]") {
  auto payload = nlohmann::json::parse(fixture("whatsapp/text.json"));
  auto& value = payload["entry"][0]["changes"][0]["value"];
  value["contacts"][0]["wa_id"] = "551187654321";
  value["messages"][0]["from"] = "551187654321";
  auto page = map(payload.dump());
  REQUIRE(page.items.size() == 1);
  CHECK(page.items[0].customer == Handle{HandleKind::phone, "+5511987654321"});
  CHECK(page.items[0].customer.verified);

  // A landline's 8 digits (2 to 5 first) are a valid number as they are.
  value["contacts"][0]["wa_id"] = "551133334444";
  value["messages"][0]["from"] = "551133334444";
  page = map(payload.dump());
  REQUIRE(page.items.size() == 1);
  CHECK(page.items[0].customer.value == "+551133334444");
}

TEST_CASE("whatsapp-cloud media become attachments without any URL, named by file name or caption", "[whatsapp]") {
  const auto page = map_fixture("media.json");
  REQUIRE(page.items.size() == 1);
  const auto& ms = page.items[0].messages;
  REQUIRE(ms.size() == 3);
  CHECK(ms[0].text == "Taj Mahal");
  CHECK(ms[0].attachments == std::vector<Attachment>{{"image", "Taj Mahal", ""}});
  CHECK(ms[1].attachments == std::vector<Attachment>{{"file", "invoice-0042.pdf", ""}});
  CHECK(ms[2].attachments == std::vector<Attachment>{{"sticker", "media 9180434168661523", ""}});
  for (const auto& m : ms) CHECK(m.kind == MessageKind::message);
}

TEST_CASE("whatsapp-cloud location is its coordinates with the place as an attachment", "[whatsapp]") {
  const auto page = map_fixture("location.json");
  const auto& m = only_message(page);
  CHECK(m.text == "37.44221496582,-122.16165924072");
  CHECK(m.attachments == std::vector<Attachment>{{"location", "Philz Coffee, 101 Forest Ave, Palo Alto, CA 94301",
                                                  "https://philzcoffee.com/"}});
}

TEST_CASE("whatsapp-cloud list, button replies and quick-reply buttons are their titles", "[whatsapp]") {
  const auto page = map_fixture("interactive.json");
  REQUIRE(page.items.size() == 1);
  const auto& ms = page.items[0].messages;
  REQUIRE(ms.size() == 3);
  CHECK(ms[0].text == "Priority Mail Express");
  CHECK(ms[1].text == "Cancel");
  CHECK(ms[2].text == "Unsubscribe");
  for (const auto& m : ms) CHECK(m.kind == MessageKind::message);
}

TEST_CASE("whatsapp-cloud reactions, system and unsupported messages are kept as events", "[whatsapp]") {
  const auto reactions = map_fixture("reaction.json");
  const auto& reaction = only_message(reactions);
  CHECK(reaction.kind == MessageKind::event);
  CHECK(reaction.text == "reacted 👍 to wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0RTJEOTc2ODVERUY5RDlGNkYA");

  const auto unsupporteds = map_fixture("unsupported.json");
  const auto& unsupported = only_message(unsupporteds);
  CHECK(unsupported.kind == MessageKind::event);
  CHECK(unsupported.text ==
        "unsupported message type unsupported: 131051 Message type unknown: Message type is currently not supported.");

  const auto unknown = map(R"({"object":"whatsapp_business_account","entry":[{"id":"419561257915477","changes":[
    {"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"106540352242922"},
     "messages":[{"from":"16505551234","id":"wamid.NEW","timestamp":"1750000000","type":"hologram",
                  "hologram":{"depth":3}}]}}]}]})");
  CHECK(only_message(unknown).kind == MessageKind::event);
  CHECK(only_message(unknown).text == "unsupported message type hologram");
  CHECK(unknown.items[0].business == k_number_id);  // no display number: the id

  // "changed from 16505551234 to 12195555358": the new number is the same customer's.
  const auto system = map_fixture("system.json");
  CHECK(only_message(system).kind == MessageKind::event);
  CHECK_THAT(only_message(system).text, Catch::Contains("changed from 16505551234 to 12195555358"));
  CHECK(system.items[0].customer == Handle{HandleKind::phone, "+16505551234"});
  CHECK(system.items[0].customer_links == std::vector<Handle>{{HandleKind::phone, "+12195555358"}});
}

TEST_CASE("whatsapp-cloud an edit is an entry beside the message; a message deleted for everyone is emptied",
          "[whatsapp]") {
  // Coexistence (a number also used in the WhatsApp Business app): `edit` carries the message as it
  // is now (an event of its own id), `revoke` only which one went (that one becomes the event).
  const auto page = map_fixture("edit_revoke.json");
  REQUIRE(page.rejects.empty());
  REQUIRE(page.items.size() == 1);
  const auto& ms = page.items[0].messages;
  REQUIRE(ms.size() == 3);
  CHECK(ms[0].id == "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUVESVQxAA==");
  CHECK(ms[0].text == "edited wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQU9SSUcxAA==: Order 4412, not 4421");
  CHECK(ms[0].sent_at == 1'739'321'024'000);
  CHECK(ms[0].author_kind == AuthorKind::customer);
  CHECK(ms[1].text == "edited wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQU9SSUcyAA==: the label, readable this time");
  CHECK(ms[1].attachments == std::vector<Attachment>{{"image", "the label, readable this time", ""}});
  // Deleted for everyone: the message itself, its content gone, at the time of the deletion.
  CHECK(ms[2].id == "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQU9SSUczAA==");
  CHECK(ms[2].text == "deleted message");
  CHECK(ms[2].sent_at == 1'739'321'144'000);
  CHECK(ms[2].attachments.empty());
  for (const auto& m : ms) CHECK(m.kind == MessageKind::event);
}

TEST_CASE("whatsapp-cloud what the business sent from the Business app (smb_message_echoes) is outbound",
          "[whatsapp]") {
  // Coexistence: replies typed in the WhatsApp Business app reach the Cloud API app only as echoes.
  const auto page = map_fixture("smb_echoes.json");
  REQUIRE(page.items.size() == 1);
  const auto& c = page.items[0];
  CHECK(c.id == k_sheena);
  CHECK(c.customer == Handle{HandleKind::phone, "+16505551234"});
  REQUIRE(c.messages.size() == 2);
  for (const auto& m : c.messages) {
    CHECK(m.direction == Direction::outbound);
    CHECK(m.author_kind == AuthorKind::agent);
    CHECK(m.author_handle == "+15550783881");
    CHECK(m.conversation == k_sheena);
  }
  CHECK(c.messages[0].text == "Here's the info you requested! https://www.meta.com/quest/quest-3/");
  CHECK(c.messages[0].sent_at == 1'739'321'024'000);
  CHECK(c.messages[1].attachments == std::vector<Attachment>{{"image", "the return label", ""}});
  REQUIRE(page.rejects.size() == 1);  // an echo to no one
  CHECK(page.rejects[0].error ==
        "message wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMgA= the business sent names no recipient "
        "(to or to_user_id)");
  CHECK_THAT(page.rejects[0].raw, Catch::Contains("to nobody"));
}

TEST_CASE("whatsapp-cloud the Business app's chat history (coexistence) is the customer's conversation, both sides",
          "[whatsapp]") {
  const auto page = map_fixture("history.json");
  REQUIRE(page.rejects.empty());
  REQUIRE(page.items.size() == 1);
  const auto& c = page.items[0];
  CHECK(c.id == k_sheena);
  REQUIRE(c.messages.size() == 3);
  const auto& ours = c.messages[0];  // from_me, no recipient: the thread's customer
  CHECK(ours.direction == Direction::outbound);
  CHECK(ours.author_handle == "+15550783881");
  CHECK(ours.status == "read");
  CHECK(ours.text == "Your order ships tomorrow.");
  const auto& theirs = c.messages[1];
  CHECK(theirs.direction == Direction::inbound);
  CHECK(theirs.author_handle == "+16505551234");
  CHECK(theirs.status.empty());  // "pending" is not a status chansync keeps
  CHECK(theirs.sent_at == 1'739'230'900'000);
  const auto& media = c.messages[2];  // from the business number, without from_me
  CHECK(media.direction == Direction::outbound);
  CHECK(media.status == "delivered");
  CHECK(media.kind == MessageKind::event);
  REQUIRE(page.notices.size() == 1);  // the declined phase
  CHECK_THAT(page.notices[0], Catch::Contains("2593109") && Catch::Contains("chat history"));

  // A thread of a user who hides their number: its id is their BSUID, which names both sides' customer.
  auto payload = nlohmann::json::parse(fixture("whatsapp/history.json"));
  auto& thread = payload["entry"][0]["changes"][0]["value"]["history"][0]["threads"][0];
  thread["id"] = "US.13491208655302741918";
  for (auto& m : thread["messages"]) {
    m.erase("to");
    if (m["from"] == "16505551234") m.erase("from");
  }
  const auto hidden = map(payload.dump());
  REQUIRE(hidden.rejects.empty());
  REQUIRE(hidden.items.size() == 1);
  CHECK(hidden.items[0].customer == Handle{HandleKind::whatsapp_bsuid, k_bsuid});
  CHECK(hidden.items[0].messages.size() == 3);
}

TEST_CASE("whatsapp-cloud a changed business-scoped user id links the previous one to the customer", "[whatsapp]") {
  auto payload = nlohmann::json::parse(fixture("whatsapp/bsuid_only.json"));
  auto& value = payload["entry"][0]["changes"][0]["value"];
  value.erase("contacts");  // system messages carry none
  value["messages"][0] = {{"from_user_id", "US.13491208655302741918"},
                          {"id", "wamid.SYSTEM_USER_ID"},
                          {"timestamp", "1780000100"},
                          {"type", "system"},
                          {"system",
                           {{"body", "User Sheena Nelson's user id changed"},
                            {"type", "user_changed_user_id"},
                            {"previous_user_id", "US.99999999999999999999"}}}};
  const auto page = map(payload.dump());
  const auto& m = only_message(page);
  CHECK(m.kind == MessageKind::event);
  CHECK(page.items[0].customer == Handle{HandleKind::whatsapp_bsuid, k_bsuid});
  CHECK(page.items[0].customer_links ==
        std::vector<Handle>{{HandleKind::whatsapp_bsuid, "419561257915477:US.99999999999999999999"}});
}

TEST_CASE("whatsapp-cloud statuses become receipts whose status only moves forward", "[whatsapp]") {
  const auto page = map_fixture("statuses.json");
  REQUIRE(page.rejects.empty());
  REQUIRE(page.items.size() == 1);
  const auto& c = page.items[0];
  CHECK(c.id == k_sheena);
  CHECK(c.messages.empty());
  REQUIRE(c.receipts.size() == 3);
  std::string status;
  for (const auto& r : c.receipts) {
    CHECK(r.id == "wamid.HBgLMTY1MDUxNzY1NjcVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA");
    CHECK(r.conversation == k_sheena);
    CHECK(r.channel == "whatsapp");
    CHECK(r.direction == Direction::outbound);
    CHECK(r.author_kind == AuthorKind::agent);
    CHECK(r.author_handle == "+15550783881");
    CHECK(r.text.empty());
    status = later_status(status, r.status);
  }
  CHECK(c.receipts[0].status == "sent");
  CHECK(c.receipts[1].status == "delivered");
  CHECK(c.receipts[2].status == "read");
  CHECK(c.receipts[2].sent_at == 1'750'263'901'000);
  CHECK(status == "read");
  CHECK(page.notices.empty());
}

TEST_CASE("whatsapp-cloud group messages are dead letters and their statuses are no customer's number", "[whatsapp]") {
  // The Groups API: a group message names its sender and the group; a status of a message sent to a
  // group names the group (not digits) as its recipient.
  const auto change = [](const std::string& value) {
    return R"({"object":"whatsapp_business_account","entry":[{"id":"419561257915477","changes":[{"field":"messages",)"
           R"("value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881",)"
           R"("phone_number_id":"106540352242922"},)" +
           value + "}}]}]}";
  };
  const std::string group = "Y2FwaV9ncm91cDoxODA1NTU1MDE3MjoxMjAzNjMyMjI3NzE5NjMwNjcZD";
  const auto posted = map(change(R"("contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],)"
                                 R"("messages":[{"from":"16505551234","group_id":")" +
                                 group +
                                 R"(","id":"wamid.GROUP1","timestamp":"1750000100","type":"text",)"
                                 R"("text":{"body":"message posted in the group"}}])"));
  CHECK(posted.items.empty());
  REQUIRE(posted.rejects.size() == 1);
  CHECK(posted.rejects[0].record_id == "wamid.GROUP1");
  CHECK(posted.rejects[0].error.find("group " + group) != std::string::npos);
  CHECK(posted.rejects[0].raw.find("message posted in the group") != std::string::npos);

  for (const std::string& status :
       {R"({"id":"wamid.OUT1","recipient_id":")" + group +
            R"(","recipient_type":"group","status":"sent",)"
            R"("timestamp":"1750000200"})",
        // Without recipient_type: an id that is not digits is still nobody's number.
        R"({"id":"wamid.OUT2","recipient_id":")" + group + R"(","status":"sent","timestamp":"1750000200"})"}) {
    INFO(status);
    const auto page = map(change(R"("statuses":[)" + status + "]"));
    CHECK(page.items.empty());
    CHECK(page.rejects.empty());  // skipped, as the man page says: not a dead letter
  }
}

TEST_CASE("whatsapp-cloud a failed status is a receipt and a notice with the error; unknown statuses are notices",
          "[whatsapp]") {
  const auto page = map_fixture("status_failed.json");
  REQUIRE(page.rejects.empty());
  REQUIRE(page.items.size() == 1);
  REQUIRE(page.items[0].receipts.size() == 1);
  CHECK(page.items[0].receipts[0].status == "failed");
  REQUIRE(page.notices.size() == 2);
  CHECK(page.notices[0] ==
        "message wamid.HBgLMTY1MDUxNzY1NjcVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA failed: 131026 Message "
        "undeliverable: Message Undeliverable.");
  for (const auto& n : page.notices) CHECK_THAT(n, !Catch::Contains("6505551234"));  // never the customer's number
  CHECK_THAT(page.notices[1], Catch::Contains("\"deleted\""));
}

TEST_CASE("whatsapp-cloud payload errors are notices", "[whatsapp]") {
  const auto page = map_fixture("errors.json");
  CHECK(page.items.empty());
  CHECK(page.rejects.empty());
  REQUIRE(page.notices.size() == 1);
  CHECK_THAT(page.notices[0], Catch::Contains("131008 Required parameter is missing"));
  CHECK_THAT(page.notices[0], Catch::Contains("The parameter messaging_product is required."));
}

TEST_CASE("whatsapp-cloud a user who hides their number is their business-scoped user id", "[whatsapp]") {
  const auto page = map_fixture("bsuid_only.json");
  const auto& m = only_message(page);
  const auto& c = page.items[0];
  CHECK(c.customer == Handle{HandleKind::whatsapp_bsuid, k_bsuid});
  CHECK(c.id == std::string(k_number_id) + ":" + k_bsuid);
  CHECK(c.customer_links.empty());
  CHECK(c.customer_name == "Sheena Nelson");
  CHECK(m.author_handle == k_bsuid);
  CHECK(m.text == "Hi, it's me again");
}

TEST_CASE("whatsapp-cloud a BSUID sent with a wa_id links to the phone conversation", "[whatsapp]") {
  const auto page = map_fixture("bsuid_linked.json");
  only_message(page);
  const auto& c = page.items[0];
  CHECK(c.id == k_sheena);
  CHECK(c.customer == Handle{HandleKind::phone, "+16505551234"});
  CHECK(c.customer_links == std::vector<Handle>{{HandleKind::whatsapp_bsuid, k_bsuid}});
}

TEST_CASE("whatsapp-cloud a change for another phone number is a dead letter holding that change", "[whatsapp]") {
  const std::string payload = fixture("whatsapp/other_number.json");
  const auto page = map(payload);
  CHECK(page.items.empty());
  REQUIRE(page.rejects.size() == 1);
  CHECK(page.rejects[0].record_id == "999000111222333");
  CHECK(page.rejects[0].error == "for phone number 999000111222333, not this connector's 106540352242922");
  CHECK_THAT(page.rejects[0].raw, Catch::StartsWith("{") && Catch::Contains("\"field\": \"messages\""));
  CHECK(payload.find(page.rejects[0].raw) != std::string::npos);  // the bytes as sent
}

TEST_CASE("whatsapp-cloud malformed payloads and pieces are dead letters, never dropped", "[whatsapp]") {
  for (const std::string bad :
       {"not json {", R"({"object":"page","entry":[]})", R"({"object":"whatsapp_business_account"})", R"([1,2])"}) {
    INFO(bad);
    const auto page = map(bad);
    CHECK(page.items.empty());
    REQUIRE(page.rejects.size() == 1);
    CHECK(page.rejects[0].raw == bad);
  }
  const std::string payload = fixture("whatsapp/malformed_pieces.json");
  const auto page = map(payload);
  REQUIRE(page.items.size() == 1);
  CHECK(page.items[0].messages.size() == 1);
  REQUIRE(page.rejects.size() == 2);
  CHECK(page.rejects[0].record_id == "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQkFEVElNRVNUQU1QMDAwMQA=");
  CHECK_THAT(page.rejects[0].error, Catch::Contains("unreadable timestamp \"yesterday\""));
  CHECK_THAT(page.rejects[0].raw, Catch::Contains("yesterday"));
  CHECK(page.rejects[1].error == "message without an id");
  for (const auto& d : page.rejects) CHECK(payload.find(d.raw) != std::string::npos);
}

TEST_CASE("whatsapp-cloud probe reads the phone number with the token and is ok only for that number", "[whatsapp]") {
  FakeServer server([](const httplib::Request& req, std::size_t) {
    return Scripted{
        200, fixture(req.path.ends_with("/debug_token") ? "meta/debug_token.json" : "whatsapp/phone_number.json")};
  });
  const auto report = whatsapp(server.base_url())->probe();
  CHECK(report.cls == HealthClass::ok);
  CHECK(report.summary == "phone number +1 555-078-3881 (Jasper's Market) answers");
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 2);  // the number, then debug_token (no waba_id: no subscription asked)
  CHECK(reqs[1].path == "/v23.0/debug_token");
  CHECK(reqs[0].path == "/v23.0/106540352242922");
  CHECK(reqs[0].params.find("fields")->second == "id,display_phone_number,verified_name");
  CHECK(reqs[0].authorization == "Bearer EAAGsystemusertoken");

  FakeServer other([](const httplib::Request&, std::size_t) {
    return Scripted{200, R"({"id":"1122334455","name":"Acme Shop"})"};
  });
  CHECK(whatsapp(other.base_url())->probe().cls == HealthClass::unknown);
}

TEST_CASE("whatsapp-cloud without a token: the probe says what it did not check, now, and leaves the class to listen",
          "[whatsapp]") {
  EndpointConfig cfg{"wa", "whatsapp-cloud"};
  cfg.options = {{"phone_number_id", k_number_id}, {"api_version", "v23.0"}, {"base_url", "http://127.0.0.1:9"}};
  cfg.secrets = {{"app_secret", "appsecret"}};
  auto report = adapters::create_adapter(cfg, "DE", [](std::chrono::milliseconds) {})->probe();
  CHECK(report.checked_at > 1'700'000'000'000);  // not 1970
  CHECK(report.cls == HealthClass::ok);          // not a permanent UNKNOWN
  CHECK_THAT(report.summary, Catch::Contains("the phone number is not checked without a token"));
  // What listen recorded decides: refusals in a row make it broken.
  add_signal_finding(report, {HealthClass::webhook_broken, "webhook receiver", "3 refused", "listen refused 3", "fix"});
  CHECK(report.cls == HealthClass::webhook_broken);
}

TEST_CASE("whatsapp-cloud probe: Graph answering in a newer version than api_version is a warning, not gone",
          "[whatsapp]") {
  FakeServer server([](const httplib::Request&, std::size_t) {
    return Scripted{200,
                    R"({"id":"106540352242922","display_phone_number":"+1 555-0100","verified_name":"Acme"})",
                    {{"facebook-api-version", "v25.0"}}};
  });
  const auto report = whatsapp(server.base_url())->probe();
  CHECK(report.cls == HealthClass::deprecated);  // webhooks keep arriving; only this check is affected
  CHECK_THAT(report.summary, Catch::Contains("App Dashboard"));
}

TEST_CASE("whatsapp-cloud probe: 190 is auth_failed with the fbtrace_id, 368 restricted, 130429 rate limited",
          "[whatsapp]") {
  struct Case {
    int status;
    std::string body;
    HealthClass cls;
    std::string summary_word;
  };
  const std::vector<Case> cases = {
      // The token serves health alone (webhooks need none): a refused one leaves the number unchecked,
      // an ok class with the reason beside it, not a CRITICAL "messages not fetched".
      {400, fixture("meta/error_190.json"), HealthClass::ok, "system user token"},
      {400,
       R"({"error":{"message":"Temporarily blocked for policies violations","type":"OAuthException","code":368,)"
       R"("fbtrace_id":"AbCdEf368"}})",
       HealthClass::restricted, "restricted"},
      {429,
       R"({"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,)"
       R"("fbtrace_id":"AbCdEf130429"}})",
       HealthClass::rate_limited, "rate-limited"},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    FakeServer server([&](const httplib::Request&, std::size_t) { return Scripted{c.status, c.body}; });
    const auto report = whatsapp(server.base_url())->probe();
    CHECK(report.cls == c.cls);
    CHECK_THAT(report.summary + " " + report.action, Catch::Contains(c.summary_word));
    if (c.cls == HealthClass::ok) {
      CHECK_THAT(report.summary,
                 Catch::Contains("phone number not checked") && Catch::Contains("messages still arrive"));
      CHECK(std::any_of(report.findings.begin(), report.findings.end(),
                        [](const Finding& f) { return f.cls == HealthClass::unknown && f.beside; }));
    }
    CHECK_THAT(report.evidence.vendor_message, Catch::Contains("fbtrace_id"));
    CHECK_THAT(report.summary, !Catch::Contains("EAAGsystemusertoken"));
  }
}

TEST_CASE(
    "one person across SMS, WhatsApp (number, then hidden behind a BSUID), Telegram and the CRM; Messenger "
    "stays apart until something links it",
    "[whatsapp][identity]") {
  StateStore store(":memory:");
  const Handle phone{HandleKind::phone, "+16505551234"};
  // SMS, the oldest entry.
  Conversation sms{"sms", "c-sms", "sms", phone, "+15550783881", {}};
  sms.messages.push_back({"sms", "SM1", "c-sms", "sms", Direction::inbound, AuthorKind::customer, phone.value,
                          1779900000000, "order 4711?"});
  store.records().commit_conversations("sms", "conversations", {sms}, {}, "1");
  // WhatsApp: first with number and BSUID (the link), later BSUID only (the number hidden).
  for (const char* f : {"bsuid_linked.json", "bsuid_only.json"}) {
    const auto page = map_fixture(f);
    REQUIRE(page.rejects.empty());
    store.records().commit_conversations("wa", "webhooks", page.items, {}, "");
  }
  // Telegram: the same customer shared their own contact; the adapter links it (telegram_test.cpp).
  Conversation tg{"tg", "777", "telegram", {HandleKind::telegram_id, "777"}, "bot1", {}};
  tg.customer_links = {phone};
  tg.messages.push_back({"tg", "777:1", "777", "telegram", Direction::inbound, AuthorKind::customer, "777",
                         1779995000000, "[contact: +16505551234]"});
  store.records().commit_conversations("tg", "updates", {tg}, {}, "1");
  // Messenger: a PSID nothing links to the others yet (a manual link would; issue 9).
  Conversation fb{"fb", "t_1", "messenger", {HandleKind::messenger_psid, "1000:42"}, "1000", {}};
  fb.messages.push_back({"fb", "m_1", "t_1", "messenger", Direction::inbound, AuthorKind::customer, "1000:42",
                         1779999000000, "hello from Messenger"});
  store.records().commit_conversations("fb", "conversations", {fb}, {}, "1");
  // The CRM knows her by number and email.
  Contact crm{"crm", "501", "Sheena", "Nelson", {phone, {HandleKind::email, "sheena@example.com"}}};
  store.records().commit_contacts("crm", "contacts", {crm}, {}, "1");

  int n = 0;
  store.identity().save(reconcile(store.identity().input({}), [&] { return fmt::format("p_{:016x}", ++n); }));
  std::vector<PersonRecord> persons;
  store.identity().for_each_person([&](PersonRecord&& p) { persons.push_back(std::move(p)); });
  REQUIRE(persons.size() == 2);
  const auto& sheena = persons[0].messages.size() > persons[1].messages.size() ? persons[0] : persons[1];
  std::vector<std::string> channels;
  for (const auto& m : sheena.messages) channels.push_back(m.channel);
  CHECK(channels == std::vector<std::string>{"sms", "whatsapp", "telegram", "whatsapp"});  // one ordered timeline
  CHECK(std::is_sorted(sheena.messages.begin(), sheena.messages.end(),
                       [](const Message& a, const Message& b) { return a.sent_at < b.sent_at; }));
  CHECK(sheena.display_name == "Sheena Nelson");
  CHECK(std::count(sheena.handles.begin(), sheena.handles.end(),
                   Handle::from_key(std::string("whatsapp_bsuid:") + k_bsuid).value()) == 1);
  const auto& other = &sheena == &persons[0] ? persons[1] : persons[0];
  REQUIRE(other.messages.size() == 1);
  CHECK(other.messages[0].channel == "messenger");
}

TEST_CASE("whatsapp-cloud maps a number it has seen from its memo exactly as a new one", "[whatsapp]") {
  // One adapter maps every fixture twice (the second time its numbers are known); a mapping without
  // a memo is the reference.
  const auto adapter = whatsapp();
  for (int round = 0; round < 2; ++round)
    for (const char* name : {"text.json", "statuses.json", "system.json", "bsuid_linked.json", "status_failed.json",
                             "media.json", "reaction.json"}) {
      CAPTURE(name, round);
      const std::string payload = fixture(std::string("whatsapp/") + name);
      Page<Conversation> memo, plain;
      adapter->webhooks()->map_webhook(payload, memo);
      adapters::whatsapp::map_payload(payload, {"wa", k_number_id, nullptr}, plain);
      REQUIRE(memo.items.size() == plain.items.size());
      CHECK(memo.rejects.size() == plain.rejects.size());
      for (std::size_t i = 0; i < memo.items.size(); ++i) {
        CHECK(memo.items[i].id == plain.items[i].id);
        CHECK(memo.items[i].customer == plain.items[i].customer);
        CHECK(memo.items[i].business == plain.items[i].business);
        CHECK(memo.items[i].customer_links == plain.items[i].customer_links);
        CHECK(memo.items[i].messages == plain.items[i].messages);
        CHECK(memo.items[i].receipts == plain.items[i].receipts);
      }
    }
}
