// imap-email against a real Dovecot (tests/support/dovecot_server.hpp), filled by IMAP APPEND with
// the real-world mails of tests/fixtures/email/.
#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "adapters/http.hpp"
#include "adapters/registry.hpp"
#include "sync/pull.hpp"
#include "sync/state_store.hpp"
#include "tests/support/dead_port.hpp"
#include "tests/support/dovecot_server.hpp"
#include "tests/support/fake_server.hpp"
#include "tests/support/pull_one.hpp"

using namespace chansync;
using test::DovecotServer;
using test::fixture;

namespace {

const std::vector<std::string> k_fixtures = {
    "german_latin1.eml", "html_only.eml",  "reply_chain_1.eml",         "reply_chain_2.eml",
    "reply_chain_3.eml", "attachment.eml", "multipart_alternative.eml", "auto_reply.eml",
    "bounce.eml",        "noreply.eml"};

// A mailbox of its own on the shared server, holding every fixture mail.
std::string filled_mailbox(const std::string& name) {
  auto& dc = DovecotServer::shared();
  dc.create_mailbox(name);
  for (const auto& f : k_fixtures) dc.append(name, fixture("email/" + f));
  return name;
}

EndpointConfig imap_config(const std::string& url, const std::vector<std::string>& mailboxes,
                           const std::string& password = DovecotServer::shared().password()) {
  EndpointConfig cfg{"mail", "imap-email"};
  cfg.options = {{"url", url},
                 {"username", DovecotServer::shared().user()},
                 {"mailboxes", mailboxes},
                 {"own_addresses", {"support@example.com"}},
                 {"allow_plaintext", false}};
  cfg.secrets = {{"password", password}};
  return cfg;
}

std::unique_ptr<Adapter> make(const EndpointConfig& cfg) {
  return adapters::create_adapter(cfg, "DE", [](std::chrono::milliseconds) {});
}

std::optional<Message> message(StateStore& store, const std::string& id) {
  return store.records().message("mail", id);
}

struct ConversationRow {
  std::string id, customer;  // customer: the handle's key ("email:ann@example.org")
  bool verified = false;
  std::string customer_name;
};

std::vector<ConversationRow> conversations(StateStore& store) {
  SQLite::Statement q(
      store.db(), "SELECT id, customer, customer_verified, customer_name FROM conversations WHERE connector = 'mail'");
  std::vector<ConversationRow> out;
  while (q.executeStep())
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getInt() != 0,
                   q.getColumn(3).getString()});
  return out;
}

int message_count(StateStore& store) {
  return store.db().execAndGet("SELECT count(*) FROM messages WHERE connector = 'mail'").getInt();
}

StreamRow stream_row(StateStore& store) {
  for (auto& s : store.records().streams())
    if (s.connector == "mail") return s;
  FAIL("no stream row of the connector mail");
  return {};
}

}  // namespace

