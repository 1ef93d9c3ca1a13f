#pragma once
// Pulled records and where each stream stands: one row per (connector, stream) with its cursor and
// the statistics of its last pull; conversations, messages, contacts and dead letters.
// Every commit_* call is one transaction: a page's records and its cursor land together or not at all.
#include <absl/container/flat_hash_map.h>

#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "sync/model.hpp"

namespace SQLite {
class Statement;
}

namespace chansync {

class StateStore;

// What committing one page did. One unit per figure: messages for conversation streams, contacts
// for contact streams (conversation rows are bookkeeping, not counted).
struct PageStats {
  std::size_t received = 0;  // messages or contacts on the page
  std::size_t written = 0;   // of those, inserted or changed (0 for a page of known, unchanged records)
  std::size_t rejected = 0;  // dead letters
};

// A pull's figures for one stream (also what `state show` reports of its last pull).
struct StreamPull {
  std::size_t pages = 0;
  std::size_t requests = 0;
  std::size_t received = 0;
  std::size_t written = 0;
  std::size_t rejected = 0;
  std::string error;       // "" when the pull completed
  std::string error_code;  // to_string(Errc) of the error, "" when none
  std::string notice;      // the last problem the vendor reported in the data (Page::notices), "" if none
};

struct StreamRow {
  std::string connector;
  std::string stream;
  std::string cursor;          // "" = the next pull is a full pull
  Timestamp updated_at = 0;    // when the cursor last moved (0 = never)
  Timestamp last_pull_at = 0;  // when the last pull of this stream ended (0 = never)
  StreamPull last_pull;
  Timestamp last_ok_at = 0;  // when the last pull that completed ended (0 = none has)
};

struct DeadLetterRow {
  std::string connector;
  std::string stream;
  std::string record_id;
  Timestamp received_at = 0;
  std::string error;
  std::string raw;
};

// One completed pull of a stream, as pull_history keeps it.
struct PullRecord {
  Timestamp ended_at = 0;
  std::size_t received = 0;
  bool operator==(const PullRecord&) const = default;
};

class RecordStore {
 public:
  explicit RecordStore(StateStore& store);
  ~RecordStore();

  // The saved cursor of a stream; "" when it has never completed a page (full pull).
  std::string cursor(const std::string& connector, const std::string& stream);
  // Every known stream, by connector and stream name.
  std::vector<StreamRow> streams();
  // Forgets the cursor of one stream (or of every stream of the connector when `stream` is nullopt),
  // so the next pull is a full pull. Records stay. Returns how many streams had a cursor.
  std::size_t reset(const std::string& connector, const std::optional<std::string>& stream = std::nullopt);

  // Upserts a page of conversations (and their messages) or contacts, stores rejects as dead letters
  // of the stream and saves next_cursor — all in one transaction. Re-committing the same page writes
  // nothing. Throws SQLite::Exception when the store cannot be written (see storage_failure()).
  PageStats commit_conversations(const std::string& connector, const std::string& stream,
                                 const std::vector<Conversation>& page, const std::vector<DeadLetter>& rejects,
                                 const std::string& next_cursor);
  PageStats commit_contacts(const std::string& connector, const std::string& stream, const std::vector<Contact>& page,
                            const std::vector<DeadLetter>& rejects, const std::string& next_cursor);
  // The same inside a transaction the caller holds (the page loop commits several pages at once: a
  // commit costs every index page the batch dirtied, so fewer and larger commits write far less).
  PageStats write_conversations(const std::string& connector, const std::string& stream,
                                const std::vector<Conversation>& page, const std::vector<DeadLetter>& rejects,
                                const std::string& next_cursor);
  PageStats write_contacts(const std::string& connector, const std::string& stream, const std::vector<Contact>& page,
                           const std::vector<DeadLetter>& rejects, const std::string& next_cursor);

  // Records how the last pull of a stream ended (its figures, its error if any).
  void record_pull(const std::string& connector, const std::string& stream, const StreamPull& pull);
  // The stream's last completed pulls (at most 64), newest first: when each ended, what it received.
  std::vector<PullRecord> pull_history(const std::string& connector, const std::string& stream);

  // Dead letters, newest first (all connectors when `connector` is empty).
  // Newest first; "" matches every connector (stream); at most `limit` rows (0: all).
  std::vector<DeadLetterRow> dead_letters(const std::string& connector = {}, const std::string& stream = {},
                                          std::size_t limit = 0);
  std::size_t dead_letter_count(const std::string& connector = {}, const std::string& stream = {});

  // Forgets the tombstones read so far (chansync erase wrote new ones); the next commit reads them.
  void reload_tombstones() { m_tombstones.reset(); }
  // Forgets which conversation rows this process knows to be stored as they are (a transaction that
  // wrote them was rolled back).
  void forget_stored_conversations() { m_stored_conversations.clear(); }

  // Whether a bulk load has left out the unique index of messages (bulk_load.hpp): messages are then
  // inserted as they come, and the rows that repeat an id are folded when it ends.
  bool bulk_loading();
  // Applies rows of messages through the upserts, in the order `rows` yields them: its columns are
  // those of messages in table order, then 1 for a row a receipt wrote. end_bulk_load replays the rows
  // of a bulk load that repeat an id with it.
  void replay_messages(SQLite::Statement& rows);
  // Applies the watermarks a bulk load kept aside (Conversation::watermarks), in arrival order, and
  // forgets them: end_bulk_load calls it once messages_by_conversation is built.
  void replay_watermarks();
  // One stored message or contact by connector and vendor id; nullopt if unknown.
  std::optional<Message> message(const std::string& connector, const std::string& id);
  std::optional<Contact> contact(const std::string& connector, const std::string& id);

 private:
  void save_cursor(const std::string& connector, const std::string& stream, const std::string& cursor);
  void store_dead_letters(const std::string& connector, const std::string& stream,
                          const std::vector<DeadLetter>& rejects);

  // The page without what a tombstone names: conversations of an erased customer, contacts that are
  // erased records, and erased handles on other contacts and in vendor links. nullopt: nothing to drop.
  std::optional<std::vector<Conversation>> without_erased(const std::vector<Conversation>& page);
  std::optional<std::vector<Contact>> without_erased(const std::string& connector, const std::vector<Contact>& page);
  bool has_tombstones();
  bool erased(const std::string& node);
  // Whether a dead letter names an erased handle (see the .cpp).
  bool names_erased(const DeadLetter& d);

  StateStore& m_store;
  std::optional<std::unordered_set<std::string>> m_tombstones;  // read on first use
  std::string m_salt;                                           // their salt (see sync/erase.hpp)
  // Conversations written (or found unchanged) by this process, by a 64-bit hash of connector and id,
  // with a hash of their row and their key: a page repeats most of the previous pages' conversations,
  // and skipping their upsert halves the index lookups of a pull. Bounded by k_stored_conversations_max.
  // A false skip needs two ids of one connector whose hashes collide and whose rows are the same.
  // A flat table: at 100k conversations, std::unordered_map's lookup (bucket, node, key: three
  // dependent cache misses) was most of a 1M-message pull's time in this class.
  struct StoredConversation {
    std::uint64_t row = 0;
    std::int64_t key = 0;  // 0 until the upsert has given it
  };
  absl::flat_hash_map<std::uint64_t, StoredConversation> m_stored_conversations;
  struct Statements;  // prepared once: the page commit is the hot path
  std::unique_ptr<Statements> m_st;
};

}  // namespace chansync
