#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "adapters/registry.hpp"
#include "sync/push.hpp"
#include "sync/reconcile.hpp"
#include "tests/support/fake_server.hpp"
#include "tests/support/log_capture.hpp"

using namespace chansync;
using chansync::test::LogCapture;
using test::FakeServer;
using test::Scripted;

namespace {

const std::string k_secret = "whsec-test-3f9a1c77e2";

// What the receiver saw of one request.
struct Seen {
  std::string body, signature, key, content_type;
  bool expect = false;  // an Expect header came
};

// A FakeServer that also keeps the headers a webhook receiver reads.
class Receiver {
 public:
  using Answer = std::function<Scripted(std::size_t n)>;
  using AnswerByBody = std::function<Scripted(std::size_t n, const std::string& body)>;
  explicit Receiver(Answer answer)
      : Receiver(AnswerByBody([answer](std::size_t n, const std::string&) { return answer(n); })) {}
  explicit Receiver(AnswerByBody answer)
      : m_server([this, answer](const httplib::Request& req, std::size_t n) {
          {
            std::lock_guard lock(m_mu);
            m_seen.push_back({req.body, req.get_header_value("Chansync-Signature"),
                              req.get_header_value("Idempotency-Key"), req.get_header_value("Content-Type"),
                              req.has_header("Expect")});
          }
          return answer(n, req.body);
        }) {}
  std::string url() const { return m_server.base_url() + "/hooks/chansync"; }
  std::vector<Seen> seen() {
    std::lock_guard lock(m_mu);
    return m_seen;
  }

 private:
  std::mutex m_mu;
  std::vector<Seen> m_seen;
  FakeServer m_server;  // last: stopped before what its handler writes to is gone
};

Scripted ok(std::size_t) {
  return {200, R"({"ok":true})"};
}

std::unique_ptr<Adapter> webhook(const std::string& url, long long batch_size = 100) {
  EndpointConfig cfg{"hook", "webhook"};
  cfg.options = {{"url", url}, {"batch_size", batch_size}};
  cfg.secrets = {{"secret", k_secret}};
  return adapters::create_adapter(cfg, "DE", [](auto) {});
}

PersonRecord person(int i, const std::string& text = "hello") {
  const std::string phone = "+4915112345" + std::to_string(600 + i);
  PersonRecord p{"p" + std::to_string(i), "Person " + std::to_string(i), {{HandleKind::phone, phone}}};
  p.messages = {{"sms", "m" + std::to_string(i), "c" + std::to_string(i), "sms", Direction::inbound,
                 AuthorKind::customer, phone, 1'700'000'000'000 + i, text}};
  p.updated_at = p.messages.back().sent_at;
  return p;
}

std::vector<PushItem> items(const std::vector<PersonRecord>& persons) {
  std::vector<PushItem> out;
  for (const auto& p : persons) out.push_back({&p, std::nullopt});
  return out;
}

std::string hex(const unsigned char* p, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += fmt::format("{:02x}", p[i]);
  return out;
}

std::string sha256_hex(const std::string& s) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  return hex(d, sizeof d);
}

// Verifies a request as a receiver would: HMAC-SHA256(secret, "<t>.<body>") and a fresh t.
bool verifies(const Seen& s, const std::string& secret) {
  static const std::regex header(R"(^t=([0-9]+),v1=([0-9a-f]{64})$)");
  std::smatch m;
  if (!std::regex_match(s.signature, m, header)) return false;
  const std::string text = m[1].str() + "." + s.body;
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), d, &len);
  return hex(d, len) == m[2].str() && std::llabs(std::stoll(m[1].str()) - now_ms() / 1000) < 300;
}

std::vector<std::string> ids_in(const std::string& body) {
  std::vector<std::string> out;
  const auto json = nlohmann::json::parse(body);
  for (const auto& p : json.at("persons")) out.push_back(p.at("person_id"));
  return out;
}

// `n` customers reconciled into `n` persons in a fresh store.
void persons(StateStore& store, int n_persons) {
  std::vector<Conversation> page;
  for (int i = 0; i < n_persons; ++i) {
    const std::string id = "c" + std::to_string(i), number = "+49151123456" + std::to_string(70 + i);
    Conversation c{"sms", id, "sms", {HandleKind::phone, number, true}, "+4930123456", {}};
    c.messages.push_back({"sms", id + "-m", id, "sms", Direction::inbound, AuthorKind::customer, number, 1000, "hi"});
    page.push_back(std::move(c));
  }
  store.records().commit_conversations("sms", "conversations", page, {}, "x");
  int n = 0;
  store.identity().save(reconcile(store.identity().input({}), [&] { return "p" + std::to_string(++n); }));
}

