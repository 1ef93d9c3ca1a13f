// `chansync listen`'s receiver against real HTTP requests on a loopback port: the signature is checked
// before anything is stored, the handshake answers only the right token, and what is acknowledged is
// in the spool.
#include "listen/receiver.hpp"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <thread>

#include "sync/digest.hpp"
#include "sync/spool.hpp"
#include "sync/webhook_marks.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace chansync;

namespace {

constexpr const char* k_secret = "app-secret-1234";
constexpr const char* k_body =
    R"({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[]}]})";

struct Running {
  std::unique_ptr<test::TempDir> own;  // the spool, unless one was given
  fs::path dir;
  std::unique_ptr<listen::Receiver> receiver;
  std::string address;
  std::thread thread;

  // With `spool`, a receiver on that directory (left in place afterwards), as a restart would be.
  explicit Running(bool with_verify_token = true, const fs::path& spool = {})
      : own(spool.empty() ? std::make_unique<test::TempDir>("listen") : nullptr), dir(own ? own->path : spool) {
    listen::ListenOptions o;
    o.address = "127.0.0.1:0";
    o.spool_dir = dir.string();
    o.connectors = {{"wa", {"whatsapp_business_account", k_secret, with_verify_token ? "verify-me" : ""}},
                    {"fb", {"page", "", ""}}};
    receiver = std::make_unique<listen::Receiver>(o);
    address = receiver->bind();
    thread = std::thread([this] { receiver->run(); });
  }
  ~Running() {
    receiver->stop();
    thread.join();
  }
  httplib::Client client() const {
    const auto colon = address.rfind(':');
    httplib::Client c(address.substr(0, colon), std::stoi(address.substr(colon + 1)));
    return c;
  }
  std::vector<std::string> spooled(const std::string& connector = "wa") const {
    auto page = read_spool(dir.string(), connector, "", 1000);
    REQUIRE(page);
    return page->payloads;
  }
};

httplib::Result post(const Running& r, const std::string& path, const std::string& body, const std::string& signature) {
  auto c = r.client();
  httplib::Headers h;
  if (!signature.empty()) h.emplace("X-Hub-Signature-256", signature);
  return c.Post(path.c_str(), h, body, "application/json");
}

// Sends `request` as is on a new connection and returns what comes back until the server closes it.
std::string raw_request(const std::string& address, const std::string& request) {
  const auto colon = address.rfind(':');
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
  ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return answer;
}

std::string sign(const std::string& body, const std::string& secret = k_secret) {
  return "sha256=" + hmac_sha256_hex(secret, body);
}

}  // namespace

TEST_CASE("listen: a correctly signed payload is acknowledged only once it is in the spool", "[listen]") {
  Running r;
  auto res = post(r, "/webhooks/wa", k_body, sign(k_body));
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(r.spooled() == std::vector<std::string>{k_body});
  CHECK(r.receiver->stats().accepted == 1);
  CHECK(r.receiver->stats().fsyncs >= 1);
}

TEST_CASE("listen: bad signatures are refused with 401 and nothing is stored", "[listen]") {
  Running r;
  test::LogCapture logs;
  std::string altered = k_body;
  altered[12] ^= 1;  // one byte of the body changed after signing
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"missing", ""},
      {"not sha256=", "sha1=" + hmac_sha256_hex(k_secret, k_body)},
      {"wrong secret", sign(k_body, "another-secret")},
      {"garbage", "sha256=zzzz"},
  };
  for (const auto& [what, signature] : cases) {
    INFO(what);
    auto res = post(r, "/webhooks/wa", k_body, signature);
    REQUIRE(res);
    CHECK(res->status == 401);
  }
  auto res = post(r, "/webhooks/wa", altered, sign(k_body));
  REQUIRE(res);
  CHECK(res->status == 401);
  CHECK(r.spooled().empty());
  CHECK(r.receiver->stats().refused == 5);
  // One line per refused request, with the reason; never the body or the secret.
  const std::string log = logs.all();
  CHECK_THAT(log, Catch::Contains("no X-Hub-Signature-256 header"));
  CHECK_THAT(log, Catch::Contains("does not match the body"));
  CHECK_THAT(log, !Catch::Contains(k_secret));
  CHECK_THAT(log, !Catch::Contains("entry"));
}

