#include "sync/state_records.hpp"

#include <absl/hash/hash.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "sync/digest.hpp"
#include "sync/erase.hpp"
#include "sync/reconcile.hpp"
#include "sync/state_rows.hpp"
#include "sync/state_store.hpp"

namespace chansync {

namespace {
constexpr std::size_t k_stored_conversations_max = 1'000'000;
}  // namespace

// The message writes. A message or receipt is an upsert on (connector, id); while a bulk load has
// left out messages_by_id (bulk_load.hpp) it is a plain insert (the upsert could not even be
// prepared), each receipt's row is listed in bulk_load_receipts, and end_bulk_load replays the rows
// that repeat an id through the upserts. Parameters: the columns of messages in table order (a
// receipt's ?9 is rev and ?10 status). ?3 is the key of the conversation the page carries it in.
constexpr const char* k_insert_message = R"sql(
  INSERT INTO messages(connector, id, conversation, channel, direction, author_kind, author_handle,
                       sent_at, text, rev, kind, status, attachments)
  VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13))sql";
// A re-pulled message with another kind, status or attachments is rewritten in place; its status only
// moves forward (chansync_later_status), so a late "delivered" keeps "read". It stays in the
// conversation that first brought it: Messenger's webhooks and its Graph history file one message
// (one mid) under two conversation ids. The two copies are not alike, and the richer one stays: a copy
// from another conversation that is an empty event (Graph's history of a shared post, a story reply)
// does not replace a message with content (the webhook's), nor does its time in whole seconds (Graph's
// created_time) the same second in milliseconds (the webhook's timestamp). Within one conversation a
// re-pull replaces what is stored, a message emptied at the vendor (deleted) too.
std::string message_conflict() {
  const std::string keeps =
      "excluded.conversation IS NOT conversation AND excluded.kind = 'event' AND excluded.text = '' AND "
      "excluded.attachments = '' AND (text <> '' OR attachments <> '')";
  const auto kept = [&](const char* column) {
    return fmt::format("(CASE WHEN {} THEN {} ELSE excluded.{} END)", keeps, column, column);
  };
  const std::string sent_at =
      "(CASE WHEN excluded.conversation IS NOT conversation AND excluded.sent_at % 1000 = 0 AND "
      "excluded.sent_at / 1000 = sent_at / 1000 THEN sent_at ELSE excluded.sent_at END)";
  return fmt::format(R"sql(
  ON CONFLICT(connector, id) DO UPDATE SET channel = excluded.channel, direction = excluded.direction,
    author_kind = excluded.author_kind, author_handle = excluded.author_handle, sent_at = {0},
    text = {1}, rev = excluded.rev, kind = {2},
    status = chansync_later_status(status, excluded.status), attachments = {3}
  WHERE (channel, direction, author_kind, author_handle, sent_at, text, kind, status, attachments) IS NOT
        (excluded.channel, excluded.direction, excluded.author_kind, excluded.author_handle, {0},
         {1}, {2}, chansync_later_status(status, excluded.status), {3}))sql",
                     sent_at, kept("text"), kept("kind"), kept("attachments"));
}
// A receipt only moves the status of the message it names; for a message not held it stores the
// message as far as the receipt knows it (text unknown). Receipts come in any order (Meta does not
// keep it): a message known from receipts alone takes the earliest one's time, the nearest to when it
// was sent, so it does not sort after what followed it.
constexpr const char* k_insert_receipt = R"sql(
  INSERT INTO messages(connector, id, conversation, channel, direction, author_kind, author_handle,
                       sent_at, text, rev, kind, status, attachments)
  VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, '', ?9, 'message', ?10, ''))sql";
constexpr const char* k_receipt_conflict = R"sql(
  ON CONFLICT(connector, id) DO UPDATE SET status = chansync_later_status(status, excluded.status),
    rev = excluded.rev,
    sent_at = CASE WHEN text = '' AND attachments = '' THEN min(sent_at, excluded.sent_at) ELSE sent_at END
  WHERE chansync_later_status(status, excluded.status) IS NOT status
     OR (text = '' AND attachments = '' AND excluded.sent_at < sent_at))sql";