void five_persons(StateStore& store) {
  persons(store, 5);
}

}  // namespace

TEST_CASE("webhook POSTs {\"persons\":[...]} as JSON, signed with HMAC-SHA256 over \"t.body\"", "[webhook]") {
  Receiver receiver(ok);
  auto sink = webhook(receiver.url());
  const std::vector<PersonRecord> persons = {person(1), person(2)};
  auto out = sink->sink()->push(items(persons));
  REQUIRE(out);
  const auto seen = receiver.seen();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].content_type == "application/json");
  const auto body = nlohmann::json::parse(seen[0].body);
  CHECK(body == nlohmann::json{{"persons", {nlohmann::json(persons[0]), nlohmann::json(persons[1])}}});
  CHECK(verifies(seen[0], k_secret));
  CHECK_FALSE(verifies(seen[0], k_secret + "x"));
  // The key: the target's name, the body and what the target last confirmed of each person (nothing
  // yet), so another target posting the same body sends another key.
  CHECK(seen[0].key == sha256_hex("hook\n" + seen[0].body + "\np1 - 0\np2 - 0"));
  REQUIRE(out->size() == 2);
  CHECK((*out)[0].person_id == "p1");
  CHECK((*out)[0].status == PushOutcome::Status::created);
}

TEST_CASE("webhook sends a body over 1 MiB without Expect: 100-continue", "[webhook]") {
  Receiver receiver(ok);
  const std::vector<PersonRecord> persons = {person(1, std::string(1'200'000, 'a'))};
  REQUIRE(webhook(receiver.url())->sink()->push(items(persons)));
  const auto seen = receiver.seen();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].body.size() > 1'200'000);
  CHECK_FALSE(seen[0].expect);
}

TEST_CASE("webhook keeps the Idempotency-Key across a 5xx retry and re-runs, and changes it with the delivery",
          "[webhook]") {
  Receiver receiver([](std::size_t n) { return n == 0 ? Scripted{500, "busy"} : Scripted{200, "{}"}; });
  const std::vector<PersonRecord> persons = {person(1), person(2)};
  auto out = webhook(receiver.url())->sink()->push(items(persons));
  REQUIRE(out);
  CHECK(out->at(1).status == PushOutcome::Status::created);
  auto seen = receiver.seen();
  REQUIRE(seen.size() == 2);  // the POST was retried: its key makes it safe to repeat
  CHECK(seen[1].key == seen[0].key);
  CHECK(seen[1].body == seen[0].body);

  // A re-run (a new process) with the same content sends the same key.
  REQUIRE(webhook(receiver.url())->sink()->push(items(persons)));
  const std::vector<PersonRecord> changed = {person(1), person(2, "hello again")};
  REQUIRE(webhook(receiver.url())->sink()->push(items(changed)));
  seen = receiver.seen();
  REQUIRE(seen.size() == 4);
  CHECK(seen[2].key == seen[0].key);
  CHECK(seen[3].key != seen[0].key);

  // The same body after the target confirmed another (person 2 changed back) is a new delivery: a
  // receiver that skips keys it has seen must not skip it. So is a deletion sent again after an
  // undone merge re-created the person.
  auto back = items(persons);
  back[1].previous = PushLedgerEntry{"p2", "hash-of-hello-again", "", "", 1'780'000'000'000};
  REQUIRE(webhook(receiver.url())->sink()->push(back));
  auto gone = items(persons);
  gone[1].remove = true;
  gone[1].previous = PushLedgerEntry{"p2", "h", "", "", 1'780'000'000'000};
  REQUIRE(webhook(receiver.url())->sink()->push(gone));
  gone[1].previous->pushed_at = 1'780'000'100'000;
  REQUIRE(webhook(receiver.url())->sink()->push(gone));
  seen = receiver.seen();
  REQUIRE(seen.size() == 7);
  CHECK(seen[4].body == seen[0].body);
  CHECK(seen[4].key != seen[0].key);
  CHECK(seen[6].body == seen[5].body);
  CHECK(seen[6].key != seen[5].key);
}

