// A Twilio backfill in windows of days (backfill_in_flight > 1) against a fake Messages.json that
// pages and filters as Twilio does: newest first, PageToken, DateSent>= and DateSent<= by UTC day.
#include "adapters/twilio/twilio_backfill.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "adapters/registry.hpp"
#include "sync/pull.hpp"
#include "sync/timestamp.hpp"
#include "tests/support/fake_server.hpp"
#include "tests/support/pull_one.hpp"
#include "tests/support/twilio_rig.hpp"

using namespace chansync;
using test::FakeServer;
using test::Scripted;

namespace {

constexpr Timestamp k_day = 86'400'000;
constexpr Timestamp k_newest = 1'438'300'800'000 + 20 * 3'600'000;  // 2015-07-31T20:00:00Z

Timestamp day_start_of(const std::string& ymd) {
  return *parse_rfc3339(ymd + "T00:00:00Z");
}

// `days` days of `per_day` messages each, newest first, an hour apart within a day.
struct Account {
  struct Msg {
    std::string sid;
    Timestamp sent;
  };
  std::vector<Msg> messages;
  bool honours_until = true;    // false: DateSent<= is ignored, as by a server that does not know it
  bool until_takes_day = true;  // false: DateSent<=DAY stops at DAY's midnight (Twilio's words allow both)
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0, peak = 0;

  std::atomic<int> fail_pages{0};       // the next this many pages after a first one (PageToken) answer 403
  std::atomic<bool> busy_pages{false};  // every page after a first one answers 503 with Retry-After: 100
  std::atomic<int> busy_answers{0};

  // `days` days, of which those in `quiet` have no messages, of `per_day` messages each.
  Account(int days, int per_day, std::set<int> quiet = {}) {
    for (int d = 0; d < days; ++d)
      for (int h = 0; h < per_day && !quiet.contains(d); ++h)
        messages.push_back({fmt::format("SM{:032d}", messages.size() + 1), k_newest - d * k_day - h * 3'600'000});
  }

