#include "tests/support/pg_server.hpp"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace chansync::test {
namespace fs = std::filesystem;
namespace {

// The socket's name only: with listen_addresses = '' nothing binds a TCP port.
constexpr const char* k_port = "5432";
constexpr const char* k_superuser = "chansync";

bool has_server(const fs::path& dir) {
  return ::access((dir / "initdb").c_str(), X_OK) == 0 && ::access((dir / "postgres").c_str(), X_OK) == 0;
}

std::string trimmed_output(const char* command) {
  std::string out;
  if (FILE* p = ::popen(command, "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// $CHANSYNC_PG_BINDIR alone when set; else `pg_config --bindir`, then Debian's /usr/lib/postgresql/<newest>/bin,
// then $PATH: the first directory holding both initdb and postgres.
fs::path find_bindir() {
  std::vector<fs::path> candidates;
  if (const char* dir = std::getenv("CHANSYNC_PG_BINDIR"))
    candidates.emplace_back(dir);  // that one only: a CI pinning a version should not get another
  else if (auto dir = trimmed_output("pg_config --bindir 2>/dev/null"); !dir.empty())
    candidates.emplace_back(dir);
  if (!std::getenv("CHANSYNC_PG_BINDIR")) {
    std::vector<std::pair<int, fs::path>> debian;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec))
      debian.emplace_back(std::atoi(e.path().filename().c_str()), e.path() / "bin");
    std::sort(debian.rbegin(), debian.rend());
    for (const auto& [version, dir] : debian) candidates.push_back(dir);
    if (const char* path = std::getenv("PATH")) {
      std::stringstream in(path);
      for (std::string dir; std::getline(in, dir, ':');) candidates.emplace_back(dir);
    }
  }
  for (const auto& dir : candidates)
    if (has_server(dir)) return dir;
  std::string looked;
  for (const auto& dir : candidates) looked += (looked.empty() ? "" : ", ") + dir.string();
  throw std::runtime_error(
      "the PostgreSQL tests need a PostgreSQL server (initdb and postgres), found in none of: " + looked +
      ". Install the Debian package `postgresql` (scripts/install-deps.sh --test does), or set CHANSYNC_PG_BINDIR to "
      "the directory holding initdb and postgres");
}

std::string random_hex(std::size_t n) {
  std::random_device rd;
  std::string out;
  while (out.size() < n) out += "0123456789abcdef"[rd() % 16];
  return out;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool alive(pid_t pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

// The first number in `path` (a pid file), 0 when there is none.
pid_t pid_in(const fs::path& path) {
  std::ifstream in(path);
  long pid = 0;
  in >> pid;
  return static_cast<pid_t>(pid);
}

// Directories left by test processes that were killed before their destructor ran (their server
// got SIGQUIT and is gone): removed when neither the test process nor a server of theirs lives.
void sweep_stale(const fs::path& base) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(base, ec)) {
    const auto name = e.path().filename().string();
    if (!name.starts_with("chansync-pg-") || !fs::exists(e.path() / "owner", ec)) continue;
    if (alive(pid_in(e.path() / "owner")) || alive(pid_in(e.path() / "data" / "postmaster.pid"))) continue;
    fs::remove_all(e.path(), ec);
  }
}

std::string tail(const std::string& text, std::size_t n = 2000) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

}  // namespace

PgServer::PgServer() : m_bindir(find_bindir()), m_password(random_hex(24)) {
  m_switch_user = ::geteuid() == 0;
  if (m_switch_user) {
    const passwd* pw = ::getpwnam("postgres");
    if (!pw) pw = ::getpwnam("nobody");
    if (!pw)
      throw std::runtime_error(
          "running as root, and neither a postgres nor a nobody user exists to run "
          "PostgreSQL as (it refuses root); create one: adduser --system postgres");
    m_uid = pw->pw_uid;
    m_gid = pw->pw_gid;
  }
  // The unprivileged user must reach the directory: under root's own $TMPDIR it might not.
  const fs::path base = m_switch_user ? fs::path("/tmp") : fs::temp_directory_path();
  std::string tmpl = (base / "chansync-pg-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
  m_dir = tmpl;
  std::ofstream(m_dir / "owner") << ::getpid() << '\n';
  sweep_stale(base);
  const fs::path pwfile = m_dir / "pwfile";
  std::ofstream(pwfile) << m_password << '\n';
  if (m_switch_user && (::chown(m_dir.c_str(), m_uid, m_gid) != 0 || ::chown(pwfile.c_str(), m_uid, m_gid) != 0))
    throw std::runtime_error("cannot chown " + m_dir.string() + " to the PostgreSQL user");
  ::chmod(pwfile.c_str(), 0600);

  // md5 authentication also accepts SCRAM-stored passwords (the default since PostgreSQL 14).
  const std::vector<std::string> initdb = {(m_bindir / "initdb").string(),
                                           "-D",
                                           (m_dir / "data").string(),
                                           "-U",
                                           k_superuser,
                                           "--pwfile=" + pwfile.string(),
                                           "-A",
                                           "md5",
                                           "-E",
                                           "UTF8",
                                           "--locale=C",
                                           "--no-sync"};
  try {
    const pid_t pid = spawn(initdb, false);
    int status = 0;
    ::waitpid(pid, &status, 0);
    fs::remove(pwfile);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      throw std::runtime_error("initdb failed (" + (m_bindir / "initdb").string() +
                               "); its output: " + tail(read_file(m_dir / "postgres.log")));
    start();
  } catch (...) {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
    throw;
  }
}

PgServer::~PgServer() {
  if (m_bouncer > 0) {
    ::kill(m_bouncer, SIGTERM);  // immediate shutdown
    int status = 0;
    ::waitpid(m_bouncer, &status, 0);
  }
  if (m_pid > 0) {
    ::kill(m_pid, SIGINT);  // fast shutdown: sessions are ended, nothing is waited for
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
  }
  std::error_code ec;
  fs::remove_all(m_dir, ec);
}

PgServer& PgServer::shared() {
  static PgServer server;
  return server;
}

pid_t PgServer::spawn(const std::vector<std::string>& argv, bool die_with_parent) {
  const int log = ::open((m_dir / "postgres.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) throw std::runtime_error("cannot open " + (m_dir / "postgres.log").string());
  // Everything the child needs is built before fork(): after it, only async-signal-safe calls.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // A clean environment: no PG* variables of the caller, messages in English.
  char path_env[] = "PATH=/usr/bin:/bin";
  char lc_env[] = "LC_ALL=C";
  char* env[] = {path_env, lc_env, nullptr};
  const std::string dir = m_dir.string();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    ::close_range(3, ~0U, 0);  // no test connection or listener kept open by the server
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    if (m_switch_user && (::setgroups(0, nullptr) != 0 || ::setgid(m_gid) != 0 || ::setuid(m_uid) != 0)) ::_exit(126);
    // After setuid, which clears it. SIGQUIT is the server's immediate shutdown.
    if (die_with_parent && (::prctl(PR_SET_PDEATHSIG, SIGQUIT) != 0 || ::getppid() != parent)) ::_exit(126);
    ::execve(args[0], args.data(), env);
    ::_exit(127);
  }
  ::close(log);
  return pid;
}

void PgServer::start() {
  const std::vector<std::string> argv = {(m_bindir / "postgres").string(),
                                         "-D",
                                         (m_dir / "data").string(),
                                         "-k",
                                         m_dir.string(),
                                         "-p",
                                         k_port,
                                         "-c",
                                         "listen_addresses=",
                                         "-c",
                                         "fsync=off",
                                         "-c",
                                         "full_page_writes=off",
                                         "-c",
                                         "max_connections=50"};
  // fsync off but synchronous_commit on: a commit reaches the OS before it is acknowledged, so a
  // killed server (kill()) recovers every acknowledged commit; only the machine crashing loses any.
  m_pid = spawn(argv, true);
  using namespace std::chrono;
  const auto deadline = steady_clock::now() + seconds(60);
  const std::string probe = dsn("postgres");
  while (PQping(probe.c_str()) != PQPING_OK) {
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      throw std::runtime_error("the PostgreSQL server exited while starting; its log: " +
                               tail(read_file(m_dir / "postgres.log")));
    }
    if (steady_clock::now() > deadline) {
      kill();
      throw std::runtime_error("the PostgreSQL server did not accept connections within 60 s; its log: " +
                               tail(read_file(m_dir / "postgres.log")));
    }
    std::this_thread::sleep_for(milliseconds(20));  // polling a server we do not control
  }
}

std::string PgServer::pgbouncer_dsn(const std::string& database) {
  constexpr const char* k_bouncer_port = "6432";  // names the socket file in m_dir; no TCP port
  const std::string dsn = "host=" + m_dir.string() + " port=" + k_bouncer_port + " user=" + k_superuser +
                          " password=" + m_password + " dbname=" + database;
  if (m_bouncer > 0) return dsn;
  const fs::path binary = "/usr/sbin/pgbouncer";
  if (!fs::exists(binary))
    throw std::runtime_error("no " + binary.string() + ": install pgbouncer (apt-get install pgbouncer)");
  const fs::path ini = m_dir / "pgbouncer.ini", users = m_dir / "userlist.txt";
  // Clients are trusted on the socket; the password in the user list is the one PgBouncer logs in to
  // the server with.
  std::ofstream(users) << '"' << k_superuser << "\" \"" << m_password << "\"\n";
  std::ofstream(ini) << "[databases]\n* = host=" << m_dir.string() << " port=" << k_port << "\n"
                     << "[pgbouncer]\nunix_socket_dir = " << m_dir.string() << "\nlisten_port = " << k_bouncer_port
                     << "\nauth_type = trust\nauth_file = " << users.string()
                     << "\npool_mode = transaction\ndefault_pool_size = 2\nmin_pool_size = 2\nserver_round_robin = 1\n"
                     << "logfile = " << (m_dir / "pgbouncer.log").string() << "\n";
  if (m_switch_user && (::chown(ini.c_str(), m_uid, m_gid) != 0 || ::chown(users.c_str(), m_uid, m_gid) != 0))
    throw std::runtime_error("cannot chown PgBouncer's files to the PostgreSQL user");
  ::chmod(users.c_str(), 0600);
  m_bouncer = spawn({binary.string(), ini.string()}, true);
  using namespace std::chrono;
  const auto deadline = steady_clock::now() + seconds(30);
  while (PQping(dsn.c_str()) != PQPING_OK) {
    int status = 0;
    if (::waitpid(m_bouncer, &status, WNOHANG) == m_bouncer) {
      m_bouncer = -1;
      throw std::runtime_error("PgBouncer exited while starting; its log: " +
                               tail(read_file(m_dir / "postgres.log") + read_file(m_dir / "pgbouncer.log")));
    }
    if (steady_clock::now() > deadline)
      throw std::runtime_error("PgBouncer did not accept connections within 30 s; its log: " +
                               tail(read_file(m_dir / "pgbouncer.log")));
    std::this_thread::sleep_for(milliseconds(20));  // polling a server we do not control
  }
  // Both server sessions opened now (two clients in a transaction at once): left to itself, PgBouncer
  // would open the second only when two clients wanted one, and one client would keep the first.
  using Conn = std::unique_ptr<PGconn, decltype(&PQfinish)>;
  std::vector<Conn> clients;
  for (int i = 0; i < 2; ++i) {
    clients.emplace_back(PQconnectdb(dsn.c_str()), PQfinish);
    PQclear(PQexec(clients.back().get(), "BEGIN; SELECT 1"));
  }
  for (auto& c : clients) PQclear(PQexec(c.get(), "COMMIT"));
  return dsn;
}

void PgServer::kill() {
  if (m_pid <= 0) return;
  ::kill(m_pid, SIGQUIT);
  int status = 0;
  ::waitpid(m_pid, &status, 0);
  m_pid = -1;
}

std::string PgServer::dsn(const std::string& database) const {
  return "host=" + m_dir.string() + " port=" + k_port + " user=" + k_superuser + " password=" + m_password +
         " dbname=" + database;
}

std::string PgServer::create_database(const std::string& prefix) {
  const std::string name = prefix + "_" + std::to_string(++m_databases);
  pg_query(dsn("postgres"), "CREATE DATABASE " + name);
  return name;
}

std::vector<std::vector<std::string>> pg_query(const std::string& dsn, const std::string& sql) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(dsn.c_str()), PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK)
    throw std::runtime_error(std::string("pg_query: cannot connect: ") + PQerrorMessage(conn.get()));
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn.get(), sql.c_str()), PQclear);
  const auto st = PQresultStatus(res.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    throw std::runtime_error("pg_query: " + sql + ": " + PQerrorMessage(conn.get()));
  std::vector<std::vector<std::string>> rows;
  for (int r = 0; r < PQntuples(res.get()); ++r) {
    auto& row = rows.emplace_back();
    for (int f = 0; f < PQnfields(res.get()); ++f) row.emplace_back(PQgetvalue(res.get(), r, f));
  }
  return rows;
}

std::string pg_value(const std::string& dsn, const std::string& sql) {
  const auto rows = pg_query(dsn, sql);
  return rows.empty() || rows[0].empty() ? "" : rows[0][0];
}

}  // namespace chansync::test
