#include "tests/support/dovecot_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/dead_port.hpp"
#include "tests/support/imap_session.hpp"

namespace chansync::test {
namespace fs = std::filesystem;
namespace {

constexpr int k_port_attempts = 5;

// $CHANSYNC_DOVECOT_BINDIR alone when set (holding both); else each of dovecot and doveadm from
// Debian's /usr/sbin and /usr/bin, then $PATH.
std::pair<fs::path, fs::path> find_binaries() {
  std::vector<fs::path> dirs;
  const char* override_dir = std::getenv("CHANSYNC_DOVECOT_BINDIR");
  if (override_dir) {
    dirs.emplace_back(override_dir);
  } else {
    dirs = {"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"};
    if (const char* path = std::getenv("PATH")) {
      std::stringstream in(path);
      for (std::string dir; std::getline(in, dir, ':');)
        if (!dir.empty()) dirs.emplace_back(dir);
    }
  }
  auto find = [&](const char* name) {
    for (const auto& dir : dirs)
      if (::access((dir / name).c_str(), X_OK) == 0) return dir / name;
    return fs::path();
  };
  auto dovecot = find("dovecot"), doveadm = find("doveadm");
  if (dovecot.empty() || doveadm.empty()) {
    std::string looked;
    for (const auto& dir : dirs) looked += (looked.empty() ? "" : ", ") + dir.string();
    throw std::runtime_error(
        "the IMAP tests need a Dovecot server (dovecot and doveadm), found in none of: " + looked +
        ". Install the Debian package `dovecot-imapd` (scripts/install-deps.sh --test does), or set "
        "CHANSYNC_DOVECOT_BINDIR to a directory holding both dovecot and doveadm");
  }
  return {dovecot, doveadm};
}

std::string random_hex(std::size_t n) {
  std::random_device rd;
  std::string out;
  while (out.size() < n) out += "0123456789abcdef"[rd() % 16];
  return out;
}

std::string read_file(const fs::path& path, std::uintmax_t from = 0) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(from));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::uintmax_t size_of(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : size;
}

std::string tail(const std::string& text, std::size_t n = 3000) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

bool alive(pid_t pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

pid_t pid_in(const fs::path& path) {
  std::ifstream in(path);
  long pid = 0;
  in >> pid;
  return static_cast<pid_t>(pid);
}

// Directories left by test processes killed before their destructor ran (their server got
// SIGTERM and is gone): removed when neither the test process nor its Dovecot master lives.
void sweep_stale(const fs::path& base) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(base, ec)) {
    if (!e.path().filename().string().starts_with("chansync-dovecot-") || !fs::exists(e.path() / "owner", ec)) continue;
    if (alive(pid_in(e.path() / "owner")) || alive(pid_in(e.path() / "run" / "master.pid"))) continue;
    fs::remove_all(e.path(), ec);
  }
}

// The mailboxes but INBOX that LIST reports, \NoSelect ones included.
std::vector<std::string> mailbox_names(ImapSession& imap) {
  std::vector<std::string> names;
  std::istringstream list(imap.command("LIST \"\" *"));
  for (std::string line; std::getline(list, line);) {
    // * LIST (\HasNoChildren) "/" name: quoted or an atom (Dovecot sends ASCII names as no literal)
    const auto sep = line.find(") \"/\" ");
    if (!line.starts_with("* LIST ") || sep == std::string::npos) continue;
    auto name = line.substr(sep + 6);
    if (name.ends_with('\r')) name.pop_back();
    if (name.size() >= 2 && name.front() == '"') {
      std::string unquoted;
      for (std::size_t i = 1; i + 1 < name.size(); ++i) unquoted += name[i] == '\\' ? name[++i] : name[i];
      name = unquoted;
    }
    if (name != "INBOX") names.push_back(name);
  }
  return names;
}

}  // namespace