TEST_CASE("a batch sent again after its answer was lost keeps its Idempotency-Key through the ledger", "[webhook]") {
  // The receiver took the batch of updates, but chansync never saw its answer (here: it answered 500
  // to every attempt); the next push sends the same body, which must carry the same key, so that a
  // receiver skipping keys it has seen does not apply it twice.
  std::atomic<bool> answering{false};
  Receiver receiver([&](std::size_t) { return answering ? Scripted{200, ""} : Scripted{500, "lost"}; });
  StateStore store(":memory:");
  persons(store, 2);
  auto adapter = webhook(receiver.url());
  answering = true;
  REQUIRE_FALSE(push_target("hook", *adapter->sink(), store, {}).error);
  // One customer writes again: an update of a person the target holds.
  Conversation c{"sms", "c0", "sms", {HandleKind::phone, "+4915112345670", true}, "+4930123456", {}};
  c.messages.push_back(
      {"sms", "c0-m2", "c0", "sms", Direction::inbound, AuthorKind::customer, "+4915112345670", 2000, "again"});
  store.records().commit_conversations("sms", "conversations", {c}, {}, "y");
  answering = false;
  REQUIRE(push_target("hook", *adapter->sink(), store, {}).error);
  answering = true;
  REQUIRE_FALSE(push_target("hook", *adapter->sink(), store, {}).error);
  const auto seen = receiver.seen();
  REQUIRE(seen.size() >= 3);
  const auto& lost = seen[seen.size() - 2];  // the last attempt of the failed push
  const auto& again = seen.back();
  CHECK(again.body == lost.body);
  CHECK(again.key == lost.key);
}

TEST_CASE("webhook splits what it is handed into requests of at most batch_size persons", "[webhook]") {
  Receiver receiver(ok);
  std::vector<PersonRecord> persons;
  for (int i = 1; i <= 5; ++i) persons.push_back(person(i));
  auto batch = items(persons);
  batch[3].previous = PushLedgerEntry{"p4", "0123456789abcdef", ""};
  auto out = webhook(receiver.url(), 2)->sink()->push(batch);
  REQUIRE(out);
  const auto seen = receiver.seen();
  REQUIRE(seen.size() == 3);
  CHECK(ids_in(seen[0].body) == std::vector<std::string>{"p1", "p2"});
  CHECK(ids_in(seen[1].body) == std::vector<std::string>{"p3", "p4"});
  CHECK(ids_in(seen[2].body) == std::vector<std::string>{"p5"});
  CHECK(seen[0].key != seen[1].key);
  for (const auto& s : seen) CHECK(verifies(s, k_secret));
  REQUIRE(out->size() == 5);
  CHECK(out->at(2).status == PushOutcome::Status::created);
  CHECK(out->at(3).status == PushOutcome::Status::updated);  // the ledger says the target had it
}

TEST_CASE("a push hands the webhook batch_size persons per call, so every request is full", "[webhook]") {
  Receiver receiver(ok);
  StateStore store(":memory:");
  five_persons(store);
  auto adapter = webhook(receiver.url(), 4);
  CHECK(adapter->sink()->batch_size() == 4);
  const auto r = push_target("hook", *adapter->sink(), store, {});
  CHECK(r.created == 5);
  const auto seen = receiver.seen();
  REQUIRE(seen.size() == 2);
  CHECK(ids_in(seen[0].body).size() == 4);
  CHECK(ids_in(seen[1].body).size() == 1);
}

