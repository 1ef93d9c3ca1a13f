#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "adapters/registry.hpp"
#include "adapters/twilio/twilio_api.hpp"
#include "adapters/twilio/twilio_source.hpp"
#include "sync/pull.hpp"
#include "sync/reconcile.hpp"
#include "sync/timestamp.hpp"
#include "tests/support/fake_server.hpp"
#include "tests/support/pull_one.hpp"
#include "tests/support/twilio_rig.hpp"

using namespace chansync;
using test::FakeServer;
using test::fixture;
using test::Scripted;

namespace {

constexpr const char* k_sid = test::k_twilio_sid;

struct Rig : test::TwilioRig {
  explicit Rig(const std::string& base_url) : TwilioRig(base_url, "twilio-messaging", "sms") {}
};

Scripted pages(const httplib::Request& req, std::size_t) {
  return {200, fixture(req.has_param("PageToken") ? "twilio/messages_page2.json" : "twilio/messages_page1.json")};
}

}  // namespace

TEST_CASE("twilio pull follows the relative next_page_uri until null and maps the wire format") {
  FakeServer server(pages);
  Rig rig(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("sms", *rig.adapter, store, 2);
  REQUIRE_FALSE(stats.error);
  CHECK(stats.pages == 2);
  CHECK(stats.received == 3);
  CHECK(stats.rejected == 1);  // "yesterday" is no RFC 2822 date: kept as a dead letter
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].path == std::string("/2010-04-01/Accounts/") + k_sid + "/Messages.json");
  CHECK(reqs[0].params.find("PageSize")->second == "2");
  CHECK(reqs[1].params.find("PageToken")->second == "PASM00000000000000000000000000000002");
  CHECK(reqs[0].authorization == "Basic QUNYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWDp0b2s=");  // AC…:tok
  const auto cursor = nlohmann::json::parse(store.records().cursor("sms", "conversations"));
  CHECK(cursor.at("since") == "2015-07-30");
  CHECK_FALSE(cursor.contains("next"));
  // SMS and WhatsApp threads of the same number are two conversations of one customer.
  CHECK(store.count("conversations") == 2);
  const auto m = store.records().message("sms", "SM00000000000000000000000000000002");
  REQUIRE(m);
  CHECK(m->direction == Direction::outbound);
  CHECK(m->author_kind == AuthorKind::agent);
  CHECK(m->author_handle == "+4930123456");
  CHECK(m->sent_at == 1438275601000);  // 19:00:01 +0200
}

TEST_CASE("twilio incremental pull resumes with DateSent>= the newest day, overlapping and deduplicating") {
  FakeServer server(pages);
  Rig rig(server.base_url());
  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("sms", *rig.adapter, store, 2).error);
  const auto again = test::pull_one("sms", *rig.adapter, store, 2);
  REQUIRE_FALSE(again.error);
  CHECK(again.written == 0);
  const auto reqs = server.requests();
  CHECK(reqs[2].params.find("DateSent>")->second == "2015-07-30");
  CHECK(reqs[2].query_target.find("DateSent%3E=2015-07-30") != std::string::npos);
}

TEST_CASE("twilio 401 is an auth error with Twilio's code") {
  FakeServer server([](const auto&, std::size_t) { return Scripted{401, fixture("twilio/error_20003.json")}; });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("sms", *rig.adapter, store, 2);
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::auth);
  CHECK_THAT(stats.error->message, Catch::Contains("20003"));
  CHECK(rig.sleeps.empty());  // 401 is not retried
  const auto report = rig.adapter->probe();
  CHECK(report.cls == HealthClass::auth_failed);
  CHECK(report.evidence.vendor_code == "20003");
}