TEST_CASE("imap-email reads a mailbox whole, without marking anything read, and then only what is new",
          "[imap][dovecot]") {
  auto& dc = DovecotServer::shared();
  const auto box = filled_mailbox("Full");
  auto adapter = make(imap_config(dc.url(), {box}));
  REQUIRE(adapter->streams().size() == 1);
  CHECK(adapter->streams()[0].name == "Full");
  StateStore store(":memory:");

  const auto first = test::pull_one("mail", *adapter, store, 4);  // 10 mails, 4 per page
  if (first.error) FAIL(first.error->describe());
  CHECK(first.pages == 3);
  CHECK(first.received == 10);
  CHECK(first.rejected == 0);
  for (unsigned uid = 1; uid <= 10; ++uid) CHECK_FALSE(dc.seen(box, uid));  // BODY.PEEK[] only

  // The German mail: encoded-word name, ISO-8859-1 quoted-printable, as UTF-8.
  const auto convs = conversations(store);
  const auto german = std::find_if(convs.begin(), convs.end(), [](const ConversationRow& c) {
    return c.customer == "email:juergen.mueller@example.de";
  });
  REQUIRE(german != convs.end());
  CHECK(german->customer_name == "Jürgen Müller");
  CHECK(german->verified);

  // The reply chain is one thread although the last mail changed the subject; the support reply is
  // outbound, and the customer's quote of it is cut.
  std::set<std::string> chain;
  for (const auto& c : convs)
    if (c.customer == "email:priya.raman@example.net") chain.insert(c.id);
  CHECK(chain.size() == 1);
  const auto reply = message(store, "8e21f0c4-3a9b-4d7e-b5c6-71d2e9a04f13@example.com");
  REQUIRE(reply);
  CHECK(reply->direction == Direction::outbound);
  CHECK(reply->author_handle == "support@example.com");
  const auto answer = message(store, "CAF7xq9SdU4n0pLq2Wc8vZ1mK5hRt3yJb6eNa7Xo9iGf1Dw2+Ew@mail.example.net");
  REQUIRE(answer);
  CHECK(answer->conversation == reply->conversation);
  CHECK(answer->text.find("> ") == std::string::npos);
  CHECK(answer->text.find("wrote:") == std::string::npos);

  // Auto-reply, bounce and newsletter are kept, but their senders identify no one.
  for (const char* sender : {"email:mailer-daemon@mail.example.com", "email:noreply@shop.example.net"}) {
    INFO(sender);
    const auto c =
        std::find_if(convs.begin(), convs.end(), [&](const ConversationRow& x) { return x.customer == sender; });
    REQUIRE(c != convs.end());
    CHECK_FALSE(c->verified);
  }
  std::size_t unverified = 0;
  for (const auto& c : convs) unverified += c.verified ? 0 : 1;
  CHECK(unverified == 3);

  // Nothing new: one listing, nothing written. A new mail: exactly it.
  const auto again = test::pull_one("mail", *make(imap_config(dc.url(), {box})), store, 4);
  REQUIRE_FALSE(again.error);
  CHECK(again.received == 0);
  CHECK(again.written == 0);
  dc.append(box, fixture("email/reply_chain_1.eml") + "\n");  // the same Message-ID: stored once
  dc.append(box, test::crlf("From: New Customer <new@customer.example>\nTo: support@example.com\nSubject: hello\n"
                            "Date: Wed, 02 Dec 2026 10:00:00 +0000\nMessage-ID: <new-1@customer.example>\n\nHi!\n"));
  const auto third = test::pull_one("mail", *make(imap_config(dc.url(), {box})), store, 4);
  REQUIRE_FALSE(third.error);
  CHECK(third.received == 2);
  CHECK(message_count(store) == 11);
  REQUIRE(message(store, "new-1@customer.example"));
}

TEST_CASE("imap-email re-reads a mailbox whose UIDVALIDITY changed without duplicating a mail", "[imap][dovecot]") {
  auto& dc = DovecotServer::shared();
  const auto box = filled_mailbox("Renumbered");
  StateStore store(":memory:");
  REQUIRE_FALSE(test::pull_one("mail", *make(imap_config(dc.url(), {box})), store).error);
  const auto before = message_count(store);
  const auto old_validity = dc.uidvalidity(box);
  const auto new_validity = dc.reset_uidvalidity(box);
  REQUIRE(new_validity != old_validity);
  const auto again = test::pull_one("mail", *make(imap_config(dc.url(), {box})), store);
  REQUIRE_FALSE(again.error);
  CHECK(again.received == 10);            // all read again ...
  CHECK(message_count(store) == before);  // ... and none stored twice
  const auto row = stream_row(store);
  CHECK(row.cursor == fmt::format("v1:{}:10", new_validity));
  CHECK_THAT(row.last_pull.notice, Catch::Contains("UIDVALIDITY"));
}

TEST_CASE("imap-email: a refused login is auth, a missing mailbox gone, and TLS never falls back", "[imap][dovecot]") {
  auto& dc = DovecotServer::shared();
  const auto box = filled_mailbox("Probe");

  const auto ok = make(imap_config(dc.url(), {box}))->probe();
  INFO(ok.summary);
  CHECK(ok.cls == HealthClass::ok);
  CHECK_THAT(ok.summary, Catch::Contains("Probe (10 messages)"));

  const auto wrong = make(imap_config(dc.url(), {box}, "not-the-password"));
  const auto auth = wrong->probe();
  CHECK(auth.cls == HealthClass::auth_failed);
  CHECK_THAT(auth.summary, Catch::Contains("refused the login"));
  CHECK(auth.summary.find("not-the-password") == std::string::npos);
  StateStore store(":memory:");
  const auto failed = test::pull_one("mail", *wrong, store);
  REQUIRE(failed.error);
  CHECK(failed.error->code == Errc::auth);

  const auto gone = make(imap_config(dc.url(), {box, "Archive2019"}));
  const auto g = gone->probe();
  CHECK(g.cls == HealthClass::gone);
  CHECK_THAT(g.summary, Catch::Contains("Archive2019"));

  // imaps:// to a server that speaks plain IMAP: the TLS handshake fails, and nothing is retried in clear.
  const auto tls = make(imap_config(fmt::format("imaps://127.0.0.1:{}", dc.port()), {box}))->probe();
  CHECK(tls.cls == HealthClass::unreachable);
  CHECK_THAT(tls.summary, Catch::Contains("never falls back"));

  const auto dead = make(imap_config(test::dead_base_url().replace(0, 4, "imap"), {box}))->probe();
  CHECK(dead.cls == HealthClass::unreachable);
}

