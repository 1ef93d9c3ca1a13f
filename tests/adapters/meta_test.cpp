#include <algorithm>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adapters/meta/meta_api.hpp"
#include "adapters/registry.hpp"
#include "sync/pull.hpp"
#include "tests/support/fake_server.hpp"
#include "tests/support/past_url_check.hpp"
#include "tests/support/pull_one.hpp"

using namespace chansync;
using test::FakeServer;
using test::fixture;
using test::Scripted;

namespace {

constexpr const char* k_page = "1122334455";

// A fixture with {{BASE}} replaced by the URL the request came to, as Graph's absolute links are.
std::string graph_fixture(const std::string& name, const httplib::Request& req) {
  std::string text = fixture("meta/" + name);
  const std::string base = "http://" + req.get_header_value("Host");
  for (auto at = text.find("{{BASE}}"); at != std::string::npos; at = text.find("{{BASE}}", at))
    text.replace(at, 8, base);
  return text;
}

// Graph for both platforms: the page, its conversations in two pages, t_10's older messages.
Scripted graph(const httplib::Request& req, std::size_t) {
  const std::string platform = req.has_param("platform") ? req.get_param_value("platform") : "";
  if (req.path == std::string("/v23.0/") + k_page) {
    const auto fields = req.get_param_value("fields");
    return {200, fixture(fields == "instagram_business_account" ? "meta/page_instagram.json" : "meta/page.json")};
  }
  if (req.path == std::string("/v23.0/") + k_page + "/conversations") {
    const bool second = req.has_param("after");
    return {200, graph_fixture(platform + (second ? "_page2.json" : "_page1.json"), req)};
  }
  if (req.path == "/v23.0/t_10/messages") return {200, graph_fixture("messenger_messages_t10.json", req)};
  return {404, R"({"error":{"message":"Unknown path","type":"GraphMethodException","code":100,"fbtrace_id":"X"}})"};
}

struct Rig {
  std::vector<std::chrono::milliseconds> sleeps;
  std::unique_ptr<Adapter> adapter;
  Rig(const std::string& base_url, const std::string& type = "meta-messenger", const std::string& version = "v23.0") {
    EndpointConfig cfg{type == "meta-messenger" ? "fb" : "ig", type};
    cfg.options = {{"page_id", k_page}, {"api_version", version}, {"base_url", base_url}};
    cfg.secrets = {{"token", "EAAGpagetoken"}};
    // Past the URL check: some tests put credentials in base_url (past_url_check.hpp).
    adapter = test::create_past_url_check(cfg, [this](std::chrono::milliseconds d) { sleeps.push_back(d); });
  }
};

std::string customer_name(StateStore& store, const std::string& conversation) {
  SQLite::Statement q(store.db(), "SELECT customer || ' ' || customer_name FROM conversations WHERE id = ?");
  q.bind(1, conversation);
  return q.executeStep() ? q.getColumn(0).getString() : "";
}

}  // namespace

