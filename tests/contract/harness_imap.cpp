#include "tests/contract/harness_imap.hpp"

#include <fmt/format.h>
#include <httplib.h>

#include <mutex>

#include "tests/support/dead_port.hpp"
#include "tests/support/dovecot_server.hpp"

namespace chansync::test {
namespace {

const std::vector<std::string> k_fixture_mails = {
    "german_latin1.eml", "html_only.eml",  "reply_chain_1.eml",         "reply_chain_2.eml",
    "reply_chain_3.eml", "attachment.eml", "multipart_alternative.eml", "auto_reply.eml",
    "bounce.eml",        "noreply.eml"};

// A mail between the business's own addresses names no customer: the fixture mailbox's dead letter.
const std::string k_internal = crlf(
    "From: Daniel <support@example.com>\nTo: support@example.com\nSubject: note to self\n"
    "Date: Mon, 05 Oct 2026 08:00:00 +0000\nMessage-ID: <internal-1@example.com>\n\nCall the courier.\n");

constexpr int k_page_mails = 751;  // 4 pages of imap-email's 250 mails

struct Mailbox {
  std::string name;
  std::string bytes;  // every mail appended, one after the other: what the server will send
};

// The two mailboxes on the test process's Dovecot, filled once.
const Mailbox& mailbox(bool pages) {
  static std::once_flag once;
  static Mailbox fixtures{"ConformanceFixtures", {}}, paged{"ConformancePages", {}};
  std::call_once(once, [] {
    auto& dc = DovecotServer::shared();
    dc.create_mailbox(fixtures.name);
    for (const auto& f : k_fixture_mails) {
      const std::string raw = crlf(fixture("email/" + f));
      dc.append(fixtures.name, raw);
      fixtures.bytes += raw;
    }
    dc.append(fixtures.name, k_internal);
    fixtures.bytes += k_internal;
    dc.create_mailbox(paged.name);
    for (int i = 0; i < k_page_mails; ++i) {
      const std::string raw = crlf(
          fmt::format("From: Customer {0} <customer{0}@example.org>\nTo: support@example.com\nSubject: question {0}\n"
                      "Date: Tue, 06 Oct 2026 {1:02}:{2:02}:00 +0000\nMessage-ID: <page-{0}@example.org>\n\nHello, "
                      "this is mail {0}.\n",
                      i % 40, i / 60 % 24, i % 60));
      dc.append(paged.name, raw);
      paged.bytes += raw;
    }
  });
  return pages ? paged : fixtures;
}

Scripted answer(bool pages, const httplib::Request& req) {
  if (req.path != "/mailbox") return {404, "the IMAP harness serves only /mailbox"};
  const auto& box = mailbox(pages);
  return {200, box.name + "\n" + box.bytes};
}

EndpointConfig config_for(const std::string& url, const std::string& mailbox) {
  EndpointConfig cfg{"mail", "imap-email"};
  cfg.options = {{"url", url},
                 {"username", DovecotServer::shared().user()},
                 {"mailboxes", {mailbox}},
                 {"own_addresses", {"support@example.com"}}};
  cfg.secrets = {{"password", DovecotServer::shared().password()}};
  return cfg;
}

}  // namespace

EndpointConfig imap_config(const std::string& base_url) {
  // The harness server says which mailbox it stands for; anything else (a dead port, a hostile
  // server) gives a config whose server is not there.
  mailbox(false), mailbox(true);  // filled here, so the server's answer below is immediate
  std::string name;
  if (base_url.starts_with("http://")) {
    httplib::Client client(base_url);
    client.set_connection_timeout(2);
    if (auto res = client.Get("/mailbox"); res && res->status == 200) name = res->body.substr(0, res->body.find('\n'));
  }
  if (name.empty()) return imap_broken();
  return config_for(DovecotServer::shared().url(), name);
}

EndpointConfig imap_broken() {
  std::string url = dead_base_url();  // http://127.0.0.1:<closed port>
  return config_for("imap" + url.substr(4), "INBOX");
}

Scripted imap_fixtures(const httplib::Request& req, std::size_t) {
  return answer(false, req);
}
Scripted imap_pages(const httplib::Request& req, std::size_t) {
  return answer(true, req);
}

}  // namespace chansync::test
