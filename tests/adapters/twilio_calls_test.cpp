#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "adapters/registry.hpp"
#include "sync/pull.hpp"
#include "sync/reconcile.hpp"
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
  explicit Rig(const std::string& base_url) : TwilioRig(base_url, "twilio-calls", "voice") {}
};

// calls_page1.json: a completed inbound call, an unanswered outbound-api call (+0200 start time), an
// anonymous caller. calls_page2.json: the pseudo-number +266696687 (busy), an outbound-dial call
// without start_time (date_created stands in), a call dated "yesterday".
Scripted pages(const httplib::Request& req, std::size_t) {
  return {200, fixture(req.has_param("PageToken") ? "twilio/calls_page2.json" : "twilio/calls_page1.json")};
}

// One call as Twilio's list answers it, completed on 1 Dec 2026 at 10:00 and lasting 190 s.
nlohmann::json wire_call(const char* sid, const char* direction, const char* from, const char* to, const char* parent) {
  return {{"sid", sid},
          {"account_sid", k_sid},
          {"direction", direction},
          {"from", from},
          {"to", to},
          {"status", "completed"},
          {"start_time", "Tue, 01 Dec 2026 10:00:00 +0000"},
          {"end_time", "Tue, 01 Dec 2026 10:03:10 +0000"},
          {"date_created", "Tue, 01 Dec 2026 10:00:00 +0000"},
          {"duration", "190"},
          {"parent_call_sid", parent ? nlohmann::json(parent) : nlohmann::json(nullptr)}};
}

// Pulls one page of `calls` into `store`.
void pull_page(const std::vector<nlohmann::json>& calls, StateStore& store) {
  const nlohmann::json page{{"calls", calls}, {"next_page_uri", nullptr}, {"page", 0}, {"page_size", 50}};
  FakeServer server([&](const auto&, std::size_t) { return Scripted{200, page.dump()}; });
  Rig rig(server.base_url());
  REQUIRE_FALSE(test::pull_one("voice", *rig.adapter, store).error);
}

}  // namespace

TEST_CASE("twilio-calls follows next_page_uri to the end and maps each call to one call entry", "[twilio-calls]") {
  FakeServer server(pages);
  Rig rig(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("voice", *rig.adapter, store, 3);
  REQUIRE_FALSE(stats.error);
  CHECK(stats.pages == 2);
  CHECK(stats.received == 5);
  CHECK(stats.rejected == 1);
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].path == std::string("/2010-04-01/Accounts/") + k_sid + "/Calls.json");
  CHECK(reqs[0].params.find("PageSize")->second == "3");
  CHECK(reqs[0].params.count("StartTime>") == 0);  // a first pull reads everything
  CHECK(reqs[1].params.find("PageToken")->second == "PACA00000000000000000000000000000003");
  CHECK(reqs[0].authorization == "Basic QUNYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWDp0b2s=");  // AC…:tok
  const auto cursor = nlohmann::json::parse(store.records().cursor("voice", "conversations"));
  CHECK(cursor.at("since") == "2015-07-30");
  CHECK_FALSE(cursor.contains("next"));

  const auto in = store.records().message("voice", "CA00000000000000000000000000000001");
  REQUIRE(in);
  CHECK(in->kind == MessageKind::call);
  CHECK(in->channel == "call");
  CHECK(in->direction == Direction::inbound);
  CHECK(in->author_kind == AuthorKind::customer);
  CHECK(in->author_handle == "+4915112345678");
  CHECK(in->conversation == "call:+4930123456:+4915112345678");
  CHECK(in->text == "call completed, 3 min 12 s");
  CHECK(in->status.empty());
  CHECK(in->sent_at == 1438287151000);  // Thu, 30 Jul 2015 20:12:31 +0000

  const auto out = store.records().message("voice", "CA00000000000000000000000000000002");
  REQUIRE(out);
  CHECK(out->direction == Direction::outbound);
  CHECK(out->author_kind == AuthorKind::agent);
  CHECK(out->author_handle == "+4930123456");
  CHECK(out->conversation == in->conversation);  // one conversation per customer number
  CHECK(out->text == "call no-answer");
  CHECK(out->status == "failed");
  CHECK(out->sent_at == 1438275601000);  // 19:00:01 +0200

  const auto dial = store.records().message("voice", "CA00000000000000000000000000000005");
  REQUIRE(dial);
  CHECK(dial->direction == Direction::outbound);
  CHECK(dial->conversation == "call:+4930123456:+4917012345670");
  CHECK(dial->sent_at == 1438101900000);  // no start_time: date_created, Tue, 28 Jul 2015 16:45:00
  CHECK(dial->text == "call completed, 1 h 2 min 5 s");
}

