#include "adapters/postgres/pg_conn.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace chansync::adapters::postgres {
namespace {

constexpr int k_min_server = 120000;
constexpr std::size_t k_field_bytes =
    300;  // of a server message's primary text, detail or hint  // PostgreSQL 12, the oldest release still in wide use

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// libpq's multi-line texts ("...failed: FATAL:  x\n\tIs the server running...?\n") as one line.
std::string one_line(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// Drops every "quoted" fragment: libpq's connection-string complaints echo pieces of the DSN,
// which may be the password.
std::string without_quoted(std::string_view text) {
  std::string out;
  bool quoted = false;
  for (char c : text) {
    if (c == '"') {
      if (!quoted) out += "\u2026";
      quoted = !quoted;
      continue;
    }
    if (!quoted) out += c;
  }
  return out;
}

const char* or_empty(const char* s) {
  return s ? s : "";
}

void log_notice(void*, const char* message) {
  spdlog::debug("postgres: {}", one_line(message));
}

}  // namespace

std::string check_dsn(const std::string& dsn, const std::string& key) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err);
  if (!opts) {
    const std::string why = err ? one_line(without_quoted(err)) : "out of memory";
    PQfreemem(err);
    throw Failure(Errc::config,
                  fmt::format("{} is not a libpq connection string ({}); write key=value pairs such as "
                              "\"host=db.example port=5432 dbname=crm user=chansync password=...\" or a URI "
                              "\"postgresql://chansync:...@db.example:5432/crm\"",
                              key, why));
  }
  std::string password;
  for (auto* o = opts; o->keyword; ++o)
    if (std::string_view(o->keyword) == "password" && o->val) password = o->val;
  PQconninfoFree(opts);
  return password;
}

void CopyRows::sep() {
  if (m_row_open) m_data += '\t';
  m_row_open = true;
}

void CopyRows::field(std::string_view text) {
  sep();
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const char* esc = c == '\\' ? "\\\\" : c == '\t' ? "\\t" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : nullptr;
    if (!esc) continue;
    m_data.append(text.substr(run, i - run));
    m_data += esc;
    run = i + 1;
  }
  m_data.append(text.substr(run));
}

void CopyRows::field(long long n) {
  sep();
  m_data += std::to_string(n);
}

void CopyRows::field(bool b) {
  sep();
  m_data += b ? 't' : 'f';
}

void CopyRows::null() {
  sep();
  m_data += "\\N";
}

void CopyRows::end_row() {
  m_data += '\n';
  m_row_open = false;
}

PgConn::PgConn(PGconn* conn, std::string password, std::string target)
    : m_conn(conn), m_password(std::move(password)), m_target(std::move(target)) {}

Result<PgConn> PgConn::connect(const std::string& dsn, const std::string& password, const std::string& target) {
  // Later entries override earlier ones: the DSN (expanded from dbname) may change our defaults,
  // but not the client encoding, which must match the UTF-8 bytes we send.
  const std::array<const char*, 8> keys = {
      "connect_timeout",  "keepalives_idle", "keepalives_interval", "keepalives_count",
      "application_name", "dbname",          "client_encoding",     nullptr};
  const std::array<const char*, 8> values = {"10", "30", "10", "3", "chansync", dsn.c_str(), "UTF8", nullptr};
  PgConn c(PQconnectdbParams(keys.data(), values.data(), 1), password, target);
  if (!c.m_conn) return fail(Errc::internal, "libpq could not allocate a connection", target);
  const std::string where = c.where();
  if (PQstatus(c.m_conn.get()) != CONNECTION_OK) {
    const std::string why = c.scrub(one_line(PQerrorMessage(c.m_conn.get())));
    const std::string low = lower(why);
    if (PQconnectionNeedsPassword(c.m_conn.get()))
      return fail(Errc::auth,
                  fmt::format("{} asks for a password and the DSN has none; add password=... to the DSN that "
                              "targets.{}.dsn_env or dsn_file holds (or use a ~/.pgpass file)",
                              where, target),
                  target);
    if (low.find("authentication failed") != std::string::npos || low.find("pg_hba.conf") != std::string::npos ||
        (low.find("role \"") != std::string::npos && low.find("does not exist") != std::string::npos))
      return fail(Errc::auth,
                  fmt::format("{} refused the login: {}; check the user and password in the DSN "
                              "(targets.{}.dsn_env or dsn_file) and the server's pg_hba.conf",
                              where, why, target),
                  target);
    if (low.find("database \"") != std::string::npos && low.find("does not exist") != std::string::npos)
      return fail(
          Errc::config,
          fmt::format("{}: {}; create it (CREATE DATABASE ... ENCODING 'UTF8') or fix dbname in the DSN", where, why),
          target);
    return fail(Errc::unavailable,
                fmt::format("cannot connect to {}: {}; check that the server is running and reachable "
                            "(pg_isready -h {} -p {}), then run again",
                            where, why, or_empty(PQhost(c.m_conn.get())), or_empty(PQport(c.m_conn.get()))),
                target);
  }
  PQsetNoticeProcessor(c.m_conn.get(), log_notice, nullptr);
  const int version = PQserverVersion(c.m_conn.get());
  if (version < k_min_server)
    return fail(Errc::config,
                fmt::format("{} runs PostgreSQL {}.{}; the postgres target needs 12 or newer", where, version / 10000,
                            version % 10000),
                target);
  const char* encoding = PQparameterStatus(c.m_conn.get(), "server_encoding");
  if (!encoding || std::string_view(encoding) != "UTF8")
    return fail(Errc::config,
                fmt::format("{} stores text as {}, which cannot hold every name and message; use a database "
                            "created with ENCODING 'UTF8'",
                            where, encoding ? encoding : "an unknown encoding"),
                target);
  // A lock another session holds on chansync's tables (a long transaction, a migration by hand) ends
  // the push after a minute instead of hanging a cron job, unless the DSN (options=-c lock_timeout=...),
  // the role or the database sets a timeout of its own. Set in each transaction (begin()) rather than
  // as a startup option, which PgBouncer refuses ("unsupported startup parameter").
  auto timeout =
      c.exec("SELECT source = 'default' FROM pg_settings WHERE name = 'lock_timeout'", "reading lock_timeout");
  if (!timeout) return std::unexpected(timeout.error());
  c.m_lock_timeout = std::string_view(PQgetvalue(timeout->get(), 0, 0)) == "t";
  spdlog::debug("{}: connected to {} as {} (PostgreSQL {}.{})", target, where, c.user(), version / 10000,
                version % 10000);
  return c;
}