// A watermark (Conversation::watermarks): ?1 connector, ?2 the customer's handle key, ?3 status, ?4 the
// time, ?5 rev. By the customer, not the conversation: Messenger files one thread under two ids
// (webhooks, Graph history). While a bulk load has left out messages_by_conversation it is kept in
// bulk_load_watermarks, in arrival order, and applied when the load ends (replay_watermarks).
// A time in whole seconds (Graph's history) may be anywhere in its second: it counts as its end, so
// that a read at .300 does not reach a message sent at .700 of the same second.
constexpr const char* k_apply_watermark = R"sql(
  UPDATE messages SET status = chansync_later_status(status, ?3), rev = max(rev, ?5)
  WHERE conversation IN (SELECT key FROM conversations WHERE connector = ?1 AND customer = ?2)
    AND direction = 'outbound' AND kind = 'message'
    AND (CASE WHEN sent_at % 1000 = 0 THEN sent_at + 999 ELSE sent_at END) <= ?4
    AND chansync_later_status(status, ?3) IS NOT status)sql";
constexpr const char* k_defer_watermark =
    "INSERT INTO bulk_load_watermarks(connector, customer, status, at, rev) VALUES(?1, ?2, ?3, ?4, ?5)";

struct RecordStore::Statements {
  SQLite::Database& db;
  SQLite::Statement upsert_conversation, conversation_key, stored_links, stored_customer, customer_held, upsert_contact,
      save_cursor, dead_letter;
  // Prepared on first use: which of them can be prepared depends on messages_by_id.
  std::optional<SQLite::Statement> upsert_message, upsert_receipt, insert_message, insert_receipt, mark_receipt,
      apply_watermark, defer_watermark;
  SQLite::Statement& watermark(bool bulk) {
    return bulk ? prepared(defer_watermark, k_defer_watermark) : prepared(apply_watermark, k_apply_watermark);
  }
  SQLite::Statement& message(bool bulk) {
    return bulk ? prepared(insert_message, k_insert_message)
                : prepared(upsert_message, std::string(k_insert_message) + message_conflict());
  }
  SQLite::Statement& receipt(bool bulk) {
    return bulk ? prepared(insert_receipt, k_insert_receipt)
                : prepared(upsert_receipt, std::string(k_insert_receipt) + k_receipt_conflict);
  }
  SQLite::Statement& receipt_row() { return prepared(mark_receipt, "INSERT INTO bulk_load_receipts(row) VALUES(?)"); }
  // Reset as well: a statement whose step threw (a rolled-back page, a failed fold) is left running,
  // and binding it again would be misuse.
  SQLite::Statement& prepared(std::optional<SQLite::Statement>& st, const std::string& sql) {
    if (!st) st.emplace(db, sql);
    st->tryReset();  // reset() would throw the step's error again
    return *st;
  }
  explicit Statements(SQLite::Database& d)
      : db(d),
        upsert_conversation(db, R"sql(
          INSERT INTO conversations(connector, id, channel, customer, customer_verified, business, customer_name,
                                    customer_links, rev)
          VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
          ON CONFLICT(connector, id) DO UPDATE SET rev = excluded.rev, channel = excluded.channel,
            customer = excluded.customer,
            customer_verified = excluded.customer_verified, business = excluded.business,
            customer_name = coalesce(nullif(excluded.customer_name, ''), customer_name),
            customer_links = coalesce(nullif(excluded.customer_links, ''), customer_links)
          WHERE (channel, customer, customer_verified, business, customer_name, customer_links) IS NOT
                (excluded.channel, excluded.customer, excluded.customer_verified, excluded.business,
                 coalesce(nullif(excluded.customer_name, ''), customer_name),
                 coalesce(nullif(excluded.customer_links, ''), customer_links)))sql"),
        conversation_key(db, "SELECT key FROM conversations WHERE connector = ? AND id = ?"),
        stored_links(db, "SELECT customer_links FROM conversations WHERE connector = ? AND id = ?"),
        stored_customer(db, "SELECT customer, customer_verified FROM conversations WHERE connector = ? AND id = ?"),
        // NULL: no conversation has the customer; 0: only with the other verified flag; 1: with this one.
        customer_held(db, "SELECT max(customer_verified = ?2) FROM conversations WHERE customer = ?1"),
        upsert_contact(db, R"sql(
          INSERT INTO contacts(connector, id, first_name, last_name, handles, archived, updated_at, rev, attributes)
          VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
          ON CONFLICT(connector, id) DO UPDATE SET first_name = excluded.first_name,
            last_name = excluded.last_name, handles = excluded.handles, archived = excluded.archived,
            updated_at = excluded.updated_at, rev = excluded.rev, attributes = excluded.attributes
          WHERE (first_name, last_name, handles, archived, updated_at, attributes) IS NOT
                (excluded.first_name, excluded.last_name, excluded.handles, excluded.archived,
                 excluded.updated_at, excluded.attributes))sql"),
        save_cursor(db, R"sql(
          INSERT INTO streams(connector, stream, cursor, updated_at) VALUES(?1, ?2, ?3, ?4)
          ON CONFLICT(connector, stream) DO UPDATE SET cursor = excluded.cursor,
            updated_at = excluded.updated_at)sql"),
        dead_letter(db, R"sql(
          INSERT INTO dead_letters(connector, stream, record_id, received_at, error, raw)
          SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS(SELECT 1 FROM dead_letters
            WHERE connector = ?1 AND stream = ?2 AND record_id = ?3 AND error = ?5 AND raw = ?6))sql") {}
};