TEST_CASE("meta-messenger pages conversations by cursors.after and follows a conversation's nested messages",
          "[meta]") {
  FakeServer server(graph);
  Rig rig(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("fb", *rig.adapter, store, 2);
  REQUIRE_FALSE(stats.error);
  CHECK(stats.pages == 2);
  CHECK(stats.received == 6);  // m_0 (nested page) .. m_6, without m_5
  CHECK(stats.rejected == 1);  // m_5's created_time "yesterday": a dead letter with its JSON
  const auto dead = store.records().dead_letters("fb");
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].record_id == "m_5");
  CHECK_THAT(dead[0].raw, Catch::Contains("Still there?"));

  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[0].path == "/v23.0/1122334455/conversations");
  CHECK(reqs[0].params.find("platform")->second == "messenger");
  CHECK(reqs[0].params.find("fields")->second ==
        "id,updated_time,participants,messages.limit(100){id,created_time,from,to,message,attachments,sticker}");
  CHECK(reqs[0].params.find("limit")->second == "2");
  CHECK(reqs[1].path == "/v23.0/t_10/messages");  // the nested next, same host as base_url
  CHECK(reqs[1].params.find("after")->second == "TVNHMQ");
  CHECK(reqs[2].params.find("after")->second == "QVFIUlQyMA");
  for (const auto& r : reqs) {
    CHECK(r.authorization == "Bearer EAAGpagetoken");
    CHECK_FALSE(r.params.count("access_token"));  // never in a query string, not even Graph's own links
  }

  // From the page: the business; from anyone else: the customer, by page-scoped id.
  const auto shipped = store.records().message("fb", "m_3");
  REQUIRE(shipped);
  CHECK(shipped->direction == Direction::outbound);
  CHECK(shipped->author_kind == AuthorKind::agent);
  CHECK(shipped->channel == "messenger");
  CHECK(shipped->sent_at == *parse_rfc3339("2026-10-02T10:00:00Z"));
  const auto asked = store.records().message("fb", "m_1");
  REQUIRE(asked);
  CHECK(asked->direction == Direction::inbound);
  CHECK(asked->author_kind == AuthorKind::customer);
  CHECK(asked->author_handle == "1122334455:7001");
  CHECK(customer_name(store, "t_10") == "messenger_psid:1122334455:7001 Ada Lovelace");
  CHECK(store.records().message("fb", "m_0"));  // from the nested page

  // A message of attachments only is kept; attachments keep type, name and url.
  const auto photo = store.records().message("fb", "m_2");
  REQUIRE(photo);
  CHECK(photo->text.empty());
  CHECK(photo->kind == MessageKind::message);
  REQUIRE(photo->attachments.size() == 1);
  CHECK(photo->attachments[0] == Attachment{"image", "parcel.jpg", "https://scontent.xx.fbcdn.net/v/parcel.jpg?oh=1"});
  const auto pdf = store.records().message("fb", "m_4");
  REQUIRE(pdf);
  REQUIRE(pdf->attachments.size() == 1);
  CHECK(pdf->attachments[0] == Attachment{"file", "address.pdf", "https://cdn.fbsbx.com/v/address.pdf?dl=1"});

  const auto cursor = nlohmann::json::parse(store.records().cursor("fb", "conversations"));
  CHECK(cursor.at("since") == *parse_rfc3339("2026-10-02T10:00:00Z"));  // the newest updated_time seen
  CHECK_FALSE(cursor.contains("after"));
}

TEST_CASE("meta incremental pull stops at the first conversation older than the high-water mark", "[meta]") {
  FakeServer server(graph);
  Rig rig(server.base_url());
  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("fb", *rig.adapter, store, 2).error);
  const auto first = server.requests().size();

  Rig again(server.base_url());
  const auto stats = test::pull_one("fb", *again.adapter, store, 2);
  REQUIRE_FALSE(stats.error);
  const auto reqs = server.requests();
  // One request: t_10 (updated at the mark) is re-read, t_20 is older: stop. Its nested older
  // messages are before the mark too, so they are not fetched again; nor is page 2.
  REQUIRE(reqs.size() == first + 1);
  CHECK(reqs.back().path == "/v23.0/1122334455/conversations");
  CHECK_FALSE(reqs.back().params.count("after"));
  CHECK(stats.received == 3);
  CHECK(stats.written == 0);  // nothing changed
  CHECK(store.count("messages") == 6);
}

TEST_CASE("meta-instagram tells the business by its linked Instagram account and names customers by username",
          "[meta]") {
  FakeServer server(graph);
  Rig rig(server.base_url(), "meta-instagram");
  StateStore store(":memory:");
  const auto stats = test::pull_one("ig", *rig.adapter, store, 1);
  REQUIRE_FALSE(stats.error);
  CHECK(stats.pages == 2);
  CHECK(stats.received == 3);
  CHECK(stats.rejected == 1);  // a message without an id
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[0].params.find("fields")->second == "instagram_business_account");
  CHECK(reqs[1].params.find("platform")->second == "instagram");

  const auto link = store.records().message("ig", "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3");
  REQUIRE(link);
  CHECK(link->direction == Direction::outbound);
  CHECK(link->channel == "instagram");
  const auto video = store.records().message("ig", "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE2");
  REQUIRE(video);
  CHECK(video->direction == Direction::inbound);
  CHECK(video->author_handle == "1122334455:9001");
  REQUIRE(video->attachments.size() == 1);
  CHECK(video->attachments[0].type == "video");
  CHECK_THAT(video->attachments[0].url, Catch::StartsWith("https://lookaside.fbsbx.com/ig_messaging_cdn/"));
  CHECK(customer_name(store, "aWdfZAG06MTpJR01lc3NhZA2VUaHJlYWQ6MTc4") == "instagram_igsid:1122334455:9001 ada.l");
}

