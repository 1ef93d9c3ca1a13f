#pragma once
// Private to the state store's .cpp files: reading contact and message rows.
#include <SQLiteCpp/SQLiteCpp.h>

#include "sync/model.hpp"

namespace chansync {

// Columns read_contact() expects, for a query that aliases contacts as c.
inline constexpr const char* k_contact_cols =
    "c.connector, c.id, c.first_name, c.last_name, c.handles, c.archived, c.updated_at, c.attributes";
// Columns read_message() expects, for a query that aliases messages as m.
inline constexpr const char* k_message_cols =
    "m.connector, m.id, m.conversation, m.channel, m.direction, m.author_kind, m.author_handle, m.sent_at, m.text, "
    "m.kind, m.status, m.attachments";

// Reads the k_contact_cols / k_message_cols of the current row, starting at column `col`.
Contact read_contact(SQLite::Statement& q, int col);
Message read_message(SQLite::Statement& q, int col);

}  // namespace chansync
