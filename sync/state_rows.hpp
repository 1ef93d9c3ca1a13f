#pragma once
// Private to the state store's .cpp files: reading contact and message rows.
#include <SQLiteCpp/SQLiteCpp.h>

#include <array>
#include <cstdint>
#include <string_view>

#include "sync/model.hpp"

namespace chansync {

// Columns read_contact() expects, for a query that aliases contacts as c.
inline constexpr const char* k_contact_cols =
    "c.connector, c.id, c.first_name, c.last_name, c.handles, c.archived, c.updated_at, c.attributes";
// Columns read_message() expects, for a query that aliases messages as m and joins their conversation
// as c (ON c.key = m.conversation): a message row holds its conversation's key, the model its id.
inline constexpr const char* k_message_cols =
    "m.connector, m.id, c.id, m.channel, m.direction, m.author_kind, m.author_handle, m.sent_at, m.text, "
    "m.kind, m.status, m.attachments";
// The same without the join (MessageParts looks conversations up itself): '' where the conversation's
// id goes, and its key after the others (column k_columns).
inline constexpr const char* k_message_row_cols =
    "m.connector, m.id, '', m.channel, m.direction, m.author_kind, m.author_handle, m.sent_at, m.text, "
    "m.kind, m.status, m.attachments, m.conversation";

// Reads the k_contact_cols / k_message_cols of the current row, starting at column `col`.
Contact read_contact(SQLite::Statement& q, int col);
Message read_message(SQLite::Statement& q, int col);

// One contact row's k_contact_cols, unparsed, integers as SQLite's decimal text: read_contact()'s form
// and MessageParts' scratch files'.
struct ContactRow {
  static constexpr int k_columns = 8;
  std::array<std::string_view, k_columns> text;
};
// The row of the current step (views valid until the statement steps again), starting at `col`.
ContactRow contact_row(SQLite::Statement& q, int col);
Contact to_contact(const ContactRow& row);

// One message row's k_message_cols, unparsed: read_message()'s form and MessageParts' scratch files'.
struct MessageRow {
  static constexpr int k_columns = 12;
  static constexpr int k_sent_at = 7;            // the one integer column; its text[] is unused
  std::array<std::string_view, k_columns> text;  // the others, by position in k_message_cols
  std::int64_t sent_at = 0;
};
// The row of the current step (views valid until the statement steps again), starting at `col`.
MessageRow message_row(SQLite::Statement& q, int col);
Message to_message(const MessageRow& row);

}  // namespace chansync