TEST_CASE("meta-instagram stops, storing nothing, when the page has no linked Instagram account", "[meta]") {
  // Otherwise every message the account sent would be stored as the customer's, for good.
  FakeServer server([](const httplib::Request& req, std::size_t n) -> Scripted {
    if (req.get_param_value("fields") == "instagram_business_account") return {200, R"({"id":"1122334455"})"};
    return graph(req, n);
  });
  Rig rig(server.base_url(), "meta-instagram");
  StateStore store(":memory:");
  const auto stats = test::pull_one("ig", *rig.adapter, store, 1);
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::protocol);
  CHECK_THAT(stats.error->message, Catch::Contains("no linked Instagram professional account"));
  CHECK(store.count("messages") == 0);
  CHECK(store.records().cursor("ig", "conversations").empty());
}

TEST_CASE("meta-instagram stops, storing nothing, when instagram_account_id is not the page's account", "[meta]") {
  FakeServer server(graph);
  EndpointConfig cfg{"ig", "meta-instagram"};
  cfg.options = {{"page_id", k_page},
                 {"instagram_account_id", "17841499999999999"},
                 {"api_version", "v23.0"},
                 {"base_url", server.base_url()}};
  cfg.secrets = {{"token", "EAAGpagetoken"}};
  const auto adapter = adapters::create_adapter(cfg, "DE", [](std::chrono::milliseconds) {});
  StateStore store(":memory:");
  const auto stats = test::pull_one("ig", *adapter, store, 1);
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::config);
  CHECK_THAT(stats.error->message, Catch::Contains("instagram_account_id is 17841499999999999") &&
                                       Catch::Contains("set instagram_account_id to 17841400000000001"));
  CHECK(store.count("messages") == 0);
  // health says so too.
  const auto report = adapter->probe();
  CHECK(report.cls != HealthClass::ok);
  CHECK_THAT(report.summary, Catch::Contains("instagram_account_id is 17841499999999999"));
}

TEST_CASE("meta malformed conversations page: a protocol error naming the page without base_url's credentials",
          "[meta]") {
  FakeServer server([](const httplib::Request& req, std::size_t n) -> Scripted {
    if (req.path == std::string("/v23.0/") + k_page + "/conversations") return {200, R"({"data": [{"id": "t_1", )"};
    return graph(req, n);
  });
  Rig rig(server.base_url_with_credentials());
  StateStore store(":memory:");
  const auto stats = test::pull_one("fb", *rig.adapter, store, 2);
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::protocol);
  CHECK_THAT(stats.error->message, Catch::Contains("(from http://<redacted>@127.0.0.1:") &&
                                       Catch::Contains("/conversations); the cursor") &&
                                       !Catch::Contains("url-password-17"));
  CHECK(store.records().cursor("fb", "conversations").empty());
}

TEST_CASE("meta with credentials in base_url: Graph's nested links are followed, its errors name no password",
          "[meta]") {
  FakeServer server(graph);
  const std::string with_credentials = server.base_url_with_credentials();
  {
    // Graph's paging.next names the host without them: the same origin all the same.
    Rig rig(with_credentials);
    StateStore store(":memory:");
    const auto stats = test::pull_one("fb", *rig.adapter, store, 2);
    REQUIRE_FALSE(stats.error);
    CHECK(stats.received == 6);
    CHECK(server.requests().at(1).path == "/v23.0/t_10/messages");
  }
  FakeServer refusing([](const httplib::Request&, std::size_t) {
    return Scripted{400, fixture("meta/error_190.json")};
  });
  Rig rig(refusing.base_url_with_credentials());
  StateStore store(":memory:");
  const auto stats = test::pull_one("fb", *rig.adapter, store, 2);
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::auth);
  CHECK_THAT(stats.error->message,
             Catch::Contains("http://<redacted>@127.0.0.1:") && !Catch::Contains("url-password-17"));
}

TEST_CASE("meta nested messages paging pointing at another host is not followed", "[meta]") {
  FakeServer server([](const httplib::Request& req, std::size_t n) -> Scripted {
    auto s = graph(req, n);
    for (auto at = s.body.find("http://127.0.0.1"); at != std::string::npos; at = s.body.find("http://127.0.0.1", at))
      s.body.replace(at, 16, "https://evil.example");
    return s;
  });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("fb", *rig.adapter, store, 2);
  REQUIRE(stats.error);
  CHECK_THAT(stats.error->message, Catch::Contains("https://evil.example") && Catch::Contains("not followed"));
  CHECK(server.requests().size() == 1);
  CHECK(store.count("messages") == 0);
}