TEST_CASE("listen: records per connector the last accepted and refused request, for health", "[listen]") {
  Running r;
  CHECK_FALSE(read_webhook_marks(r.dir.string(), "wa"));
  REQUIRE(post(r, "/webhooks/wa", k_body, sign(k_body))->status == 200);
  for (int i = 0; i < 3; ++i) REQUIRE(post(r, "/webhooks/wa", k_body, sign(k_body, "rotated"))->status == 401);
  // Refusals are written at once: health sees them while listen runs.
  auto refusing = read_webhook_marks(r.dir.string(), "wa");
  REQUIRE(refusing);
  CHECK(refusing->accepted == 1);
  CHECK(refusing->refused == 3);
  CHECK(refusing->refused_since_accepted == 3);
  CHECK(refusing->last_refused_status == 401);
  CHECK_THAT(refusing->last_refused_reason, Catch::Contains("does not match the body"));
  CHECK(refusing->last_refused >= refusing->last_accepted);
  CHECK(webhook_marks_finding(refusing, "wa", now_ms()).cls == HealthClass::webhook_broken);
  // The first request accepted after refusals is written at once too, ending the run of refusals.
  REQUIRE(post(r, "/webhooks/wa", k_body, sign(k_body))->status == 200);
  auto accepting = read_webhook_marks(r.dir.string(), "wa");
  REQUIRE(accepting);
  CHECK(accepting->refused_since_accepted == 0);
  CHECK(accepting->accepted == 2);
  CHECK(webhook_marks_finding(accepting, "wa", now_ms()).cls == HealthClass::ok);
  // The record is not a segment: the spool still reads exactly what was accepted.
  CHECK(r.spooled().size() == 2);
}

TEST_CASE("listen: a connector without an app secret stores nothing", "[listen]") {
  Running r;
  const std::string body = R"({"object":"page","entry":[]})";
  auto res = post(r, "/webhooks/fb", body, "sha256=" + hmac_sha256_hex("", body));
  REQUIRE(res);
  CHECK(res->status == 401);
  CHECK(r.spooled("fb").empty());
}

TEST_CASE("listen: signed bodies that are not the connector's payloads are refused with 400", "[listen]") {
  Running r;
  for (const std::string body :
       {"not json", R"({"object":"page","entry":[]})", R"([1,2])", R"({"object":"whatsapp_b)"}) {
    INFO(body);
    auto res = post(r, "/webhooks/wa", body, sign(body));
    REQUIRE(res);
    CHECK(res->status == 400);
  }
  CHECK(r.spooled().empty());
}

TEST_CASE("listen: unknown connectors, other methods and oversized bodies", "[listen]") {
  Running r;
  auto res = post(r, "/webhooks/nobody", k_body, sign(k_body));
  REQUIRE(res);
  CHECK(res->status == 404);
  auto c = r.client();
  auto put = c.Put("/webhooks/wa", k_body, "application/json");
  REQUIRE(put);
  CHECK(put->status == 405);
  CHECK(put->get_header_value("Allow") == "GET, POST");
  httplib::Request empty_patch;  // no body at all: httplib alone would answer 400
  empty_patch.method = "PATCH";
  empty_patch.path = "/webhooks/wa";
  auto patch = c.send(empty_patch);
  REQUIRE(patch);
  CHECK(patch->status == 405);
  // curl -d without a Content-Type sends a form: refused up front, whatever its size (httplib would
  // cut a form at 8 KiB and answer 413).
  auto form =
      c.Post("/webhooks/wa", {{"X-Hub-Signature-256", sign(k_body)}}, k_body, "application/x-www-form-urlencoded");
  REQUIRE(form);
  CHECK(form->status == 415);
  CHECK_THAT(form->body, Catch::Contains("application/json"));
  const std::string big = R"({"object":"whatsapp_business_account","x":")" + std::string(k_spool_max_body, 'a') + "\"}";
  auto large = post(r, "/webhooks/wa", big, sign(big));
  REQUIRE(large);
  CHECK(large->status == 413);
  CHECK(r.spooled().empty());
}

TEST_CASE("listen: a WhatsApp batch of 3 MB is taken; a body over the limit is told to health", "[listen]") {
  Running r;
  // Meta documents WhatsApp payloads up to 3 MB (up to 1,000 updates in one request).
  const std::string batch = R"({"object":"whatsapp_business_account","x":")" + std::string(3'000'000, 'a') + "\"}";
  auto taken = post(r, "/webhooks/wa", batch, sign(batch));
  REQUIRE(taken);
  CHECK(taken->status == 200);
  CHECK(r.spooled().size() == 1);
  const std::string big = R"({"object":"whatsapp_business_account","x":")" + std::string(k_spool_max_body, 'a') + "\"}";
  auto large = post(r, "/webhooks/wa", big, sign(big));
  REQUIRE(large);
  CHECK(large->status == 413);
  const auto marks = read_webhook_marks(r.dir.string(), "wa");
  REQUIRE(marks);
  CHECK(marks->last_refused_status == 413);
  CHECK(marks->refused_since_accepted == 1);
  CHECK(r.spooled().size() == 1);
}

