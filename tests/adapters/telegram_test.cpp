#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adapters/registry.hpp"
#include "adapters/telegram/telegram_api.hpp"
#include "sync/pull.hpp"
#include "sync/reconcile.hpp"
#include "tests/support/fake_server.hpp"
#include "tests/support/fake_telegram.hpp"
#include "tests/support/pull_one.hpp"

using namespace chansync;
using test::FakeServer;
using test::FakeTelegram;
using test::fixture;
using test::Scripted;

namespace {

const std::string k_token = "7123456789:AAHsecretTOKENvalue_0123456789abcdefg";

std::unique_ptr<Adapter> telegram(const std::string& base_url) {
  EndpointConfig cfg{"tg", "telegram-bot"};
  cfg.options = {{"base_url", base_url}};
  cfg.secrets = {{"token", k_token}};
  return adapters::create_adapter(cfg, "DE", [](std::chrono::milliseconds) {});
}

void both_pages(FakeTelegram& tg) {
  tg.add_page(fixture("telegram/updates_page1.json"));
  tg.add_page(fixture("telegram/updates_page2.json"));
  REQUIRE(tg.held().size() == 6);
}

// Stands in for a pull that dies: page `fail_at` (1-based) is fetched from Telegram (when `fetch`)
// and then lost as if the process was killed before committing it, or not fetched at all.
struct Dies : Adapter, ConversationSource {
  Adapter& inner;
  int fail_at;
  bool fetch;
  int calls = 0;
  Dies(Adapter& a, int at, bool f) : inner(a), fail_at(at), fetch(f) {}
  HealthReport probe() override { return inner.probe(); }
  std::vector<Stream> streams() const override { return inner.streams(); }
  void committed(const std::string& s, const std::string& c) override { inner.committed(s, c); }
  Result<Page<Conversation>> pull_conversations(const PullRequest& r) override {
    if (++calls == fail_at) {
      if (fetch) (void)inner.conversations()->pull_conversations(r);
      return fail(Errc::unavailable, "killed");
    }
    return inner.conversations()->pull_conversations(r);
  }
};

bool mentions_token(const std::string& text) {
  return text.find("AAHsecretTOKENvalue") != std::string::npos;
}

}  // namespace

TEST_CASE("telegram pull pages getUpdates by offset until an empty page and maps private chats", "[telegram]") {
  FakeTelegram tg(k_token);
  both_pages(tg);
  FakeServer server(tg.handler());
  auto adapter = telegram(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("tg", *adapter, store, 3);
  REQUIRE_FALSE(stats.error);
  CHECK(stats.pages == 3);     // 3 + 3 updates, then the empty page that confirms the last
  CHECK(stats.rejected == 1);  // the supergroup message
  CHECK(tg.held().empty());
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[0].path == "/bot" + k_token + "/getUpdates");
  CHECK_FALSE(reqs[0].params.count("offset"));
  CHECK(reqs[0].params.find("limit")->second == "3");
  CHECK(reqs[0].params.find("timeout")->second == "0");
  CHECK(reqs[0].params.find("allowed_updates")->second == R"(["message","edited_message"])");
  CHECK(reqs[1].params.find("offset")->second == "815600004");
  CHECK(reqs[2].params.find("offset")->second == "815600007");
  CHECK(store.records().cursor("tg", "updates") == "815600007");
  CHECK(store.count("conversations") == 2);  // Jürgen and Ana; the group is not a conversation

  const auto edited = store.records().message("tg", "111222333:11");
  REQUIRE(edited);  // the edit overwrote the original in place
  CHECK(edited->text == "Hallo, wo ist meine Bestellung 4711?");
  CHECK(edited->sent_at == 1760000000000);
  CHECK(edited->direction == Direction::inbound);
  CHECK(edited->author_kind == AuthorKind::customer);
  CHECK(edited->author_handle == "111222333");
  CHECK(edited->channel == "telegram");
  // Media are attachments (no URL: Telegram's file URLs hold the bot token); the caption is the text.
  const auto photo = store.records().message("tg", "444555666:5");
  CHECK(photo->text == "the broken part");
  CHECK(photo->attachments == std::vector<Attachment>{{"photo", "", ""}});
  const auto document = store.records().message("tg", "444555666:6");
  CHECK(document->text.empty());
  CHECK(document->attachments == std::vector<Attachment>{{"document", "invoice.pdf", ""}});
  // The sender's Telegram name names the conversation's customer.
  SQLite::Statement names(store.db(), "SELECT id, customer_name FROM conversations WHERE connector = 'tg' ORDER BY id");
  std::map<std::string, std::string> name_of;
  while (names.executeStep()) name_of[names.getColumn(0).getString()] = names.getColumn(1).getString();
  CHECK(name_of == std::map<std::string, std::string>{{"111222333", "Jürgen Weiß"}, {"444555666", "Ana"}});
  CHECK(store.records().message("tg", "111222333:12")->text == "[contact: +4915112345678]");
  // Shared about himself: the number is linked to his Telegram id, so his SMS joins him.
  const auto in = store.identity().input({});
  REQUIRE(in.links.size() == 1);
  CHECK(in.links[0].first == Handle{HandleKind::telegram_id, "111222333"});
  CHECK(in.links[0].second == Handle{HandleKind::phone, "+4915112345678"});

  const auto letters = store.records().dead_letters("tg");
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].raw.find("Acme customers") != std::string::npos);
  CHECK(nlohmann::json::parse(letters[0].raw).at("update_id") == 815600005);
}