RecordStore::RecordStore(StateStore& store) : m_store(store), m_st(std::make_unique<Statements>(store.db())) {}

RecordStore::~RecordStore() = default;

void RecordStore::save_cursor(const std::string& connector, const std::string& stream, const std::string& cursor) {
  auto& st = m_st->save_cursor;
  st.bind(1, connector);
  st.bind(2, stream);
  st.bind(3, cursor);
  st.bind(4, static_cast<int64_t>(now_ms()));
  st.exec();
  st.reset();
}

void RecordStore::store_dead_letters(const std::string& connector, const std::string& stream,
                                     const std::vector<DeadLetter>& rejects) {
  auto& st = m_st->dead_letter;
  const auto now = static_cast<int64_t>(now_ms());
  for (const auto& d : rejects) {
    st.bind(1, connector);
    st.bind(2, stream);
    st.bind(3, d.record_id);
    st.bind(4, now);
    st.bind(5, d.error);
    st.bind(6, d.raw.data(), static_cast<int>(d.raw.size()));
    st.exec();
    st.reset();
  }
}

PageStats RecordStore::commit_conversations(const std::string& connector, const std::string& stream,
                                            const std::vector<Conversation>& page,
                                            const std::vector<DeadLetter>& rejects, const std::string& next_cursor) {
  try {
    SQLite::Transaction tx(m_store.db());
    const PageStats stats = write_conversations(connector, stream, page, rejects, next_cursor);
    tx.commit();
    return stats;
  } catch (...) {
    forget_stored_conversations();  // rolled back
    throw;
  }
}

PageStats RecordStore::commit_contacts(const std::string& connector, const std::string& stream,
                                       const std::vector<Contact>& page, const std::vector<DeadLetter>& rejects,
                                       const std::string& next_cursor) {
  SQLite::Transaction tx(m_store.db());
  const PageStats stats = write_contacts(connector, stream, page, rejects, next_cursor);
  tx.commit();
  return stats;
}

bool RecordStore::bulk_loading() {
  return m_store.db()
             .execAndGet(
                 "SELECT NOT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = "
                 "'messages_by_id')")
             .getInt() != 0;
}

