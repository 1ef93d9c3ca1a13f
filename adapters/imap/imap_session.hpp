#pragma once
// One IMAP account (imap:// or imaps://): libcurl connects and logs in, then the commands the
// imap-email adapter needs go over that one connection. Every command only reads: mailboxes are
// EXAMINEd (read-only) and mail fetched with BODY.PEEK[], so nothing is ever marked read.
// parse_response() reads FETCH items and their literals by byte count, so bodies arrive exactly as
// the server stores them.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/http.hpp"
#include "sync/error.hpp"

namespace chansync::adapters::imap {

struct MailboxState {
  std::uint64_t uidvalidity = 0;
  std::uint64_t uidnext = 0;
  std::uint64_t exists = 0;
};

// One message listed by UID FETCH: its UID and, when fetched, its size, INTERNALDATE and bytes.
struct FetchItem {
  std::uint32_t uid = 0;
  std::uint64_t size = 0;
  std::string internaldate;  // "17-Jul-1996 02:44:25 -0700", "" when not asked for
  std::string body;          // BODY[] literal, "" when not asked for
  bool has_body = false;
};

// What a command's whole response said.
struct ImapResponse {
  MailboxState mailbox;          // from the SELECT's untagged responses (when a mailbox was selected)
  std::vector<FetchItem> items;  // FETCH responses, in the server's order
  std::string tagged_status;     // "OK", "NO", "BAD" of the last tagged line ("" when none arrived)
  std::string tagged_text;       // the rest of that line
  bool auth_failed = false;      // a tagged NO carried [AUTHENTICATIONFAILED] (or the login was refused)
  bool select_failed = false;    // the mailbox could not be selected (it does not exist, or no access)
  bool busy = false;             // a tagged NO/BAD with [UNAVAILABLE], [INUSE], [LIMIT] or [SERVERBUG]: try again later
  std::string select_text;       // the server's words for that
};

// Parses a custom command's raw response stream (as curl's header callback delivers it). Throws
// nothing; a FETCH literal whose bytes do not end where the server said is a protocol error naming
// the UID.
Result<ImapResponse> parse_response(std::string_view raw);

struct ImapLogin {
  std::string url;  // imap://host:port or imaps://host:port, without a path
  std::string username;
  std::string password;
  std::string connector;  // for messages
  std::string ca_file;    // PEM file of the CAs that may sign the server's certificate; "" = the system's
  Sleeper sleep;          // between retries of a connection that failed; empty = real sleep
};

class ImapSession {
 public:
  explicit ImapSession(ImapLogin login);
  ~ImapSession();
  ImapSession(const ImapSession&) = delete;
  ImapSession& operator=(const ImapSession&) = delete;

  // EXAMINEs `mailbox` and lists the UIDs from `from_uid` on with their sizes (UID FETCH n:* (UID
  // RFC822.SIZE)). `n:*` always answers the newest message even when its UID is below n, so callers
  // drop UIDs below from_uid.
  Result<ImapResponse> list(const std::string& mailbox, std::uint32_t from_uid);
  // EXAMINEs `mailbox` and fetches `uids` whole with BODY.PEEK[] (never sets \Seen). A tagged NO
  // (some mails could not be fetched) returns what did arrive, with tagged_status "NO".
  Result<ImapResponse> fetch(const std::string& mailbox, std::span<const std::uint32_t> uids);
  // STATUS of `mailbox` without selecting it (the health probe: one attempt, no retries).
  Result<ImapResponse> status(const std::string& mailbox);

  std::size_t requests() const { return m_requests; }
  // Whether the last command failed because the connection broke under it (the server closed it, a
  // timeout), rather than for an answer the server gave.
  bool dropped() const { return m_dropped; }
  // The account URL as logged: scheme, host and port (never the password, which is not in it).
  const std::string& url() const { return m_login.url; }

 private:
  // Logs in (a fresh connection); maps a refused login, a TLS failure and an unreachable server.
  Result<void> connect(const std::string& what);
  void disconnect();
  // Sends one tagged command on the connection and returns its whole response, literals included.
  Result<std::string> exchange(const std::string& command, const std::string& what);
  // EXAMINEs `mailbox` first ("" = none), then sends `command`. With `retry`, a connection that
  // failed or broke is opened again (twice, after 1 s then 3 s); a TLS failure never is. With
  // `accept_no`, a tagged NO returns the response (what did arrive) instead of an error.
  Result<ImapResponse> run(const std::string& mailbox, const std::string& command, const std::string& what,
                           bool retry = true, bool accept_no = false);

  ImapLogin m_login;
  // The password and the forms a login sends it in (SASL PLAIN's and LOGIN's base64): a server that
  // echoes the command in its answer must not put it in an error, a dead letter or the store.
  Redactor m_redact;
  void* m_curl = nullptr;  // the logged-in connection (CURLOPT_CONNECT_ONLY); nullptr when closed
  std::size_t m_requests = 0;
  unsigned m_tag = 0;
  bool m_tls_failed = false;  // the last connect failed in the TLS handshake: never retried
  bool m_dropped = false;     // see dropped()
};

// "1,5,7:9": a UID set for `uids` (ascending), ranges folded.
std::string uid_set(std::span<const std::uint32_t> uids);

}  // namespace chansync::adapters::imap
