#pragma once
// imap-email: mailboxes of an IMAP account, one stream each, read incrementally by UID (cursor:
// UIDVALIDITY and the highest UID committed) with BODY.PEEK[] so nothing is marked read. Mails
// become timeline entries threaded by Message-ID / In-Reply-To / References; the customer is the
// party that is not one of `own_addresses`.
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "adapters/imap/mime.hpp"
#include "adapters/registry.hpp"

namespace chansync::adapters::imap {

AdapterType type();

// How one parsed mail lands in the model: its conversation (the thread with one customer) holding
// the one message. Pure; a mail that identifies no external party is a dead letter (the returned
// string says why).
struct MailMapping {
  std::string connector;
  std::vector<std::string> own;  // lower-cased "support@example.com" and "@example.com"
};
bool is_own_address(const MailMapping& m, const std::string& address);
// The person a relay sent `mail` for, named by its one Reply-To: a website's form or a shared
// inbox's group sending From one of own_addresses to nobody else, or a list or group that rewrote
// From for DMARC ("Bob Miller via Customers"). nullptr for any other mail.
const MailAddress* relayed_author(const MailMapping& m, const ParsedMail& mail);
std::variant<Conversation, std::string> map_mail(const MailMapping& m, const ParsedMail& mail, std::string_view raw,
                                                 std::optional<Timestamp> internaldate);

// "17-Jul-1996 02:44:25 -0700" (IMAP INTERNALDATE) as a timestamp.
std::optional<Timestamp> parse_internaldate(std::string_view text);

}  // namespace chansync::adapters::imap
