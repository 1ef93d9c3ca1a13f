// The HTTP client's pacing: vendor rate policies, IETF RateLimit fields, pauses longer than a run
// waits, HubSpot's search budget, budgets clients of one token share, and the concurrency gate an
// account's clients share.
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <utility>

#include "adapters/http.hpp"
#include "adapters/hubspot/hubspot_api.hpp"
#include "tests/adapters/http_support.hpp"
#include "tests/support/fake_server.hpp"

using namespace chansync;
using namespace chansync::adapters;
using chansync::test::FakeServer;
using chansync::test::Scripted;
using chansync::test::http::FakeClock;
using chansync::test::http::RefusingPort;

TEST_CASE("an adapter's rate policy sets the pace from its vendor's headers", "[limits]") {
  FakeServer server([](const httplib::Request&, std::size_t) { return Scripted{200, "{}", {{"X-Vendor-Rate", "2"}}}; });
  FakeClock clock;
  HttpClient http(
      clock.on({.connector = "t", .rate_policy = [](const HttpRequest&, const HttpResponse& r) -> RateReading {
                  auto it = r.headers.find("x-vendor-rate");
                  if (it == r.headers.end()) return {};
                  return {.rate = std::stod(it->second)};
                }}));
  for (int i = 0; i < 4; ++i) REQUIRE(http.send({"GET", server.base_url() + "/x"}));
  CHECK(http.budget().rate() == 2);
  // Unpaced before the first answer, then 2/s with a burst of 1: the second goes at once, the third
  // and fourth wait 500 ms each.
  CHECK(clock.sleeps == std::vector<std::chrono::milliseconds>(2, std::chrono::milliseconds(500)));
}

TEST_CASE("without an adapter policy the client paces by the IETF RateLimit fields", "[limits]") {
  FakeServer server([](const httplib::Request&, std::size_t) {
    return Scripted{
        200, "{}", {{"RateLimit-Policy", R"("default";q=100;w=60)"}, {"RateLimit", R"("default";r=0;t=7)"}}};
  });
  FakeClock clock;
  HttpClient http(clock.on({.connector = "t"}));
  REQUIRE(http.send({"GET", server.base_url() + "/x"}));
  REQUIRE(http.send({"GET", server.base_url() + "/x"}));
  // None left of the window: the next request waits for its reset, 7 s.
  CHECK(clock.sleeps == std::vector<std::chrono::milliseconds>{std::chrono::seconds(7)});
}

TEST_CASE("a pause longer than the client waits fails with the time to run again", "[limits]") {
  FakeServer server([](const httplib::Request&, std::size_t) {
    return Scripted{
        200, "{}", {{"X-RateLimit-Limit", "5000"}, {"X-RateLimit-Remaining", "0"}, {"X-RateLimit-Reset", "900"}}};
  });
  FakeClock clock;
  HttpClient http(clock.on({.connector = "t"}));
  REQUIRE(http.send({"GET", server.base_url() + "/x"}));
  const auto second = http.send({"GET", server.base_url() + "/x"});
  REQUIRE_FALSE(second);
  CHECK(second.error().code == Errc::rate_limited);
  CHECK(second.error().retry_after == std::chrono::seconds(900));
  CHECK_THAT(second.error().message, Catch::Contains("900 s") && Catch::Contains("run again"));
  CHECK(http.requests() == 1);
}

TEST_CASE("a pace that leaves room only after longer than the client waits fails at once, sending nothing",
          "[limits]") {
  // 1,000 an hour-long window, 32 left for the 10 h to the reset, 30 of them the reserve: two
  // requests spread over 10 h, one every 5 h.
  FakeServer server([](const httplib::Request&, std::size_t) {
    return Scripted{
        200, "{}", {{"X-RateLimit-Limit", "1000"}, {"X-RateLimit-Remaining", "32"}, {"X-RateLimit-Reset", "36000"}}};
  });
  FakeClock clock;
  HttpClient http(clock.on({.connector = "t"}));
  REQUIRE(http.send({"GET", server.base_url() + "/x"}));
  const auto second = http.send({"GET", server.base_url() + "/x"});  // the burst of 1
  REQUIRE(second);
  const auto third = http.send({"GET", server.base_url() + "/x"});
  REQUIRE_FALSE(third);
  CHECK(third.error().code == Errc::rate_limited);
  REQUIRE(third.error().retry_after);
  CHECK(*third.error().retry_after > std::chrono::hours(4));
  CHECK_THAT(third.error().message, Catch::Contains("run again"));
  CHECK(clock.sleeps.empty());
  CHECK(http.requests() == 2);
  // The refused request's token was given back: asked again, the wait is the same, not twice it.
  const auto fourth = http.send({"GET", server.base_url() + "/x"});
  REQUIRE_FALSE(fourth);
  CHECK(fourth.error().retry_after == third.error().retry_after);
}