TEST_CASE("meta nested messages paging that repeats its link: what was read is kept, a dead letter says what is not",
          "[meta]") {
  FakeServer server([](const httplib::Request& req, std::size_t n) -> Scripted {
    if (req.path != "/v23.0/t_10/messages") return graph(req, n);
    // Graph's older messages, whose paging.next is the very link that was followed.
    auto body = nlohmann::json::parse(graph_fixture("messenger_messages_t10.json", req));
    body["paging"]["next"] = "http://" + req.get_header_value("Host") + "/v23.0/t_10/messages?limit=100&after=SAME";
    return {200, body.dump()};
  });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("fb", *rig.adapter, store, 2);
  REQUIRE_FALSE(stats.error);
  std::size_t nested = 0;
  for (const auto& r : server.requests()) nested += r.path == "/v23.0/t_10/messages";
  CHECK(nested == 2);  // the fixture's link, then the repeated one once: not followed again
  CHECK(store.records().message("fb", "m_0"));
  bool said = false;
  for (const auto& d : store.records().dead_letters("fb"))
    said = said || (d.record_id == "t_10" && d.error.find("same messages.paging.next twice") != std::string::npos);
  CHECK(said);
}

TEST_CASE("meta \"reduce the amount of data\" (HTTP 500, code 1): the page is asked for with fewer conversations",
          "[meta]") {
  const std::string reduce =
      R"({"error":{"message":"Please reduce the amount of data you're asking for, then retry your request",)"
      R"("type":"OAuthException","code":1,"fbtrace_id":"AReduce1"}})";
  FakeServer server([&](const httplib::Request& req, std::size_t n) -> Scripted {
    if (req.path.ends_with("/conversations") && std::stoi(req.get_param_value("limit")) > 6) return {500, reduce};
    return graph(req, n);
  });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  auto page = rig.adapter->conversations()->pull_conversations({"conversations", "", 0});
  REQUIRE(page);
  CHECK_FALSE(page->items.empty());
  std::vector<std::string> limits;
  for (const auto& r : server.requests())
    if (r.path.ends_with("/conversations") && (limits.empty() || limits.back() != r.params.find("limit")->second))
      limits.push_back(r.params.find("limit")->second);
  CHECK(limits == std::vector<std::string>{"25", "12", "6"});

  // Still refused at one conversation with 25 messages: the error keeps Graph's words and fbtrace_id.
  FakeServer always([&](const httplib::Request& req, std::size_t n) -> Scripted {
    return req.path.ends_with("/conversations") ? Scripted{500, reduce} : graph(req, n);
  });
  Rig stuck(always.base_url());
  auto failed = stuck.adapter->conversations()->pull_conversations({"conversations", "", 0});
  REQUIRE_FALSE(failed);
  CHECK_THAT(failed.error().message, Catch::Contains("Graph error 1") && Catch::Contains("reduce the amount of data") &&
                                         Catch::Contains("AReduce1"));
  const auto last = always.requests().back();
  CHECK(last.params.find("limit")->second == "1");
  CHECK_THAT(last.params.find("fields")->second, Catch::Contains("messages.limit(25)"));
}

TEST_CASE(
    "meta Graph errors: 190 is an auth error with its fbtrace_id, 10 names the permission, 4 is rate "
    "limited, 12 says to raise api_version",
    "[meta]") {
  struct Case {
    const char* file;
    int status;
    Errc code;
    HealthClass cls;
    std::vector<std::string> words;
  };
  const std::vector<Case> cases = {
      {"error_190.json",
       400,
       Errc::auth,
       HealthClass::auth_failed,
       {"invalid or expired", "fbtrace_id AbCdEfGhIjK190", "190/463", "long-lived page access token"}},
      {"error_10.json", 403, Errc::auth, HealthClass::auth_failed, {"pages_messaging", "fbtrace_id AbCdEfGhIjK010"}},
      {"error_4.json", 403, Errc::rate_limited, HealthClass::rate_limited, {"fbtrace_id AbCdEfGhIjK004", "later"}},
      {"error_12.json", 400, Errc::config, HealthClass::deprecated, {"api_version", "v2.12", "AbCdEfGhIjK012"}},
  };
  for (const auto& c : cases) {
    INFO(c.file);
    FakeServer server([&](const httplib::Request&, std::size_t) {
      return Scripted{c.status, fixture(std::string("meta/") + c.file)};
    });
    Rig rig(server.base_url(), "meta-messenger", std::string(c.file) == "error_12.json" ? "v2.12" : "v23.0");
    StateStore store(":memory:");
    auto page = rig.adapter->conversations()->pull_conversations({"conversations", "", 0});
    REQUIRE_FALSE(page);
    CHECK(page.error().code == c.code);
    for (const auto& w : c.words) CHECK_THAT(page.error().message, Catch::Contains(w));
    CHECK_THAT(page.error().message, !Catch::Contains("EAAGpagetoken"));

    const auto report = rig.adapter->probe();
    CHECK(report.cls == c.cls);
    CHECK_THAT(report.evidence.vendor_message, Catch::Contains(c.words.size() > 1 ? "fbtrace_id" : ""));
    CHECK_THAT(report.summary, Catch::Contains(c.words[0]));
    CHECK(server.requests().back().path ==
          "/" + std::string(std::string(c.file) == "error_12.json" ? "v2.12" : "v23.0") + "/1122334455");
  }
}