std::string PgConn::where() const {
  const char* host = PQhost(m_conn.get());
  const char* port = PQport(m_conn.get());
  const char* db = PQdb(m_conn.get());
  return fmt::format("PostgreSQL at {}:{}, database {}", host ? host : "(default host)", port ? port : "5432",
                     db ? db : "(default)");
}

std::string PgConn::user() const {
  const char* u = PQuser(m_conn.get());
  return u ? u : "";
}

bool PgConn::broken() const {
  return !m_conn || PQstatus(m_conn.get()) != CONNECTION_OK;
}

std::string PgConn::ident(const std::string& name) const {
  char* q = PQescapeIdentifier(m_conn.get(), name.c_str(), name.size());
  if (!q) throw Failure(Errc::internal, "libpq could not quote an identifier");
  std::string out(q);
  PQfreemem(q);
  return out;
}

std::string PgConn::literal(const std::string& text) const {
  char* q = PQescapeLiteral(m_conn.get(), text.c_str(), text.size());
  if (!q) throw Failure(Errc::internal, "libpq could not quote a literal");
  std::string out(q);
  PQfreemem(q);
  return out;
}

std::string PgConn::url() const {
  return fmt::format("postgresql://{}:{}/{}", or_empty(PQhost(m_conn.get())), or_empty(PQport(m_conn.get())),
                     or_empty(PQdb(m_conn.get())));
}

std::string PgConn::scrub(std::string text) const {
  if (m_password.empty()) return text;
  for (std::size_t at; (at = text.find(m_password)) != std::string::npos;) text.replace(at, m_password.size(), "***");
  return text;
}

