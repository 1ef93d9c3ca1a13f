#pragma once
// postgres: writes person records into tables of a PostgreSQL database (libpq), where they can be
// queried with SQL. chansync creates and migrates the tables in its own schema (option `schema`,
// default "chansync"; see adapters/postgres/pg_schema.hpp and chansync-adapters(7)).
//
// Each batch is one transaction: the records are COPYed into temporary staging tables, persons
// upserted by person_id (INSERT ... ON CONFLICT DO UPDATE), their handles, contacts and timeline
// rows replaced, and persons merged away deleted (their rows cascade). A crash rolls the batch
// back, and a re-sent person replaces its rows: re-runs never duplicate. A person whose stored
// content hash already equals the record's is left untouched and answered unchanged, unless the
// ledger says the target has it (only push --full sends that), which rewrites it.
//
// The DSN is a secret (it may hold a password): never logged, never in an error; messages name the
// server by host, port and database.
#include "adapters/registry.hpp"

namespace chansync::adapters::postgres {

AdapterType type();

}  // namespace chansync::adapters::postgres