TEST_CASE("listen: a signed body that is not strict JSON but names its object is kept for pull", "[listen]") {
  Running r;
  // A text Meta cut inside an emoji: a lone surrogate simdjson refuses. The signature proves it Meta's.
  const std::string cut =
      R"({"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[{"text":{"body":"hi \ud83d"}}]}}]}]})";
  auto kept = post(r, "/webhooks/wa", cut, sign(cut));
  REQUIRE(kept);
  CHECK(kept->status == 200);
  REQUIRE(r.spooled().size() == 1);
  CHECK(r.spooled()[0] == cut);
  // Not naming it: refused as before.
  const std::string other = R"({"object":"page","x":"\ud83d"})";
  CHECK(post(r, "/webhooks/wa", other, sign(other))->status == 400);
}

TEST_CASE("listen: a flood of forged signatures is counted, but not logged or written per request", "[listen]") {
  Running r(false);
  test::LogCapture logs;
  auto c = r.client();
  // A subscribe request to a connector without a verify_token is anyone's: no evidence.
  REQUIRE(c.Get("/webhooks/wa?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1")->status == 403);
  CHECK_FALSE(read_webhook_marks(r.dir.string(), "wa"));
  constexpr int k_forged = 200;
  for (int i = 0; i < k_forged; ++i) REQUIRE(post(r, "/webhooks/wa", k_body, sign(k_body, "forged"))->status == 401);
  CHECK(r.receiver->stats().refused == k_forged + 1);
  std::size_t lines = 0;
  for (const auto& l : logs.ring->last_formatted()) lines += l.find(" /webhooks/wa from ") != std::string::npos;
  INFO(lines << " refusal lines logged");
  CHECK(lines < static_cast<std::size_t>(k_forged));
  CHECK(lines >= 20);
  // The record was written at the first refusal and at the third (broken for health) at least.
  const auto marks = read_webhook_marks(r.dir.string(), "wa");
  REQUIRE(marks);
  CHECK(marks->refused_since_accepted >= 3);
  CHECK(marks->last_refused_status == 401);
}

TEST_CASE("listen: a wrong signature on a body not shaped as Meta's is refused, but is no evidence", "[listen]") {
  Running r;
  // A scanner's 64 hex digits on its own body: a quiet night stays quiet.
  for (const std::string& body : {std::string("{}"), std::string(R"({"object":"whatsapp_business_account"})"),
                                  std::string(R"({"object":"whatsapp_business_account","entry":[]})")})
    REQUIRE(post(r, "/webhooks/wa", body, "sha256=" + std::string(64, '0'))->status == 401);
  CHECK(r.receiver->stats().refused == 3);
  CHECK_FALSE(read_webhook_marks(r.dir.string(), "wa"));
  // Meta's deliveries after the app secret was rotated are.
  for (int i = 0; i < 3; ++i) REQUIRE(post(r, "/webhooks/wa", k_body, sign(k_body, "rotated"))->status == 401);
  const auto marks = read_webhook_marks(r.dir.string(), "wa");
  REQUIRE(marks);
  CHECK(marks->refused_since_accepted == 3);
  CHECK(webhook_marks_finding(marks, "wa", now_ms()).cls == HealthClass::webhook_broken);
  // So are another app's deliveries (Messenger's) sent to this connector's URL by mistake.
  const std::string messenger = R"({"object":"page","entry":[{"id":"1","messaging":[]}]})";
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the record is written at most once a second
  REQUIRE(post(r, "/webhooks/wa", messenger, sign(messenger, "another app"))->status == 401);
  CHECK(read_webhook_marks(r.dir.string(), "wa")->refused_since_accepted == 4);
}