TEST_CASE("twilio 429 honours Retry-After exactly; 500 is retried with backoff") {
  FakeServer server([](const httplib::Request& req, std::size_t n) {
    if (n == 0) return Scripted{429, R"({"code":20429,"message":"Too Many Requests"})", {{"Retry-After", "3"}}};
    if (n == 1) return Scripted{500, R"({"code":20500,"message":"Internal"})"};
    return pages(req, n);
  });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("sms", *rig.adapter, store, 2);
  REQUIRE_FALSE(stats.error);
  REQUIRE(rig.sleeps.size() == 2);
  CHECK(rig.sleeps[0] == std::chrono::milliseconds(3000));
  CHECK(rig.sleeps[1] <= std::chrono::milliseconds(1000));  // full jitter under base · 2^2
  CHECK(stats.requests == 4);
}

TEST_CASE("twilio malformed page is a protocol error and the cursor is not advanced") {
  FakeServer server([](const httplib::Request& req, std::size_t n) {
    if (req.has_param("PageToken")) return Scripted{200, R"({"messages": [{"sid": "SMbroken", "from": )"};
    return pages(req, n);
  });
  // Credentials in base_url: the message names the page's URL without them.
  Rig rig(server.base_url_with_credentials());
  StateStore store(":memory:");
  const auto stats = test::pull_one("sms", *rig.adapter, store, 2);
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::protocol);
  CHECK_THAT(stats.error->message, Catch::Contains("not valid JSON") && Catch::Contains("cursor was not advanced"));
  CHECK_THAT(stats.error->message,
             Catch::Contains("(from http://<redacted>@127.0.0.1:") && !Catch::Contains("url-password-17"));
  CHECK(stats.pages == 1);
  CHECK(nlohmann::json::parse(store.records().cursor("sms", "conversations"))
            .at("next")
            .get<std::string>()
            .find("PageToken") != std::string::npos);
}

TEST_CASE("twilio probe reports a Sunset header as deprecated with the date") {
  FakeServer server([](const auto&, std::size_t) {
    return Scripted{200,
                    std::string(R"({"sid":")") + k_sid + R"(","status":"active"})",
                    {{"Sunset", "Sat, 31 Dec 2033 23:59:59 GMT"}}};
  });
  Rig rig(server.base_url());
  const auto r = rig.adapter->probe();
  CHECK(r.cls == HealthClass::deprecated);
  CHECK_THAT(r.summary, Catch::Contains("2033-12-31"));

  // From something that is not the account (a proxy), the header means nothing: unknown.
  FakeServer proxy([](const auto&, std::size_t) {
    return Scripted{200, R"({"sid":"AC1","status":"active"})", {{"Sunset", "Sat, 31 Dec 2033 23:59:59 GMT"}}};
  });
  Rig other(proxy.base_url());
  CHECK(other.adapter->probe().cls == HealthClass::unknown);
}

TEST_CASE("twilio outbound-reply is the bot, outbound-call the system, outbound-api an agent") {
  FakeServer server([](const auto&, std::size_t) { return Scripted{200, fixture("twilio/messages_directions.json")}; });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("sms", *rig.adapter, store).error);
  const auto reply = store.records().message("sms", "SM00000000000000000000000000000011");
  const auto call = store.records().message("sms", "SM00000000000000000000000000000012");
  const auto api = store.records().message("sms", "SM00000000000000000000000000000013");
  REQUIRE((reply && call && api));
  CHECK(reply->author_kind == AuthorKind::bot);
  CHECK(reply->direction == Direction::outbound);
  CHECK(call->author_kind == AuthorKind::system);
  CHECK(api->author_kind == AuthorKind::agent);
  CHECK(api->channel == "whatsapp");
  CHECK(reply->author_handle == "+4930123456");  // the business's number, normalised
}