TEST_CASE("imap-email: a stop ends the wait before trying an unreachable server again", "[imap]") {
  int stop_pipe[2];
  REQUIRE(pipe(stop_pipe) == 0);
  adapters::interrupt_waits_on(stop_pipe[0]);
  REQUIRE(write(stop_pipe[1], "x", 1) == 1);  // what the SIGINT handler writes
  // The real sleeper, as in a run (make() injects one that does not wait).
  const auto dead =
      adapters::create_adapter(imap_config(test::dead_base_url().replace(0, 4, "imap"), {"INBOX"}), "DE", {});
  StateStore store(":memory:");
  const auto started = std::chrono::steady_clock::now();
  const auto stopped = test::pull_one("mail", *dead, store);
  const auto waited = std::chrono::steady_clock::now() - started;
  adapters::interrupt_waits_on(-1);
  close(stop_pipe[0]);
  close(stop_pipe[1]);
  REQUIRE(stopped.error);
  CHECK(stopped.error->code == Errc::interrupted);  // not the unavailable of the last of three tries
  CHECK_THAT(stopped.error->message, Catch::Contains("stopped by a signal while waiting to try the IMAP server"));
  CHECK(waited < std::chrono::seconds(1));  // the retries wait 1 s, then 3 s
}

TEST_CASE("imap-email refuses plain IMAP beyond loopback unless allowed, and URLs carrying credentials", "[imap]") {
  auto cfg = imap_config("imap://mail.example.com", {"INBOX"}, "pw");
  try {
    make(cfg);
    FAIL("plain imap:// to a remote host was accepted");
  } catch (const Failure& f) {
    CHECK(f.error().code == Errc::config);
    CHECK_THAT(f.error().message, Catch::Contains("imaps://mail.example.com"));
  }
  cfg.options["allow_plaintext"] = true;
  CHECK_NOTHROW(make(cfg));
  cfg.options["url"] = "imaps://user:pw@mail.example.com";
  CHECK_THROWS_AS(make(cfg), Failure);
  cfg.options["url"] = "https://mail.example.com";
  CHECK_THROWS_AS(make(cfg), Failure);
  // A wrong scheme with credentials: the message names the key, not the password.
  cfg.options["url"] = "https://me:url-password-17@mail.example.com";
  CHECK_THROWS_WITH(make(cfg), Catch::Contains("connectors.") && !Catch::Contains("url-password-17"));
  cfg.options["url"] = "imaps://mail.example.com";
  cfg.options["mailboxes"] = {"Sent Items", "Sent/Items"};
  CHECK_THROWS_AS(make(cfg), Failure);  // both would be the stream "Sent_Items"
}

TEST_CASE("imap-email names a non-ASCII mailbox in modified UTF-7", "[imap][dovecot]") {
  auto& dc = DovecotServer::shared();
  dc.create_mailbox("Entw&APw-rfe");  // "Entwürfe", as IMAP writes it
  dc.append("Entw&APw-rfe", fixture("email/german_latin1.eml"));
  StateStore store(":memory:");
  const auto stats = test::pull_one("mail", *make(imap_config(dc.url(), {"Entwürfe"})), store);
  if (stats.error) FAIL(stats.error->describe());
  CHECK(stats.received == 1);
}

TEST_CASE("imap: an own address written with a display name is a config error saying how to write it", "[imap]") {
  auto cfg = imap_config("imap://127.0.0.1:1", {"INBOX"});
  cfg.options["own_addresses"] = {"Support <support@example.com>"};
  CHECK_THROWS_WITH(make(cfg), Catch::Contains("own_addresses") && Catch::Contains("without a display name"));
}

TEST_CASE("imap: ca_file must be readable; a TLS failure names it", "[imap][dovecot]") {
  auto cfg = imap_config("imaps://127.0.0.1:1", {"INBOX"});
  cfg.options["ca_file"] = "/nonexistent/ca.pem";
  CHECK_THROWS_WITH(make(cfg), Catch::Contains("ca_file") && Catch::Contains("/nonexistent/ca.pem"));
  // imaps:// to the plain server: the handshake fails, and the advice says how to trust a private CA.
  auto& dc = DovecotServer::shared();
  cfg.options["url"] = fmt::format("imaps://127.0.0.1:{}", dc.port());
  cfg.options["ca_file"] = std::string(CHANSYNC_SOURCE_DIR) + "/tests/fixtures/email/auto_reply.eml";  // no CA in it
  const auto tls = make(cfg)->probe();
  CHECK(tls.cls == HealthClass::unreachable);
  CHECK_THAT(tls.summary, Catch::Contains("ca_file"));
}