TEST_CASE("a 422 is split down to the person it refuses: the others are delivered and recorded, the mark stays",
          "[webhook]") {
  // The receiver refuses whatever request holds the third customer's number.
  std::atomic<bool> refusing{true};
  Receiver receiver([&](std::size_t, const std::string& body) {
    return refusing && body.find("+4915112345672") != std::string::npos
               ? Scripted{422, R"({"error":"display_name must not contain digits"})"}
               : Scripted{200, "{}"};
  });
  StateStore store(":memory:");
  five_persons(store);
  auto sink = webhook(receiver.url(), 2);

  const auto stats = push_target("hook", *sink->sink(), store, {});
  auto seen = receiver.seen();
  // Three requests of 2, 2 and 1 persons; the refused one again as two requests of one.
  REQUIRE(seen.size() == 5);
  CHECK(stats.created == 4);
  CHECK(stats.failed == 1);
  REQUIRE(stats.error);
  CHECK_THAT(stats.error->message, Catch::Contains("HTTP 422") && Catch::Contains("must not contain digits"));
  std::set<std::string> refused_ids;
  for (const auto& s : seen)
    if (s.body.find("+4915112345672") != std::string::npos && ids_in(s.body).size() == 1)
      refused_ids = {ids_in(s.body).front()};
  REQUIRE(refused_ids.size() == 1);
  std::set<std::string> recorded;
  for (const auto& [id, entry] : store.ledger().entries("hook")) recorded.insert(id);
  CHECK(recorded.size() == 4);
  CHECK_FALSE(recorded.count(*refused_ids.begin()));
  CHECK_FALSE(store.ledger().mark("hook"));

  // The refused person, and only it, goes again next time.
  refusing = false;
  const auto again = push_target("hook", *sink->sink(), store, {});
  seen = receiver.seen();
  REQUIRE(seen.size() == 6);
  CHECK(ids_in(seen[5].body) == std::vector<std::string>(refused_ids.begin(), refused_ids.end()));
  CHECK(again.created == 1);
  CHECK_FALSE(again.error);
  CHECK(store.ledger().mark("hook"));
}

TEST_CASE("a receiver answering 404 is a configuration error that ends the push and parks no one", "[webhook]") {
  Receiver receiver([](std::size_t) { return Scripted{404, "<html>Not Found</html>"}; });
  StateStore store(":memory:");
  five_persons(store);
  auto sink = webhook(receiver.url(), 2);
  for (int run = 0; run < 4; ++run) {
    const auto stats = push_target("hook", *sink->sink(), store, {});
    REQUIRE(stats.error);
    CHECK(stats.error->code == Errc::config);
    CHECK_THAT(stats.error->message, Catch::Contains("targets.hook.url"));
    CHECK(stats.parked == 0);
  }
  CHECK(receiver.seen().size() == 4);  // one request a run: the first answer ends it
  CHECK(store.ledger().parked().empty());
  CHECK_FALSE(store.ledger().mark("hook"));
}

TEST_CASE("a receiver refusing everyone parks no one: each push fails and says so", "[webhook]") {
  Receiver receiver([](std::size_t) { return Scripted{422, R"({"error":"unknown field persons"})"}; });
  StateStore store(":memory:");
  five_persons(store);
  auto sink = webhook(receiver.url(), 100);
  for (int run = 0; run < 4; ++run) {
    const auto stats = push_target("hook", *sink->sink(), store, {});
    CHECK(stats.failed == 5);
    CHECK(stats.parked == 0);
    REQUIRE(stats.error);
    CHECK(stats.error->code == Errc::config);  // each quarter refused alike: the request, not a person
  }
  CHECK(store.ledger().parked().empty());
  CHECK_FALSE(store.ledger().mark("hook"));
}

TEST_CASE("a refusal each quarter of the request and each person of the first get alike ends the push", "[webhook]") {
  Receiver receiver([](std::size_t) { return Scripted{422, R"({"error":"unknown field persons"})"}; });
  StateStore store(":memory:");
  persons(store, 8);
  auto sink = webhook(receiver.url(), 100);
  const auto stats = push_target("hook", *sink->sink(), store, {});
  // The whole, its quarters, and the first quarter's two persons alone: not 15 requests.
  CHECK(receiver.seen().size() == 1 + 4 + 2);
  CHECK(stats.failed == 8);
  CHECK(stats.parked == 0);
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::config);
  CHECK_THAT(
      stats.error->message,
      Catch::Contains("refused a request of 8 persons, each quarter of it and each person of the first quarter") &&
          Catch::Contains("unknown field persons") && Catch::Contains("targets.hook.url"));
}

TEST_CASE("one bad person in each quarter, refused in the same words, is not a refusal of the request", "[webhook]") {
  // The first, third, fifth and seventh of the request are refused with one text for every refusal.
  std::vector<std::string> order;
  Receiver receiver([&](std::size_t n, const std::string& body) {
    const auto ids = ids_in(body);
    if (n == 0) order = ids;
    for (const std::size_t bad : {0, 2, 4, 6})
      if (std::find(ids.begin(), ids.end(), order.at(bad)) != ids.end()) return Scripted{422, R"({"error":"invalid"})"};
    return Scripted{200, "{}"};
  });
  StateStore store(":memory:");
  persons(store, 8);
  auto sink = webhook(receiver.url(), 100);
  const auto stats = push_target("hook", *sink->sink(), store, {});
  CHECK(stats.created == 4);
  CHECK(stats.failed == 4);
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::remote);  // persons refused, not the request
  CHECK(receiver.seen().size() == 1 + 4 + 4 * 2);
}