TEST_CASE("meta probe reads the page with fields=id,name, then debug_token, and is ok only for that page", "[meta]") {
  FakeServer server([](const httplib::Request& req, std::size_t n) {
    return req.path.ends_with("/debug_token") ? Scripted{200, fixture("meta/debug_token.json")} : graph(req, n);
  });
  Rig rig(server.base_url());
  const auto report = rig.adapter->probe();
  CHECK(report.cls == HealthClass::ok);
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].params.find("fields")->second == "id,name");
  CHECK(reqs[0].authorization == "Bearer EAAGpagetoken");
  // The token inspects itself; what it says is evidence, its expiry judged by check_health.
  CHECK(reqs[1].path == "/v23.0/debug_token");
  CHECK(reqs[1].params.find("input_token")->second == "EAAGpagetoken");
  CHECK(reqs[1].authorization == "Bearer EAAGpagetoken");
  REQUIRE(report.expiries.size() == 1);
  CHECK(report.expiries[0].what == "data access");
  CHECK(report.expiries[0].at == 1'804'118'400'000);
  CHECK(std::any_of(report.findings.begin(), report.findings.end(),
                    [](const Finding& f) { return f.signal == "token scopes" && f.cls == HealthClass::ok; }));
  // Evidence never carries the token, though debug_token's query holds it.
  CHECK(nlohmann::json(report).dump().find("EAAGpagetoken") == std::string::npos);

  FakeServer other([](const httplib::Request&, std::size_t) { return Scripted{200, R"({"id":"999","name":"x"})"}; });
  CHECK(Rig(other.base_url()).adapter->probe().cls == HealthClass::unknown);
}

TEST_CASE("meta usage headers: paced past 75%, unpaced below, and a pull stops before 100% saying when to retry",
          "[meta]") {
  auto with_usage = [](std::string app, std::string buc) {
    return [app, buc](const httplib::Request& req, std::size_t n) {
      auto s = graph(req, n);
      if (!app.empty()) s.headers.push_back({"X-App-Usage", app});
      if (!buc.empty()) s.headers.push_back({"X-Business-Use-Case-Usage", buc});
      return s;
    };
  };
  {
    FakeServer server(with_usage(R"({"call_count":40,"total_time":12,"total_cputime":9})", ""));
    Rig rig(server.base_url());
    StateStore store(":memory:");
    REQUIRE_FALSE(test::pull_one("fb", *rig.adapter, store, 2).error);
    CHECK(rig.sleeps.empty());
  }
  {
    FakeServer server(with_usage(R"({"call_count":12,"total_time":88,"total_cputime":30})", ""));
    Rig rig(server.base_url());
    StateStore store(":memory:");
    REQUIRE_FALSE(test::pull_one("fb", *rig.adapter, store, 2).error);
    REQUIRE_FALSE(rig.sleeps.empty());  // 88% total_time: requests are spaced out
    for (const auto& d : rig.sleeps) CHECK(d.count() > 0);
  }
  {
    FakeServer server(with_usage("",
                                 R"({"1122334455":[{"type":"pages","call_count":97,"total_cputime":20,"total_time":30,)"
                                 R"("estimated_time_to_regain_access":0}]})"));
    Rig rig(server.base_url());
    StateStore store(":memory:");
    const auto stats = test::pull_one("fb", *rig.adapter, store, 2);
    REQUIRE(stats.error);
    CHECK_THAT(stats.error->message, Catch::Contains("97%") && Catch::Contains("X-Business-Use-Case-Usage call_count"));
    CHECK(stats.error->code == Errc::rate_limited);
  }
  {
    FakeServer server(
        with_usage(R"({"call_count":100,"total_time":100,"total_cputime":100})",
                   R"({"1122334455":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":17}]})"));
    Rig rig(server.base_url());
    StateStore store(":memory:");
    const auto stats = test::pull_one("fb", *rig.adapter, store, 2);
    REQUIRE(stats.error);
    CHECK_THAT(stats.error->message, Catch::Contains("17 min"));
    CHECK(server.requests().size() == 1);  // nothing more was sent after the usage said stop
  }
  {
    // The throttling answer itself names the time to regain access: the error says it, not an hour.
    FakeServer server([](const httplib::Request&, std::size_t) {
      return Scripted{
          400,
          R"({"error":{"message":"(#80001) There have been too many calls to this Page account",)"
          R"("type":"OAuthException","code":80001,"fbtrace_id":"ABuc80001"}})",
          {{"X-Business-Use-Case-Usage",
            R"({"1122334455":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":240}]})"}}};
    });
    Rig rig(server.base_url());
    auto page = rig.adapter->conversations()->pull_conversations({"conversations", "", 0});
    REQUIRE_FALSE(page);
    CHECK(page.error().code == Errc::rate_limited);
    CHECK(page.error().retry_after == std::chrono::minutes(240));
    CHECK_THAT(page.error().message, Catch::Contains("240 min") && Catch::Contains("ABuc80001"));
    CHECK_THAT(page.error().message, !Catch::Contains("one-hour"));
  }
}

