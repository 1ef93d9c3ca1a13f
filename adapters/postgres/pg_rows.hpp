#pragma once
// Person records as rows of the postgres target's tables (adapters/postgres/pg_schema.hpp): the
// COPY text push() stages, and the comparison verify() makes with what it reads back.
#include <map>
#include <span>
#include <string>
#include <vector>

#include "adapters/postgres/pg_conn.hpp"
#include "sync/adapter.hpp"

namespace chansync::adapters::postgres {

// Whose columns the rows have: the session's staging tables' (k_staging in pg_rows.cpp: times as
// milliseconds, persons with a forced flag, deletions), or the target's own tables', for a batch
// of new persons copied straight into them (copy_sql).
enum class Layout { staging, tables };

// The COPY rows of one batch, one buffer per table.
struct Staged {
  CopyRows persons, handles, contacts, timeline, deletes;
  // Items PostgreSQL text cannot hold (a NUL byte, invalid UTF-8), by index in the batch: they are
  // refused alone, with the field named, and never staged.
  std::map<std::size_t, Error> refused;
  // False when Layout::tables cannot carry the batch: a time outside the years 1-9999, which
  // timestamptz's text form cannot spell (the staging tables take any, as milliseconds).
  bool fits = true;
};

// Stages every item of `batch`: a remove item as a row of deletes; any other as rows of persons
// (with its content hash, and in the staging layout forced when the ledger says the target already
// has this content, which only `push --full` sends), handles, contacts and timeline. `target` names
// the Error's connector. Layout::tables takes only new persons (no ledger entry, no removal).
Staged stage(std::span<const PushItem> batch, const std::string& target, Layout layout);

// COPY ... FROM STDIN of each of the target's tables in `schema` (quoted), with the columns
// Layout::tables stages: persons, person_handles, person_contacts, timeline.
std::vector<std::string> copy_sql(const std::string& schema);

// SQL creating the session's staging tables (temporary). Idempotent.
std::string staging_ddl();
// SQL emptying the staging tables, run before each COMMIT (a rollback empties them too).
std::string staging_clear_sql();
// SQL reclaiming the emptied rows' space, run after each COMMIT (VACUUM needs no transaction).
std::string staging_vacuum_sql();

// SQL writing the staged rows of one person (`filter` a quoted literal) or of all ("NULL") into
// `schema` (quoted): upserts persons whose content differs from the stored one (or is forced),
// noting each in pg_temp.chansync_written with whether it was created, replaces the child rows of
// those, and deletes the persons staged for deletion (their rows cascade).
std::string write_sql(const std::string& schema, const std::string& filter);

// What the target holds of persons, read back by verify().
struct Stored {
  std::string display_name;
  long long updated_ms = 0;
  // Rows of each child table by key, each row's compared columns as text.
  std::map<std::string, std::vector<std::string>> handles, contacts, timeline;
};

// Reads the rows of `ids` from `schema` (unquoted), whose tables are at `version` (>= 1; read-only,
// so older tables are read as they are). Persons without a persons row are absent.
Result<std::map<std::string, Stored>> read_stored(PgConn& c, const std::string& schema,
                                                  const std::vector<std::string>& ids, int version);

// What differs between the record and the stored rows, in the tables' terms ("display_name",
// "timeline: 2 rows missing, 1 row edited (text)"), "; "-separated; "" when they agree.
std::string differences(const PersonRecord& record, const Stored& stored);

}  // namespace chansync::adapters::postgres