DovecotServer::DovecotServer() : m_password(random_hex(24)) {
  std::tie(m_dovecot, m_doveadm) = find_binaries();
  // Dovecot as root would switch every service to its own users and chroot them; one unprivileged
  // user for everything is simpler and behaves the same as root and as anyone else.
  m_switch_user = ::geteuid() == 0;
  const passwd* pw = nullptr;
  if (m_switch_user) {
    pw = ::getpwnam("dovecot");
    if (!pw) pw = ::getpwnam("nobody");
    if (!pw)
      throw std::runtime_error(
          "running as root, and neither a dovecot nor a nobody user exists to run Dovecot as; "
          "install the Debian package `dovecot-imapd` (it creates dovecot)");
  } else {
    pw = ::getpwuid(::geteuid());
    if (!pw) throw std::runtime_error("the current user (uid " + std::to_string(::geteuid()) + ") has no name");
  }
  m_uid = pw->pw_uid;
  m_gid = m_switch_user ? pw->pw_gid : ::getegid();
  m_run_user = pw->pw_name;
  const group* gr = ::getgrgid(m_gid);
  if (!gr) throw std::runtime_error("group " + std::to_string(m_gid) + " has no name; Dovecot needs one");
  m_run_group = gr->gr_name;

  // The unprivileged user must reach the directory: under root's own $TMPDIR it might not.
  const fs::path base = m_switch_user ? fs::path("/tmp") : fs::temp_directory_path();
  std::string tmpl = (base / "chansync-dovecot-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
  m_dir = tmpl;
  try {
    std::ofstream(m_dir / "owner") << ::getpid() << '\n';
    sweep_stale(base);
    fs::create_directory(m_dir / "mail");
    std::ofstream(m_dir / "passwd") << m_user << ":{PLAIN}" << m_password << ':' << m_uid << ':' << m_gid
                                    << "::" << (m_dir / "mail" / m_user).string() << "::\n";
    std::ofstream(m_dir / "dovecot.log").flush();
    if (m_switch_user)
      for (const auto& p : {m_dir, m_dir / "mail", m_dir / "passwd", m_dir / "dovecot.log"})
        if (::chown(p.c_str(), m_uid, m_gid) != 0)
          throw std::runtime_error("cannot chown " + p.string() + " to " + m_run_user);
    ::chmod((m_dir / "passwd").c_str(), 0600);
    for (int attempt = 1;; ++attempt) {
      m_port = free_loopback_port();
      write_config();
      if (start()) break;
      if (attempt == k_port_attempts)
        throw std::runtime_error("Dovecot found its port taken " + std::to_string(attempt) + " times in a row");
    }
  } catch (...) {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
    throw;
  }
}

DovecotServer::~DovecotServer() {
  stop();
  std::error_code ec;
  fs::remove_all(m_dir, ec);
}

DovecotServer& DovecotServer::shared() {
  static DovecotServer server;
  return server;
}

void DovecotServer::write_config() const {
  const std::string d = m_dir.string(), uid = std::to_string(m_uid), gid = std::to_string(m_gid);
  std::ofstream out(m_dir / "dovecot.conf");
  // Rootless: the default services' users are all the one running the master, and none may chroot
  // (only root can). No TLS, plaintext LOGIN allowed, no auth_failure_delay (2 s by default; the
  // failure still waits for auth's 0.5 s flush tick). Ten connections per user and IP by default
  // are too few for tests that open some in parallel.
  out << "base_dir = " << d << "/run\n"
      << "state_dir = " << d << "/state\n"
      << "instance_name = chansync-test\n"
      << "log_path = " << d << "/dovecot.log\n"
      << "protocols = imap\n"
      << "listen = 127.0.0.1\n"
      << "ssl = no\n"
      << "disable_plaintext_auth = no\n"
      << "auth_mechanisms = plain login\n"
      << "auth_failure_delay = 0\n"
      << "default_internal_user = " << m_run_user << "\n"
      << "default_internal_group = " << m_run_group << "\n"
      << "default_login_user = " << m_run_user << "\n"
      << "first_valid_uid = " << uid << "\nlast_valid_uid = " << uid << "\n"
      << "first_valid_gid = " << gid << "\nlast_valid_gid = " << gid << "\n"
      << "mail_location = maildir:~/Maildir\n"
      << "mail_fsync = never\n"
      << "protocol imap {\n  mail_max_userip_connections = 100\n}\n"
      << "namespace inbox {\n  inbox = yes\n  separator = /\n"
      << "  mailbox Sent {\n    special_use = \\Sent\n  }\n"
      << "  mailbox Trash {\n    special_use = \\Trash\n  }\n}\n"
      << "passdb {\n  driver = passwd-file\n  args = " << d << "/passwd\n}\n"
      << "userdb {\n  driver = passwd-file\n  args = " << d << "/passwd\n}\n"
      << "service imap-login {\n  chroot =\n"
      << "  inet_listener imap {\n    address = 127.0.0.1\n    port = " << m_port << "\n  }\n"
      << "  inet_listener imaps {\n    port = 0\n  }\n}\n";
  // Without the anvil-auth-penalty socket (mode 0: not created) auth skips its penalty, which after
  // a failed login from an IP delays that IP's next logins by 2 s and more, successful ones too.
  out << "service anvil {\n  chroot =\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}\n";
  for (const char* service : {"ipc", "old-stats", "imap-urlauth-login"})
    out << "service " << service << " {\n  chroot =\n}\n";
}

pid_t DovecotServer::spawn(const std::vector<std::string>& argv, const fs::path& log, bool die_with_parent) {
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || null < 0) throw std::runtime_error("cannot open " + log.string() + " or /dev/null");
  // Everything the child needs is built before fork(): after it, only async-signal-safe calls.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  char path_env[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  char lc_env[] = "LC_ALL=C";
  char* env[] = {path_env, lc_env, nullptr};
  const std::string dir = m_dir.string();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out);
    ::close(null);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    ::dup2(null, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    ::close_range(3, ~0U, 0);  // no test connection kept open by the server
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    if (m_switch_user && (::setgroups(0, nullptr) != 0 || ::setgid(m_gid) != 0 || ::setuid(m_uid) != 0)) ::_exit(126);
    // After setuid, which clears it. SIGTERM makes the master stop its children before it exits.
    // A parent that blocks SIGTERM for sigwait (chansync-sim) would pass the mask on through exec,
    // and Dovecot could then not be stopped.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (die_with_parent && (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent)) ::_exit(126);
    ::execve(args[0], args.data(), env);
    ::_exit(127);
  }
  ::close(out);
  ::close(null);
  return pid;
}