TEST_CASE("meta throttling with a short time to regain access is waited out and the request sent again",
          "[meta][limits]") {
  FakeServer server([](const httplib::Request& req, std::size_t n) {
    if (n > 0) return graph(req, n);
    return Scripted{400,
                    R"({"error":{"message":"(#4) Application request limit reached","type":"OAuthException",)"
                    R"("is_transient":true,"code":4,"fbtrace_id":"Athrottled"}})",
                    {{"X-Business-Use-Case-Usage",
                      R"({"1122334455":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":1}]})"}}};
  });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("fb", *rig.adapter, store, 2).error);
  REQUIRE_FALSE(rig.sleeps.empty());
  // The minute Graph named (less the moments between the answer and the next send; the real clock
  // runs, the sleeper only records), then the same request again.
  CHECK(rig.sleeps.front() > std::chrono::seconds(59));
  CHECK(rig.sleeps.front() <= std::chrono::minutes(1));
  REQUIRE(server.requests().size() >= 2);
  CHECK(server.requests()[1].path == server.requests()[0].path);
}

TEST_CASE("meta usage parsing takes the highest figure of both headers", "[meta]") {
  const auto u = adapters::meta::parse_usage(
      {{"x-app-usage", R"({"call_count":28,"total_time":25,"total_cputime":25})"},
       {"x-business-use-case-usage",
        R"({"1":[{"type":"messenger","call_count":5,"total_cputime":81,"total_time":3,"estimated_time_to_regain_access":4}]})"}});
  CHECK(u.percent == 81);
  CHECK(u.which == "X-Business-Use-Case-Usage total_cputime");
  CHECK(u.regain_minutes == 4);
  CHECK(adapters::meta::parse_usage({{"x-app-usage", "not json"}}).percent == 0);
}

TEST_CASE("meta stores a rejected conversation with any access_token in its nested links redacted", "[meta]") {
  FakeServer server([](const httplib::Request& req, std::size_t n) {
    if (req.path == std::string("/v23.0/") + k_page + "/conversations")
      return Scripted{200, R"({"data":[{"id":"t_99","updated_time":"not a time","messages":{"data":[],"paging":)"
                           R"({"next":"https://graph.facebook.com/v23.0/t_99/messages?access_token=EAAGpagetoken)"
                           R"(&after=x"}}}],"paging":{"cursors":{"after":"a"}}})"};
    return graph(req, n);
  });
  Rig rig(server.base_url());
  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("fb", *rig.adapter, store, 2).error);
  REQUIRE(store.count("dead_letters") == 1);
  const auto raw = store.db().execAndGet("SELECT raw FROM dead_letters").getString();
  CHECK_THAT(raw,
             Catch::Contains("updated_time") && Catch::Contains("<redacted>") && !Catch::Contains("EAAGpagetoken"));
}