void RecordStore::replay_messages(SQLite::Statement& rows) {
  auto& ms = m_st->message(false);
  auto& rs = m_st->receipt(false);
  while (rows.executeStep()) {
    const bool receipt = rows.getColumn(13).getInt() != 0;
    auto& st = receipt ? rs : ms;
    const auto bind = [&](int param, int column) {
      const auto value = rows.getColumn(column);
      if (value.isInteger())
        st.bind(param, value.getInt64());
      else
        st.bind(param, value.getString());
    };
    // Columns 0–12 are the row in table order: the message upsert's parameters 1–13; a receipt's are
    // the first eight, then rev (9) and status (11).
    for (int i = 0; i < (receipt ? 8 : 13); ++i) bind(i + 1, i);
    if (receipt) {
      bind(9, 9);
      bind(10, 11);
    }
    st.exec();
    st.reset();
  }
}

void RecordStore::replay_watermarks() {
  // Each with its page's revision: the messages it reaches were written by the load, at or below it
  // unless a later page rewrote them (max keeps theirs).
  auto& apply = m_st->watermark(false);
  SQLite::Statement rows(m_store.db(),
                         "SELECT connector, customer, status, at, rev FROM bulk_load_watermarks ORDER BY rowid");
  while (rows.executeStep()) {
    for (int i = 0; i < 3; ++i) apply.bind(i + 1, rows.getColumn(i).getString());
    apply.bind(4, rows.getColumn(3).getInt64());
    apply.bind(5, rows.getColumn(4).getInt64());
    apply.exec();
    apply.reset();
  }
  m_store.db().exec("DELETE FROM bulk_load_watermarks");
}

