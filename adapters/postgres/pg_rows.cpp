#include "adapters/postgres/pg_rows.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>
#include <set>

#include "sync/timestamp.hpp"

namespace chansync::adapters::postgres {
namespace {

using Row = std::vector<std::string>;

// The columns of each child table after person_id, in the order rows are built, staged and read.
const std::vector<std::string> k_handle_columns = {"kind", "value", "verified"};
const std::vector<std::string> k_contact_columns = {"connector", "contact_id", "name",
                                                    "archived",  "updated_at", "handles"};
const std::vector<std::string> k_timeline_columns = {"connector", "message_id",  "conversation",  "channel",
                                                     "direction", "author_kind", "author_handle", "sent_at",
                                                     "text",      "kind",        "status",        "attachments"};
constexpr std::size_t k_contact_updated_column = 4, k_sent_at_column = 7, k_status_column = 10,
                      k_attachments_column = 11;

std::string flag(bool b) {
  return b ? "t" : "f";
}

// Contact handles as canonical JSON text: what is staged, and what a stored jsonb reads back as.
std::string handles_json(const std::vector<Handle>& handles) {
  return nlohmann::json(handles).dump();
}

std::string storable(std::string_view s);

Row handle_row(const Handle& h) {
  return {to_string(h.kind), h.value, flag(h.verified)};
}
Row contact_row(const Contact& c) {
  return {c.connector,
          c.id,
          storable(c.display_name()),
          flag(c.archived),
          std::to_string(c.updated_at),
          handles_json(c.handles)};
}
Row message_row(const Message& m) {
  return {m.connector, m.id, m.conversation, m.channel, to_string(m.direction), to_string(m.author_kind),
          m.author_handle, std::to_string(m.sent_at), storable(m.text), to_string(m.kind), m.status,
          // jsonb refuses \u0000 and invalid UTF-8 would throw: stage() refuses such a name or url first.
          m.attachments.empty()
              ? "[]"
              : nlohmann::json(m.attachments).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

// Rows are keyed by their first two columns (the table's key after person_id).
std::string key_of(const Row& r) {
  return r[0] + '\x1f' + r[1];
}

// Why PostgreSQL text cannot hold `s` (a NUL byte, or bytes that are not UTF-8 as the server
// validates it: no overlong forms, surrogates or code points past U+10FFFF), or nullptr.
// The length of the UTF-8 sequence at p[i] (of n bytes) that PostgreSQL can store; 0 at a NUL byte
// or at a byte that does not start a valid sequence.
std::size_t storable_at(const unsigned char* p, std::size_t n, std::size_t i) {
  const unsigned c = p[i];
  if (c == 0) return 0;
  if (c < 0x80) return 1;
  std::size_t len = 0;
  unsigned lo = 0x80, hi = 0xbf;  // the range of the second byte
  if (c >= 0xc2 && c <= 0xdf)
    len = 2;
  else if (c >= 0xe0 && c <= 0xef)
    len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
  else if (c >= 0xf0 && c <= 0xf4)
    len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
  if (len == 0 || i + len > n || p[i + 1] < lo || p[i + 1] > hi) return 0;
  for (std::size_t k = 2; k < len; ++k)
    if (p[i + k] < 0x80 || p[i + k] > 0xbf) return 0;
  return len;
}

const char* unstorable(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = storable_at(p, s.size(), i);
    if (len == 0) return p[i] == 0 ? "a NUL byte" : "bytes that are not UTF-8";
    i += len;
  }
  return nullptr;
}

// Free text (a message, a name) as a text column can hold it: each NUL byte, and each byte that does
// not start a valid UTF-8 sequence, becomes U+FFFD, as the chatwoot target sends it. One such
// character in a mail body must not keep the whole person out of the database.
std::string storable(std::string_view s) {
  if (!unstorable(s)) return std::string(s);
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::string out;
  out.reserve(s.size() + 8);
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = storable_at(p, s.size(), i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

// The first value of `row` that PostgreSQL cannot store, described; "" when all can be.
std::string check_row(const char* table, const std::vector<std::string>& columns, const Row& row) {
  for (std::size_t i = 0; i < row.size(); ++i)
    if (const char* why = unstorable(row[i]))
      return fmt::format("{} row ({}, {}) has {} in column {}", table, row[0], row[1], why, columns[i]);
  return "";
}

void copy(CopyRows& out, const std::string& person_id, const Row& row) {
  out.field(person_id);
  for (const auto& v : row) out.field(v);
  out.end_row();
}

// A time as timestamptz reads it ("2024-05-01T10:00:00.000Z", whatever DateStyle says); false for
// a year outside 1-9999, which its text form cannot spell.
bool time_field(CopyRows& out, Timestamp ms) {
  constexpr Timestamp k_year_1 = -62'135'596'800'000;      // 0001-01-01T00:00:00Z
  constexpr Timestamp k_year_10000 = 253'402'300'800'000;  // 10000-01-01T00:00:00Z
  std::string text;
  append_rfc3339(text, ms);
  out.field(text);
  return ms >= k_year_1 && ms < k_year_10000;
}

// A row of contact_row() or message_row() in the table's own columns: column `time_at` as the
// timestamptz of `time` (the record's, which the row holds as milliseconds), `null_if_empty` (-1:
// none) as NULL when empty. False as time_field.
bool copy_to_table(CopyRows& out, const std::string& person_id, const Row& row, std::size_t time_at, Timestamp time,
                   std::ptrdiff_t null_if_empty = -1) {
  bool fits = true;
  out.field(person_id);
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (i == time_at)
      fits = time_field(out, time);
    else if (static_cast<std::ptrdiff_t>(i) == null_if_empty && row[i].empty())
      out.null();
    else
      out.field(row[i]);
  }
  out.end_row();
  return fits;
}

// One table's rows, compared: "timeline: 2 rows missing, 1 row edited (text)"; "" when equal.
std::string compare(const char* table, const std::vector<std::string>& columns,
                    const std::map<std::string, Row>& expected, const std::map<std::string, Row>& stored) {
  std::size_t missing = 0, edited = 0, extra = 0;
  std::set<std::string> edited_columns;
  for (const auto& [key, row] : expected) {
    const auto it = stored.find(key);
    if (it == stored.end()) {
      ++missing;
      continue;
    }
    bool differs = false;
    for (std::size_t i = 0; i < row.size(); ++i)
      if (row[i] != it->second[i]) {
        differs = true;
        edited_columns.insert(columns[i]);
      }
    edited += differs;
  }
  for (const auto& [key, row] : stored) extra += !expected.count(key);
  std::vector<std::string> parts;
  auto rows = [](std::size_t n) { return fmt::format("{} row{}", n, n == 1 ? "" : "s"); };
  if (missing) parts.push_back(rows(missing) + " missing");
  if (extra) parts.push_back(rows(extra) + " not in the record");
  if (edited) parts.push_back(fmt::format("{} edited ({})", rows(edited), fmt::join(edited_columns, ", ")));
  if (parts.empty()) return "";
  return fmt::format("{}: {}", table, fmt::join(parts, ", "));
}

std::map<std::string, Row> keyed(std::vector<Row> rows) {
  std::map<std::string, Row> out;
  for (auto& r : rows) {
    std::string k = key_of(r);
    out.emplace(std::move(k), std::move(r));
  }
  return out;
}

// A text[] literal of `items`, each element quoted.
std::string array_literal(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const auto& s : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

// The timestamptz of a bigint column of Unix milliseconds, exact in any year: whole days and the
// milliseconds left (interval * float8 is exact for each; milliseconds alone lost microseconds past
// 2^53 µs, a vendor's bogus year 33658), added to a timestamp without time zone, where a day is 24
// hours whatever the session's time zone.
std::string from_epoch_ms(const std::string& column) {
  return fmt::format(
      "((timestamp 'epoch' + ({0} / 86400000) * interval '1 day' + ({0} % 86400000) * interval '1 millisecond') "
      "AT TIME ZONE 'UTC')",
      column);
}

}  // namespace

Staged stage(std::span<const PushItem> batch, const std::string& target, Layout layout) {
  Staged out;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& item = batch[i];
    const PersonRecord& p = *item.record;
    if (item.remove) {
      out.deletes.field(p.person_id);
      out.deletes.end_row();
      continue;
    }
    std::vector<Row> handles, contacts, timeline;
    for (const auto& h : p.handles) handles.push_back(handle_row(h));
    for (const auto& c : p.contacts) contacts.push_back(contact_row(c));
    for (const auto& m : p.messages) timeline.push_back(message_row(m));
    std::string problem;
    if (const char* why = unstorable(p.person_id)) problem = fmt::format("person_id has {}", why);
    for (const auto& r : handles)
      if (problem.empty()) problem = check_row("person_handles", k_handle_columns, r);
    for (const auto& r : contacts)
      if (problem.empty()) problem = check_row("person_contacts", k_contact_columns, r);
    for (const auto& r : timeline)
      if (problem.empty()) problem = check_row("timeline", k_timeline_columns, r);
    for (const auto& m : p.messages)
      for (const auto& a : m.attachments)
        for (const auto* v : {&a.type, &a.name, &a.url})
          if (const char* why = unstorable(*v); why && problem.empty())
            problem = fmt::format("timeline row ({}, {}) has {} in an attachment", m.connector, m.id, why);
    if (!problem.empty()) {
      out.refused.emplace(
          i,
          Error{Errc::remote,
                fmt::format("PostgreSQL cannot store it: its {}, which a text column cannot hold", problem), target});
      continue;
    }
    const std::string hash = item.hash.empty() ? content_hash(p) : std::string(item.hash);
    out.persons.field(p.person_id);
    out.persons.field(storable(p.display_name));
    for (const auto& r : handles) copy(out.handles, p.person_id, r);
    if (layout == Layout::tables) {
      out.fits = time_field(out.persons, p.updated_at) && out.fits;
      out.persons.field(hash);
      for (std::size_t k = 0; k < contacts.size(); ++k)
        out.fits =
            copy_to_table(out.contacts, p.person_id, contacts[k], k_contact_updated_column, p.contacts[k].updated_at) &&
            out.fits;
      for (std::size_t k = 0; k < timeline.size(); ++k)
        out.fits = copy_to_table(out.timeline, p.person_id, timeline[k], k_sent_at_column, p.messages[k].sent_at,
                                 k_status_column) &&
                   out.fits;
    } else {
      out.persons.field(static_cast<long long>(p.updated_at));
      out.persons.field(hash);
      out.persons.field(item.previous && item.previous->hash == hash);
      for (const auto& r : contacts) copy(out.contacts, p.person_id, r);
      for (const auto& r : timeline) copy(out.timeline, p.person_id, r);
    }
    out.persons.end_row();
  }
  return out;
}

std::vector<std::string> copy_sql(const std::string& schema) {
  // The child tables' columns are named as the rows' columns are.
  const std::vector<std::string> persons = {"display_name", "updated_at", "content_hash"};
  std::vector<std::string> out;
  for (const auto& [table, columns] :
       {std::pair{"persons", &persons}, std::pair{"person_handles", &k_handle_columns},
        std::pair{"person_contacts", &k_contact_columns}, std::pair{"timeline", &k_timeline_columns}})
    out.push_back(fmt::format("COPY {}.{} (person_id, {}) FROM STDIN", schema, table, fmt::join(*columns, ", ")));
  return out;
}

// Not ON COMMIT DELETE ROWS: truncating six tables (and their TOAST tables) at every commit took
// 19 ms here, a DELETE of their rows before COMMIT and a VACUUM after it 2 ms.
constexpr const char* k_staging[] = {"chansync_persons",  "chansync_handles", "chansync_contacts",
                                     "chansync_timeline", "chansync_deletes", "chansync_written"};

std::string staging_ddl() {
  return R"sql(
SET LOCAL client_min_messages = warning;  -- not a notice per table that is there already
CREATE TEMP TABLE IF NOT EXISTS chansync_persons (person_id text, display_name text, updated_ms bigint,
  content_hash text, forced boolean);
CREATE TEMP TABLE IF NOT EXISTS chansync_handles (person_id text, kind text, value text, verified boolean);
CREATE TEMP TABLE IF NOT EXISTS chansync_contacts (person_id text, connector text, contact_id text, name text,
  archived boolean, updated_ms bigint, handles jsonb);
CREATE TEMP TABLE IF NOT EXISTS chansync_timeline (person_id text, connector text, message_id text,
  conversation text, channel text, direction text, author_kind text, author_handle text, sent_ms bigint, text text,
  kind text, status text, attachments jsonb);
CREATE TEMP TABLE IF NOT EXISTS chansync_deletes (person_id text);
CREATE TEMP TABLE IF NOT EXISTS chansync_written (person_id text, created boolean);
)sql";
}

std::string staging_clear_sql() {
  std::string out;
  for (const char* t : k_staging) out += fmt::format("DELETE FROM pg_temp.{};\n", t);
  return out;
}

std::string staging_vacuum_sql() {
  std::vector<std::string> tables;
  for (const char* t : k_staging) tables.push_back(fmt::format("pg_temp.{}", t));
  return fmt::format("VACUUM {}", fmt::join(tables, ", "));
}

std::string write_sql(const std::string& schema, const std::string& filter) {
  // A person whose stored content hash equals the staged one is left alone (a re-run after a crash
  // between commit and ledger, or a lost ledger), unless forced: push --full rewrites it.
  // Rows are deleted by `= ANY (ARRAY(...))`, an index scan whatever the statistics say: joined
  // with the unanalysed staging tables, the planner hashed whole child tables once they had
  // statistics, and every batch took time proportional to the table (measured: 30 → 170 ms per
  // batch of 200 over 100k persons).
  constexpr const char* k_sql = R"sql(
WITH up AS (
  INSERT INTO {s}.persons AS p (person_id, display_name, updated_at, content_hash)
  SELECT person_id, display_name, {updated}, content_hash
  FROM pg_temp.chansync_persons WHERE {f}::text IS NULL OR person_id = {f}
  ON CONFLICT (person_id) DO UPDATE SET display_name = excluded.display_name, updated_at = excluded.updated_at,
    content_hash = excluded.content_hash, pushed_at = now()
  WHERE p.content_hash IS DISTINCT FROM excluded.content_hash
     OR excluded.person_id IN (SELECT person_id FROM pg_temp.chansync_persons WHERE forced)
  RETURNING p.person_id, p.xmax = 0)
INSERT INTO pg_temp.chansync_written SELECT * FROM up;
DELETE FROM {s}.person_handles WHERE person_id = ANY (ARRAY(
  SELECT person_id FROM pg_temp.chansync_written WHERE {f}::text IS NULL OR person_id = {f}));
DELETE FROM {s}.person_contacts WHERE person_id = ANY (ARRAY(
  SELECT person_id FROM pg_temp.chansync_written WHERE {f}::text IS NULL OR person_id = {f}));
DELETE FROM {s}.timeline WHERE person_id = ANY (ARRAY(
  SELECT person_id FROM pg_temp.chansync_written WHERE {f}::text IS NULL OR person_id = {f}));
INSERT INTO {s}.person_handles (person_id, kind, value, verified)
  SELECT s.person_id, s.kind, s.value, s.verified FROM pg_temp.chansync_handles s
  JOIN pg_temp.chansync_written w USING (person_id) WHERE {f}::text IS NULL OR w.person_id = {f};
INSERT INTO {s}.person_contacts (person_id, connector, contact_id, name, archived, updated_at, handles)
  SELECT s.person_id, s.connector, s.contact_id, s.name, s.archived,
    {contact_updated}, s.handles
  FROM pg_temp.chansync_contacts s JOIN pg_temp.chansync_written w USING (person_id)
  WHERE {f}::text IS NULL OR w.person_id = {f};
INSERT INTO {s}.timeline (person_id, connector, message_id, conversation, channel, direction, author_kind,
    author_handle, sent_at, text, kind, status, attachments)
  SELECT s.person_id, s.connector, s.message_id, s.conversation, s.channel, s.direction, s.author_kind,
    s.author_handle, {sent}, s.text, s.kind,
    nullif(s.status, ''), s.attachments
  FROM pg_temp.chansync_timeline s JOIN pg_temp.chansync_written w USING (person_id)
  WHERE {f}::text IS NULL OR w.person_id = {f};
DELETE FROM {s}.persons WHERE person_id = ANY (ARRAY(
  SELECT person_id FROM pg_temp.chansync_deletes WHERE {f}::text IS NULL OR person_id = {f}));
)sql";
  return fmt::format(fmt::runtime(k_sql), fmt::arg("s", schema), fmt::arg("f", filter),
                     fmt::arg("updated", from_epoch_ms("updated_ms")),
                     fmt::arg("contact_updated", from_epoch_ms("s.updated_ms")),
                     fmt::arg("sent", from_epoch_ms("s.sent_ms")));
}

Result<std::map<std::string, Stored>> read_stored(PgConn& c, const std::string& schema,
                                                  const std::vector<std::string>& ids, int version) {
  const std::string q = c.ident(schema);
  const std::vector<std::optional<std::string>> params = {array_literal(ids)};
  const std::string doing = fmt::format("reading back {} persons", ids.size());
  const auto ms = [](const char* column) { return fmt::format("(extract(epoch FROM {}) * 1000)::bigint", column); };
  std::map<std::string, Stored> out;
  auto persons =
      c.exec(fmt::format("SELECT person_id, display_name, {} FROM {}.persons WHERE person_id = ANY($1::text[])",
                         ms("updated_at"), q),
             params, doing);
  if (!persons) return std::unexpected(persons.error());
  for (int r = 0; r < PQntuples(persons->get()); ++r) {
    auto& s = out[PQgetvalue(persons->get(), r, 0)];
    s.display_name = PQgetvalue(persons->get(), r, 1);
    s.updated_ms = std::stoll(PQgetvalue(persons->get(), r, 2));
  }
  // Each child table's rows, read in the column order the record's rows are built in.
  auto children = [&](const std::string& table, const std::string& columns,
                      std::map<std::string, Row> Stored::*member) -> Result<void> {
    auto res =
        c.exec(fmt::format("SELECT person_id, {} FROM {}.{} WHERE person_id = ANY($1::text[])", columns, q, table),
               params, doing);
    if (!res) return std::unexpected(res.error());
    const int width = PQnfields(res->get());
    for (int r = 0; r < PQntuples(res->get()); ++r) {
      const auto it = out.find(PQgetvalue(res->get(), r, 0));
      if (it == out.end()) continue;  // a row whose person went between the reads
      Row row;
      for (int f = 1; f < width; ++f) row.push_back(PQgetvalue(res->get(), r, f));
      std::string key = key_of(row);
      (it->second.*member).emplace(std::move(key), std::move(row));
    }
    return {};
  };
  if (auto r = children("person_handles", "kind, value, CASE WHEN verified THEN 't' ELSE 'f' END", &Stored::handles);
      !r)
    return std::unexpected(r.error());
  if (auto r = children("person_contacts",
                        fmt::format("connector, contact_id, name, CASE WHEN archived THEN 't' ELSE 'f' END, {}, "
                                    "handles::text",
                                    ms("updated_at")),
                        &Stored::contacts);
      !r)
    return std::unexpected(r.error());
  for (auto& [id, s] : out)
    for (auto& [key, row] : s.contacts) {
      try {
        row[5] = nlohmann::json::parse(row[5]).dump();  // jsonb's spacing and key order → ours
      } catch (const nlohmann::json::exception&) {
      }
    }
  if (auto r =
          children("timeline",
                   fmt::format("connector, message_id, conversation, channel, direction, author_kind, "
                               "author_handle, {}, text, {}",
                               ms("sent_at"),
                               // Version-1 tables (verify does not migrate) hold what the defaults say.
                               version >= 2 ? "kind, coalesce(status, ''), attachments::text" : "'message', '', '[]'"),
                   &Stored::timeline);
      !r)
    return std::unexpected(r.error());
  for (auto& [id, s] : out)
    for (auto& [key, row] : s.timeline) {
      try {
        row[k_attachments_column] = nlohmann::json::parse(row[k_attachments_column]).dump();
      } catch (const nlohmann::json::exception&) {
      }
    }
  return out;
}

std::string differences(const PersonRecord& record, const Stored& stored) {
  std::vector<std::string> parts;
  if (storable(record.display_name) != stored.display_name) parts.push_back("display_name");
  if (record.updated_at != stored.updated_ms) parts.push_back("updated_at");
  std::vector<Row> handles, contacts, timeline;
  for (const auto& h : record.handles) handles.push_back(handle_row(h));
  for (const auto& c : record.contacts) contacts.push_back(contact_row(c));
  for (const auto& m : record.messages) timeline.push_back(message_row(m));
  for (auto part : {compare("handles", k_handle_columns, keyed(std::move(handles)), stored.handles),
                    compare("contacts", k_contact_columns, keyed(std::move(contacts)), stored.contacts),
                    compare("timeline", k_timeline_columns, keyed(std::move(timeline)), stored.timeline)})
    if (!part.empty()) parts.push_back(std::move(part));
  return fmt::format("{}", fmt::join(parts, "; "));
}

}  // namespace chansync::adapters::postgres
