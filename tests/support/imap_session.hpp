#pragma once
// A minimal IMAP4rev1 client over a plain loopback socket, for setting up and inspecting a test
// server (tests/support/dovecot_server.hpp); not what chansync's adapter uses. It handles literals
// in answers and the synchronising literal of APPEND, nothing else of IMAP's grammar.
#include <chrono>
#include <string>
#include <string_view>

namespace chansync::test {

class ImapSession {
 public:
  // Connects to 127.0.0.1:`port` and reads the greeting. Every later read or write gives up after
  // `timeout`. Throws std::runtime_error when the connection fails or the greeting is not "* OK".
  explicit ImapSession(unsigned short port, std::chrono::seconds timeout = std::chrono::seconds(30));
  ~ImapSession();
  ImapSession(const ImapSession&) = delete;
  ImapSession& operator=(const ImapSession&) = delete;

  // LOGIN; throws with the server's answer when it is not OK.
  void login(const std::string& user, const std::string& password);
  // Sends `command` under a fresh tag and returns the whole answer (untagged lines, literals and the
  // tagged line, CRLFs kept). Throws with the answer when the tagged status is not OK.
  std::string command(const std::string& command);
  // APPEND `message` (sent as is: it must have CRLF line endings) to `mailbox` with `flags` (e.g.
  // "\\Seen"; none when empty). Returns the answer as command() does; throws when not OK.
  std::string append(const std::string& mailbox, std::string_view message, const std::string& flags);

 private:
  // One answer line, with any literals it announces read into it; ends with CRLF.
  std::string read_line();
  std::string read_raw_line();
  std::string read_exact(std::size_t n);
  void send(std::string_view data);
  // Reads lines up to the one tagged `tag`; throws unless that one says OK.
  std::string finish(const std::string& tag, const std::string& what);
  std::string next_tag() { return "T" + std::to_string(++m_tags); }

  int m_fd = -1;
  std::string m_buffer;
  int m_tags = 0;
};

// `text` as an IMAP quoted string. Throws std::invalid_argument for non-ASCII, CR or LF (Dovecot
// would want modified UTF-7 or a literal, which the tests do not need).
std::string imap_quote(std::string_view text);

}  // namespace chansync::test
