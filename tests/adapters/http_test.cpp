#include "adapters/http.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <ctime>
#include <thread>

#include "adapters/hubspot/hubspot_api.hpp"
#include "adapters/status_page.hpp"
#include "sync/timestamp.hpp"
#include "tests/support/fake_server.hpp"

using namespace chansync;

namespace {
// A loopback port that refuses connections for as long as it lives: bound, never listening, so that
// no other test's server can take it meanwhile (as one could a port a server had just let go).
struct RefusingPort {
  RefusingPort() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t n = sizeof a;
    REQUIRE(fd >= 0);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n) == 0);
    port = ntohs(a.sin_port);
  }
  ~RefusingPort() { ::close(fd); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  std::string url() const { return fmt::format("http://127.0.0.1:{}", port); }
  int fd = -1;
  int port = 0;
};
}  // namespace
using namespace chansync::adapters;
using chansync::test::FakeServer;
using chansync::test::Scripted;

namespace {

// A clock that only the client's sleeps move, and those sleeps: every wait is the client's computed one.
struct FakeClock {
  Clock::time_point at = Clock::time_point{} + std::chrono::hours(1);
  std::vector<std::chrono::milliseconds> sleeps;
  // `opts`, sleeping and telling the time by this clock.
  HttpOptions on(HttpOptions opts) {
    opts.sleep = [this](std::chrono::milliseconds d) {
      sleeps.push_back(d);
      at += d;
    };
    opts.now = [this] { return at; };
    return opts;
  }
};

std::string gzip(std::string_view text) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, text.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string http_date(std::int64_t ms) {
  const std::time_t t = ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

}  // namespace

TEST_CASE("origin_of: scheme and host[:port] of an absolute URL, without credentials") {
  using chansync::origin_of;
  CHECK(origin_of("https://graph.facebook.com/v23.0/t_1/messages?after=X") == "https://graph.facebook.com");
  CHECK(origin_of("http://user:pw@127.0.0.1:8080/v1") == "http://127.0.0.1:8080");
  CHECK(origin_of("https://host.example?x=1") == "https://host.example");
  CHECK(origin_of("https://host.example#top") == "https://host.example");
  CHECK(origin_of("https://host.example") == "https://host.example");
  CHECK(origin_of("http://[::1]:8080/x") == "http://[::1]:8080");
  CHECK(origin_of("https://h.example/p@q.example") == "https://h.example");
  // The host is what follows the last @ of the authority, as a URL parser reads it.
  CHECK(origin_of("https://graph.facebook.com@evil.example/x") == "https://evil.example");
  CHECK(origin_of("/2010-04-01/Accounts/AC1/Messages.json").empty());
}

TEST_CASE("the status page fetcher gives the URL findings quote with its secret shapes redacted") {
  RefusingPort refusing;
  const auto got = adapters::status_page_fetcher()(
      fmt::format("http://127.0.0.1:{}/api/v2/summary.json?api_key=sp-secret-31", refusing.port));
  CHECK_FALSE(got.error.empty());
  CHECK_THAT(got.shown_url, Catch::Contains("/api/v2/summary.json") && !Catch::Contains("sp-secret-31"));
  CHECK_THAT(got.error, !Catch::Contains("sp-secret-31"));
}

TEST_CASE("Retry-After is read as delta-seconds or as an HTTP-date") {
  const std::int64_t now = 1'780'000'000'000;
  CHECK(parse_retry_after("120", now) == std::chrono::milliseconds(120'000));
  CHECK(parse_retry_after("0", now) == std::chrono::milliseconds(0));
  CHECK(parse_retry_after(http_date(now + 30'000), now) == std::chrono::milliseconds(30'000));
  CHECK(parse_retry_after(http_date(now - 5'000), now) == std::chrono::milliseconds(0));  // already past
  CHECK_FALSE(parse_retry_after("soon", now));
  CHECK_FALSE(parse_retry_after("-3", now));
  CHECK_FALSE(parse_retry_after("", now));
}

TEST_CASE("a 429 with an HTTP-date Retry-After waits until that date, then retries") {
  FakeServer server([](const httplib::Request&, std::size_t n) {
    if (n == 0) return Scripted{429, "{}", {{"Retry-After", http_date(now_ms() + 4'000)}}};
    return Scripted{200, R"({"ok":true})"};
  });
  std::vector<std::chrono::milliseconds> sleeps;
  HttpClient http(HttpOptions{.connector = "t", .sleep = [&](auto d) { sleeps.push_back(d); }});
  auto resp = http.send({"GET", server.base_url() + "/x"});
  REQUIRE(resp);
  CHECK(resp->status == 200);
  REQUIRE(sleeps.size() == 1);
  // The date has one-second resolution, so the wait is between 3 and 4 seconds.
  CHECK(sleeps[0] > std::chrono::milliseconds(2'900));
  CHECK(sleeps[0] <= std::chrono::milliseconds(4'000));
  CHECK(http.requests() == 2);
}

TEST_CASE("a Retry-After beyond the limit fails fast with the wait in the error") {
  FakeServer server([](const httplib::Request&, std::size_t) {
    return Scripted{429, "{}", {{"Retry-After", "3600"}}};
  });
  std::vector<std::chrono::milliseconds> sleeps;
  HttpClient http(HttpOptions{.connector = "t", .sleep = [&](auto d) { sleeps.push_back(d); }});
  auto resp = http.send({"GET", server.base_url() + "/x"});
  REQUIRE_FALSE(resp);
  CHECK(resp.error().code == Errc::rate_limited);
  CHECK(resp.error().retry_after == std::chrono::milliseconds(3'600'000));
  CHECK(sleeps.empty());
}

TEST_CASE("a stop ends a pull client's wait for a Retry-After: the call is interrupted, nothing sent again") {
  FakeServer server([](const httplib::Request& req, std::size_t) {
    return Scripted{429, "{}", {{"Retry-After", req.path == "/short" ? "1" : "60"}}};
  });
  int stop_pipe[2];
  REQUIRE(pipe(stop_pipe) == 0);
  interrupt_waits_on(stop_pipe[0]);
  // The real sleeper (an injected one is never cut short), as a pull's clients have it.
  HttpClient http(HttpOptions{.connector = "t", .stop_ends_waits = true});
  ssize_t wrote = 0;
  std::thread stopper([&] {
    // The first answer, then the signal handler's write.
    for (int i = 0; i < 500 && server.requests().empty(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    wrote = write(stop_pipe[1], "x", 1);
  });
  const auto started = std::chrono::steady_clock::now();
  auto resp = http.send({"GET", server.base_url() + "/x"});
  stopper.join();
  const auto waited = std::chrono::steady_clock::now() - started;
  // Later calls end at once, before sending: the pipe stays readable.
  auto again = http.send({"GET", server.base_url() + "/x"});
  // A push's client waits on: its Retry-After (shortened by the server to 1 s), then the retry.
  HttpClient push(HttpOptions{.connector = "t", .max_attempts = 2});
  auto waited_whole = push.send({"GET", server.base_url() + "/short"});
  interrupt_waits_on(-1);
  close(stop_pipe[0]);
  close(stop_pipe[1]);
  CHECK(wrote == 1);
  REQUIRE_FALSE(resp);
  CHECK(resp.error().code == Errc::interrupted);
  CHECK_THAT(resp.error().message, Catch::Contains("stopped by a signal") && Catch::Contains("/x"));
  CHECK(waited < std::chrono::seconds(30));  // not the 60 s asked for
  REQUIRE_FALSE(again);
  CHECK(again.error().code == Errc::interrupted);
  REQUIRE(waited_whole);
  CHECK(waited_whole->status == 429);
  // The pull client's first request and none after the stop (not even `again`'s first); the push's
  // client's and its retry.
  CHECK(server.requests().size() == 3);
}

TEST_CASE("a stop ends a pull client's request under way: a stalled vendor does not hold the process") {
  std::atomic<bool> release{false};
  FakeServer server([&](const httplib::Request&, std::size_t) {
    for (int i = 0; i < 1000 && !release; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return Scripted{200, "{}"};
  });
  int stop_pipe[2];
  REQUIRE(pipe(stop_pipe) == 0);
  HttpClient http(HttpOptions{.connector = "t", .stop_ends_waits = true, .stop_fd = stop_pipe[0]});
  std::thread stopper([&] {
    for (int i = 0; i < 500 && server.requests().empty(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    (void)!write(stop_pipe[1], "x", 1);
  });
  const auto started = std::chrono::steady_clock::now();
  auto resp = http.send({"GET", server.base_url() + "/stalled"});
  const auto waited = std::chrono::steady_clock::now() - started;
  stopper.join();
  release = true;
  close(stop_pipe[0]);
  close(stop_pipe[1]);
  REQUIRE_FALSE(resp);
  CHECK(resp.error().code == Errc::interrupted);
  CHECK_THAT(resp.error().message, Catch::Contains("waiting for the answer to GET") && Catch::Contains("/stalled"));
  CHECK(waited < std::chrono::seconds(7));  // 3 s for the answer to come, not the server's 10 s
  CHECK(server.requests().size() == 1);     // not retried
  // A push's client (no stop_ends_waits) waits for its answer: what it sent may be acted on.
  HttpClient push(HttpOptions{.connector = "t"});
  release = true;
  CHECK(push.send({"GET", server.base_url() + "/stalled"}));
}

TEST_CASE("a 5xx is retried only for requests safe to repeat") {
  FakeServer server([](const httplib::Request&, std::size_t) { return Scripted{502, "bad gateway"}; });
  auto attempts = [&](HttpRequest req) {
    HttpClient http(HttpOptions{.connector = "t", .max_attempts = 3, .sleep = [](auto) {}});
    req.url = server.base_url() + "/x";
    auto resp = http.send(req);
    REQUIRE(resp);
    CHECK(resp->status == 502);
    return http.requests();
  };
  CHECK(attempts({"GET"}) == 3);
  CHECK(attempts({"PUT", "", {}, "{}"}) == 3);
  CHECK(attempts({"DELETE"}) == 3);
  CHECK(attempts({"POST", "", {}, "{}"}) == 1);  // it may have been acted on: a repeat could duplicate
  CHECK(attempts({"PATCH", "", {}, "{}"}) == 1);
  CHECK(attempts({"POST", "", {{"Idempotency-Key", "k-1"}}, "{}"}) == 3);
  CHECK(attempts({"POST", "", {}, "{}", true}) == 3);  // a search: the adapter says it only reads
  CHECK(attempts({"PUT", "", {}, "{}", false}) == 1);  // an appending PUT: the adapter says it is not
  for (const auto& r : server.requests())
    if (r.method == "PUT" || r.method == "POST" || r.method == "PATCH") CHECK(r.body == "{}");  // bodies arrive
}

TEST_CASE("a 429 and a connection that never reached the server are retried even for a POST") {
  FakeServer server([](const httplib::Request&, std::size_t n) {
    return n == 0 ? Scripted{429, "{}", {{"Retry-After", "1"}}} : Scripted{201, "{}"};
  });
  HttpClient http(HttpOptions{.connector = "t", .sleep = [](auto) {}});
  auto resp = http.send({"POST", server.base_url() + "/x", {}, "{}"});
  REQUIRE(resp);
  CHECK(resp->status == 201);
  CHECK(http.requests() == 2);

  const RefusingPort dead;
  HttpClient refused(HttpOptions{.connector = "t", .max_attempts = 3, .sleep = [](auto) {}});
  auto none = refused.send({"POST", dead.url() + "/x", {}, "{}"});
  REQUIRE_FALSE(none);
  CHECK(none.error().code == Errc::unavailable);
  CHECK(refused.requests() == 3);  // nothing was sent, so repeating cannot duplicate
}

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

TEST_CASE("a vendor 4xx error names the request and what to check, never the query string") {
  HttpResponse resp;
  resp.status = 404;
  const HttpRequest req{"GET", "https://api.example.com/v1/Accounts/AC1/Messages.json?PageSize=50&token=x"};
  const Error e = http_error(req, resp, "sms", "listing messages", "Twilio error 20404: not found");
  CHECK(e.code == Errc::remote);
  CHECK(e.http_status == 404);
  CHECK_THAT(e.message, Catch::Contains("GET https://api.example.com/v1/Accounts/AC1/Messages.json") &&
                            Catch::Contains("20404") && Catch::Contains("base_url"));
  CHECK_THAT(e.message, !Catch::Contains("token=x"));
  resp.status = 401;
  CHECK(http_error(req, resp, "sms", "listing messages", "").code == Errc::auth);
}

TEST_CASE("a response the adapter's give_up accepts is returned at once, without retries") {
  FakeServer server([](const httplib::Request&, std::size_t) {
    return Scripted{429, R"({"policyName":"DAILY"})", {{"X-Quota-Left", "0"}}};
  });
  std::vector<std::chrono::milliseconds> sleeps;
  HttpClient http(HttpOptions{.connector = "t",
                              .give_up = [](const HttpResponse& r) { return r.headers.count("x-quota-left") > 0; },
                              .sleep = [&](auto d) { sleeps.push_back(d); }});
  auto resp = http.send({"GET", server.base_url() + "/x"});
  REQUIRE(resp);
  CHECK(resp->status == 429);
  CHECK(http.requests() == 1);
  CHECK(sleeps.empty());
}

TEST_CASE("a Link or Warning field sent twice keeps both values; other fields keep the last", "[health]") {
  FakeServer server([](const httplib::Request&, std::size_t) {
    return Scripted{200,
                    "{}",
                    {{"Link", R"(<https://api.example.com/v2/contacts?after=2>; rel="next")"},
                     {"Link", R"(<https://developer.example.com/sunset>; rel="sunset")"},
                     {"X-Thing", "first"},
                     {"X-Thing", "second"}}};
  });
  HttpClient http(HttpOptions{.connector = "t", .sleep = [](auto) {}});
  const auto resp = http.send({"GET", server.base_url() + "/x"});
  REQUIRE(resp);
  CHECK(
      resp->headers.at("link") ==
      R"(<https://api.example.com/v2/contacts?after=2>; rel="next", <https://developer.example.com/sunset>; rel="sunset")");
  CHECK(resp->headers.at("x-thing") == "second");
}

TEST_CASE("a gzip answer is decoded whole, one member or several", "[http]") {
  // A page as httplib sends it when asked for gzip, as vendors do.
  std::string page = "{\"messages\":[";
  for (int i = 0; i < 2000; ++i) page += fmt::format("{}{{\"sid\":\"SM{:032}\",\"body\":\"hello\"}}", i ? "," : "", i);
  page += "]}";
  std::string asked;
  FakeServer json([&](const httplib::Request& req, std::size_t) {
    asked = req.get_header_value("Accept-Encoding");
    return Scripted{200, page};
  });
  HttpClient http(HttpOptions{.connector = "t"});
  auto got = http.send({"GET", json.base_url() + "/page"});
  REQUIRE(got);
  CHECK(asked == "gzip");
  CHECK(got->headers["content-encoding"] == "gzip");
  CHECK(got->body == page);

  // Encoded by the test: two members in a row (RFC 1952 allows it). The output is sized from the
  // trailer, which gives only the last member's length: a long first member makes it grow.
  const std::string long_text(100'000, 'x');
  FakeServer raw([&](const httplib::Request&, std::size_t n) {
    const std::vector<std::pair<std::string, std::string>> gz = {{"Content-Encoding", "gzip"}};
    if (n == 0) return Scripted{200, gzip("hello ") + gzip("world"), gz, "application/octet-stream"};
    return Scripted{200, gzip(long_text) + gzip("!"), gz, "application/octet-stream"};
  });
  auto two = http.send_once({"GET", raw.base_url() + "/two"});
  REQUIRE(two);
  CHECK(two->body == "hello world");
  auto grown = http.send_once({"GET", raw.base_url() + "/grown"});
  REQUIRE(grown);
  CHECK(grown->body == long_text + "!");
}

TEST_CASE("an answer that cannot be decoded is an error naming why, retried for a GET; a refusal keeps its status",
          "[http]") {
  std::string broken = gzip(std::string(5000, 'y'));
  broken[broken.size() / 2] ^= 0x55;
  FakeServer server([&](const httplib::Request&, std::size_t n) {
    const std::vector<std::pair<std::string, std::string>> gz = {{"Content-Encoding", "gzip"}};
    if (n == 1) return Scripted{200, "br-bytes", {{"Content-Encoding", "br"}}, "application/octet-stream"};
    if (n == 4)
      return Scripted{429, broken, {{"Content-Encoding", "gzip"}, {"Retry-After", "7"}}, "application/octet-stream"};
    if (n <= 2) return Scripted{200, broken, gz, "application/octet-stream"};
    return Scripted{200, "{}"};
  });
  HttpClient http(HttpOptions{.connector = "t", .sleep = [](auto) {}});
  auto bad = http.send_once({"GET", server.base_url() + "/bad?token=abc"});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == Errc::unavailable);  // as libcurl's own decoding reported it: a transfer cut off
  CHECK_THAT(bad.error().message, Catch::Contains("cannot be decoded: it is not valid gzip") &&
                                      Catch::Contains("/bad (HTTP 200)") && !Catch::Contains("token"));
  auto br = http.send_once({"GET", server.base_url() + "/br"});
  REQUIRE_FALSE(br);
  CHECK_THAT(br.error().message, Catch::Contains("it is in br, which chansync does not ask for"));
  // send() retries a GET whose answer could not be decoded, as it does one cut off mid-way.
  auto retried = http.send({"GET", server.base_url() + "/again"});
  REQUIRE(retried);
  CHECK(retried->body == "{}");
  CHECK(http.requests() == 4);
  // A refusal whose body cannot be decoded still refuses: its status and Retry-After are kept.
  auto refusal = http.send_once({"GET", server.base_url() + "/busy"});
  REQUIRE(refusal);
  CHECK(refusal->status == 429);
  CHECK(refusal->headers["retry-after"] == "7");
  CHECK(refusal->body.empty());
}
