#include "adapters/http.hpp"

#include <fmt/format.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <ctime>
#include <thread>

#include "adapters/status_page.hpp"
#include "sync/timestamp.hpp"
#include "tests/adapters/http_support.hpp"
#include "tests/support/fake_server.hpp"

using namespace chansync;

using namespace chansync::adapters;
using chansync::test::FakeServer;
using chansync::test::Scripted;
using chansync::test::http::FakeClock;
using chansync::test::http::RefusingPort;

namespace {

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