TEST_CASE("listen: the subscribe handshake answers the challenge only for the right token", "[listen]") {
  Running r;
  auto c = r.client();
  auto ok = c.Get("/webhooks/wa?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444");
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->body == "1158201444");
  auto wrong = c.Get("/webhooks/wa?hub.mode=subscribe&hub.verify_token=verify-you&hub.challenge=1158201444");
  REQUIRE(wrong);
  CHECK(wrong->status == 403);
  CHECK(wrong->body.find("1158201444") == std::string::npos);
  auto unset = c.Get("/webhooks/fb?hub.mode=subscribe&hub.verify_token=&hub.challenge=1");
  REQUIRE(unset);
  CHECK(unset->status == 403);
  auto mode = c.Get("/webhooks/wa?hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=1");
  REQUIRE(mode);
  CHECK(mode->status == 400);
}

TEST_CASE("listen: requests that cannot be Meta's are refused but stay out of the health record", "[listen]") {
  Running r;
  auto c = r.client();
  // Anyone can send these: an unsigned POST, a malformed signature, a GET without hub.mode (a
  // browser, a scanner), a HEAD, a handshake with another mode or a wrong token. Three of them in a
  // row must not make health report the receiver broken.
  const std::string short_hex = sign(k_body).substr(0, 7 + 63);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(post(r, "/webhooks/wa", k_body, "")->status == 401);
    REQUIRE(post(r, "/webhooks/wa", k_body, "sha1=abc")->status == 401);
    REQUIRE(post(r, "/webhooks/wa", k_body, "sha256=")->status == 401);
    REQUIRE(post(r, "/webhooks/wa", k_body, short_hex)->status == 401);
    REQUIRE(post(r, "/webhooks/wa", k_body, short_hex + "G")->status == 401);
    REQUIRE(c.Get("/webhooks/wa")->status == 400);
    REQUIRE(c.Head("/webhooks/wa")->status == 400);
    REQUIRE(c.Get("/webhooks/wa?hub.mode=unsubscribe&hub.verify_token=x&hub.challenge=1")->status == 400);
    REQUIRE(c.Get("/webhooks/wa?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1")->status == 403);
  }
  CHECK(r.receiver->stats().refused == 27);
  const auto marks = read_webhook_marks(r.dir.string(), "wa");
  CHECK((!marks || marks->refused == 0));
  // A signature that is well formed but does not match is what a rotated app secret gives: evidence.
  REQUIRE(post(r, "/webhooks/wa", k_body, sign(k_body, "rotated"))->status == 401);
  const auto counted = read_webhook_marks(r.dir.string(), "wa");
  REQUIRE(counted);
  CHECK(counted->refused == 1);
  // A subscribe request with the right token but nothing to answer with is refused.
  auto no_challenge = c.Get("/webhooks/wa?hub.mode=subscribe&hub.verify_token=verify-me");
  REQUIRE(no_challenge);
  CHECK(no_challenge->status == 400);
}

