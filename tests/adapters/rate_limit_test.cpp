#include "adapters/rate_limit.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "adapters/hubspot/hubspot_api.hpp"
#include "adapters/twilio/twilio_api.hpp"

using namespace chansync::adapters;
using std::chrono::microseconds;
using std::chrono::milliseconds;

namespace {
const Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(1);
}

TEST_CASE("a token bucket spaces requests by its rate after its burst, and keeps what rounding would lose",
          "[limits]") {
  TokenBucket b(4, 2);  // 4/s, two back to back
  CHECK(b.take(t0) == microseconds(0));
  CHECK(b.take(t0) == microseconds(0));
  CHECK(b.take(t0) == microseconds(250'000));
  CHECK(b.take(t0) == microseconds(500'000));  // reserved behind the third
  // Sent late (after 600 ms instead of 500): the 100 ms are credited to the next wait.
  CHECK(b.take(t0 + milliseconds(600)) == microseconds(150'000));
}

TEST_CASE("a paused bucket sends nothing before the pause ends, and no saved-up burst after it", "[limits]") {
  TokenBucket b(10, 5);
  b.pause_until(t0 + std::chrono::seconds(3));
  CHECK(b.take(t0) == microseconds(3'000'000));
  // The second waits one interval after the pause, not the burst of five.
  CHECK(b.take(t0) == microseconds(3'100'000));
  TokenBucket unpaced;
  unpaced.pause_until(t0 + milliseconds(40));
  CHECK(unpaced.take(t0) == microseconds(40'000));
  CHECK(unpaced.take(t0 + milliseconds(40)) == microseconds(0));
}

TEST_CASE("a rolling window is paced at 97% with the unused 3% as burst, and pauses when it is full", "[limits]") {
  // HubSpot Pro: 190 per 10 s.
  const auto r = pace_for({190, 120.0, milliseconds(10'000), std::nullopt});
  REQUIRE(r.rate);
  CHECK(*r.rate == Approx(0.97 * 19));
  CHECK(r.burst == 4);  // floor(0.03 · 190) − 1: 184 + 4 < 190 in any window
  CHECK_FALSE(r.pause);
  const auto full = pace_for({190, 0.0, milliseconds(10'000), std::nullopt});
  REQUIRE(full.pause);
  CHECK(*full.pause == milliseconds(52));  // one request's share of the window
}

TEST_CASE("a fixed window spreads what remains over the time to its reset, keeping a reserve", "[limits]") {
  const auto r = pace_for({100, 53.0, std::nullopt, milliseconds(10'000)});
  REQUIRE(r.rate);
  CHECK(*r.rate == Approx(5.0));  // (53 − 3 kept) / 10 s
  const auto spent = pace_for({100, 3.0, std::nullopt, milliseconds(4'000)});
  CHECK_FALSE(spent.rate);
  REQUIRE(spent.pause);
  CHECK(*spent.pause == milliseconds(4'000));
  CHECK(pace_for({100, std::nullopt, std::nullopt, std::nullopt}).empty());  // nothing to pace by
}

TEST_CASE("the concurrency gate halves on a refusal, grows by one per limit's successes, stays within bounds",
          "[limits]") {
  auto now = Clock::time_point{};
  ConcurrencyGate g(2, 3, std::chrono::seconds(60), [&] { return now; });
  CHECK(g.try_acquire());
  CHECK(g.try_acquire());
  CHECK_FALSE(g.try_acquire());  // two in flight of two
  g.release(true);
  CHECK(g.limit() == 1);
  g.release(true);
  CHECK(g.limit() == 1);            // never below one
  now += std::chrono::seconds(61);  // the ceiling the refusals taught has lapsed
  for (int i = 0; i < 10; ++i) {
    REQUIRE(g.try_acquire());
    g.release(false);
  }
  CHECK(g.limit() == 3);  // capped at max
  CHECK(g.in_flight() == 0);
}

TEST_CASE("a place given back unanswered frees it for a waiting request and leaves the limit", "[limits]") {
  ConcurrencyGate g(1, 64, std::chrono::seconds(60));
  REQUIRE(g.try_acquire());
  std::atomic<bool> got = false;
  std::thread waiter([&] {
    g.acquire();
    got = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK_FALSE(got);  // one in flight of one
  g.cancel();
  waiter.join();
  CHECK(got);
  CHECK(g.limit() == 1);  // an answer would have made it 2
  CHECK(g.in_flight() == 1);
}

TEST_CASE("a refusal teaches a ceiling: the level refused is not tried again until the hold lapses", "[limits]") {
  auto now = Clock::time_point{};
  ConcurrencyGate g(4, 64, std::chrono::seconds(60), [&] { return now; });
  for (int i = 0; i < 4; ++i) REQUIRE(g.try_acquire());
  g.release(true);  // refused with 4 in flight: 3 is the most the vendor took
  CHECK(g.limit() == 2);
  for (int i = 0; i < 3; ++i) g.release(false);
  // Plain AIMD would be back at 4 in flight within a few dozen requests, and refused again.
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(g.try_acquire());
    g.release(false);
  }
  CHECK(g.limit() == 3);
  now += std::chrono::seconds(59);
  REQUIRE(g.try_acquire());
  g.release(false);
  CHECK(g.limit() == 3);
  now += std::chrono::seconds(2);  // a minute on: the vendor's limit may have been raised
  for (int i = 0; i < 10; ++i) {
    REQUIRE(g.try_acquire());
    g.release(false);
  }
  CHECK(g.limit() > 4);
  // The level is the most in flight while the refused request was out, not what is left when its
  // answer comes...
  ConcurrencyGate h(4, 64, std::chrono::seconds(60), [&] { return now; });
  h.acquire();
  h.acquire();
  const auto third = h.acquire();
  h.release(false);
  h.release(false);        // the first two answered
  h.release(true, third);  // refused at 3 in flight: 2 is the most the vendor took
  CHECK(h.limit() == 2);
  // ...nor what was in flight when it was sent: requests sent after it can reach the vendor first.
  // Taught from its own level (1), the account would be held at one request for a minute.
  ConcurrencyGate k(4, 64, std::chrono::seconds(60), [&] { return now; });
  const auto first = k.acquire();
  k.acquire();
  k.acquire();
  k.release(false);
  k.release(false);        // the two sent after it answered first
  k.release(true, first);  // refused: 3 were out with it
  CHECK(k.limit() == 2);
  CHECK(k.in_flight() == 0);
  // Past the acquisitions the gate remembers (64), the level is taught from those it kept.
  ConcurrencyGate m(4, 64, std::chrono::seconds(60), [&] { return now; });
  const auto old = m.acquire();
  for (int i = 0; i < 100; ++i) m.release(false, m.acquire());
  m.release(true, old);  // 2 in flight at each acquisition remembered
  CHECK(m.limit() == 1);
  // A refusal of the only request in flight: another client fills the account; one at a time.
  REQUIRE(g.try_acquire());
  g.release(true);
  CHECK(g.limit() == 1);
  CHECK(g.in_flight() == 0);
}

TEST_CASE("HubSpot's headers pace the main budget; a SECONDLY 429 pauses and slows the search budget", "[limits]") {
  const chansync::adapters::HttpRequest list{"GET", "https://api.hubapi.com/crm/v3/objects/contacts?limit=100"};
  chansync::adapters::HttpRequest search{"POST", "https://api.hubapi.com/crm/v3/objects/contacts/search"};
  CHECK(hubspot::is_search(search));
  CHECK_FALSE(hubspot::is_search(list));
  HttpResponse ok;
  ok.status = 200;
  ok.headers = {{"x-hubspot-ratelimit-max", "190"},
                {"x-hubspot-ratelimit-remaining", "150"},
                {"x-hubspot-ratelimit-interval-milliseconds", "10000"}};
  const auto r = hubspot::rate_reading(list, ok);
  CHECK(r.budget.empty());
  REQUIRE(r.rate);
  CHECK(*r.rate == Approx(18.43));
  HttpResponse secondly;
  secondly.status = 429;
  secondly.body =
      R"({"status":"error","message":"You have reached your secondly limit.","errorType":"RATE_LIMIT","policyName":"SECONDLY"})";
  const auto s = hubspot::rate_reading(search, secondly);
  CHECK(s.budget == hubspot::k_search_budget);
  CHECK(s.pause == milliseconds(1'000));
  CHECK(s.scale == 0.8);
  const auto budget = hubspot::search_budget();
  CHECK(budget.requests_per_second == Approx(3.88));
  CHECK(budget.applies(search));
}

TEST_CASE("Twilio's 20429 is a concurrency refusal; other 429s are not", "[limits]") {
  HttpResponse r;
  r.status = 429;
  r.body =
      R"({"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429})";
  CHECK(twilio::concurrency_refused(r));
  r.body = R"({"code":20003,"message":"Authenticate","status":429})";
  CHECK_FALSE(twilio::concurrency_refused(r));
  r.status = 200;
  r.body = R"({"code":20429})";
  CHECK_FALSE(twilio::concurrency_refused(r));
}