TEST_CASE("HubSpot's search budget: refusals slow it, never below an eighth of its seed; answers bring it back",
          "[limits]") {
  std::atomic<int> refusals{40};
  FakeServer server([&](const httplib::Request&, std::size_t) {
    if (refusals-- > 0) return Scripted{429, R"({"status":"error","errorType":"RATE_LIMIT","policyName":"SECONDLY"})"};
    return Scripted{200, R"({"results":[]})"};
  });
  FakeClock clock;
  HttpClient http(clock.on({.connector = "crm",
                            .max_attempts = 41,
                            .rate_policy = hubspot::rate_reading,
                            .sub_budgets = {hubspot::search_budget()}}));
  const double seed = hubspot::search_budget().requests_per_second;
  const HttpRequest search{"POST", server.base_url() + "/crm/v3/objects/contacts/search", {}, "{}"};
  REQUIRE(http.send(search));  // 40 refusals (0.8^40 of the seed would be 0.0013 of it), then an answer
  CHECK(http.budget(hubspot::k_search_budget).rate() == Approx(seed / 8 * 1.01));
  for (int i = 0; i < 250; ++i) REQUIRE(http.send(search));  // 1.01^209 > 8
  CHECK(http.budget(hubspot::k_search_budget).rate() == Approx(seed));
}

TEST_CASE("a Retry-After too long for the clock is refused as long, not retried at once") {
  const auto huge = parse_retry_after("99999999999999999999", 0);
  REQUIRE(huge);
  CHECK(*huge == std::chrono::seconds(315'360'000));
  FakeServer server([](const httplib::Request&, std::size_t) {
    return Scripted{429, "{}", {{"Retry-After", "9300000000000000"}}};
  });
  std::vector<std::chrono::milliseconds> sleeps;
  HttpClient http(HttpOptions{.connector = "t", .sleep = [&](auto d) { sleeps.push_back(d); }});
  const auto resp = http.send({"GET", server.base_url() + "/x"});
  REQUIRE_FALSE(resp);
  CHECK(resp.error().code == Errc::rate_limited);
  CHECK(sleeps.empty());
  CHECK(http.requests() == 1);
}

TEST_CASE("a 429 meaning too many in flight halves the concurrency gate; successes grow it", "[limits]") {
  FakeServer server([](const httplib::Request&, std::size_t n) {
    return n == 0 ? Scripted{429, R"({"code":20429,"message":"Too Many Requests","status":429})"} : Scripted{200, "{}"};
  });
  // No hold: the ceiling the refusal teaches (one in flight was refused: 1) lapses at once.
  auto gate = std::make_shared<ConcurrencyGate>(8, 64, std::chrono::milliseconds(0));
  HttpClient http(HttpOptions{.connector = "t",
                              .concurrency = gate,
                              .refused_for_concurrency = [](const HttpResponse& r) { return r.status == 429; },
                              .sleep = [](auto) {}});
  REQUIRE(http.send({"GET", server.base_url() + "/x"}));
  CHECK(http.requests() == 2);
  CHECK(gate->limit() == Approx(2));  // halved to the ceiling (1), then grown by 1/1
  CHECK(gate->in_flight() == 0);
}

TEST_CASE("a request that got no answer gives its gate place back without growing the gate", "[limits]") {
  const RefusingPort dead;
  auto gate = std::make_shared<ConcurrencyGate>(2, 64, std::chrono::milliseconds(0));
  std::vector<int> in_flight_at_sleep;
  HttpClient http(HttpOptions{.connector = "t", .max_attempts = 3, .concurrency = gate, .sleep = [&](auto) {
                                in_flight_at_sleep.push_back(gate->in_flight());
                              }});
  REQUIRE_FALSE(http.send({"GET", dead.url() + "/x"}));
  CHECK(http.requests() == 3);
  CHECK(gate->limit() == 2);  // a refused connection says nothing of the vendor's limit (grown: 2.5 after 1)
  CHECK(gate->in_flight() == 0);
  CHECK(in_flight_at_sleep == std::vector<int>{0, 0});  // given back before each back-off
}