TEST_CASE("listen: a compressed, chunked or unsized body is refused before it is read", "[listen]") {
  Running r;
  test::LogCapture logs;
  auto c = r.client();
  // httplib would inflate a gzip body whole before any handler ran (its size limit counts the
  // compressed bytes), and read chunks without a limit: both are refused on their headers alone.
  // (The requests carry no body here: a refusal closes the connection with whatever body is unread,
  // and that reset could reach the client before the answer.)
  httplib::Headers gz{{"Content-Encoding", "gzip"}, {"X-Hub-Signature-256", sign(k_body)}};
  auto compressed = c.Post("/webhooks/wa", gz, std::string(), "application/json");
  REQUIRE(compressed);
  CHECK(compressed->status == 415);
  CHECK_THAT(compressed->body, Catch::Contains("send the body uncompressed"));
  const std::string chunked_answer = raw_request(r.address,
                                                 "POST /webhooks/wa HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                                 "application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
  CHECK_THAT(chunked_answer, Catch::StartsWith("HTTP/1.1 411"));
  // Nor a body without Content-Length, which httplib would read until the client closes, unlimited.
  const std::string unsized_answer = raw_request(r.address,
                                                 "POST /webhooks/wa HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                                 "application/json\r\n\r\n");
  CHECK_THAT(unsized_answer, Catch::StartsWith("HTTP/1.1 411"));
  CHECK_THAT(logs.all(), Catch::Contains("a POST without Content-Length is not accepted"));
  CHECK(r.spooled().empty());
  CHECK_THAT(logs.all(), Catch::Contains("Content-Encoding gzip is not accepted"));
  CHECK_FALSE(read_webhook_marks(r.dir.string(), "wa"));
  // The receiver goes on serving: the next proper request is stored.
  REQUIRE(post(r, "/webhooks/wa", k_body, sign(k_body))->status == 200);
  CHECK(r.spooled().size() == 1);
}

TEST_CASE("listen: the health record goes on across a restart", "[listen]") {
  const test::TempDir tmp("listen");
  const fs::path& spool = tmp.path;
  {
    Running first(true, spool);
    REQUIRE(post(first, "/webhooks/wa", k_body, sign(k_body))->status == 200);
  }
  {
    Running second(true, spool);
    for (int i = 0; i < 3; ++i) REQUIRE(post(second, "/webhooks/wa", k_body, sign(k_body, "rotated"))->status == 401);
  }
  const auto marks = read_webhook_marks(spool.string(), "wa");
  REQUIRE(marks);
  CHECK(marks->accepted == 1);  // not "never accepted" after the restart
  CHECK(marks->last_accepted > 0);
  CHECK(marks->refused_since_accepted == 3);
}

TEST_CASE("listen: many concurrent requests share fsyncs and all land in the spool", "[listen]") {
  Running r;
  constexpr int k_threads = 8, k_each = 25;
  std::vector<std::thread> senders;
  std::atomic<int> acked{0};
  for (int t = 0; t < k_threads; ++t)
    senders.emplace_back([&, t] {
      auto c = r.client();
      for (int i = 0; i < k_each; ++i) {
        const std::string body = R"({"object":"whatsapp_business_account","n":)" + std::to_string(t * 1000 + i) + "}";
        httplib::Headers h{{"X-Hub-Signature-256", sign(body)}};
        if (auto res = c.Post("/webhooks/wa", h, body, "application/json"); res && res->status == 200) ++acked;
      }
    });
  for (auto& s : senders) s.join();
  CHECK(acked == k_threads * k_each);
  CHECK(r.spooled().size() == static_cast<std::size_t>(k_threads * k_each));
  CHECK(r.receiver->stats().fsyncs <= static_cast<std::uint64_t>(k_threads * k_each));
}

TEST_CASE("listen: a second receiver on the same spool is refused", "[listen]") {
  Running r;
  listen::ListenOptions o;
  o.address = "127.0.0.1:0";
  o.spool_dir = r.dir.string();
  o.connectors = {{"wa", {"whatsapp_business_account", k_secret, ""}}};
  try {
    listen::Receiver second(o);
    FAIL("a second receiver started on a held spool");
  } catch (const Failure& f) {
    CHECK(f.error().code == Errc::locked);
  }
}

TEST_CASE("listen: a spool that cannot be written answers 503, keeps no partial frame, and recovers", "[listen]") {
  Running r;
  REQUIRE(post(r, "/webhooks/wa", k_body, sign(k_body))->status == 200);
  // The disk "fills": no file may grow past what the segment already holds.
  const auto segment_size = [&] {
    std::uintmax_t n = 0;
    for (const auto& e : fs::directory_iterator(r.dir / "wa"))  // segments, not listen's webhooks.json
      if (e.path().extension() == ".spool") n = std::max(n, fs::file_size(e.path()));
    return n;
  };
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  ::getrlimit(RLIMIT_FSIZE, &old);
  rlimit small = old;
  small.rlim_cur = segment_size() + 10;  // room for part of a frame, not a whole one
  ::setrlimit(RLIMIT_FSIZE, &small);
  test::LogCapture logs;
  auto full = post(r, "/webhooks/wa", k_body, sign(k_body));
  ::setrlimit(RLIMIT_FSIZE, &old);
  REQUIRE(full);
  CHECK(full->status == 503);
  CHECK(full->get_header_value("Retry-After") == "60");
  CHECK_THAT(logs.all(), Catch::Contains("free space"));
  CHECK(r.spooled() == std::vector<std::string>{k_body});  // no torn frame behind
  // Space again: the next delivery (Meta's retry) is stored.
  REQUIRE(post(r, "/webhooks/wa", k_body, sign(k_body))->status == 200);
  CHECK(r.spooled().size() == 2);
}

TEST_CASE("listen: a second receiver cannot share the port, even with its own spool", "[listen]") {
  Running r;
  const test::TempDir other("listen");
  listen::ListenOptions o;
  o.address = r.address;
  o.spool_dir = other.path.string();
  o.connectors = {{"wa", {"whatsapp_business_account", k_secret, ""}}};
  listen::Receiver second(o);
  try {
    second.bind();
    FAIL("two receivers bound " << r.address);
  } catch (const Failure& f) {
    CHECK(f.error().code == Errc::unavailable);
    CHECK_THAT(f.error().message, Catch::Contains(r.address));
  }
}
