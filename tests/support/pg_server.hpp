#pragma once
// A throwaway PostgreSQL server for tests (and PgBouncer in front of it when asked): initdb in a fresh
// temporary directory, listening only on
// a Unix socket inside it (listen_addresses = '', so no TCP port at all), fsync off, password
// authentication for every connection. PostgreSQL refuses to run as root: when the tests do, initdb
// and the server run as the `postgres` system user (else `nobody`), the directory chowned to it.
// The server is asked to quit if the test process dies without stopping it (PR_SET_PDEATHSIG), so
// none is left running.
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace chansync::test {

class PgServer {
 public:
  // Runs initdb and starts the server, returning once it accepts connections. Throws
  // std::runtime_error naming the package to install when no PostgreSQL server binaries are found
  // (never a silent skip), and quoting the server's log when it does not start.
  PgServer();
  // Stops the server (fast shutdown, waited for) and removes its directory.
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  // The test process's server, started on first use and stopped at exit.
  static PgServer& shared();

  // A libpq connection string for `database` as the superuser, password included.
  std::string dsn(const std::string& database = "postgres") const;
  // Creates a fresh database "<prefix>_<n>" and returns its name.
  std::string create_database(const std::string& prefix = "t");
  // Stops the server at once, as a crash would (SIGQUIT: immediate shutdown), and waits for it.
  void kill();
  // Starts the (stopped) server again on the same data directory; crash recovery runs first.
  void start();

  // Starts PgBouncer (once; stopped with the server) in front of this server in transaction pooling,
  // as managed services offer it (Supabase's port 6543): each transaction may run on another server
  // session. Two server sessions, taken in turn (server_round_robin), so that consecutive
  // transactions of one client do land on different ones. Unix socket only, in the server's
  // directory. Returns a DSN for `database` through it. Throws std::runtime_error naming the package
  // when pgbouncer is not installed.
  std::string pgbouncer_dsn(const std::string& database);

  const std::string& password() const { return m_password; }
  const std::filesystem::path& socket_dir() const { return m_dir; }
  pid_t pid() const { return m_pid; }

 private:
  // Runs argv with output appended to <dir>/postgres.log, as the unprivileged user when there is
  // one; with die_with_parent it gets SIGQUIT when this thread ends. Returns its pid.
  pid_t spawn(const std::vector<std::string>& argv, bool die_with_parent);

  std::filesystem::path m_dir, m_bindir;
  std::string m_password;
  uid_t m_uid = 0;  // the user the server runs as
  gid_t m_gid = 0;
  bool m_switch_user = false;
  pid_t m_pid = -1;
  pid_t m_bouncer = -1;
  int m_databases = 0;
};

// Runs `sql` (one or more statements) over a fresh connection to `dsn` and returns the last
// statement's rows, each value as text ("" for NULL). Throws std::runtime_error with the server's
// message when it fails.
std::vector<std::vector<std::string>> pg_query(const std::string& dsn, const std::string& sql);

// The first value of pg_query's first row ("" when there is none).
std::string pg_value(const std::string& dsn, const std::string& sql);

}  // namespace chansync::test