TEST_CASE("telegram incremental pull after done resumes at the stored offset and sends no offset twice", "[telegram]") {
  FakeTelegram tg(k_token);
  both_pages(tg);
  FakeServer server(tg.handler());
  auto adapter = telegram(server.base_url());
  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("tg", *adapter, store).error);
  tg.add_page(R"({"ok":true,"result":[{"update_id":815600007,"message":{"message_id":13,"from":{"id":111222333,
    "is_bot":false,"first_name":"J"},"chat":{"id":111222333,"type":"private"},"date":1760001000,"text":"danke"}}]})");
  const auto again = test::pull_one("tg", *adapter, store);
  REQUIRE_FALSE(again.error);
  CHECK(again.received == 1);
  CHECK(store.records().cursor("tg", "updates") == "815600008");
  CHECK(store.records().message("tg", "111222333:13")->text == "danke");
}

TEST_CASE("a telegram pull interrupted between pages loses no update", "[telegram]") {
  for (const bool fetched : {false, true}) {
    DYNAMIC_SECTION((fetched ? "page 2 fetched, then lost before its commit" : "killed before fetching page 2")) {
      FakeTelegram tg(k_token);
      both_pages(tg);
      FakeServer server(tg.handler());
      StateStore store(":memory:");
      auto first = telegram(server.base_url());
      Dies dying(*first, 2, fetched);
      const auto cut = test::pull_one("tg", dying, store, 3);
      REQUIRE(cut.error);
      CHECK(cut.pages == 1);
      // Telegram deleted only what a committed page's offset confirmed: nothing, or page 1.
      CHECK(store.records().cursor("tg", "updates") == "815600004");
      CHECK(tg.held().front() == (fetched ? 815600004 : 815600001));
      auto fresh = telegram(server.base_url());
      const auto resumed = test::pull_one("tg", *fresh, store, 3);
      REQUIRE_FALSE(resumed.error);
      CHECK(tg.held().empty());
      for (const char* id : {"111222333:11", "444555666:5", "111222333:12", "444555666:6"})
        CHECK(store.records().message("tg", id));
      CHECK(store.records().dead_letters("tg").size() == 1);
      CHECK(store.records().cursor("tg", "updates") == "815600007");
    }
  }
}