TEST_CASE("twilio messages keep their delivery status and media; an alphanumeric sender is the business's") {
  FakeServer server([](const auto&, std::size_t) { return Scripted{200, fixture("twilio/messages_statuses.json")}; });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  const auto pulled = test::pull_one("sms", *rig.adapter, store);
  REQUIRE_FALSE(pulled.error);
  CHECK(store.records().dead_letters().empty());
  const auto get = [&](const char* sid) {
    auto m = store.records().message("sms", sid);
    REQUIRE(m);
    return *m;
  };
  // From the sender ID "ACME": kept, under the customer's number, with the sender ID as the business.
  const auto alpha = get("SM00000000000000000000000000000021");
  CHECK(alpha.conversation == "sms:ACME:+4915112345678");
  CHECK(alpha.author_handle == "ACME");
  CHECK(alpha.direction == Direction::outbound);
  CHECK(alpha.status == "failed");  // undelivered
  CHECK(alpha.text == "Ihr Code: 4711");
  // A picture alone: two attachments, not an empty text.
  const auto mms = get("MM00000000000000000000000000000022");
  CHECK(mms.text.empty());
  REQUIRE(mms.attachments.size() == 2);
  CHECK(mms.attachments[0].type == "media");
  CHECK(mms.status.empty());                                            // received: inbound has no delivery status
  CHECK(get("SM00000000000000000000000000000023").status == "failed");  // canceled before it was sent
  CHECK(get("SM00000000000000000000000000000024").status == "sent");
  CHECK(get("SM00000000000000000000000000000025").status == "read");
  CHECK(get("SM00000000000000000000000000000026").status.empty());  // queued: not final
}

