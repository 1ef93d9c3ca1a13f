#pragma once
// Conformance harness pieces for imap-email (harnesses.cpp holds the row). The mailboxes are on a
// real Dovecot (tests/support/dovecot_server.hpp), not behind the harness's HTTP server: that server
// only names the mailbox it stands for (GET /mailbox: its name, a newline, then every mail's bytes
// as the IMAP server sends them, so the suite's dead-letter check finds a rejected mail's bytes
// among what was "sent"). A base_url that does not answer so gives a config whose IMAP server is not
// there.
#include "tests/contract/harness.hpp"

namespace chansync::test {

EndpointConfig imap_config(const std::string& base_url);
EndpointConfig imap_broken();
// The fixture mailbox: tests/fixtures/email/ and one mail between own addresses (a dead letter).
Scripted imap_fixtures(const httplib::Request& req, std::size_t n);
// 751 generated mails: 4 pages.
Scripted imap_pages(const httplib::Request& req, std::size_t n);

}  // namespace chansync::test
