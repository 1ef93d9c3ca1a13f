#include "adapters/postgres/pg_schema.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace chansync::adapters::postgres {
namespace {

// Migration N (1-based) brings the tables from version N-1 to N. {s} is the quoted schema name.
// Applied in order, each once; never edit one that has shipped: append a new one.
const char* const k_migrations[] = {
    R"sql(
CREATE TABLE {s}.persons (
  person_id       text PRIMARY KEY,
  display_name    text NOT NULL,
  updated_at      timestamptz NOT NULL,
  content_hash    text NOT NULL,
  first_pushed_at timestamptz NOT NULL DEFAULT now(),
  pushed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE {s}.person_handles (
  person_id text NOT NULL REFERENCES {s}.persons ON DELETE CASCADE,
  kind      text NOT NULL,
  value     text NOT NULL,
  verified  boolean NOT NULL,
  PRIMARY KEY (person_id, kind, value)
);
CREATE INDEX person_handles_by_value ON {s}.person_handles (value, kind);
CREATE TABLE {s}.person_contacts (
  person_id  text NOT NULL REFERENCES {s}.persons ON DELETE CASCADE,
  connector  text NOT NULL,
  contact_id text NOT NULL,
  name       text NOT NULL,
  archived   boolean NOT NULL,
  updated_at timestamptz NOT NULL,
  handles    jsonb NOT NULL,
  PRIMARY KEY (person_id, connector, contact_id)
);
CREATE INDEX person_contacts_by_contact ON {s}.person_contacts (connector, contact_id);
CREATE TABLE {s}.timeline (
  person_id     text NOT NULL REFERENCES {s}.persons ON DELETE CASCADE,
  connector     text NOT NULL,
  message_id    text NOT NULL,
  conversation  text NOT NULL,
  channel       text NOT NULL,
  direction     text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
  author_kind   text NOT NULL CHECK (author_kind IN ('customer', 'agent', 'bot', 'system')),
  author_handle text NOT NULL,
  sent_at       timestamptz NOT NULL,
  text          text NOT NULL,
  PRIMARY KEY (person_id, connector, message_id)
);
CREATE INDEX timeline_by_person_time ON {s}.timeline (person_id, sent_at);
CREATE INDEX timeline_by_time ON {s}.timeline (sent_at);
)sql",
    // 2: timeline entries gain a kind, a delivery status (NULL while unknown) and attachments.
    // Existing rows take the defaults, which is what they were.
    R"sql(
ALTER TABLE {s}.timeline
  ADD COLUMN kind text NOT NULL DEFAULT 'message' CHECK (kind IN ('message', 'call', 'handoff', 'event')),
  ADD COLUMN status text CHECK (status IN ('sent', 'delivered', 'read', 'failed')),
  ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]';
)sql",
};
static_assert(std::size(k_migrations) == k_schema_version);

std::string expand(const char* sql, const std::string& quoted_schema) {
  return fmt::format(fmt::runtime(sql), fmt::arg("s", quoted_schema));
}

// Every relation migration 1 creates in the schema (indexes and their keys' indexes are relations
// of the schema as well).
constexpr const char* k_relations[] = {"persons",
                                       "persons_pkey",
                                       "person_handles",
                                       "person_handles_pkey",
                                       "person_handles_by_value",
                                       "person_contacts",
                                       "person_contacts_pkey",
                                       "person_contacts_by_contact",
                                       "timeline",
                                       "timeline_pkey",
                                       "timeline_by_person_time",
                                       "timeline_by_time"};

}  // namespace

Result<void> check_no_foreign_tables(PgConn& c, const std::string& schema) {
  std::string names;
  for (const char* r : k_relations) names += (names.empty() ? "" : ",") + std::string(r);
  auto taken = c.exec(
      "SELECT string_agg(c.relname, ', ' ORDER BY c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = "
      "c.relnamespace WHERE n.nspname = $1 AND c.relname = ANY (string_to_array($2, ','))",
      {schema, names}, fmt::format("looking for tables of the same names in schema {}", schema));
  if (!taken) return std::unexpected(taken.error());
  if (PQgetisnull(taken->get(), 0, 0)) return {};
  return std::unexpected(Error{
      Errc::config,
      fmt::format("schema {} on {} already holds {}, which chansync did not make (it has no schema_version table): "
                  "chansync's tables would collide with them; set targets.{}.schema to a schema of chansync's "
                  "own (created on the first push)",
                  schema, c.where(), PQgetvalue(taken->get(), 0, 0), c.target()),
      c.target()});
}