TEST_CASE("twilio-calls resumes with StartTime>= the newest day, overlapping one day without duplicates",
          "[twilio-calls]") {
  FakeServer server(pages);
  Rig rig(server.base_url());
  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("voice", *rig.adapter, store, 3).error);
  const auto messages = store.count("messages");
  const auto again = test::pull_one("voice", *rig.adapter, store, 3);
  REQUIRE_FALSE(again.error);
  CHECK(again.received == 5);  // the same calls come again (the fake ignores the filter) ...
  CHECK(again.written == 0);   // ... and are deduplicated by sid
  CHECK(store.count("messages") == messages);
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 4);
  CHECK(reqs[2].params.find("StartTime>")->second == "2015-07-30");
  CHECK(reqs[2].query_target.find("StartTime%3E=2015-07-30") != std::string::npos);
  CHECK(reqs[2].params.count("PageToken") == 0);
}

TEST_CASE("twilio-calls reads a call still in progress again the next pass, though a later day's call was seen",
          "[twilio-calls]") {
  // A call ringing just before midnight UTC (a US afternoon) and one just after; the fake honours
  // StartTime>= as Twilio does. Once the first call ends, the next pass must see its outcome.
  const auto base = nlohmann::json::parse(fixture("twilio/calls_page1.json"));
  auto call = [&](const std::string& sid, const std::string& status, const std::string& start, const std::string& day,
                  const std::string& duration) {
    auto c = base["calls"][0];
    c["sid"] = sid;
    c["status"] = status;
    c["start_time"] = start;
    c["duration"] = duration;
    return std::pair{day, c};
  };
  std::mutex mu;
  std::vector<std::pair<std::string, nlohmann::json>> calls = {
      call("CA10000000000000000000000000000001", "in-progress", "Mon, 01 Jan 2024 23:50:00 +0000", "2024-01-01", ""),
      call("CA10000000000000000000000000000002", "completed", "Tue, 02 Jan 2024 00:05:00 +0000", "2024-01-02", "60")};
  FakeServer server([&](const httplib::Request& req, std::size_t) {
    std::lock_guard lock(mu);
    const std::string from = req.has_param("StartTime>") ? req.get_param_value("StartTime>") : "";
    auto page = base;
    page["calls"] = nlohmann::json::array();
    for (auto it = calls.rbegin(); it != calls.rend(); ++it)  // newest first
      if (it->first >= from) page["calls"].push_back(it->second);
    page["next_page_uri"] = nullptr;
    return Scripted{200, page.dump()};
  });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("voice", *rig.adapter, store).error);
  CHECK(nlohmann::json::parse(store.records().cursor("voice", "conversations")).at("since") == "2024-01-01");
  {
    std::lock_guard lock(mu);
    calls[0] = call("CA10000000000000000000000000000001", "completed", "Mon, 01 Jan 2024 23:50:00 +0000", "2024-01-01",
                    "2400");
  }
  REQUIRE_FALSE(test::pull_one("voice", *rig.adapter, store).error);
  const auto ended = store.records().message("voice", "CA10000000000000000000000000000001");
  REQUIRE(ended);
  CHECK(ended->text == "call completed, 40 min 0 s");
  // Both final now: the next pass starts from the newest day again.
  CHECK(nlohmann::json::parse(store.records().cursor("voice", "conversations")).at("since") == "2024-01-02");
}

TEST_CASE("twilio-calls 401 is an auth error, not retried", "[twilio-calls]") {
  FakeServer server([](const auto&, std::size_t) { return Scripted{401, fixture("twilio/error_20003.json")}; });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("voice", *rig.adapter, store, 3);
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::auth);
  CHECK_THAT(stats.error->message, Catch::Contains("20003") && Catch::Contains("calls"));
  CHECK(rig.sleeps.empty());
  CHECK(rig.adapter->probe().cls == HealthClass::auth_failed);
}

TEST_CASE("twilio-calls 429 honours Retry-After; 5xx is retried with backoff", "[twilio-calls]") {
  FakeServer server([](const httplib::Request& req, std::size_t n) {
    if (n == 0) return Scripted{429, R"({"code":20429,"message":"Too Many Requests"})", {{"Retry-After", "3"}}};
    if (n == 1) return Scripted{503, R"({"code":20503,"message":"Service Unavailable"})"};
    return pages(req, n);
  });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("voice", *rig.adapter, store, 3);
  REQUIRE_FALSE(stats.error);
  REQUIRE(rig.sleeps.size() == 2);
  CHECK(rig.sleeps[0] == std::chrono::milliseconds(3000));
  CHECK(rig.sleeps[1] <= std::chrono::milliseconds(1000));
  CHECK(stats.requests == 4);
  CHECK(stats.received == 5);
}

