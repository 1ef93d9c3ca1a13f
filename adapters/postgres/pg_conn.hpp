#pragma once
// One libpq connection of the postgres target. The DSN is a secret (it may hold a password): it
// never reaches a log line or an error text; messages name the server by PQhost/PQport/PQdb, and
// every text libpq or the server returns is scrubbed of the DSN's password before it is kept.
#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/error.hpp"

namespace chansync::adapters::postgres {

struct ResultFree {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultFree>;

// Checks that `dsn` is a libpq connection string (key=value pairs or a postgresql:// URI) and
// returns its password ("" when it has none), for scrubbing. Throws Failure(Errc::config) naming
// `key` ("targets.db.dsn"); libpq's complaint is quoted without the fragments of the DSN it echoes.
std::string check_dsn(const std::string& dsn, const std::string& key);

// Appends one field of a COPY ... FROM STDIN text-format row: backslash, tab, newline and carriage
// return escaped, a tab before every field but the first of its row. end_row() ends the row.
class CopyRows {
 public:
  void field(std::string_view text);
  void field(const char* text) { field(std::string_view(text)); }  // not the bool overload
  void field(long long n);
  void field(bool b);
  void null();  // SQL NULL
  void end_row();
  const std::string& data() const { return m_data; }
  bool empty() const { return m_data.empty(); }

 private:
  void sep();
  std::string m_data;
  bool m_row_open = false;
};

class PgConn {
 public:
  // Connects with connect_timeout=10, TCP keepalives and application_name=chansync unless the DSN
  // says otherwise, and client_encoding UTF8 always. Errors: unavailable (refused, no socket,
  // timeout, the server starting up or shutting down), auth (password, role, pg_hba.conf), config
  // (no such database, a database not in UTF8, a server older than 12). `target` prefixes nothing;
  // it is the Error's connector.
  static Result<PgConn> connect(const std::string& dsn, const std::string& password, const std::string& target);

  // "PostgreSQL at /run/postgresql:5432, database crm" — the server, never the DSN.
  std::string where() const;
  // The user connected as.
  std::string user() const;
  // The target's config name (the connector of every Error).
  const std::string& target() const { return m_target; }
  // Whether the connection is gone (the server closed it or went away).
  bool broken() const;

  // Runs one statement with text parameters (nullopt = SQL NULL), or without parameters several
  // separated by semicolons (the last one's result is returned). Returns the result when it
  // succeeded, else the classified error saying what failed while `doing` ("creating the tables").
  // The SQLSTATE of the last failure is kept in last_sqlstate().
  Result<PgResult> exec(const std::string& sql, const std::vector<std::optional<std::string>>& params,
                        const std::string& doing);
  Result<PgResult> exec(const std::string& sql, const std::string& doing) { return exec(sql, {}, doing); }

  // Opens a transaction: BEGIN, then lock_timeout = 60s for it (SET LOCAL) unless the DSN, the role
  // or the database set one. Per transaction, not per session: through a pooler in transaction mode
  // (PgBouncer, Supabase's port 6543) each transaction may get another server connection, and a
  // session SET would stay on one that other clients get next. Errors as exec().
  Result<void> begin(const std::string& doing);

  // Runs `copy_sql` (COPY ... FROM STDIN) and sends `rows`. Errors as exec().
  Result<void> copy_in(const std::string& copy_sql, const CopyRows& rows, const std::string& doing);

  // The SQLSTATE of the last failed exec/copy_in ("" when the connection itself failed).
  const std::string& last_sqlstate() const { return m_sqlstate; }

  // Quotes an identifier for SQL (chansync → "chansync").
  std::string ident(const std::string& name) const;
  // Quotes a string literal for SQL (it's → 'it''s').
  std::string literal(const std::string& text) const;
  // postgresql://host:port/database, for health evidence (no user, no password).
  std::string url() const;

 private:
  struct ConnFree {
    void operator()(PGconn* c) const { PQfinish(c); }
  };
  PgConn(PGconn* conn, std::string password, std::string target);
  Error error_from(PGresult* res, const std::string& doing);
  std::string scrub(std::string text) const;

  std::unique_ptr<PGconn, ConnFree> m_conn;
  std::string m_password;  // only to scrub it out of texts libpq or the server return
  std::string m_target;
  std::string m_sqlstate;
  bool m_lock_timeout = false;  // whether begin() sets lock_timeout
};

// Reads in a transaction opened with PgConn::begin(), so that a lock another session holds makes
// them wait at most lock_timeout as writes do; rolled back (reads need no commit) when it goes out of
// scope, also after a failed statement.
class ReadTransaction {
 public:
  explicit ReadTransaction(PgConn& c) : m_c(c) {}
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;
  ~ReadTransaction() {
    if (m_open && !m_c.broken()) (void)m_c.exec("ROLLBACK", "ending a read");
  }
  Result<void> begin(const std::string& doing) {
    auto r = m_c.begin(doing);
    m_open = r.has_value();
    return r;
  }

 private:
  PgConn& m_c;
  bool m_open = false;
};

}  // namespace chansync::adapters::postgres