Error PgConn::error_from(PGresult* res, const std::string& doing) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  m_sqlstate = state ? state : "";
  const std::string where = this->where();
  if (!state || broken()) {
    const std::string why =
        scrub(one_line(res && *PQresultErrorMessage(res) ? PQresultErrorMessage(res) : PQerrorMessage(m_conn.get())));
    return Error{Errc::unavailable,
                 fmt::format("lost the connection to {} while {}: {}; what it had not committed was rolled back; "
                             "check that the server is running (pg_isready -h {} -p {}), then run again",
                             where, doing, why, or_empty(PQhost(m_conn.get())), or_empty(PQport(m_conn.get()))),
                 m_target};
  }
  // A DETAIL may quote a whole row ("Failing row contains (...)"): a message text can be long.
  auto field = [&](int code) {
    const char* f = PQresultErrorField(res, code);
    std::string text = f ? scrub(one_line(f)) : std::string();
    if (text.size() > k_field_bytes) {
      std::size_t cut = k_field_bytes;
      while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
      text = text.substr(0, cut) + "\u2026";
    }
    return text;
  };
  std::string why = field(PG_DIAG_MESSAGE_PRIMARY);
  // A constraint's DETAIL quotes the person's data ("Failing row contains (p_…, +49…, the message)",
  // "Key (…)=(+49…) already exists"), and this text is logged, printed and kept in the state store
  // (push_failures): the constraint's name in the primary message is what to act on.
  if (auto detail = field(PG_DIAG_MESSAGE_DETAIL); !detail.empty()) {
    if (detail.starts_with("Failing row contains"))
      detail = "the row is not repeated here: it holds the person's data";
    else if (detail.starts_with("Key (") && detail.find(")=(") != std::string::npos)
      detail = detail.substr(0, detail.find(")=(") + 1) + "=(…)" +
               (detail.ends_with("already exists.") ? " already exists." : "");
    why += fmt::format(" ({})", detail);
  }
  if (auto hint = field(PG_DIAG_MESSAGE_HINT); !hint.empty()) why += fmt::format("; hint: {}", hint);
  const std::string_view cls = std::string_view(m_sqlstate).substr(0, 2);
  if (cls == "08" || m_sqlstate == "57P01" || m_sqlstate == "57P02" || m_sqlstate == "57P03")
    return Error{
        Errc::unavailable,
        fmt::format("{} went away while {}: {} [{}]; check the server, then run again", where, doing, why, m_sqlstate),
        m_target};
  if (m_sqlstate == "55P03")
    return Error{Errc::unavailable,
                 fmt::format("{}: another session held a lock on chansync's tables while {} ({}) [{}]; find it in "
                             "pg_stat_activity (a long transaction, a migration by hand), then run again",
                             where, doing, why, m_sqlstate),
                 m_target};
  if (cls == "53")
    return Error{Errc::unavailable,
                 fmt::format("{} is out of resources while {}: {} [{}]; free disk space, memory or connections on "
                             "the server, then run again",
                             where, doing, why, m_sqlstate),
                 m_target};
  if (cls == "28")
    return Error{Errc::auth,
                 fmt::format("{} refused user {} {}: {} [{}]; check the user and password the DSN gives "
                             "(dsn_env or dsn_file)",
                             where, user(), doing, why, m_sqlstate),
                 m_target};
  if (m_sqlstate == "42501") {
    // What to grant depends on what was refused: making the tables needs CREATE; using them does not.
    const bool ddl = doing.find("creating") != std::string::npos || doing.find("migrating") != std::string::npos;
    return Error{Errc::auth,
                 fmt::format("{} denied user {} {}: {} [{}]; {}", where, user(), doing, why, m_sqlstate,
                             ddl ? "grant it CREATE on the database (or create the schema for it, owned by it)"
                                 : "grant it USAGE on the schema, SELECT, INSERT, UPDATE, DELETE on its tables and "
                                   "TEMP on the database (`chansync health` checks them)"),
                 m_target};
  }
  // A role's (or the database's) statement_timeout, common on managed PostgreSQL, cut a statement
  // short: the same batch would be cut short on every run.
  if (m_sqlstate == "57014")
    return Error{Errc::config,
                 fmt::format("{} cancelled a statement while {}: {} [{}]; the role's statement_timeout is shorter "
                             "than a batch of chansync's takes: raise it for this role (ALTER ROLE {} SET "
                             "statement_timeout = '5min'), or, connecting to PostgreSQL directly, add options='-c "
                             "statement_timeout=0' to the DSN (PgBouncer refuses that, or drops it when "
                             "ignore_startup_parameters lists options)",
                             where, doing, why, m_sqlstate, user()),
                 m_target};
  return Error{Errc::remote, fmt::format("{} refused {}: {} [{}]", where, doing, why, m_sqlstate), m_target};
}

Result<PgResult> PgConn::exec(const std::string& sql, const std::vector<std::optional<std::string>>& params,
                              const std::string& doing) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PgResult res(params.empty() ? PQexec(m_conn.get(), sql.c_str())
                              : PQexecParams(m_conn.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                                             values.data(), nullptr, nullptr, 0));
  const auto st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return res;
  return std::unexpected(error_from(res.get(), doing));
}

Result<void> PgConn::begin(const std::string& doing) {
  auto r = exec(m_lock_timeout ? "BEGIN; SET LOCAL lock_timeout = '60s'" : "BEGIN", doing);
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<void> PgConn::copy_in(const std::string& copy_sql, const CopyRows& rows, const std::string& doing) {
  PGconn* c = m_conn.get();
  PgResult start(PQexec(c, copy_sql.c_str()));
  if (!start || PQresultStatus(start.get()) != PGRES_COPY_IN) return std::unexpected(error_from(start.get(), doing));
  const std::string& data = rows.data();
  constexpr std::size_t k_chunk = 1 << 20;
  for (std::size_t at = 0; at < data.size(); at += k_chunk) {
    const auto n = std::min(k_chunk, data.size() - at);
    if (PQputCopyData(c, data.data() + at, static_cast<int>(n)) != 1)
      return std::unexpected(error_from(nullptr, doing));
  }
  if (PQputCopyEnd(c, nullptr) != 1) return std::unexpected(error_from(nullptr, doing));
  std::optional<Error> error;
  while (PgResult res{PQgetResult(c)}) {
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK && !error) error = error_from(res.get(), doing);
  }
  if (error) return std::unexpected(std::move(*error));
  return {};
}

}  // namespace chansync::adapters::postgres