bool DovecotServer::start() {
  const fs::path log = m_dir / "dovecot.log";
  const auto log_start = size_of(log);
  // -F: the master stays in the foreground, so m_pid is the process to signal and wait for.
  m_pid = spawn({m_dovecot.string(), "-F", "-c", (m_dir / "dovecot.conf").string()}, log, true);
  using namespace std::chrono;
  const auto deadline = steady_clock::now() + seconds(60);
  for (;;) {
    try {
      ImapSession(m_port, seconds(2)).login(m_user, m_password);
      return true;
    } catch (const std::exception&) {
    }
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      const auto output = read_file(log, log_start);
      if (output.find("Address already in use") != std::string::npos) return false;
      throw std::runtime_error(
          "Dovecot exited while starting (the Debian package `dovecot-imapd` provides its IMAP service); its log: " +
          tail(output));
    }
    if (steady_clock::now() > deadline) {
      stop();
      throw std::runtime_error("Dovecot did not accept a login within 60 s; its log: " +
                               tail(read_file(log, log_start)));
    }
    std::this_thread::sleep_for(milliseconds(20));  // polling a server we do not control
  }
}

void DovecotServer::stop() {
  if (m_pid <= 0) return;
  ::kill(m_pid, SIGTERM);
  using namespace std::chrono;
  const auto deadline = steady_clock::now() + seconds(30);
  int status = 0;
  while (::waitpid(m_pid, &status, WNOHANG) == 0) {
    if (steady_clock::now() > deadline) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  m_pid = -1;
}

std::string DovecotServer::url() const {
  return "imap://127.0.0.1:" + std::to_string(m_port);
}

void DovecotServer::create_mailbox(const std::string& name) {
  ImapSession imap(m_port);
  imap.login(m_user, m_password);
  imap.command("CREATE " + imap_quote(name));
}

void DovecotServer::delete_mailbox(const std::string& name) {
  ImapSession imap(m_port);
  imap.login(m_user, m_password);
  imap.command("DELETE " + imap_quote(name));
}

void DovecotServer::clear() {
  ImapSession imap(m_port);
  imap.login(m_user, m_password);
  // The longest name first, listing again after each: a child goes before its parent, and a parent
  // that was only a \NoSelect placeholder for its children is gone with them.
  for (auto names = mailbox_names(imap); !names.empty(); names = mailbox_names(imap))
    imap.command("DELETE " + imap_quote(*std::max_element(names.begin(), names.end(), [](const auto& a, const auto& b) {
                   return a.size() < b.size();
                 })));
  if (imap.command("SELECT INBOX").find("* 0 EXISTS") == std::string::npos) {
    imap.command("STORE 1:* +FLAGS.SILENT (\\Deleted)");
    imap.command("EXPUNGE");
  }
}

unsigned DovecotServer::append(const std::string& mailbox, std::string_view rfc822, const std::string& flags) {
  ImapSession imap(m_port);
  imap.login(m_user, m_password);
  const auto answer = imap.append(mailbox, crlf(rfc822), flags);
  const auto at = answer.find("[APPENDUID ");
  unsigned validity = 0, uid = 0;
  if (at == std::string::npos || std::sscanf(answer.c_str() + at, "[APPENDUID %u %u]", &validity, &uid) != 2)
    throw std::runtime_error("APPEND to " + mailbox + " reported no APPENDUID: " + answer);
  return uid;
}

void DovecotServer::append_all(const std::string& mailbox, const std::vector<std::string>& mails) {
  ImapSession imap(m_port);
  imap.login(m_user, m_password);
  for (const auto& m : mails) imap.append(mailbox, crlf(m), "");
}

unsigned DovecotServer::uidvalidity(const std::string& mailbox) {
  ImapSession imap(m_port);
  imap.login(m_user, m_password);
  const auto answer = imap.command("STATUS " + imap_quote(mailbox) + " (UIDVALIDITY)");
  const auto at = answer.find("UIDVALIDITY ");
  if (at == std::string::npos) throw std::runtime_error("STATUS " + mailbox + " reported no UIDVALIDITY: " + answer);
  return static_cast<unsigned>(std::stoul(answer.substr(at + 12)));
}

unsigned DovecotServer::reset_uidvalidity(const std::string& mailbox) {
  const unsigned old = uidvalidity(mailbox);
  const unsigned next = old == std::numeric_limits<std::uint32_t>::max() ? 1 : old + 1;
  const fs::path log = m_dir / "doveadm.log";
  const auto log_start = size_of(log), server_log_start = size_of(m_dir / "dovecot.log");
  const pid_t pid = spawn({m_doveadm.string(), "-c", (m_dir / "dovecot.conf").string(), "mailbox", "update", "-u",
                           m_user, "--uid-validity", std::to_string(next), mailbox},
                          log, false);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || uidvalidity(mailbox) != next)
    throw std::runtime_error("doveadm mailbox update --uid-validity " + std::to_string(next) + " " + mailbox +
                             " failed: " + tail(read_file(log, log_start)) +
                             tail(read_file(m_dir / "dovecot.log", server_log_start)));
  return next;
}

bool DovecotServer::seen(const std::string& mailbox, unsigned uid) {
  const auto answer = raw(mailbox, "UID FETCH " + std::to_string(uid) + " (FLAGS)");
  const auto at = answer.find("FLAGS (");
  if (at == std::string::npos)
    throw std::runtime_error(mailbox + " has no message with UID " + std::to_string(uid) + ": " + answer);
  const auto flags = answer.substr(at, answer.find(')', at) - at);
  return flags.find("\\Seen") != std::string::npos;
}

std::string DovecotServer::raw(const std::string& mailbox, const std::string& command) {
  ImapSession imap(m_port);
  imap.login(m_user, m_password);
  imap.command("EXAMINE " + imap_quote(mailbox));
  return imap.command(command);
}

std::string crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 40);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  return out;
}

}  // namespace chansync::test