  Scripted page(const httplib::Request& req) {
    {
      // Pages of windows (filtered by day) wait, up to a bound, until another request is in flight:
      // a backfill that fetches one page at a time waits out the bound and fails the peak check.
      std::unique_lock lock(mu);
      peak = std::max(peak, ++in_flight);
      cv.notify_all();
      if (req.has_param("PageToken") || req.get_param_value("PageSize") != "1")
        cv.wait_for(lock, std::chrono::milliseconds(150), [&] { return in_flight > 1; });
    }
    if (req.has_param("PageToken") && busy_pages) {
      std::lock_guard lock(mu);
      --in_flight;
      ++busy_answers;
      return {503, R"({"code": 20500, "message": "Service unavailable", "status": 503})", {{"Retry-After", "100"}}};
    }
    if (req.has_param("PageToken") && fail_pages > 0) {
      --fail_pages;
      std::lock_guard lock(mu);
      --in_flight;
      return {403, R"({"code": 20003, "message": "Permission denied", "status": 403})"};
    }
    const int size = std::stoi(req.get_param_value("PageSize"));
    const Timestamp since = req.has_param("DateSent>") ? day_start_of(req.get_param_value("DateSent>")) : 0;
    const Timestamp until = req.has_param("DateSent<") && honours_until
                                ? day_start_of(req.get_param_value("DateSent<")) + (until_takes_day ? k_day : 0)
                                : std::numeric_limits<Timestamp>::max();
    std::size_t i = req.has_param("PageToken") ? std::stoul(req.get_param_value("PageToken").substr(4)) : 0;
    nlohmann::json items = nlohmann::json::array();
    for (; i < messages.size() && static_cast<int>(items.size()) < size; ++i) {
      const auto& m = messages[i];
      if (m.sent < since || m.sent >= until) continue;
      items.push_back({{"sid", m.sid},
                       {"date_sent", format_rfc2822(m.sent)},
                       {"date_created", format_rfc2822(m.sent)},
                       {"direction", "inbound"},
                       {"from", "+4915112345678"},
                       {"to", "+4930123456"},
                       {"body", "hello " + m.sid},
                       {"status", "received"},
                       {"num_media", "0"}});
    }
    while (i < messages.size() && (messages[i].sent < since || messages[i].sent >= until)) ++i;
    std::string query = fmt::format("PageSize={}", size);
    for (const char* op : {">", "<"})
      if (const std::string name = std::string("DateSent") + op; req.has_param(name))
        query += fmt::format("&DateSent%3{}={}", *op == '>' ? 'E' : 'C', req.get_param_value(name));
    const nlohmann::json next = i < messages.size()
                                    ? nlohmann::json(fmt::format("{}?{}&PageToken=PASM{}", req.path, query, i))
                                    : nlohmann::json(nullptr);
    {
      std::lock_guard lock(mu);
      --in_flight;
    }
    return {200, nlohmann::json{{"messages", items}, {"next_page_uri", next}, {"page_size", size}}.dump()};
  }
};

// `real_waits`: the clients sleep as in a pull (their waits end on a stop) instead of not at all.
std::unique_ptr<Adapter> backfilling(const std::string& base_url, nlohmann::json in_flight, bool real_waits = false) {
  EndpointConfig cfg{"sms", "twilio-messaging"};
  cfg.options = {{"account_sid", test::k_twilio_sid},
                 {"own_numbers", {"+4930123456"}},
                 {"base_url", base_url},
                 {"backfill_in_flight", std::move(in_flight)}};
  cfg.secrets = {{"auth_token", "tok"}};
  return adapters::create_adapter(
      cfg, "DE", real_waits ? adapters::Sleeper{} : [](std::chrono::milliseconds) {});
}

// An account, a fake Twilio answering for it, and a pull of it through the pipeline.
struct Rig {
  Account account;
  FakeServer server{[this](const httplib::Request& req, std::size_t) { return account.page(req); }};
  explicit Rig(int days = 12, int per_day = 5, std::set<int> quiet = {}) : account(days, per_day, std::move(quiet)) {}
  PullStats pull(StateStore& store, int in_flight, int page_size) {
    auto adapter = backfilling(server.base_url(), in_flight);
    return test::pull_one("sms", *adapter, store, page_size);
  }
};

std::size_t probes(const std::vector<test::Recorded>& reqs) {
  return static_cast<std::size_t>(std::count_if(
      reqs.begin(), reqs.end(), [](const test::Recorded& r) { return r.params.find("PageSize")->second == "1"; }));
}

}  // namespace

