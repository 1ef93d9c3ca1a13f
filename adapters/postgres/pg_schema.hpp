#pragma once
// The tables the postgres target keeps in its schema, and their migrations (documented for
// readers in chansync-adapters(7)):
//   schema_version  (version, applied_at) — one row per migration applied
//   persons         (person_id PK, display_name, updated_at, content_hash, first_pushed_at, pushed_at)
//   person_handles  (person_id, kind, value, verified)                     PK (person_id, kind, value)
//   person_contacts (person_id, connector, contact_id, name, archived, updated_at, handles jsonb)
//   timeline        (person_id, connector, message_id, conversation, channel, direction,
//                    author_kind, author_handle, sent_at, text)            one row per message
// Child tables reference persons(person_id) ON DELETE CASCADE. Their keys include person_id: when
// two persons merge, the survivor is written before the merged-away person is deleted, so for a
// moment both hold the same message.
#include <string>

#include "adapters/postgres/pg_conn.hpp"

namespace chansync::adapters::postgres {

// The schema version this chansync writes.
inline constexpr int k_schema_version = 2;

// The version of `schema`'s tables: 0 when it holds none (no schema_version table). Read-only.
Result<int> schema_version(PgConn& c, const std::string& schema);

// Creates the schema and its tables, or migrates them to k_schema_version, in one transaction
// holding a transaction-level advisory lock keyed by the schema name, so two chansync processes
// never migrate at once (the second finds the work done). Idempotent. Errors: config when the
// schema is newer than this chansync (too_new) or holds tables of the same names that are not
// chansync's (check_no_foreign_tables), auth when the user may not create it, and the
// connection's errors.
Result<void> migrate(PgConn& c, const std::string& schema);

// For a schema at version 0: Errc::config naming them when it already holds tables (or indexes) of
// the names chansync's would take (a schema shared with an application that has its own `persons`).
Result<void> check_no_foreign_tables(PgConn& c, const std::string& schema);

// The error for a schema at `version` > k_schema_version: what happened and what to do.
Error too_new(const PgConn& c, const std::string& schema, int version);

}  // namespace chansync::adapters::postgres
