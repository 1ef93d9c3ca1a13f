#include "adapters/postgres/postgres.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "adapters/postgres/pg_conn.hpp"
#include "adapters/postgres/pg_rows.hpp"
#include "adapters/postgres/pg_schema.hpp"

namespace chansync::adapters::postgres {
namespace {

constexpr const char* k_type = "postgres";
constexpr std::size_t k_verify_chunk = 500;  // persons read back per query

// Lower-case only: an unquoted name in the user's own queries then means the same schema.
std::string checked_schema(const EndpointConfig& cfg) {
  const std::string s = cfg.options.value("schema", std::string("chansync"));
  bool ok = !s.empty() && s.size() <= 63 && !(s[0] >= '0' && s[0] <= '9') && !s.starts_with("pg_");
  for (char c : s) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (!ok)
    throw Failure(Errc::config, fmt::format("targets.{}.schema = \"{}\" is not a plain SQL identifier; use lower-case "
                                            "letters a-z, digits and _ (at most 63, not starting with a digit or "
                                            "pg_), e.g. \"chansync\"",
                                            cfg.name, s));
  return s;
}

// Whether a failed batch may be one person's fault (bad data, a constraint, a trigger's refusal):
// the batch is then written again person by person, each under a savepoint.
bool person_level(const std::string& sqlstate) {
  const auto cls = sqlstate.substr(0, 2);
  return cls == "21" || cls == "22" || cls == "23" || cls == "P0";
}

HealthClass health_class(Errc code) {
  switch (code) {
    case Errc::unavailable:
      return HealthClass::unreachable;
    case Errc::auth:
      return HealthClass::auth_failed;
    default:
      return HealthClass::unknown;
  }
}

class PostgresSink final : public Adapter, public Sink {
 public:
  explicit PostgresSink(const AdapterContext& ctx) : m_name(ctx.config.name), m_schema(checked_schema(ctx.config)) {
    if (ctx.config.secrets.count("dsn")) {
      m_dsn = ctx.config.secret("dsn");
      m_password = check_dsn(m_dsn, fmt::format("targets.{}.dsn", m_name));
    }
  }

  // Connects, runs SELECT 1, reads the schema version and checks the user may write there.
  // Creates nothing.
  HealthReport probe() override {
    HealthReport r{m_name, k_type};
    r.checked_at = now_ms();
    const auto t0 = std::chrono::steady_clock::now();
    auto failed = [&](const Error& e) {
      r.cls = health_class(e.code);
      if (r.cls == HealthClass::unreachable) r.evidence.transport_error = e.message;
      r.evidence.vendor_message = e.message;
      r.summary = e.message;
      return r;
    };
    auto c = connection();
    if (!c) return failed(c.error());
    PgConn& conn = **c;
    r.evidence.url = conn.url();
    if (auto one = conn.exec("SELECT 1", "running SELECT 1"); !one) return failed(one.error());
    r.evidence.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ReadTransaction reading(conn);
    if (auto b = reading.begin("checking the schema"); !b) return failed(b.error());
    auto version = schema_version(conn, m_schema);
    if (!version) return failed(version.error());
    if (*version > k_schema_version) return failed(too_new(conn, m_schema, *version));
    if (*version == 0)
      if (auto free = check_no_foreign_tables(conn, m_schema); !free) return failed(free.error());
    const std::string q = conn.ident(m_schema);
    // has_*_privilege with a list of privileges is true when any one is held: each is asked alone.
    // A current schema needs USAGE, SELECT on schema_version and SELECT, INSERT, UPDATE, DELETE on
    // chansync's other tables (a shared schema may hold others), and TEMP (the staging tables); one to create or
    // migrate needs CREATE on the schema (its owner has it), or on the database while the schema does not exist.
    const char* k_current = R"sql(
      SELECT has_schema_privilege($1, 'USAGE') AND coalesce((SELECT bool_and(has_table_privilege(c.oid, 'SELECT')
          AND (c.relname = 'schema_version' OR (has_table_privilege(c.oid, 'INSERT')
            AND has_table_privilege(c.oid, 'UPDATE') AND has_table_privilege(c.oid, 'DELETE'))))
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
          AND c.relname IN ('persons', 'person_handles', 'person_contacts', 'timeline', 'schema_version')), false)
        AND has_database_privilege(current_database(), 'TEMP'))sql";
    const char* k_creatable = R"sql(
      SELECT CASE WHEN EXISTS(SELECT 1 FROM pg_namespace WHERE nspname = $1)
        THEN has_schema_privilege($1, 'USAGE') AND has_schema_privilege($1, 'CREATE')
        ELSE has_database_privilege(current_database(), 'CREATE') END)sql";
    auto may = conn.exec(*version == k_schema_version ? k_current : k_creatable, {m_schema}, "checking privileges");
    if (!may) return failed(may.error());
    if (std::string_view(PQgetvalue(may->get(), 0, 0)) != "t") {
      r.cls = HealthClass::auth_failed;
      r.summary = *version != k_schema_version
                      ? fmt::format(
                            "{} is reachable, but user {} may not {} schema {}: GRANT CREATE ON DATABASE to it, "
                            "or create the schema and make it the owner",
                            conn.where(), conn.user(), *version == 0 ? "create the tables of" : "migrate", m_schema)
                      : fmt::format(
                            "{} is reachable, but user {} may not read and write the tables of schema {}: grant it "
                            "USAGE on the schema, SELECT, INSERT, UPDATE, DELETE on its tables and TEMP on the "
                            "database",
                            conn.where(), conn.user(), m_schema);
      return r;
    }
    r.cls = HealthClass::ok;
    r.summary = *version == 0 ? fmt::format("{} is reachable as {}; schema {} is created on the first push",
                                            conn.where(), conn.user(), m_schema)
                : *version < k_schema_version
                    ? fmt::format("{} is reachable as {}; schema {} is at version {}, migrated to {} on the next push",
                                  conn.where(), conn.user(), m_schema, *version, k_schema_version)
                    : fmt::format("{} is reachable as {}; schema {} is at version {}", conn.where(), conn.user(),
                                  m_schema, *version);
    return r;
  }