TEST_CASE("twilio backfill windows: whole days, newest first, shrinking, open at both ends") {
  using adapters::twilio::split_days;
  using adapters::twilio::Window;
  // Every day in exactly one window, newest first: each ends the day before the one before begins.
  const auto contiguous = [](const std::vector<Window>& w, Timestamp after_last) {
    for (std::size_t i = 1; i < w.size(); ++i)
      if (day_start_of(w[i].until) + after_last != day_start_of(w[i - 1].since)) return false;
    return w.front().until.empty() && w.back().since.empty();
  };
  // 10 days for 2 clients: a quarter of the days left, within 2 (a quarter of 10/2) and 1 (an eighth).
  const auto w = split_days(day_start_of("2015-07-22"), k_newest, 2);
  REQUIRE(w.size() == 7);
  CHECK(w[0] == Window{"2015-07-30", "", ""});  // 2 days, open above
  CHECK(w[1] == Window{"2015-07-28", "2015-07-29", ""});
  CHECK(w[2] == Window{"2015-07-26", "2015-07-27", ""});
  CHECK(w[3] == Window{"2015-07-25", "2015-07-25", ""});
  CHECK(w[5] == Window{"2015-07-23", "2015-07-23", ""});
  CHECK(w[6] == Window{"", "2015-07-22", ""});  // open below
  CHECK(contiguous(w, k_day));
  CHECK(split_days(k_newest - 3'600'000, k_newest, 8).size() == 1);  // one day: one window
  CHECK(split_days(day_start_of("2015-07-30"), k_newest, 8).size() == 2);
  // A DateSent<=DAY that stops at DAY's midnight: each bound is the day after the window's last.
  const auto x = split_days(day_start_of("2015-07-22"), k_newest, 2, false);
  REQUIRE(x.size() == 7);
  CHECK(x[1] == Window{"2015-07-28", "2015-07-30", ""});
  CHECK(x[6] == Window{"", "2015-07-23", ""});
  CHECK(contiguous(x, 0));
  // A year for 4 clients: nine windows of 23 days (365/16), then shorter ones down to 12 (365/32).
  const auto y = split_days(k_newest - 364 * k_day, k_newest, 4);
  REQUIRE(y.size() == 21);
  CHECK(y.front().since == "2015-07-09");
  CHECK(y[9] == Window{"2014-12-17", "2015-01-05", ""});  // 20 days: an eighth of the 158 left
  CHECK(contiguous(y, k_day));
  // 18 years for 16 clients: at most 8 × 16 windows in the cursor, whatever the span.
  CHECK(split_days(k_newest - 18 * 365 * k_day, k_newest, 16).size() <= 128);
}

TEST_CASE("twilio backfill in windows stores every message once, with pages in flight side by side") {
  Rig rig;
  StateStore store(":memory:");
  const auto stats = rig.pull(store, 3, 4);
  REQUIRE_FALSE(stats.error);
  CHECK(store.count("messages") == 60);
  CHECK(stats.received == 60);  // no page read twice: the windows cut the days without overlap
  const auto reqs = rig.server.requests();
  // The newest record, its day (whether DateSent<=DAY takes in DAY), then a bisection of the 2,768
  // days since 2008-01-01 (11 or 12 probes).
  CHECK(probes(reqs) >= 13);
  CHECK(probes(reqs) <= 14);
  CHECK(stats.requests == reqs.size());
  CHECK(rig.account.peak >= 2);
  CHECK(rig.account.peak <= 3);
  // Every window filters by day; the newest is open above, the oldest open below.
  std::set<std::string> since, until;
  for (const auto& r : reqs)
    if (r.params.find("PageSize")->second == "4" && !r.params.contains("PageToken")) {
      since.insert(r.params.contains("DateSent>") ? r.params.find("DateSent>")->second : "");
      until.insert(r.params.contains("DateSent<") ? r.params.find("DateSent<")->second : "");
    }
  CHECK(since.size() == 12);  // 12 days for 3 clients: a day each (at most 12/(4 × 3) days a window)
  CHECK(since.contains(""));
  CHECK(until.contains(""));
  const auto cursor = nlohmann::json::parse(store.records().cursor("sms", "conversations"));
  CHECK(cursor.at("since") == "2015-07-31");  // the next pass is incremental from the newest day
  CHECK_FALSE(cursor.contains("windows"));
}

TEST_CASE("twilio backfill in windows: a DateSent<=DAY that stops at DAY's midnight misses and repeats no day") {
  Rig rig;
  rig.account.until_takes_day = false;
  StateStore store(":memory:");
  const auto stats = rig.pull(store, 3, 4);
  REQUIRE_FALSE(stats.error);
  CHECK(store.count("messages") == 60);
  CHECK(stats.received == 60);
  CHECK(rig.account.peak >= 2);
}

