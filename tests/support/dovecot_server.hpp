#pragma once
// A throwaway Dovecot IMAP server for tests: its own dovecot.conf in a fresh temporary directory
// (sockets, state, log and the Maildir all inside it), plain IMAP on a free 127.0.0.1 port, no TLS,
// one user with a random password, no login delays. Dovecot runs "rootless": every service as one
// unprivileged user, no chroot. When the tests run as root that user is `dovecot` (created by
// dovecot-core; else `nobody`), the directory chowned to it; otherwise it is the current user.
// The server is asked to quit if the test process dies without stopping it (PR_SET_PDEATHSIG).
// Mailbox names are ASCII; the hierarchy separator is "/"; Sent and Trash, once created, carry the
// SPECIAL-USE attributes \Sent and \Trash.
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace chansync::test {

class DovecotServer {
 public:
  // Writes the configuration and starts the server, returning once the IMAP port accepts the
  // user's login. Throws std::runtime_error naming the Debian package to install when dovecot or
  // doveadm is missing (never a silent skip), and quoting the server's log when it does not start.
  DovecotServer();
  // Stops the server (SIGTERM; the master ends its children and is waited for) and removes its
  // directory.
  ~DovecotServer();
  DovecotServer(const DovecotServer&) = delete;
  DovecotServer& operator=(const DovecotServer&) = delete;

  // The test process's server, started on first use and stopped at exit. Tests sharing it use
  // mailboxes of their own.
  static DovecotServer& shared();

  // "imap://127.0.0.1:<port>".
  std::string url() const;
  unsigned short port() const { return m_port; }
  const std::string& user() const { return m_user; }
  const std::string& password() const { return m_password; }
  // The master process (its children are the other Dovecot processes).
  pid_t pid() const { return m_pid; }
  const std::filesystem::path& dir() const { return m_dir; }

  // IMAP CREATE / DELETE. Throw std::runtime_error quoting the server's answer (e.g. the mailbox
  // already exists, or does not).
  void create_mailbox(const std::string& name);
  void delete_mailbox(const std::string& name);
  // Deletes every mailbox but INBOX and expunges INBOX: a test on the shared server starts from an
  // empty account. INBOX's UIDs go on counting up, as on a real server. Idempotent.
  void clear();
  // IMAP APPEND of `rfc822` (bare LF line endings sent as CRLF, see crlf()) to `mailbox` with
  // `flags`, e.g. "\\Seen \\Flagged" (none by default: libcurl's own upload always sets \Seen).
  // Returns the UID from the server's APPENDUID. Throws when the append fails.
  unsigned append(const std::string& mailbox, std::string_view rfc822, const std::string& flags = "");
  // APPENDs each of `mails` to `mailbox` over one connection (for thousands of mails).
  void append_all(const std::string& mailbox, const std::vector<std::string>& mails);
  // The mailbox's UIDVALIDITY (IMAP STATUS).
  unsigned uidvalidity(const std::string& mailbox);
  // Gives `mailbox` (INBOX too) a different UIDVALIDITY with `doveadm mailbox update`; the messages
  // and their UIDs stay. Clients with the mailbox selected are disconnected by Dovecot. Returns the
  // new value. Throws quoting doveadm's output when it fails.
  unsigned reset_uidvalidity(const std::string& mailbox);
  // Whether message `uid` of `mailbox` has \Seen, looked at read-only (EXAMINE) so the look does
  // not change it. Throws when there is no such message.
  bool seen(const std::string& mailbox, unsigned uid);
  // The server's answer to `command` (no tag) with `mailbox` selected read-only, untagged lines
  // included; e.g. raw("INBOX", "UID FETCH 1:* (FLAGS)"). Throws unless it answers OK.
  std::string raw(const std::string& mailbox, const std::string& command);

 private:
  // Runs argv with stdout and stderr appended to `log`, as m_uid/m_gid when switching user; with
  // die_with_parent it gets SIGTERM when this thread ends. Returns its pid.
  pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log, bool die_with_parent);
  void write_config() const;
  // One attempt on m_port: true once the login works, false when the port was taken.
  bool start();
  void stop();

  std::filesystem::path m_dir, m_dovecot, m_doveadm;
  std::string m_user = "support", m_password, m_run_user, m_run_group;
  uid_t m_uid = 0;  // the user Dovecot runs as
  gid_t m_gid = 0;
  bool m_switch_user = false;
  unsigned short m_port = 0;
  pid_t m_pid = -1;
};

// `text` with every bare LF (one not preceded by CR) turned into CRLF: the bytes an IMAP server
// stores for a message file with Unix line endings.
std::string crlf(std::string_view text);

}  // namespace chansync::test