TEST_CASE("refusals of persons in different quarters are narrowed down to those persons", "[webhook]") {
  // The same words for both refused persons, the second and the sixth of the request: only the
  // quarters that went through tell the refusals apart.
  std::vector<std::string> order;
  Receiver receiver([&](std::size_t n, const std::string& body) {
    const auto ids = ids_in(body);
    if (n == 0) order = ids;
    const bool bad = std::find(ids.begin(), ids.end(), order.at(1)) != ids.end() ||
                     std::find(ids.begin(), ids.end(), order.at(5)) != ids.end();
    return bad ? Scripted{422, R"({"error":"invalid person"})"} : Scripted{200, "{}"};
  });
  StateStore store(":memory:");
  persons(store, 8);
  auto sink = webhook(receiver.url(), 100);
  const auto stats = push_target("hook", *sink->sink(), store, {});
  CHECK(stats.created == 6);
  CHECK(stats.failed == 2);
  CHECK(receiver.seen().size() == 1 + 4 + 2 + 2);
}

TEST_CASE("a receiver that goes down part-way: what it confirmed is recorded, the push stops, the rest is retried",
          "[webhook]") {
  Receiver receiver([](std::size_t n) {
    return n == 0 || n >= 6 ? Scripted{200, "{}"} : Scripted{503, "maintenance"};
  });
  StateStore store(":memory:");
  five_persons(store);
  auto sink = webhook(receiver.url(), 2);
  const auto stats = push_target("hook", *sink->sink(), store, {});
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::unavailable);
  CHECK_THAT(stats.error->message, Catch::Contains("HTTP 503") && Catch::Contains("sent again on the next push"));
  CHECK(stats.created == 2);
  CHECK(stats.failed == 2);  // the second request's; the fifth person was never sent
  const auto seen = receiver.seen();
  CHECK(seen.size() == 1 + 5);  // the first request, then the second with all its attempts, then it stopped
  CHECK(seen.back().key == seen[1].key);
  const auto first = ids_in(seen[0].body);
  const auto ledger = store.ledger().entries("hook");
  CHECK(ledger.size() == 2);  // the persons the receiver confirmed are not sent again
  for (const auto& id : first) CHECK(ledger.count(id));
  CHECK_FALSE(store.ledger().mark("hook"));

  const auto again = push_target("hook", *sink->sink(), store, {});
  CHECK_FALSE(again.error);
  CHECK(again.created == 3);
  for (std::size_t i = 6; i < receiver.seen().size(); ++i)
    for (const auto& id : ids_in(receiver.seen()[i].body)) CHECK_FALSE(ledger.count(id));
  CHECK(store.ledger().mark("hook"));
}

TEST_CASE("a 401 from the receiver is an auth error for the whole call, not a refusal of persons", "[webhook]") {
  Receiver receiver([](std::size_t) { return Scripted{401, "bad signature"}; });
  const std::vector<PersonRecord> persons = {person(1), person(2), person(3)};
  auto out = webhook(receiver.url(), 1)->sink()->push(items(persons));
  REQUIRE_FALSE(out);
  CHECK(out.error().code == Errc::auth);
  CHECK(receiver.seen().size() == 1);
}

TEST_CASE("webhook never logs its secret or the signature", "[webhook]") {
  LogCapture capture;
  Receiver receiver([](std::size_t n, const std::string& body) {
    if (n == 0) return Scripted{500, "retry me"};
    if (body.find("+4915112345672") != std::string::npos) return Scripted{422, "no"};
    return Scripted{200, "{}"};
  });
  StateStore store(":memory:");
  five_persons(store);
  auto adapter = webhook(receiver.url(), 2);
  const auto stats = push_target("hook", *adapter->sink(), store, {});
  CHECK(stats.failed == 1);
  CHECK(adapter->probe().cls == HealthClass::ok);

  const auto lines = capture.ring->last_formatted();
  const auto seen = receiver.seen();
  REQUIRE(seen.size() >= 6);
  std::string all;
  for (const auto& l : lines) all += l;
  CHECK_THAT(all, Catch::Contains("Idempotency-Key") && Catch::Contains("retry"));  // debug and warn were captured
  CHECK_THAT(all, !Catch::Contains(k_secret));
  CHECK_THAT(all, !Catch::Contains("v1="));
  for (const auto& s : seen) CHECK_THAT(all, !Catch::Contains(s.signature.substr(s.signature.find("v1=") + 3)));
  CHECK_THAT(stats.error->message, !Catch::Contains(k_secret));
}