TEST_CASE("twilio backfill in windows resumes from the windows its cursor holds, repeating nothing") {
  Rig rig;
  std::multiset<std::string> seen;
  const auto take = [&](const Page<Conversation>& page) {
    for (const auto& c : page.items)
      for (const auto& m : c.messages) seen.insert(m.id);
  };
  std::string cursor;
  {
    // Seven pages handed out, then the process ends with pages fetched ahead and never committed.
    auto adapter = backfilling(rig.server.base_url(), 3);
    for (int i = 0; i < 7; ++i) {
      auto page = adapter->conversations()->pull_conversations({"conversations", cursor, 2});
      REQUIRE(page);
      REQUIRE_FALSE(page->done);
      take(*page);
      cursor = page->next_cursor;
    }
    CHECK(nlohmann::json::parse(cursor).at("windows").size() >= 2);
    // Pages were read ahead of the seven handed out: those the resumed pull must fetch again.
    const auto fetched = rig.server.requests().size() - probes(rig.server.requests());
    CHECK(fetched > 7);
  }
  const auto probed = probes(rig.server.requests());
  auto adapter = backfilling(rig.server.base_url(), 2);  // another in-flight count: the windows are the cursor's
  for (int i = 0; i < 100; ++i) {
    auto page = adapter->conversations()->pull_conversations({"conversations", cursor, 2});
    REQUIRE(page);
    take(*page);
    cursor = page->next_cursor;
    if (page->done) break;
  }
  CHECK(probes(rig.server.requests()) == probed);  // resumed, not planned again
  CHECK(seen.size() == 60);
  CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 60);
  CHECK(nlohmann::json::parse(cursor) == nlohmann::json{{"since", "2015-07-31"}});
}

TEST_CASE("twilio backfill: a server that ignores DateSent<= is pulled one page at a time, with a warning") {
  Rig rig;
  rig.account.honours_until = false;
  StateStore store(":memory:");
  const auto stats = rig.pull(store, 4, 10);
  REQUIRE_FALSE(stats.error);
  CHECK(stats.received == 60);
  CHECK(store.count("messages") == 60);
  const auto reqs = rig.server.requests();
  CHECK(probes(reqs) == 3);  // the newest record, its day, then one that gave the filter away
  CHECK(rig.account.peak == 1);
  for (const auto& r : reqs)
    if (r.params.find("PageSize")->second == "10") CHECK_FALSE(r.params.contains("DateSent<"));
}

TEST_CASE("twilio backfill_in_flight outside 1..16 is a config error naming the range") {
  FakeServer server([](const httplib::Request&, std::size_t) { return Scripted{500, ""}; });
  for (const int n : {0, 17})
    CHECK_THROWS_WITH(backfilling(server.base_url(), n),
                      Catch::Contains("backfill_in_flight") && Catch::Contains("1 (one page at a time) to 16"));
}

TEST_CASE("twilio backfill in windows: days without messages are empty windows, not a stop") {
  Rig rig(12, 5, {2, 3, 4, 5, 6, 7, 8});  // the newest two days and the oldest three
  StateStore store(":memory:");
  const auto stats = rig.pull(store, 3, 4);
  REQUIRE_FALSE(stats.error);
  CHECK(store.count("messages") == 25);
  CHECK(stats.received == 25);
  CHECK(nlohmann::json::parse(store.records().cursor("sms", "conversations")).at("since") == "2015-07-31");
}

TEST_CASE("twilio backfill in windows: a page refused mid-way stops the stream; the next pull completes it") {
  Rig rig;
  rig.account.fail_pages = 1;  // the first second page of a window that is asked for
  StateStore store(":memory:");
  {
    const auto stats = rig.pull(store, 3, 2);
    REQUIRE(stats.error);
    CHECK(stats.error->code == Errc::auth);
    CHECK_THAT(stats.error->message, Catch::Contains("20003"));
  }
  const auto kept = store.count("messages");
  CHECK(kept < 60);
  const auto cursor = nlohmann::json::parse(store.records().cursor("sms", "conversations"));
  CHECK(cursor.contains("windows"));  // the committed pages' windows, to resume from
  const auto stats = rig.pull(store, 3, 2);
  REQUIRE_FALSE(stats.error);
  CHECK(store.count("messages") == 60);
  CHECK(static_cast<std::int64_t>(stats.received) == 60 - kept);  // nothing committed before is read again
}