TEST_CASE("twilio-calls 5xx that persists fails the pull with the cursor kept", "[twilio-calls]") {
  FakeServer server([](const auto&, std::size_t) { return Scripted{500, R"({"code":20500,"message":"Internal"})"}; });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("voice", *rig.adapter, store, 3);
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::unavailable);
  CHECK(stats.pages == 0);
  CHECK(store.records().cursor("voice", "conversations").empty());
}

TEST_CASE("twilio-calls malformed page is a protocol error and the cursor is not advanced", "[twilio-calls]") {
  FakeServer server([](const httplib::Request& req, std::size_t n) {
    if (req.has_param("PageToken")) return Scripted{200, R"({"calls": [{"sid": "CAbroken", "from": )"};
    return pages(req, n);
  });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("voice", *rig.adapter, store, 3);
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::protocol);
  CHECK_THAT(stats.error->message,
             Catch::Contains("Calls.json page is not valid JSON") && Catch::Contains("cursor was not advanced"));
  CHECK(stats.pages == 1);
  CHECK(nlohmann::json::parse(store.records().cursor("voice", "conversations"))
            .at("next")
            .get<std::string>()
            .find("PageToken=PACA00000000000000000000000000000003") != std::string::npos);
  SECTION("a page without a calls array is one too") {
    FakeServer other([](const auto&, std::size_t) {
      return Scripted{200, R"({"messages": [], "next_page_uri": null})"};
    });
    Rig r2(other.base_url());
    StateStore s2(":memory:");
    const auto st = test::pull_one("voice", *r2.adapter, s2, 3);
    REQUIRE(st.error);
    CHECK(st.error->code == Errc::protocol);
    CHECK_THAT(st.error->message, Catch::Contains("no \"calls\" array"));
    CHECK(s2.records().cursor("voice", "conversations").empty());
  }
}

TEST_CASE("twilio-calls anonymous callers are kept unverified and join nobody", "[twilio-calls]") {
  FakeServer server(pages);
  Rig rig(server.base_url());
  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("voice", *rig.adapter, store, 3).error);
  const auto a = store.records().message("voice", "CA00000000000000000000000000000003");
  const auto b = store.records().message("voice", "CA00000000000000000000000000000004");
  REQUIRE((a && b));
  CHECK(a->kind == MessageKind::call);
  CHECK(a->text == "call completed, 45 s");
  CHECK(b->text == "call busy");
  CHECK(b->status == "failed");
  CHECK(a->conversation != b->conversation);  // each anonymous call is a thread of its own
  int k = 0;
  const auto result = reconcile(store.identity().input({}), [&] { return "p" + std::to_string(++k); });
  const std::string ka = "phone:" + a->author_handle, kb = "phone:" + b->author_handle;
  CHECK(a->author_handle == "anonymous/CA00000000000000000000000000000003");
  CHECK(b->author_handle == "anonymous/CA00000000000000000000000000000004");  // +266696687
  REQUIRE(result.contains(ka));
  REQUIRE(result.contains(kb));
  CHECK_FALSE(result.is_verified(ka));
  CHECK_FALSE(result.is_verified(kb));
  CHECK(result.person_of(ka) != result.person_of(kb));
  for (const auto& [node, person] : result.assignment())  // nobody else shares their persons
    if (node != ka && node != kb) CHECK((person != result.person_of(ka) && person != result.person_of(kb)));
}

TEST_CASE("twilio-calls a call forwarded to an agent's phone is the customer's call, not the agent's",
          "[twilio-calls]") {
  // An inbound call to the business number, forwarded by <Dial> to an agent's mobile: the child leg
  // carries the caller's number as its from (Twilio's default caller ID) and the agent's as its to.
  StateStore store(":memory:");
  pull_page({wire_call("CA00000000000000000000000000000011", "outbound-dial", "+4915112345678", "+4917099999999",
                       "CA00000000000000000000000000000010"),
             wire_call("CA00000000000000000000000000000010", "inbound", "+4915112345678", "+4930123456", nullptr)},
            store);
  const auto parent = store.records().message("voice", "CA00000000000000000000000000000010");
  REQUIRE(parent);
  CHECK(parent->conversation == "call:+4930123456:+4915112345678");
  CHECK(parent->direction == Direction::inbound);
  CHECK_FALSE(store.records().message("voice", "CA00000000000000000000000000000011"));
  CHECK(store.records().dead_letters("voice").empty());
  // Nobody is the agent's phone: it is no customer.
  const auto result = reconcile(store.identity().input({}), [] { return std::string("p"); });
  CHECK_FALSE(result.contains("phone:+4917099999999"));
  CHECK(result.contains("phone:+4915112345678"));
}