TEST_CASE("webhook names its receiver by scheme and host alone: a secret in the URL's path or query is never shown",
          "[webhook]") {
  LogCapture capture;
  const std::string path = "/services/T0001/B0002/xyzPathSecret42";
  const std::string query = "?x=1&sig_v=AZsecretCODE99";  // a parameter no rule knows: the URL's own value
  // The receiver quotes the request target it was asked, as some do in their error pages.
  std::string echo;
  Receiver receiver([&](std::size_t) { return Scripted{503, echo}; });
  const std::string url = receiver.url() + path + query;
  echo = "down; you asked " + url.substr(url.find('/', url.find("://") + 3));
  StateStore store(":memory:");
  five_persons(store);
  auto adapter = webhook(url, 2);
  const auto stats = push_target("hook", *adapter->sink(), store, {});
  REQUIRE(stats.error);
  const auto report = adapter->probe();
  CHECK(report.cls != HealthClass::ok);

  std::string all = stats.error->message + "\n" + report.summary + "\n" + report.evidence.url + "\n";
  for (const auto& l : capture.ring->last_formatted()) all += l;
  CHECK_THAT(all, Catch::Contains("127.0.0.1") && Catch::Contains("<redacted>"));  // where, without the path
  CHECK_THAT(all, !Catch::Contains("xyzPathSecret42"));
  CHECK_THAT(all, !Catch::Contains("/services/T0001"));
  CHECK_THAT(all, Catch::Contains("you asked <redacted>") && !Catch::Contains("AZsecretCODE99"));
}

TEST_CASE("webhook probe POSTs an empty signed batch; a refused signature or no answer is never ok", "[webhook]") {
  Receiver good(ok);
  const auto report = webhook(good.url())->probe();
  CHECK(report.cls == HealthClass::ok);
  const auto seen = good.seen();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].body == R"({"persons":[]})");
  CHECK(verifies(seen[0], k_secret));

  Receiver refusing([](std::size_t) { return Scripted{401, "signature mismatch"}; });
  const auto refused = webhook(refusing.url())->probe();
  CHECK(refused.cls == HealthClass::auth_failed);
  CHECK_THAT(refused.summary, Catch::Contains("signature mismatch") && !Catch::Contains(k_secret));

  std::string gone_url;
  {
    Receiver gone(ok);
    gone_url = gone.url();
  }
  CHECK(webhook(gone_url)->probe().cls == HealthClass::unreachable);
}

// Its url is checked as every URL option is (conformance_test.cpp).
TEST_CASE("webhook refuses a batch_size out of range", "[webhook]") {
  auto refused = [](long long batch) {
    try {
      webhook("https://example.com/hook", batch);
    } catch (const Failure& f) {
      CHECK(f.error().code == Errc::config);
      return std::string(f.what());
    }
    return std::string();
  };
  CHECK_THAT(refused(0), Catch::Contains("targets.hook.batch_size"));
  CHECK_THAT(refused(1001), Catch::Contains("targets.hook.batch_size"));
  CHECK(refused(1000).empty());
}

TEST_CASE("a person merged away goes in the body's deleted array and is confirmed deleted", "[webhook]") {
  Receiver receiver([](std::size_t) { return Scripted{200, "{}"}; });
  const PersonRecord kept = person(1), gone{"p9"};
  std::vector<PushItem> batch = {{&kept, std::nullopt}, {&gone, PushLedgerEntry{"p9", "h", ""}, true, "p1"}};
  auto out = webhook(receiver.url())->sink()->push(batch);
  REQUIRE(out);
  REQUIRE(out->size() == 2);
  CHECK((*out)[0].status == PushOutcome::Status::created);
  CHECK((*out)[1].status == PushOutcome::Status::deleted);
  const auto body = nlohmann::json::parse(receiver.seen().at(0).body);
  CHECK(body.at("persons").size() == 1);
  CHECK(body.at("deleted") == nlohmann::json::parse(R"([{"person_id":"p9","merged_into":"p1"}])"));
}