TEST_CASE("telegram maps the bot's own messages as outbound bot messages", "[telegram]") {
  FakeTelegram tg(k_token);
  tg.add_page(R"({"ok":true,"result":[{"update_id":9,"message":{"message_id":3,"from":{"id":7123456789,
    "is_bot":true,"first_name":"Acme Support","username":"acme_support_bot"},"chat":{"id":111222333,"type":"private"},
    "date":1760000000,"text":"How can I help?"}}]})");
  FakeServer server(tg.handler());
  auto adapter = telegram(server.base_url());
  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("tg", *adapter, store).error);
  const auto m = store.records().message("tg", "111222333:3");
  REQUIRE(m);
  CHECK(m->direction == Direction::outbound);
  CHECK(m->author_kind == AuthorKind::bot);
  CHECK(m->author_handle == "bot7123456789");
}

TEST_CASE("telegram keeps updates it cannot map as dead letters and still advances past them", "[telegram]") {
  FakeTelegram tg(k_token);
  tg.add_page(R"({"ok":true,"result":[{"update_id":20,"message":{"message_id":1,"from":{"id":5,"is_bot":false,
    "first_name":"A"},"chat":{"id":5,"type":"private"},"date":1760000000,"new_chat_title":"x"}},
    {"update_id":21,"callback_query":{"id":"1","from":{"id":5,"is_bot":false,"first_name":"A"}}},
    {"update_id":22,"message":{"chat":{"id":5,"type":"private"},"text":"no id or date"}}]})");
  FakeServer server(tg.handler());
  auto adapter = telegram(server.base_url());
  StateStore store(":memory:");
  const auto stats = test::pull_one("tg", *adapter, store);
  REQUIRE_FALSE(stats.error);
  CHECK(stats.rejected == 3);
  CHECK(store.records().dead_letters("tg").size() == 3);
  CHECK(store.records().cursor("tg", "updates") == "23");
  CHECK(tg.held().empty());
}

TEST_CASE("telegram classifies 401, 404, 409 and 429 with Telegram's description and never shows the token",
          "[telegram]") {
  struct Case {
    const char* file;
    Errc code;
    const char* says;
  };
  for (const auto& c : {Case{"error_401.json", Errc::auth, "the bot token was refused (Telegram: \"Unauthorized"},
                        Case{"error_404.json", Errc::remote, "malformed bot token"},
                        Case{"error_409.json", Errc::remote, "deleteWebhook"},
                        Case{"error_409_poller.json", Errc::remote, "another program is polling getUpdates"},
                        Case{"error_429.json", Errc::rate_limited, "Too Many Requests: retry after 7"}}) {
    DYNAMIC_SECTION(c.file) {
      const int status = std::stoi(std::string(c.file).substr(6, 3));
      FakeServer server([&](const httplib::Request&, std::size_t) {
        return Scripted{status, fixture(std::string("telegram/") + c.file)};
      });
      auto adapter = telegram(server.base_url());
      StateStore store(":memory:");
      const auto stats = test::pull_one("tg", *adapter, store);
      REQUIRE(stats.error);
      CHECK(stats.error->code == c.code);
      CHECK_THAT(stats.error->message, Catch::Contains(c.says));
      CHECK_FALSE(mentions_token(stats.error->message));
      CHECK(store.records().cursor("tg", "updates").empty());
      // A 429's 7 s are waited out three times, then it is reported; nothing else is retried.
      CHECK(server.requests().size() == (c.code == Errc::rate_limited ? 4u : 1u));
      if (c.code == Errc::rate_limited) CHECK(stats.error->retry_after == std::chrono::seconds(7));
    }
  }
}