  Result<std::vector<PushOutcome>> push(std::span<const PushItem> batch) override {
    std::vector<PushOutcome> out;
    if (batch.empty()) return out;
    auto c = writable();
    if (!c) return std::unexpected(c.error());
    const auto t0 = std::chrono::steady_clock::now();
    std::map<std::size_t, Error> refused;
    std::optional<Result<std::map<std::string, bool>>> written;
    // New persons (a first push) go straight into the tables. Any of them there already (a push
    // whose ledger was lost) or a row the server refuses rolls that back, and the batch goes
    // through the staging tables, which compare, replace and find the person at fault. Any other
    // failure (the server gone, a lock timeout) is the batch's.
    if (std::ranges::all_of(batch, [](const PushItem& i) { return !i.previous && !i.remove; })) {
      const Staged rows = stage(batch, m_name, Layout::tables);
      if (rows.fits) {
        refused = rows.refused;
        auto copied = copy_new(**c, rows, batch, refused);
        if (copied || (*c)->broken() || !person_level((*c)->last_sqlstate()))
          written = std::move(copied);
        else
          spdlog::debug("{}: {}; writing the batch through the staging tables instead", m_name, copied.error().message);
      }
    }
    if (!written) {
      const Staged staged = stage(batch, m_name, Layout::staging);
      refused = staged.refused;
      written = write(**c, staged, batch, false, refused);
      if (!*written && !(*c)->broken() && person_level((*c)->last_sqlstate())) {
        spdlog::warn("{}: {}; writing the batch's persons one at a time to find those it refuses", m_name,
                     written->error().message);
        written = write(**c, staged, batch, true, refused);
      }
    }
    if (!*written) return std::unexpected(written->error());
    std::size_t counts[5] = {};
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const std::string& id = batch[i].record->person_id;
      PushOutcome o{id};
      if (auto it = refused.find(i); it != refused.end()) {
        o.status = PushOutcome::Status::failed;
        o.error = it->second;
      } else if (batch[i].remove) {
        o.status = PushOutcome::Status::deleted;
      } else if (auto w = (*written)->find(id); w != (*written)->end()) {
        o.status = w->second ? PushOutcome::Status::created : PushOutcome::Status::updated;
      } else {
        o.status = PushOutcome::Status::unchanged;  // the stored content hash already matched
      }
      ++counts[static_cast<int>(o.status)];
      out.push_back(std::move(o));
    }
    spdlog::debug("{}: {} persons in {:.0f} ms: {} created, {} updated, {} unchanged, {} deleted, {} refused", m_name,
                  batch.size(),
                  std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(), counts[0],
                  counts[1], counts[2], counts[3], counts[4]);
    return out;
  }

  // A batch is a transaction and a round of statements: at 200 persons a first push of 108k through
  // the staging tables spent about a fifth of its time on them (12.4 s against 10.0 s at 1000 and
  // 9.0 s at 3000, which held 20 MB more).
  std::size_t batch_size() const override { return 1000; }

  bool readable() const override { return true; }

  Result<std::vector<VerifyOutcome>> verify(std::span<const PushItem> items) override {
    auto c = connection();
    if (!c) return std::unexpected(c.error());
    ReadTransaction reading(**c);
    if (auto b = reading.begin(fmt::format("reading back {} persons", items.size())); !b)
      return std::unexpected(b.error());
    auto version = schema_version(**c, m_schema);
    if (!version) return std::unexpected(version.error());
    if (*version > k_schema_version) return std::unexpected(too_new(**c, m_schema, *version));
    std::vector<VerifyOutcome> out;
    for (std::size_t at = 0; at < items.size(); at += k_verify_chunk) {
      const auto part = items.subspan(at, std::min(k_verify_chunk, items.size() - at));
      std::map<std::string, Stored> stored;
      if (*version > 0) {
        std::vector<std::string> ids;
        for (const auto& item : part) ids.push_back(item.record->person_id);
        auto read = read_stored(**c, m_schema, ids, *version);
        if (!read) return std::unexpected(read.error());
        stored = std::move(*read);
      }
      for (const auto& item : part) {
        VerifyOutcome v{item.record->person_id};
        const auto it = stored.find(v.person_id);
        if (item.remove) {
          if (it != stored.end())
            v = {v.person_id, VerifyOutcome::State::edited, "deleted, yet its persons row is there"};
        } else if (it == stored.end()) {
          v.state = VerifyOutcome::State::missing;
          v.detail = *version == 0 ? fmt::format("schema {} holds no chansync tables", m_schema) : "no persons row";
        } else if (auto diff = differences(*item.record, it->second); !diff.empty()) {
          v.state = VerifyOutcome::State::edited;
          v.detail = std::move(diff);
        }
        out.push_back(std::move(v));
      }
    }
    return out;
  }

 private:
  // The open connection, or a new one when there is none or it broke.
  Result<PgConn*> connection() {
    if (m_dsn.empty())
      return fail(Errc::config, fmt::format("no DSN was read for targets.{}; set dsn_env or dsn_file", m_name), m_name);
    if (m_conn && !m_conn->broken()) return &*m_conn;
    m_conn.reset();
    auto c = PgConn::connect(m_dsn, m_password, m_name);
    if (!c) return std::unexpected(c.error());
    m_conn.emplace(std::move(*c));
    return &*m_conn;
  }

  // Rolls the transaction back (unless the connection is gone) and returns `e`.
  static std::unexpected<Error> abandon(PgConn& c, Error e) {
    if (!c.broken()) (void)c.exec("ROLLBACK", "rolling back");
    return std::unexpected(std::move(e));
  }

  // A connection whose schema is migrated.
  Result<PgConn*> writable() {
    auto c = connection();
    if (!c) return c;
    if (!m_migrated) {
      if (auto r = migrate(**c, m_schema); !r) return std::unexpected(r.error());
      m_migrated = true;
    }
    return c;
  }

  // Copies a batch of new persons (Layout::tables) into the tables in one transaction, and returns
  // person_id → created for each person copied (all but the refused). A failure rolls it back.
  Result<std::map<std::string, bool>> copy_new(PgConn& c, const Staged& rows, std::span<const PushItem> batch,
                                               const std::map<std::size_t, Error>& refused) {
    const std::string doing = fmt::format("copying a batch of {} new persons", batch.size());
    if (auto r = c.begin(doing); !r) return std::unexpected(r.error());
    const auto sql = copy_sql(c.ident(m_schema));
    const CopyRows* tables[] = {&rows.persons, &rows.handles, &rows.contacts, &rows.timeline};
    for (std::size_t t = 0; t < sql.size(); ++t)
      if (!tables[t]->empty())
        if (auto r = c.copy_in(sql[t], *tables[t], doing); !r) return abandon(c, r.error());
    if (auto r = c.exec("COMMIT", doing); !r) return std::unexpected(r.error());
    std::map<std::string, bool> written;
    for (std::size_t i = 0; i < batch.size(); ++i)
      if (!refused.count(i)) written.emplace(batch[i].record->person_id, true);
    return written;
  }

  // Writes the staged batch in one transaction; returns person_id → created for the persons it
  // wrote (the others were unchanged, deleted or refused). With `per_person`, each person is
  // written under a savepoint, and one the server refuses lands in `refused` with its error.
  Result<std::map<std::string, bool>> write(PgConn& c, const Staged& s, std::span<const PushItem> batch,
                                            bool per_person, std::map<std::size_t, Error>& refused) {
    const std::string doing = fmt::format("writing a batch of {} persons", batch.size());
    // The staging tables are made in the transaction that fills them (IF NOT EXISTS: once per server
    // session): through a pooler in transaction mode, the next transaction may be another session's.
    if (auto r = c.begin(doing); !r) return std::unexpected(r.error());
    if (auto r = c.exec(staging_ddl(), "creating the session's staging tables"); !r) return abandon(c, r.error());
    const std::pair<const char*, const CopyRows*> tables[] = {{"chansync_persons", &s.persons},
                                                              {"chansync_handles", &s.handles},
                                                              {"chansync_contacts", &s.contacts},
                                                              {"chansync_timeline", &s.timeline},
                                                              {"chansync_deletes", &s.deletes}};
    for (const auto& [table, rows] : tables)
      if (!rows->empty())
        if (auto r = c.copy_in(fmt::format("COPY pg_temp.{} FROM STDIN", table), *rows, doing); !r)
          return abandon(c, r.error());
    const std::string q = c.ident(m_schema);
    if (!per_person) {
      if (auto r = c.exec(write_sql(q, "NULL"), doing); !r) return abandon(c, r.error());
    } else {
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (refused.count(i)) continue;
        const std::string& id = batch[i].record->person_id;
        const std::string one = fmt::format("writing person {}", id);
        auto r =
            c.exec(fmt::format("SAVEPOINT person; {}; RELEASE SAVEPOINT person", write_sql(q, c.literal(id))), one);
        if (r) continue;
        if (c.broken() || !person_level(c.last_sqlstate())) return abandon(c, r.error());
        if (auto back = c.exec("ROLLBACK TO SAVEPOINT person", one); !back) return abandon(c, back.error());
        refused.emplace(i, r.error());
      }
    }
    auto rows = c.exec("SELECT person_id, created FROM pg_temp.chansync_written", doing);
    if (!rows) return abandon(c, rows.error());
    std::map<std::string, bool> written;
    for (int r = 0; r < PQntuples(rows->get()); ++r)
      written[PQgetvalue(rows->get(), r, 0)] = std::string_view(PQgetvalue(rows->get(), r, 1)) == "t";
    if (auto r = c.exec(staging_clear_sql() + "COMMIT", doing); !r) return std::unexpected(r.error());
    if (auto r = c.exec(staging_vacuum_sql(), "vacuuming the staging tables"); !r)
      spdlog::debug("{}: {}", m_name, r.error().message);  // the batch is committed; the next one will tell
    return written;
  }

  std::string m_name, m_schema, m_dsn, m_password;
  std::optional<PgConn> m_conn;
  bool m_migrated = false;  // by this process, once
};

}  // namespace

AdapterType type() {
  return adapter_type<PostgresSink>(
      k_type,
      "person records upserted into PostgreSQL tables (persons, person_handles, person_contacts, timeline) in a "
      "schema chansync creates and migrates",
      {{"dsn",
        "PostgreSQL connection string for libpq (\"host=... dbname=... user=... password=...\" or "
        "postgresql://...); it may hold the password",
        OptionSpec::Kind::string, true, true, nullptr},
       {"schema", "schema holding chansync's tables (a lower-case SQL identifier)", OptionSpec::Kind::string, false,
        false, "chansync"}});
}

}  // namespace chansync::adapters::postgres