PageStats RecordStore::write_conversations(const std::string& connector, const std::string& stream,
                                           const std::vector<Conversation>& all, const std::vector<DeadLetter>& rejects,
                                           const std::string& next_cursor) {
  const auto kept = without_erased(all);
  const std::vector<Conversation>& page = kept ? *kept : all;
  PageStats stats{0, 0, rejects.size()};
  const std::int64_t rev = m_store.revision() + 1;
  bool changed = false;  // a conversation row alone (a re-verified customer) changes the store too
  bool identity_changed = false, shape_changed = false;
  auto& cs = m_st->upsert_conversation;
  const bool bulk = bulk_loading();
  auto& ms = m_st->message(bulk);
  // Links accumulate: a later payload that names fewer of the customer's handles takes none away.
  // Without links ("") the upsert keeps what is stored; only a conversation that brings links (rare)
  // reads the stored ones to merge them.
  auto links_json = [&](const Conversation& c) -> std::string {
    if (c.customer_links.empty()) return {};
    std::vector<Handle> all = c.customer_links;
    auto& q = m_st->stored_links;
    q.bind(1, connector);
    q.bind(2, c.id);
    if (q.executeStep()) {
      const auto held = handles_from_json(q.getColumn(0).getString());
      all.insert(all.end(), held.begin(), held.end());
    }
    q.reset();
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    return nlohmann::json(all).dump();
  };
  // Parameters 1–8 are the same in the message and the receipt upserts. The page outlives each
  // exec, and every parameter is bound again before the next: strings are bound without a copy.
  auto bind_head = [&](SQLite::Statement& st, const Message& m, std::int64_t conversation) {
    st.bindNoCopy(1, connector);
    st.bindNoCopy(2, m.id);
    st.bind(3, conversation);
    st.bindNoCopy(4, m.channel);
    st.bindNoCopy(5, to_string(m.direction));
    st.bindNoCopy(6, to_string(m.author_kind));
    st.bindNoCopy(7, m.author_handle);
    st.bind(8, static_cast<int64_t>(m.sent_at));
  };
  // A conversation without links that this process stored as it is now needs no upsert: its cache
  // entry holds its key. Hashed field by field (absl::HashOf, lengths included), not formatted first:
  // this runs once per conversation of every page. An entry whose row differs is reset (key 0) for the
  // upsert to fill; a conversation with links has none (nullptr).
  auto cache_entry = [&](const Conversation& c) -> StoredConversation* {
    if (!c.customer_links.empty()) return nullptr;
    const std::uint64_t row =
        absl::HashOf(std::string_view(c.channel), c.customer.kind, std::string_view(c.customer.value),
                     c.customer.verified, std::string_view(c.business), std::string_view(c.customer_name));
    if (m_stored_conversations.size() >= k_stored_conversations_max) m_stored_conversations.clear();
    auto& entry = m_stored_conversations[absl::HashOf(std::string_view(connector), std::string_view(c.id))];
    if (entry.row != row || entry.key == 0) entry = {row, 0};
    return &entry;
  };
  // Whether storing `c` can change what identities are made of (the distinct customers with their
  // verified flag, and links; IdentityStore::input): a conversation that brings links or whose
  // customer changed reshapes them; a new one of a customer no conversation holds yet adds one. A new
  // conversation of a known customer, or a new name, does neither: reconcile can skip.
  enum class IdentityChange { none, new_customer, shape };
  auto identity_change = [&](const Conversation& c) {
    if (!c.customer_links.empty()) return IdentityChange::shape;
    const std::string key = c.customer.key();
    const int verified = c.customer.verified ? 1 : 0;
    auto& stored = m_st->stored_customer;
    stored.bind(1, connector);
    stored.bind(2, c.id);
    std::optional<bool> same;
    if (stored.executeStep()) same = stored.getColumn(0).getString() == key && stored.getColumn(1).getInt() == verified;
    stored.reset();
    if (same) return *same ? IdentityChange::none : IdentityChange::shape;
    auto& held = m_st->customer_held;
    held.bind(1, key);
    held.bind(2, verified);
    held.executeStep();
    const auto change = held.getColumn(0).isNull()   ? IdentityChange::new_customer
                        : held.getColumn(0).getInt() ? IdentityChange::none
                                                     : IdentityChange::shape;  // known, flagged otherwise
    held.reset();
    return change;
  };
  SQLite::Statement* receipt = nullptr;
  for (const auto& c : page) {
    // Watermarks alone (a read) name the customer, not a conversation: they make no row of one (a
    // name or links beside them would not be stored; Messenger's reads carry none).
    const bool marks_only = c.messages.empty() && c.receipts.empty() && !c.watermarks.empty();
    StoredConversation* const entry = marks_only ? nullptr : cache_entry(c);
    std::int64_t key = entry ? entry->key : 0;
    if (key == 0 && !marks_only) {
      // Once a page has reshaped identities, nothing more can be learnt: the reads stop.
      const IdentityChange change = shape_changed ? IdentityChange::shape : identity_change(c);
      cs.bind(1, connector);
      cs.bind(2, c.id);
      cs.bind(3, c.channel);
      cs.bind(4, c.customer.key());
      cs.bind(5, c.customer.verified ? 1 : 0);
      cs.bind(6, c.business);
      cs.bind(7, c.customer_name);
      cs.bind(8, links_json(c));
      cs.bind(9, static_cast<int64_t>(rev));
      // No RETURNING: SQLite runs it as a trigger, and a statement with one keeps a statement journal,
      // a copy of every page it touches (16 KiB each) — measured 8 µs a conversation, as much as
      // storing its messages. A row inserted has the new rowid; one updated or kept is looked up (the
      // DO UPDATE branch leaves last_insert_rowid as it was).
      const auto rowid_before = m_store.db().getLastInsertRowid();
      const bool wrote = cs.exec() > 0;
      if (wrote) {
        changed = true;
        identity_changed |= change != IdentityChange::none;
        shape_changed |= change == IdentityChange::shape;
      }
      // A rowid equal to the one before may still be an insert (the last insert was another table's
      // row of the same number): the lookup is right either way.
      if (const auto rowid = m_store.db().getLastInsertRowid(); wrote && rowid != rowid_before) {
        key = rowid;
      } else {
        auto& q = m_st->conversation_key;
        q.bind(1, connector);
        q.bind(2, c.id);
        q.executeStep();
        key = q.getColumn(0).getInt64();
        q.reset();
      }
      cs.reset();
      if (entry) entry->key = key;
    }
    // Its messages and receipts are filed under it (Message::conversation names it already).
    for (const auto& m : c.messages) {
      ++stats.received;
      bind_head(ms, m, key);
      ms.bindNoCopy(9, m.text);
      ms.bind(10, static_cast<int64_t>(rev));
      ms.bindNoCopy(11, to_string(m.kind));
      ms.bindNoCopy(12, m.status);
      const std::string attachments = attachments_to_json(m.attachments);
      ms.bindNoCopy(13, attachments);
      stats.written += static_cast<std::size_t>(ms.exec());
      ms.reset();
    }
    for (const auto& m : c.receipts) {
      if (!receipt) receipt = &m_st->receipt(bulk);  // prepared (and reset) once a page, when it has receipts
      auto& rs = *receipt;
      ++stats.received;
      bind_head(rs, m, key);
      rs.bind(9, static_cast<int64_t>(rev));
      rs.bindNoCopy(10, m.status);
      stats.written += static_cast<std::size_t>(rs.exec());
      rs.reset();
      if (bulk) {
        auto& row = m_st->receipt_row();
        row.bind(1, m_store.db().getLastInsertRowid());
        row.exec();
        row.reset();
      }
    }
    for (const auto& w : c.watermarks) {
      ++stats.received;
      auto& st = m_st->watermark(bulk);
      st.bind(1, connector);
      st.bind(2, c.customer.key());
      st.bind(3, w.status);
      st.bind(4, static_cast<int64_t>(w.at));
      st.bind(5, static_cast<int64_t>(rev));
      const int rows = st.exec();
      st.reset();
      if (bulk)
        changed = true;  // kept aside: it changes messages when the load ends
      else
        stats.written += static_cast<std::size_t>(rows);
    }
  }
  if (changed || stats.written > 0) m_store.set_meta("rev", std::to_string(rev));
  if (identity_changed) m_store.set_identity_input_revision(rev, !shape_changed);
  // A reject naming an erased customer (a re-read day of Twilio, the spool, a WhatsApp payload for
  // another number) is not stored again: the erase removed its copy once.
  if (has_tombstones() && !rejects.empty()) {
    std::vector<DeadLetter> kept;
    for (const auto& d : rejects)
      if (!names_erased(d)) kept.push_back(d);
    if (kept.size() < rejects.size())
      spdlog::debug("{}: {} rejects naming erased customers not stored", connector, rejects.size() - kept.size());
    store_dead_letters(connector, stream, kept);
  } else {
    store_dead_letters(connector, stream, rejects);
  }
  save_cursor(connector, stream, next_cursor);
  return stats;
}