TEST_CASE("twilio health: 403 is auth_failed, Twilio's 20429 is rate_limited whatever the status") {
  SECTION("403") {
    FakeServer server([](const auto&, std::size_t) {
      return Scripted{
          403,
          R"({"code":20003,"message":"Permission Denied","more_info":"https://www.twilio.com/docs/errors/20003","status":403})"};
    });
    const auto r = Rig(server.base_url()).adapter->probe();
    CHECK(r.cls == HealthClass::auth_failed);
    CHECK(severity_of(r.cls) == Severity::critical);
    CHECK(r.evidence.vendor_code == "20003");
  }
  SECTION("20429") {
    FakeServer server([](const auto&, std::size_t) {
      return Scripted{
          400,
          R"({"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":400})"};
    });
    const auto r = Rig(server.base_url()).adapter->probe();
    CHECK(r.cls == HealthClass::rate_limited);
    CHECK(r.evidence.vendor_code == "20429");
  }
}

TEST_CASE("twilio connectors get one concurrency gate per account and API root", "[limits]") {
  using adapters::twilio::account_gate;
  auto gate = account_gate("https://api.twilio.com", k_sid);
  CHECK(account_gate("https://api.twilio.com/", k_sid) == gate);
  CHECK(account_gate("https://api.twilio.com", "AC11111111111111111111111111111111") != gate);
  CHECK(account_gate("https://api.eu1.twilio.com", k_sid) != gate);
  // A gate no connector holds is let go: a later connector starts from the initial limit.
  REQUIRE(gate->try_acquire());
  gate->release(true);  // the one request in flight refused: one at a time for this account
  CHECK(gate->limit() == 1);
  CHECK(account_gate("https://api.twilio.com", k_sid)->limit() == 1);
  const std::weak_ptr<adapters::ConcurrencyGate> held = gate;
  gate.reset();
  CHECK(held.expired());
  CHECK(account_gate("https://api.twilio.com", k_sid)->limit() == 4);
}

TEST_CASE("twilio connectors of one account learn one concurrency limit; another account's is its own", "[limits]") {
  // Twilio refuses the very first request for the account's concurrency (429, error 20429).
  FakeServer server([](const httplib::Request& req, std::size_t n) {
    if (n == 0) return Scripted{429, R"({"code":20429,"message":"Too Many Requests","status":429})"};
    if (req.path.ends_with("/Calls.json"))
      return Scripted{200, fixture(req.has_param("PageToken") ? "twilio/calls_page2.json" : "twilio/calls_page1.json")};
    return pages(req, n);
  });
  test::TwilioRig sms(server.base_url(), "twilio-messaging", "sms");
  test::TwilioRig voice(server.base_url() + "/", "twilio-calls", "voice");
  const std::string other_sid = "AC22222222222222222222222222222222";
  EndpointConfig other_cfg{"other", "twilio-messaging"};
  other_cfg.options = {{"account_sid", other_sid}, {"own_numbers", {"+4930123456"}}, {"base_url", server.base_url()}};
  other_cfg.secrets = {{"auth_token", "tok"}};
  const auto other = adapters::create_adapter(other_cfg, "DE", [](std::chrono::milliseconds) {});
  const auto gate = adapters::twilio::account_gate(server.base_url(), k_sid);
  const auto other_gate = adapters::twilio::account_gate(server.base_url(), other_sid);
  REQUIRE(gate != other_gate);
  StateStore store(":memory:");

  // sms: its one request in flight was refused, so the account takes one at a time: the limit drops
  // from 4 to 1 and stays there (the ceiling a refusal teaches holds for a minute) through its pages.
  REQUIRE_FALSE(test::pull_one("sms", *sms.adapter, store, 2).error);
  CHECK(gate->limit() == 1);
  // voice, another type on the same account, is held to the same gate (a gate of its own would
  // have started at 4 and grown).
  CHECK(adapters::twilio::account_gate(server.base_url() + "/", k_sid) == gate);
  REQUIRE_FALSE(test::pull_one("voice", *voice.adapter, store, 3).error);
  CHECK(gate->limit() == 1);
  // Another account was never refused: its gate only grew from the initial 4.
  REQUIRE_FALSE(test::pull_one("other", *other, store, 2).error);
  CHECK(other_gate->limit() == Approx(4 + 0.25 + 1 / 4.25));
  CHECK(gate->in_flight() == 0);
}

namespace {

// A chain of `last` pages of the fixture's two messages (sids made unique per page); page `fail_at`
// answers 404.
FakeServer::Handler chain_of(int last, int fail_at = 0) {
  return [=](const httplib::Request& req, std::size_t) -> Scripted {
    const int k = req.has_param("PageToken") ? std::stoi(req.get_param_value("PageToken").substr(1)) : 1;
    if (k == fail_at)
      return {404, R"({"code": 20404, "message": "The requested resource was not found", "status": 404})"};
    auto page = nlohmann::json::parse(fixture("twilio/messages_page1.json"));
    for (auto& m : page.at("messages")) m["sid"] = m.at("sid").get<std::string>() + std::to_string(k);
    page["next_page_uri"] = k == last
                                ? nlohmann::json()
                                : nlohmann::json(fmt::format(
                                      "/2010-04-01/Accounts/{}/Messages.json?PageSize=2&PageToken=P{}", k_sid, k + 1));
    return {200, page.dump()};
  };
}

// The page numbers the server was asked for, in order.
std::vector<int> asked(FakeServer& server) {
  std::vector<int> out;
  for (const auto& r : server.requests()) {
    const auto t = r.params.find("PageToken");
    out.push_back(t == r.params.end() ? 1 : std::stoi(t->second.substr(1)));
  }
  return out;
}

void wait_for_requests(FakeServer& server, std::size_t n) {
  for (int i = 0; i < 500 && server.requests().size() < n; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

}  // namespace

TEST_CASE("twilio asks for the next page as soon as an answer names it, with at most two answers waiting") {
  FakeServer server(chain_of(5));
  Rig rig(server.base_url());
  auto& source = *rig.adapter->conversations();
  auto page1 = source.pull_conversations({"conversations", "", 2});
  REQUIRE(page1);
  CHECK(page1->requests == 1);
  // Nobody asked for pages 2 and 3: the chain asked for each once the answer before named it, and
  // stops with two waiting (a longer wait would show page 4 if it went on).
  wait_for_requests(server, 3);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(asked(server) == std::vector<int>{1, 2, 3});
  // Taking page 2 leaves one waiting: page 4 is asked for, and page 5 once page 3 is taken.
  auto page2 = source.pull_conversations({"conversations", page1->next_cursor, 2});
  REQUIRE(page2);
  CHECK(page2->requests == 1);
  wait_for_requests(server, 4);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(asked(server) == std::vector<int>{1, 2, 3, 4});
  auto cursor = page2->next_cursor;
  for (int k = 3; k <= 5; ++k) {
    auto page = source.pull_conversations({"conversations", cursor, 2});
    REQUIRE(page);
    CHECK(page->requests == 1);
    CHECK(page->done == (k == 5));
    CHECK(page->items.at(0).messages.at(0).id == "SM00000000000000000000000000000001" + std::to_string(k));
    cursor = page->next_cursor;
  }
  CHECK(asked(server) == std::vector<int>{1, 2, 3, 4, 5});  // every page once
}

TEST_CASE("twilio counts the pages its chain read ahead and dropped for another cursor") {
  FakeServer server(chain_of(5));
  Rig rig(server.base_url());
  auto& source = *rig.adapter->conversations();
  REQUIRE(source.pull_conversations({"conversations", "", 2}));
  wait_for_requests(server, 3);  // pages 2 and 3 waiting
  auto again = source.pull_conversations({"conversations", "", 2});
  REQUIRE(again);
  CHECK(again->requests == 3);  // the first page again, and the two dropped
  wait_for_requests(server, 6);
  CHECK(asked(server) == std::vector<int>{1, 2, 3, 1, 2, 3});
}

TEST_CASE("twilio's chain of pages ends at a refused page: the pages before are committed, no page after it asked") {
  FakeServer server(chain_of(6, 3));
  Rig rig(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("sms", *rig.adapter, store, 2);
  REQUIRE(stats.error);
  CHECK(stats.error->message.find("404") != std::string::npos);
  CHECK(stats.pages == 2);
  CHECK(store.records().message("sms", "SM000000000000000000000000000000012"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(asked(server) == std::vector<int>{1, 2, 3});
}

TEST_CASE("twilio reads the next page ahead while this one is mapped and uses it only when asked for") {
  const std::string first = test::fixture("twilio/messages_page1.json");
  const std::string next = adapters::twilio::peek_next_page_uri(first);
  CHECK(next == nlohmann::json::parse(first).at("next_page_uri").get<std::string>());
  CHECK(adapters::twilio::peek_next_page_uri(test::fixture("twilio/messages_page2.json")).empty());  // null
  CHECK(adapters::twilio::peek_next_page_uri(R"({"messages": [], "next_page_uri": "\/2010-04-01\/x?a=1\u0026b=2"})") ==
        "/2010-04-01/x?a=1&b=2");  // escapes decoded, as the page's parser does
  CHECK(adapters::twilio::peek_next_page_uri(R"({"messages": [], "next_page_uri": "\/x\q"})").empty());  // not JSON
  CHECK(adapters::twilio::peek_next_page_uri(R"({"messages": [])").empty());

  FakeServer server(pages);
  Rig rig(server.base_url());
  auto& source = *rig.adapter->conversations();
  auto page1 = source.pull_conversations({"conversations", "", 2});
  REQUIRE(page1);
  CHECK(page1->requests == 1);
  // Page 2 is on its way before anyone asked for it.
  for (int i = 0; i < 500 && server.requests().size() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(server.requests().size() == 2);
  CHECK(server.requests()[1].params.find("PageToken")->second == "PASM00000000000000000000000000000002");

  SECTION("the page read ahead is the next page: no second request") {
    auto page2 = source.pull_conversations({"conversations", page1->next_cursor, 2});
    REQUIRE(page2);
    CHECK(page2->done);
    CHECK(page2->requests == 1);
    CHECK(server.requests().size() == 2);
  }
  SECTION("another cursor: the read-ahead is dropped, counted, and the page asked for fetched") {
    auto again = source.pull_conversations({"conversations", "", 2});
    REQUIRE(again);
    CHECK_FALSE(again->done);
    CHECK(again->requests == 2);
    // The first page again, then its own read-ahead of page 2 (on its way: waited for).
    for (int i = 0; i < 500 && server.requests().size() < 4; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(server.requests().size() == 4);
    CHECK(server.requests()[2].params.count("PageToken") == 0);
    CHECK(server.requests()[3].params.find("PageToken")->second == "PASM00000000000000000000000000000002");
  }
}

TEST_CASE("twilio own_numbers that could match no number Twilio sends are a configuration error") {
  auto make = [](std::vector<std::string> own, std::string region) {
    EndpointConfig cfg{"sms", "twilio-messaging"};
    cfg.options = {{"account_sid", k_sid}, {"own_numbers", own}, {"base_url", "http://127.0.0.1:9"}};
    cfg.secrets = {{"auth_token", "tok"}};
    return adapters::create_adapter(cfg, region, [](std::chrono::milliseconds) {});
  };
  auto error = [&](std::vector<std::string> own, std::string region) -> std::string {
    try {
      make(std::move(own), std::move(region));
    } catch (const Failure& f) {
      CHECK(f.error().code == Errc::config);
      return f.what();
    }
    return "";
  };
  // National format: read with [identity] default_region, useless without one.
  CHECK_NOTHROW(make({"+4930123456", "030 123457"}, "DE"));
  CHECK_THAT(error({"+4930123456", "030 123457"}, ""),
             Catch::Contains("connectors.sms.own_numbers: \"030 123457\"") && Catch::Contains("default_region"));
  CHECK_THAT(error({"-"}, "DE"), Catch::Contains("\"-\" is not a number"));
  CHECK_NOTHROW(make({"ACME"}, "DE"));  // an alphanumeric sender ID: the business's anyway
  CHECK_NOTHROW(make({"12345"}, ""));   // a short code, as Twilio sends it
}

namespace {

// One Messages.json page of `messages`, each {sid, from, to, direction, status, date_sent}.
std::string messages_page(const std::vector<nlohmann::json>& messages) {
  auto page = nlohmann::json::parse(fixture("twilio/messages_statuses.json"));
  const auto shape = page["messages"][0];
  page["messages"] = nlohmann::json::array();
  for (const auto& m : messages) {
    auto w = shape;
    w.update(m);
    w["date_created"] = w["date_sent"];
    page["messages"].push_back(w);
  }
  return page.dump();
}

std::string rfc2822(Timestamp at) {
  const std::time_t t = at / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

}  // namespace

TEST_CASE("twilio: a redacted number names no one; sender IDs with - + _ &; a dead letter names its field") {
  const std::string day = "Fri, 31 Jul 2015 09:00:00 +0000";
  const auto in = [&](const char* sid, const char* from) {
    return nlohmann::json{{"sid", sid},           {"from", from},    {"to", "+4930123456"}, {"direction", "inbound"},
                          {"status", "received"}, {"date_sent", day}};
  };
  const auto out = [&](const char* sid, const char* from, const char* to) {
    return nlohmann::json{
        {"sid", sid},      {"from", from}, {"to", to}, {"direction", "outbound-api"}, {"status", "delivered"},
        {"date_sent", day}};
  };
  const std::string body = messages_page(
      {in("SM01", "+1415555XXXX"), in("SM02", "+1415555XXXX"), in("SM03", "+14155559999"),  // two masked, one real
       out("SM04", "ACME-CO", "+4915112345678"), out("SM05", "A&B Shop", "+4915112345678"),
       out("SM06", "Shop24-7", "+4915112345678"), out("SM07", "Acme_Info", "+4915112345678"),
       out("SM08", "+4930123456", "Kunde"), out("SM09", "no sender id!", "+4915112345678")});
  FakeServer server([&](const auto&, std::size_t) { return Scripted{200, body}; });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("sms", *rig.adapter, store).error);
  const auto m1 = store.records().message("sms", "SM01"), m2 = store.records().message("sms", "SM02");
  const auto m3 = store.records().message("sms", "SM03");
  REQUIRE((m1 && m2 && m3));
  CHECK(m1->author_handle == "redacted/SM01");  // not +14155559999, the keypad reading of XXXX
  CHECK(m1->conversation != m2->conversation);  // two redacted customers are not one thread
  int k = 0;
  const auto result = reconcile(store.identity().input({}), [&] { return "p" + std::to_string(++k); });
  CHECK_FALSE(result.is_verified("phone:redacted/SM01"));
  CHECK(result.person_of("phone:redacted/SM01") != result.person_of("phone:redacted/SM02"));
  CHECK(result.person_of("phone:redacted/SM01") != result.person_of("phone:+14155559999"));
  for (const char* sid : {"SM04", "SM05", "SM06", "SM07"}) {
    INFO(sid);
    const auto m = store.records().message("sms", sid);
    REQUIRE(m);
    CHECK(m->author_handle == std::string(sid == std::string("SM04")   ? "ACME-CO"
                                          : sid == std::string("SM05") ? "A&B Shop"
                                          : sid == std::string("SM06") ? "Shop24-7"
                                                                       : "Acme_Info"));
  }
  const auto dead = store.records().dead_letters();
  REQUIRE(dead.size() == 2);
  std::map<std::string, std::string> why;
  for (const auto& d : dead) why[d.record_id] = d.error;
  CHECK_THAT(why["SM08"], Catch::Contains("to \"Kunde\" (the customer)"));
  CHECK_THAT(why["SM09"], Catch::Contains("from \"no sender id!\" (the business)"));
}

TEST_CASE("twilio: a message whose status may still change keeps its day in the next pass") {
  const Timestamp now = now_ms();
  const auto msg = [&](const char* sid, const char* status, Timestamp at) {
    return nlohmann::json{
        {"sid", sid},       {"from", "+4930123456"},   {"to", "+4915112345678"}, {"direction", "outbound-api"},
        {"status", status}, {"date_sent", rfc2822(at)}};
  };
  const auto since = [](StateStore& store) {
    return nlohmann::json::parse(store.records().cursor("sms", "conversations")).at("since").get<std::string>();
  };
  const auto pull = [&](const std::vector<nlohmann::json>& ms) {
    const std::string body = messages_page(ms);
    FakeServer server([&](const auto&, std::size_t) { return Scripted{200, body}; });
    Rig rig(server.base_url());
    StateStore store(":memory:");
    REQUIRE_FALSE(test::pull_one("sms", *rig.adapter, store).error);
    return since(store);
  };
  constexpr Timestamp hour = 3'600'000;
  const auto day_of = [](Timestamp t) { return format_date(t); };
  // Sent 5 hours ago, before a message a day later: its receipt may still come, so its day is read again.
  CHECK(pull({msg("SM11", "delivered", now + 20 * hour), msg("SM12", "sent", now - 5 * hour)}) ==
        day_of(now - 5 * hour));
  CHECK(pull({msg("SM11", "delivered", now), msg("SM12", "queued", now - 30 * hour)}) == day_of(now - 30 * hour));
  // Final, or sent long enough ago that no receipt will come: the newest day.
  CHECK(pull({msg("SM11", "delivered", now), msg("SM12", "undelivered", now - 25 * hour)}) == day_of(now));
  CHECK(pull({msg("SM11", "delivered", now), msg("SM12", "sent", now - 26 * hour)}) == day_of(now));
}

TEST_CASE("twilio: with api_key_sid the key and its secret sign the requests; the account stays in the path") {
  FakeServer server(pages);
  EndpointConfig cfg{"sms", "twilio-messaging"};
  cfg.options = {{"account_sid", k_sid},
                 {"api_key_sid", "SK0123456789abcdef0123456789abcdef"},
                 {"own_numbers", {"+4930123456"}},
                 {"base_url", server.base_url()}};
  cfg.secrets = {{"auth_token", "secret"}};
  auto adapter = test::create_past_url_check(cfg);
  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("sms", *adapter, store).error);
  const auto reqs = server.requests();
  REQUIRE_FALSE(reqs.empty());
  CHECK(reqs[0].path == std::string("/2010-04-01/Accounts/") + k_sid + "/Messages.json");
  CHECK(reqs[0].authorization == "Basic U0swMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjpzZWNyZXQ=");  // SK…:secret
}