Error too_new(const PgConn& c, const std::string& schema, int version) {
  return Error{Errc::config,
               fmt::format("schema {} on {} holds chansync tables at version {}, newer than this chansync writes "
                           "({}): a newer chansync migrated it; upgrade chansync, or set targets.{}.schema to "
                           "another schema",
                           schema, c.where(), version, k_schema_version, c.target()),
               c.target()};
}

Result<int> schema_version(PgConn& c, const std::string& schema) {
  const std::string q = c.ident(schema);
  const std::string doing = fmt::format("reading the schema version of {}", schema);
  // The table, and whether it is chansync's: a version column of integers (Flyway before 5 kept its
  // own history in a table of this name, with a text version, in the application's schema).
  auto found = c.exec(
      "SELECT to_regclass($1) IS NOT NULL, EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND "
      "attname = 'version' AND atttypid = 'integer'::regtype AND NOT attisdropped)",
      {q + ".schema_version"}, doing);
  if (!found) return std::unexpected(found.error());
  if (std::string_view(PQgetvalue(found->get(), 0, 0)) != "t") return 0;
  if (std::string_view(PQgetvalue(found->get(), 0, 1)) != "t")
    return std::unexpected(Error{
        Errc::config,
        fmt::format("schema {} on {} holds a table schema_version that is not chansync's (no integer version column; "
                    "an old Flyway keeps its history in one of that name): set targets.{}.schema to a schema of "
                    "chansync's own (created on the first push)",
                    schema, c.where(), c.target()),
        c.target()});
  auto v = c.exec(fmt::format("SELECT coalesce(max(version), 0) FROM {}.schema_version", q), doing);
  if (!v) return std::unexpected(v.error());
  return std::atoi(PQgetvalue(v->get(), 0, 0));
}

Result<void> migrate(PgConn& c, const std::string& schema) {
  const std::string q = c.ident(schema);
  const std::string doing = fmt::format("creating or migrating the chansync tables in schema {}", schema);
  auto run = [&](const std::string& sql, const std::vector<std::optional<std::string>>& params = {}) {
    return c.exec(sql, params, doing);
  };
  auto abandon = [&](Error e) -> Result<void> {
    if (!c.broken()) (void)c.exec("ROLLBACK", "rolling back");
    return std::unexpected(std::move(e));
  };
  // A schema already current takes no DDL, which needs CREATE on it (even CREATE TABLE IF NOT EXISTS
  // of a table that is there): a user granted only USAGE and SELECT, INSERT, UPDATE, DELETE pushes.
  {
    ReadTransaction reading(c);
    if (auto r = reading.begin(doing); !r) return std::unexpected(r.error());
    auto current = schema_version(c, schema);
    if (!current) return std::unexpected(current.error());
    if (*current == k_schema_version) return {};
  }
  if (auto r = c.begin(doing); !r) return std::unexpected(r.error());
  // Held until COMMIT or ROLLBACK; another chansync migrating the same schema waits here.
  if (auto r = run("SELECT pg_advisory_xact_lock(hashtextextended('chansync schema ' || $1, 0))", {schema}); !r)
    return abandon(r.error());
  // CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists: a user
  // given only its own schema could not run it.
  auto exists = run("SELECT 1 FROM pg_namespace WHERE nspname = $1", {schema});
  if (!exists) return abandon(exists.error());
  if (PQntuples(exists->get()) == 0)
    if (auto r = run("CREATE SCHEMA " + q); !r) return abandon(r.error());
  if (auto r = run(fmt::format("CREATE TABLE IF NOT EXISTS {}.schema_version (version integer PRIMARY KEY, "
                               "applied_at timestamptz NOT NULL DEFAULT now())",
                               q));
      !r)
    return abandon(r.error());
  auto version = schema_version(c, schema);
  if (!version) return abandon(version.error());
  if (*version > k_schema_version) return abandon(too_new(c, schema, *version));
  if (*version == 0)
    if (auto r = check_no_foreign_tables(c, schema); !r) return abandon(r.error());
  for (int v = *version + 1; v <= k_schema_version; ++v) {
    spdlog::info("{}: {} schema {} on {} to version {}", c.target(), v == 1 ? "creating" : "migrating", schema,
                 c.where(), v);
    if (auto r = run(expand(k_migrations[v - 1], q)); !r) return abandon(r.error());
    if (auto r = run(fmt::format("INSERT INTO {}.schema_version (version) VALUES ($1)", q), {std::to_string(v)}); !r)
      return abandon(r.error());
  }
  if (auto r = run("COMMIT"); !r) return std::unexpected(r.error());
  return {};
}

}  // namespace chansync::adapters::postgres