TEST_CASE("twilio-calls an agent's softphone leg is left to its <Dial> leg, without a dead letter", "[twilio-calls]") {
  // A Voice SDK call: the agent's browser calls the TwiML app (from client:anna, no to), whose <Dial>
  // calls the customer from the business number; and a call put through to a SIP phone.
  StateStore store(":memory:");
  pull_page({wire_call("CA00000000000000000000000000000021", "inbound", "client:anna", "", nullptr),
             // Its caller ID is a number own_numbers does not list.
             wire_call("CA00000000000000000000000000000022", "outbound-dial", "+4930555999", "+4915112345678",
                       "CA00000000000000000000000000000021"),
             wire_call("CA00000000000000000000000000000023", "outbound-api", "+4930123456", "sip:anna@pbx.example.com",
                       nullptr)},
            store);
  const auto child = store.records().message("voice", "CA00000000000000000000000000000022");
  REQUIRE(child);
  CHECK(child->conversation == "call:+4930555999:+4915112345678");
  CHECK(child->direction == Direction::outbound);
  CHECK_FALSE(store.records().message("voice", "CA00000000000000000000000000000021"));
  CHECK_FALSE(store.records().message("voice", "CA00000000000000000000000000000023"));
  CHECK(store.records().dead_letters("voice").empty());
}

TEST_CASE("twilio-calls a call with an unparseable date is a dead letter with its raw JSON", "[twilio-calls]") {
  FakeServer server(pages);
  Rig rig(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("voice", *rig.adapter, store, 3);
  REQUIRE_FALSE(stats.error);
  const auto dead = store.records().dead_letters("voice");
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].record_id == "CA00000000000000000000000000000006");
  CHECK_THAT(dead[0].error, Catch::Contains("yesterday"));
  CHECK_THAT(dead[0].raw, Catch::StartsWith("{\"account_sid\"") && Catch::Contains("+4915199999999"));
  CHECK_FALSE(store.records().message("voice", "CA00000000000000000000000000000006"));
}

TEST_CASE("twilio-calls probe reads the account like twilio-messaging", "[twilio-calls]") {
  FakeServer server([](const httplib::Request& req, std::size_t) {
    if (req.path == std::string("/2010-04-01/Accounts/") + k_sid + ".json")
      return Scripted{200, fixture("twilio/account.json")};
    return Scripted{404, R"({"code":20404,"message":"not found"})"};
  });
  Rig rig(server.base_url());
  const auto r = rig.adapter->probe();
  CHECK(r.cls == HealthClass::ok);
  CHECK(r.evidence.http_status == 200);
}

TEST_CASE("twilio-calls: every withheld caller Twilio writes as keypad digits, and a masked number, joins nobody",
          "[twilio-calls]") {
  const auto base = nlohmann::json::parse(fixture("twilio/calls_page1.json"));
  auto page = base;
  page["calls"] = nlohmann::json::array();
  page["next_page_uri"] = nullptr;
  const std::vector<std::string> froms = {"+7378742833",  "+7378742833", "+2562533",     "8656696",
                                          "+86282452253", "BLOCKED",     "+1415555XXXX", "+1415555XXXX"};
  for (std::size_t i = 0; i < froms.size(); ++i) {
    auto c = base["calls"][0];
    c["sid"] = fmt::format("CA2000000000000000000000000000000{}", i);
    c["from"] = froms[i];
    c["direction"] = "inbound";
    page["calls"].push_back(c);
  }
  FakeServer server([&](const auto&, std::size_t) { return Scripted{200, page.dump()}; });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("voice", *rig.adapter, store).error);
  CHECK(store.records().dead_letters().empty());
  std::set<std::string> conversations;
  for (std::size_t i = 0; i < froms.size(); ++i) {
    const std::string sid = fmt::format("CA2000000000000000000000000000000{}", i);
    const auto m = store.records().message("voice", sid);
    REQUIRE(m);
    INFO(froms[i]);
    CHECK(m->author_handle == (i < 6 ? "anonymous/" : "redacted/") + sid);
    conversations.insert(m->conversation);
  }
  CHECK(conversations.size() == froms.size());  // each call a thread of its own: two callers are never one
}