TEST_CASE("a request a stop kept from going gives its gate place back without growing the gate", "[limits]") {
  FakeServer server([](const httplib::Request&, std::size_t) { return Scripted{200, "{}"}; });
  int stop_pipe[2];
  REQUIRE(pipe(stop_pipe) == 0);
  REQUIRE(write(stop_pipe[1], "x", 1) == 1);  // the stop came while the gate held the request
  auto gate = std::make_shared<ConcurrencyGate>(2, 64, std::chrono::milliseconds(0));
  HttpClient http(HttpOptions{.connector = "t", .concurrency = gate, .stop_ends_waits = true, .stop_fd = stop_pipe[0]});
  auto resp = http.send({"GET", server.base_url() + "/x"});
  close(stop_pipe[0]);
  close(stop_pipe[1]);
  REQUIRE_FALSE(resp);
  CHECK(resp.error().code == Errc::interrupted);
  CHECK(server.requests().empty());
  CHECK(gate->limit() == 2);  // counted as an answer, it grew to 2.5
  CHECK(gate->in_flight() == 0);
}

TEST_CASE("a request refused for too many in flight waits for the account's others, not a back-off", "[limits]") {
  std::atomic<int> others_out{3};
  std::atomic<std::size_t> seen{0};
  std::vector<int> out_when_sent;
  FakeServer server([&](const httplib::Request&, std::size_t n) {
    out_when_sent.push_back(others_out.load());
    ++seen;
    if (n < 2) return Scripted{429, R"({"code":20429,"message":"Too Many Requests","status":429})"};
    return n == 2 ? Scripted{503, "busy"} : Scripted{200, "{}"};
  });
  auto gate = std::make_shared<ConcurrencyGate>(8, 64, std::chrono::milliseconds(0));
  // A back-off drawn from [0, 2·10^8 ms], recorded and not slept: never 0 in practice.
  std::vector<std::chrono::milliseconds> slept;
  const auto options = [&](std::shared_ptr<ConcurrencyGate> g) {
    return HttpOptions{.connector = "t",
                       .max_attempts = 2,
                       .backoff_base = std::chrono::milliseconds(100'000'000),
                       .backoff_cap = std::chrono::milliseconds(1'000'000'000),
                       .concurrency = std::move(g),
                       .refused_for_concurrency = [](const HttpResponse& r) { return r.status == 429; },
                       .sleep = [&](auto d) { slept.push_back(d); }};
  };
  HttpClient http(options(gate));
  // Other clients of the account have 3 requests out: the first answered once this client's first
  // request has come, the second once its retry has, the third 200 ms later (the second retry waits
  // for it or for nothing, as the order of answers goes).
  std::vector<std::uint64_t> tickets;
  for (int i = 0; i < 3; ++i) tickets.push_back(gate->acquire());
  std::thread answer([&] {
    for (std::size_t i = 0; i < tickets.size(); ++i) {
      for (int waited = 0; i < 2 && seen.load() <= i && waited < 10'000; ++waited)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      if (i == 2) std::this_thread::sleep_for(std::chrono::milliseconds(200));
      --others_out;
      gate->release(false, tickets[i]);
    }
  });
  const auto sent = http.send({"GET", server.base_url() + "/x"});
  answer.join();
  REQUIRE(sent);
  CHECK(sent->status == 200);
  // Refused with 3 others out, the gate fell to 3 and the retry went when one had ended; refused with
  // 2 out, it fell to 1.67 and the retry went when the next success raised it to 2. Neither refusal
  // counted as an attempt: of the 2 allowed, the 503 took the first and its retry the second. The
  // 503's back-off is the one slept.
  REQUIRE(out_when_sent.size() == 4);
  CHECK(std::vector<int>(out_when_sent.begin(), out_when_sent.begin() + 2) == std::vector<int>{3, 2});
  CHECK(out_when_sent[2] <= 1);
  CHECK(http.requests() == 4);
  CHECK(slept.size() == 1);
  CHECK(gate->in_flight() == 0);

  // Refused with nothing else in flight (another program fills the account), the gate cannot tell
  // when the vendor will take it: the retry backs off, and counts.
  slept.clear();
  HttpClient alone(options(std::make_shared<ConcurrencyGate>(2, 64, std::chrono::milliseconds(0))));
  FakeServer refusing([](const httplib::Request&, std::size_t) {
    return Scripted{429, R"({"code":20429,"message":"Too Many Requests","status":429})"};
  });
  const auto refused = alone.send({"GET", refusing.base_url() + "/x"});
  REQUIRE(refused);
  CHECK(refused->status == 429);
  CHECK(alone.requests() == 2);
  CHECK(slept.size() == 1);
}

TEST_CASE("clients with one shared_budgets key pace as one: a reading or a pause of one holds the other", "[limits]") {
  FakeServer server([](const httplib::Request& req, std::size_t) {
    if (req.path == "/spent") return Scripted{429, "{}", {{"Retry-After", "7"}}};
    return Scripted{200, "{}", {{"X-Vendor-Rate", "2"}}};
  });
  const auto policy = [](const HttpRequest&, const HttpResponse& r) -> RateReading {
    if (r.status == 429) return {.pause = std::chrono::seconds(30)};
    auto it = r.headers.find("x-vendor-rate");
    return it == r.headers.end() ? RateReading{} : RateReading{.rate = std::stod(it->second)};
  };
  FakeClock clock;
  const std::string key = hubspot::shared_budgets(server.base_url(), "pat-na1-one");
  CHECK(key == hubspot::shared_budgets(server.base_url() + "/", "pat-na1-one"));
  CHECK(key != hubspot::shared_budgets(server.base_url(), "pat-na1-two"));
  CHECK(hubspot::shared_budgets(server.base_url(), "").empty());
  CHECK(key.find("pat-na1-one") == std::string::npos);  // the token is not kept as such

  HttpClient a(clock.on({.connector = "a", .rate_policy = policy, .shared_budgets = key}));
  HttpClient b(clock.on({.connector = "b", .rate_policy = policy, .shared_budgets = key}));
  HttpClient own(clock.on({.connector = "own", .rate_policy = policy}));
  REQUIRE(a.send({"GET", server.base_url() + "/x"}));  // unpaced, then 2/s from its answer
  CHECK(b.budget().rate() == 2);                       // b never sent anything
  CHECK(own.budget().rate() == 0);
  // Alternating, a and b take turns of one budget: b's first goes at once (as a client's own second
  // would), then each waits 500 ms after the other's.
  clock.sleeps.clear();
  for (int i = 0; i < 3; ++i) {
    REQUIRE(b.send({"GET", server.base_url() + "/x"}));
    REQUIRE(a.send({"GET", server.base_url() + "/x"}));
  }
  CHECK(clock.sleeps == std::vector<std::chrono::milliseconds>(5, std::chrono::milliseconds(500)));
  // A pause b's refusal set holds a: its next request waits it out first.
  HttpClient c(clock.on({.connector = "c", .max_attempts = 1, .rate_policy = policy, .shared_budgets = key}));
  (void)c.send({"GET", server.base_url() + "/spent"});
  CHECK(a.budget().paused_until() > clock.at);
  clock.sleeps.clear();
  REQUIRE(a.send({"GET", server.base_url() + "/x"}));
  REQUIRE_FALSE(clock.sleeps.empty());
  CHECK(clock.sleeps.back() >= std::chrono::seconds(29));
  clock.sleeps.clear();
  REQUIRE(own.send({"GET", server.base_url() + "/x"}));
  CHECK(clock.sleeps.empty());  // another key's budget is its own
}

TEST_CASE("a pause one client of shared budgets is given while another waits for its token holds that one too",
          "[limits]") {
  FakeServer server([](const httplib::Request& req, std::size_t) {
    if (req.path == "/spent") return Scripted{429, "{}"};
    return Scripted{200, "{}", {{"X-Vendor-Rate", "2"}}};
  });
  const auto policy = [](const HttpRequest&, const HttpResponse& r) -> RateReading {
    if (r.status == 429) return {.pause = std::chrono::seconds(30)};
    return {.rate = 2};
  };
  FakeClock clock;
  const std::string key = hubspot::shared_budgets(server.base_url(), "pat-na1-pause");
  HttpClient a(clock.on({.connector = "a", .max_attempts = 1, .rate_policy = policy, .shared_budgets = key}));
  // While b sleeps for its token, a is refused and told to pause.
  bool refused = false;
  auto opts = clock.on({.connector = "b", .rate_policy = policy, .shared_budgets = key});
  opts.sleep = [&, plain = opts.sleep](std::chrono::milliseconds d) {
    plain(d);
    if (!std::exchange(refused, true)) (void)a.send({"GET", server.base_url() + "/spent"});
  };
  HttpClient b(opts);
  for (int i = 0; i < 2; ++i) REQUIRE(b.send({"GET", server.base_url() + "/x"}));  // unpaced, then at once
  clock.sleeps.clear();
  REQUIRE(b.send({"GET", server.base_url() + "/x"}));
  REQUIRE(refused);
  // b's 500 ms, a's own 500 ms behind it, then b waits out what is left of a's 30 s pause.
  REQUIRE(clock.sleeps.size() == 3);
  CHECK(clock.sleeps[0] == std::chrono::milliseconds(500));
  CHECK(clock.sleeps[2] >= std::chrono::seconds(29));
}