PageStats RecordStore::write_contacts(const std::string& connector, const std::string& stream,
                                      const std::vector<Contact>& all, const std::vector<DeadLetter>& rejects,
                                      const std::string& next_cursor) {
  const auto kept = without_erased(connector, all);
  const std::vector<Contact>& page = kept ? *kept : all;
  PageStats stats{page.size(), 0, rejects.size()};
  const std::int64_t rev = m_store.revision() + 1;
  auto& st = m_st->upsert_contact;
  for (const auto& c : page) {
    st.bind(1, connector);
    st.bind(2, c.id);
    st.bind(3, c.first_name);
    st.bind(4, c.last_name);
    st.bind(5, nlohmann::json(c.handles).dump());
    st.bind(6, c.archived ? 1 : 0);
    st.bind(7, static_cast<int64_t>(c.updated_at));
    st.bind(8, static_cast<int64_t>(rev));
    st.bind(9, attributes_to_json(c.attributes));
    stats.written += static_cast<std::size_t>(st.exec());
    st.reset();
  }
  if (stats.written > 0) {
    m_store.set_meta("rev", std::to_string(rev));
    m_store.set_identity_input_revision(rev);
  }
  // A reject of a contact (one whose birth date is unreadable, say) keeps the contact's raw payload:
  // the reject of an erased record is not stored either.
  if (has_tombstones() && !rejects.empty()) {
    std::vector<DeadLetter> kept;
    for (const auto& d : rejects)
      if (!erased(crm_node(connector, d.record_id)) && !names_erased(d)) kept.push_back(d);
    store_dead_letters(connector, stream, kept);
  } else {
    store_dead_letters(connector, stream, rejects);
  }
  save_cursor(connector, stream, next_cursor);
  return stats;
}

}  // namespace chansync