TEST_CASE("twilio backfill in windows: a stop ends the windows' Retry-After waits; nothing is asked for after it") {
  Rig rig;
  rig.account.busy_pages = true;  // each window's second page: 503, Retry-After: 100
  int stop_pipe[2];
  REQUIRE(pipe(stop_pipe) == 0);
  adapters::interrupt_waits_on(stop_pipe[0]);
  std::size_t asked_before_stop = 0;
  ssize_t wrote = 0;
  std::thread stopper([&] {
    // Every thread has its 503 and waits out the Retry-After; then the signal handler's write.
    for (int i = 0; i < 1000 && rig.account.busy_answers < 3; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    asked_before_stop = rig.server.requests().size();
    wrote = write(stop_pipe[1], "x", 1);
  });
  StateStore store(":memory:");
  auto adapter = backfilling(rig.server.base_url(), 3, true);
  const auto stats = test::pull_one("sms", *adapter, store, 2);
  stopper.join();
  const auto asked = rig.server.requests().size();
  adapter.reset();  // the fetcher's threads joined: no request can come later
  adapters::interrupt_waits_on(-1);
  close(stop_pipe[0]);
  close(stop_pipe[1]);
  CHECK(wrote == 1);
  CHECK(rig.account.busy_answers == 3);
  REQUIRE(stats.error);
  // Stopped, not failed after the retries the old wait let through (a 503 each, then HTTP 503 as the error).
  CHECK(stats.error->code == Errc::interrupted);
  CHECK(asked == asked_before_stop);
  CHECK(rig.server.requests().size() == asked);
  CHECK(store.count("messages") == 6);  // the three first pages, committed
  // The next pull resumes every window after its first page.
  rig.account.busy_pages = false;
  const auto resumed = rig.pull(store, 3, 2);
  REQUIRE_FALSE(resumed.error);
  CHECK(store.count("messages") == 60);
}

TEST_CASE(
    "twilio backfill in windows: a stop before a window's next page names it with the connector's secrets redacted") {
  // A stop already asked for: every window ends with the fetcher's own "stopped" page, nothing sent.
  int stop_pipe[2];
  REQUIRE(pipe(stop_pipe) == 0);
  REQUIRE(write(stop_pipe[1], "x", 1) == 1);
  adapters::interrupt_waits_on(stop_pipe[0]);
  adapters::HttpOptions opts;
  opts.connector = "sms";
  opts.basic_password = "auth-token-in-path-42";
  std::vector<std::string> messages;
  {
    // A base_url with credentials in it, and a secret in the path: neither may reach the message.
    adapters::twilio::WindowFetcher fetcher(
        opts, 2, "http://user:url-password-17@127.0.0.1:9", {{"", "2015-07-20", ""}, {"2015-07-21", "", ""}},
        [](const adapters::twilio::Window& w) {
          return fmt::format("/x/auth-token-in-path-42/Messages.json?PageSize=2&DateSent%3E={}", w.since);
        });
    while (auto page = fetcher.next()) {
      REQUIRE_FALSE(page->response);
      CHECK(page->response.error().code == Errc::interrupted);
      messages.push_back(page->response.error().message);
    }
  }
  adapters::interrupt_waits_on(-1);
  close(stop_pipe[0]);
  close(stop_pipe[1]);
  REQUIRE(messages.size() == 2);
  for (const auto& m : messages) {
    CHECK_THAT(m, Catch::Contains("before asking for the next page of http://<redacted>@127.0.0.1:9/x/<redacted>/"
                                  "Messages.json;"));
    CHECK_THAT(m, !Catch::Contains("url-password-17") && !Catch::Contains("auth-token-in-path-42"));
  }
}