TEST_CASE("telegram waits out a short flood-control 429 and asks again; a long one ends the pull", "[telegram]") {
  FakeTelegram tg(k_token);
  both_pages(tg);
  std::size_t refusals = 1;
  std::string after = "7";
  FakeServer server([&](const httplib::Request& req, std::size_t n) {
    if (n < refusals)
      return Scripted{429, R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after )" + after +
                               R"(","parameters":{"retry_after":)" + after + "}}"};
    return tg.handler()(req, n);
  });
  std::vector<std::chrono::milliseconds> sleeps;
  EndpointConfig cfg{"tg", "telegram-bot"};
  cfg.options = {{"base_url", server.base_url()}};
  cfg.secrets = {{"token", k_token}};
  auto adapter = adapters::create_adapter(cfg, "DE", [&](std::chrono::milliseconds d) { sleeps.push_back(d); });
  StateStore store(":memory:");
  auto stats = test::pull_one("tg", *adapter, store);
  REQUIRE_FALSE(stats.error);
  CHECK(stats.received > 0);
  REQUIRE_FALSE(sleeps.empty());
  CHECK(sleeps.front() == std::chrono::seconds(7));

  refusals = 1'000;
  after = "600";  // longer than chansync waits in one run
  sleeps.clear();
  StateStore other(":memory:");
  const std::size_t before = server.requests().size();
  stats = test::pull_one("tg", *adapter, other);
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::rate_limited);
  CHECK(stats.error->retry_after == std::chrono::seconds(600));
  CHECK(server.requests().size() == before + 1);
  CHECK(sleeps.empty());
}

TEST_CASE("telegram probe asks getMe and reports the bot, a refused token or a malformed one", "[telegram]") {
  SECTION("ok") {
    FakeTelegram tg(k_token);
    FakeServer server(tg.handler());
    const auto r = telegram(server.base_url())->probe();
    CHECK(r.cls == HealthClass::ok);
    CHECK_THAT(r.summary, Catch::Contains("@acme_support_bot"));
    CHECK(r.evidence.url == server.base_url() + "/bot<redacted>/getMe");
    CHECK(server.requests().at(0).path == "/bot" + k_token + "/getMe");
  }
  SECTION("401") {
    FakeServer server([](const httplib::Request&, std::size_t) {
      return Scripted{401, fixture("telegram/error_401.json")};
    });
    const auto r = telegram(server.base_url())->probe();
    CHECK(r.cls == HealthClass::auth_failed);
    CHECK_THAT(r.summary, Catch::Contains("the bot token was refused"));
    CHECK_FALSE(mentions_token(r.summary + r.evidence.url));
  }
  SECTION("404") {
    FakeServer server([](const httplib::Request&, std::size_t) {
      return Scripted{404, fixture("telegram/error_404.json")};
    });
    const auto r = telegram(server.base_url())->probe();
    CHECK(r.cls != HealthClass::ok);
    CHECK_THAT(r.summary, Catch::Contains("malformed"));
    CHECK_FALSE(mentions_token(r.summary + r.evidence.url));
  }
}

TEST_CASE("telegram keeps what a location, a venue and a poll say", "[telegram]") {
  const auto message = [](int id, const std::string& body) {
    return fmt::format(
        R"({{"update_id":{0},"message":{{"message_id":{0},"date":1765000000,)"
        R"("chat":{{"id":42,"type":"private"}},"from":{{"id":42,"is_bot":false,"first_name":"Ana"}},{1}}}}})",
        id, body);
  };
  const std::string body = fmt::format(
      R"({{"ok":true,"result":[{},{},{}]}})", message(1, R"("location":{"latitude":52.520008,"longitude":13.404954})"),
      message(2, R"("location":{"latitude":48.137154,"longitude":11.576124},)"
                 R"("venue":{"location":{"latitude":48.137154,"longitude":11.576124},"title":"Marienplatz",)"
                 R"("address":"Marienplatz 1, München"})"),
      message(3, R"("poll":{"id":"p","question":"Which size?","options":[{"text":"S","voter_count":0},)"
                 R"({"text":"M","voter_count":0}],"is_closed":false})"));
  const auto page = adapters::telegram::parse_updates(body);
  REQUIRE(page);
  REQUIRE(page->updates.size() == 3);
  CHECK(page->updates[0].message->text == "52.520008,13.404954");
  CHECK(page->updates[0].message->media == "location");
  CHECK(page->updates[1].message->text == "48.137154,11.576124");
  CHECK(page->updates[1].message->media == "location Marienplatz, Marienplatz 1, München");
  CHECK(page->updates[2].message->text == "Which size? (S / M)");
  CHECK(page->updates[2].message->media == "poll");
}
