#include "sync/state_identity.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <unordered_set>

#include "sync/error.hpp"
#include "sync/merge.hpp"
#include "sync/message_parts.hpp"
#include "sync/packed_strings.hpp"
#include "sync/reconcile.hpp"
#include "sync/state_rows.hpp"
#include "sync/state_store.hpp"

namespace chansync {
namespace {

// person_handles_by_person as migration 17 made it (save() builds it again after many rows).
constexpr const char* k_person_handles_by_person_sql =
    "CREATE INDEX person_handles_by_person ON person_handles(person_id, node, verified)";
// A new person (person_id, created_at, rev), numbered after every stored one.
constexpr const char* k_insert_person_sql =
    "INSERT INTO persons(person_id, seq, created_at, rev) VALUES(?, (SELECT coalesce(max(seq), 0) + 1 FROM persons), "
    "?, ?)";

// meta: how many persons hold a node, as the last writer of person_handles left it (see person_count).
constexpr const char* k_person_count = "person_count";

// The kept count, or nothing when there is none or it is not a number (then it is counted again).
std::optional<std::size_t> kept_person_count(StateStore& store) {
  const auto kept = store.meta(k_person_count);
  if (!kept) return std::nullopt;
  std::size_t n = 0;
  const char* end = kept->data() + kept->size();
  if (const auto [at, ec] = std::from_chars(kept->data(), end, n); ec == std::errc{} && at == end) return n;
  return std::nullopt;
}

// Where a pass over every person keeps its scratch files: beside the store, or the system's temporary
// directory for a store in memory.
std::filesystem::path scratch_dir(const std::string& store_path) {
  if (store_path.empty() || store_path == ":memory:") return std::filesystem::temp_directory_path();
  const auto dir = std::filesystem::absolute(store_path).parent_path();
  return dir.empty() ? std::filesystem::current_path() : dir;
}

// Rows of a query ordered by person_id (its first column), read in step with a pass over persons in
// that order: one scan instead of a lookup per person. An open cursor also keeps the pass in one
// read transaction instead of one per statement (each begins with file-lock system calls).
class PersonCursor {
 public:
  PersonCursor(SQLite::Database& db, const char* sql) : m_q(db, sql), m_more(m_q.executeStep()) {}
  // Calls f(q) on each row of person `id`; rows of persons before it are passed over.
  template <class F>
  void rows(std::string_view id, F&& f) {
    for (; m_more; m_more = m_q.executeStep()) {
      const auto c = m_q.getColumn(0);
      const std::string_view at(c.getText(), static_cast<std::size_t>(c.getBytes()));
      if (at > id) return;
      if (at == id) f(m_q);
    }
  }

 private:
  SQLite::Statement m_q;
  bool m_more;
};

// One person's handles, CRM contacts, messages and vendor name, read by index with statements
// prepared once, or, in a pass over persons in person_id order, their nodes by a cursor in step with
// it and their contacts, messages and name from MessageParts.
class PersonReader {
 public:
  // `in_pass`: persons will be loaded in person_id order, each once at most.
  explicit PersonReader(SQLite::Database& db, bool in_pass = false)
      : m_nodes(db, "SELECT node, verified FROM person_handles WHERE person_id = ?"),
        m_contact(db, fmt::format("SELECT {} FROM contacts c WHERE c.connector = ? AND c.id = ?", k_contact_cols)),
        m_messages(db, fmt::format(R"sql(SELECT {} FROM messages m
          JOIN conversations c ON c.key = m.conversation
          JOIN person_handles ph ON ph.node = c.customer WHERE ph.person_id = ?)sql",
                                   k_message_cols)),
        // The least of the vendor names its conversations carry, so the choice does not depend on
        // row order (MessageParts chooses the same way).
        m_name(db, R"sql(SELECT min(c.customer_name) FROM person_handles ph
          JOIN conversations c ON c.customer = ph.node WHERE ph.person_id = ? AND c.customer_name != '')sql") {
    if (in_pass) m_pass_nodes.emplace(db, "SELECT person_id, node, verified FROM person_handles ORDER BY person_id");
  }

  // nullopt when the person has no node; with `require_records`, also when it has neither a handle
  // nor a stored CRM contact (a record node whose contact is gone).
  // `read`: the person's contacts, messages and name, when the caller has read them already.
  std::optional<PersonRecord> load(const std::string& id, bool require_records,
                                   std::optional<MessageParts::Person> read = std::nullopt) {
    std::vector<Handle> handles;
    std::vector<std::pair<std::string, std::string>> records;  // (connector, id) of CRM records
    auto add_node = [&](SQLite::Statement& q, int col) {
      const std::string node = q.getColumn(col).getString();
      if (node.starts_with("crm_id:")) {
        const auto slash = node.find('/');  // crm_id:CONNECTOR/ID; connector names have no '/'
        records.emplace_back(node.substr(7, slash - 7), node.substr(slash + 1));
      } else if (auto h = Handle::from_key(node, q.getColumn(col + 1).getInt() != 0)) {
        handles.push_back(*h);
      }
    };
    if (m_pass_nodes) {
      m_pass_nodes->rows(id, [&](SQLite::Statement& q) { add_node(q, 1); });
    } else {
      m_nodes.bind(1, id);
      while (m_nodes.executeStep()) add_node(m_nodes, 0);
      m_nodes.reset();
    }
    if (handles.empty() && records.empty()) return std::nullopt;
    const bool by_index = !read;
    if (by_index) {
      read.emplace();
      for (const auto& [connector, record] : records) {
        m_contact.bind(1, connector);
        m_contact.bind(2, record);
        if (m_contact.executeStep()) read->contacts.push_back(read_contact(m_contact, 0));
        m_contact.reset();
      }
    }
    if (require_records && handles.empty() && read->contacts.empty()) return std::nullopt;
    if (by_index) {
      m_messages.bind(1, id);
      while (m_messages.executeStep()) read->messages.push_back(read_message(m_messages, 0));
      m_messages.reset();
      m_name.bind(1, id);
      if (m_name.executeStep() && !m_name.getColumn(0).isNull()) read->vendor_name = m_name.getColumn(0).getString();
      m_name.reset();
    }
    return merge_person(id, std::move(handles), std::move(read->contacts), std::move(read->messages),
                        std::move(read->vendor_name));
  }

 private:
  SQLite::Statement m_nodes, m_contact, m_messages, m_name;
  std::optional<PersonCursor> m_pass_nodes;
};

}  // namespace

ContactRow contact_row(SQLite::Statement& q, int col) {
  ContactRow row;
  for (int i = 0; i < ContactRow::k_columns; ++i) {
    const auto c = q.getColumn(col + i);
    row.text[i] = std::string_view(c.getText(), static_cast<std::size_t>(c.getBytes()));
  }
  return row;
}

Contact to_contact(const ContactRow& row) {
  const auto& t = row.text;
  const auto integer = [](std::string_view s) {
    std::int64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
  };
  Contact c;
  c.connector = t[0];
  c.id = t[1];
  c.first_name = t[2];
  c.last_name = t[3];
  c.handles = handles_from_json(t[4]);
  c.archived = integer(t[5]) != 0;
  c.updated_at = integer(t[6]);
  c.attributes = attributes_from_json(t[7]);
  return c;
}

Contact read_contact(SQLite::Statement& q, int col) {
  return to_contact(contact_row(q, col));
}

MessageRow message_row(SQLite::Statement& q, int col) {
  MessageRow row;
  for (int i = 0; i < MessageRow::k_columns; ++i) {
    if (i == MessageRow::k_sent_at) continue;
    const auto c = q.getColumn(col + i);
    row.text[i] = std::string_view(c.getText(), static_cast<std::size_t>(c.getBytes()));
  }
  row.sent_at = q.getColumn(col + MessageRow::k_sent_at).getInt64();
  return row;
}

Message to_message(const MessageRow& row) {
  const auto& t = row.text;
  Message m;
  m.connector = t[0];
  m.id = t[1];
  m.conversation = t[2];
  m.channel = t[3];
  m.direction = direction_from(t[4]).value_or(Direction::inbound);
  m.author_kind = author_kind_from(t[5]).value_or(AuthorKind::system);
  m.author_handle = t[6];
  m.sent_at = row.sent_at;
  m.text = t[8];
  m.kind = message_kind_from(t[9]).value_or(MessageKind::event);
  m.status = t[10];
  m.attachments = attachments_from_json(t[11]);
  return m;
}

Message read_message(SQLite::Statement& q, int col) {
  return to_message(message_row(q, col));
}

namespace {
std::size_t active_contacts(SQLite::Database& db) {
  return static_cast<std::size_t>(db.execAndGet("SELECT count(*) FROM contacts WHERE archived = 0").getInt64());
}
}  // namespace

std::vector<Contact> IdentityStore::contacts() {
  std::vector<Contact> out;
  out.reserve(active_contacts(m_store.db()));
  SQLite::Statement q(m_store.db(), fmt::format("SELECT {} FROM contacts c WHERE archived = 0", k_contact_cols));
  while (q.executeStep()) out.push_back(read_contact(q, 0));
  return out;
}

IdentityInput IdentityStore::input(const std::vector<std::string>& blocked_keys) {
  IdentityInput in;
  in.blocked.insert(blocked_keys.begin(), blocked_keys.end());
  {
    // Only what identifies a record, in a vector sized once: the whole contacts of the 1M bench store
    // (45,000, about 300 bytes each before their strings) were the largest part of a first sync's
    // peak memory.
    in.contacts.reserve(active_contacts(m_store.db()));
    SQLite::Statement q(m_store.db(), "SELECT connector, id, handles FROM contacts WHERE archived = 0");
    while (q.executeStep())
      in.contacts.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getString(),
                               handles_from_json(q.getColumn(2).getString()));
  }
  {
    // The distinct (customer, verified), and (customer, verified, links) where there are links, in one
    // pass over the table by key. SELECT DISTINCT read the rows by the customer index, one random read
    // of the table each: at a million messages (107k conversations) its two queries took 0.12 s of a
    // first sync's reconcile. The graph keeps the first `verified` it is given for a handle: by key,
    // as then, that is the customer's first stored conversation's.
    std::unordered_set<std::string> seen;
    std::string key;
    SQLite::Statement q(m_store.db(),
                        "SELECT customer, customer_verified, customer_links FROM conversations ORDER BY key");
    while (q.executeStep()) {
      const std::string_view customer = q.getColumn(0).getText(), links = q.getColumn(2).getText();
      const bool verified = q.getColumn(1).getInt() != 0;
      key.assign(customer).push_back(verified ? '1' : '0');
      const bool new_handle = seen.insert(key).second;
      const bool has_links = links != "" && links != "[]";
      if (!new_handle && !has_links) continue;
      const auto h = Handle::from_key(customer, verified);
      if (!h) continue;
      if (new_handle) in.conversation_handles.push_back(*h);
      if (!has_links) continue;
      key.push_back('\0');
      key.append(links);
      if (seen.insert(key).second)
        for (auto& linked : handles_from_json(links)) in.links.emplace_back(*h, std::move(linked));
    }
  }
  {
    SQLite::Statement q(m_store.db(), "SELECT node, person_id, since FROM person_handles");
    while (q.executeStep()) {
      in.previous.emplace(q.getColumn(0).getString(), q.getColumn(1).getString());
      if (const auto since = q.getColumn(2).getInt64()) in.since.emplace(q.getColumn(0).getString(), since);
    }
  }
  in.decisions = m_store.decisions().active();
  m_store.decisions().former_ids(in.former, in.former_in_force);
  {
    SQLite::Statement q(m_store.db(), "SELECT person_id, seq FROM persons");
    while (q.executeStep()) in.person_seq.emplace(q.getColumn(0).getString(), q.getColumn(1).getInt64());
  }
  return in;
}

void IdentityStore::save(const IdentityResult& r) {
  SQLite::Transaction tx(m_store.db());
  const auto now = static_cast<int64_t>(now_ms());
  const std::int64_t rev = m_store.revision() + 1;
  // Persons whose set of handles or records changed get this revision: of the result by index,
  // others (ids stored before, revived ids) by name. Persons inserted now have it already.
  constexpr char k_touched = 1, k_inserted = 2;
  std::vector<char> touched(r.person_count(), 0);
  std::vector<std::string> touched_ids;
  {
    // Numbered (seq) in the result's order, inserted in the ids' order: the ids are random, and their
    // index takes them one after another faster than scattered (a first reconcile inserts everyone).
    std::int64_t seq = m_store.db().execAndGet("SELECT coalesce(max(seq), 0) FROM persons").getInt64();
    std::vector<std::pair<std::string_view, std::int64_t>> inserts;
    inserts.reserve(r.new_persons.size());
    for (const auto p : r.new_persons) {
      inserts.emplace_back(r.person_ids[p], ++seq);
      touched[p] = k_inserted;
    }
    std::sort(inserts.begin(), inserts.end());
    SQLite::Statement st(m_store.db(), "INSERT INTO persons(person_id, seq, created_at, rev) VALUES(?, ?, ?, ?)");
    for (const auto& [id, n] : inserts) {
      st.bind(1, std::string(id));
      st.bind(2, n);
      st.bind(3, now);
      st.bind(4, static_cast<int64_t>(rev));
      st.exec();
      st.reset();
    }
  }
  {
    SQLite::Statement st(m_store.db(), R"sql(INSERT INTO person_aliases(alias, person_id, retired_at) VALUES(?, ?, ?)
      ON CONFLICT(alias) DO UPDATE SET person_id = excluded.person_id)sql");
    for (const auto& [alias, survivor] : r.aliases) {
      st.bind(1, alias);
      st.bind(2, survivor);
      st.bind(3, now);
      st.exec();
      st.reset();
    }
    // A retired id given back to a cluster of its own is a person again.
    SQLite::Statement revive(m_store.db(), "DELETE FROM person_aliases WHERE alias = ?");
    for (const auto& id : r.revived) {
      revive.bind(1, id);
      revive.exec();
      revive.reset();
      touched_ids.push_back(id);
    }
    // Aliases that pointed at a now-retired id follow it to the survivor.
    SQLite::Statement follow(m_store.db(), "UPDATE person_aliases SET person_id = ? WHERE person_id = ?");
    for (const auto& [alias, survivor] : r.aliases) {
      follow.bind(1, survivor);
      follow.bind(2, alias);
      follow.exec();
      follow.reset();
    }
  }
  // Rewrite only rows that changed, so a no-change reconcile writes nothing. The stored rows come in
  // key order (the primary key's), as r.nodes are: one merge pass finds what to write, and the writes
  // wait until the read is done.
  std::vector<std::uint32_t> inserts;  // nodes of r with no row yet
  std::vector<std::uint32_t> updates;  // nodes of r whose row changed
  std::vector<std::string> gone;       // stored nodes that are no node any more
  std::size_t stored = 0;
  {
    SQLite::Statement q(m_store.db(), "SELECT node, person_id, verified FROM person_handles ORDER BY node");
    std::size_t i = 0;
    while (q.executeStep()) {
      ++stored;
      const std::string_view node(q.getColumn(0).getText(), static_cast<std::size_t>(q.getColumn(0).getBytes()));
      const std::string_view pid(q.getColumn(1).getText(), static_cast<std::size_t>(q.getColumn(1).getBytes()));
      const bool verified = q.getColumn(2).getInt() != 0;
      for (; i < r.nodes.size() && r.nodes[i] < node; ++i) inserts.push_back(static_cast<std::uint32_t>(i));
      if (i < r.nodes.size() && r.nodes[i] == node) {
        if (r.person_id(i) != pid || r.verified[i] != verified) {
          touched_ids.emplace_back(pid);
          updates.push_back(static_cast<std::uint32_t>(i));
        }
        ++i;
      } else {
        touched_ids.emplace_back(pid);
        gone.emplace_back(node);
      }
    }
    for (; i < r.nodes.size(); ++i) inserts.push_back(static_cast<std::uint32_t>(i));
  }
  // Rows come in node order, but person_handles_by_person takes them by person, at random: when the
  // new rows outnumber the stored ones (a first reconcile), the index is built again after them, in
  // one sort, instead. With the persons inserted in id order (above), a first reconcile of the 1M
  // store (140k rows) took 0.455 s against 0.51 s. In this transaction, like the rest.
  const bool rebuild = inserts.size() > 1024 && inserts.size() > stored;
  if (rebuild) m_store.db().exec("DROP INDEX IF EXISTS person_handles_by_person");
  // `since` is set when a node is first assigned and kept after.
  SQLite::Statement insert(m_store.db(),
                           "INSERT INTO person_handles(node, person_id, verified, since) VALUES(?, ?, ?, ?)");
  SQLite::Statement update(m_store.db(), "UPDATE person_handles SET person_id = ?, verified = ? WHERE node = ?");
  for (const auto i : inserts) {
    if (!touched[r.person[i]]) touched[r.person[i]] = k_touched;
    const std::string_view node = r.nodes[i], person = r.person_id(i);
    insert.bind(1, std::string(node));
    insert.bind(2, std::string(person));
    insert.bind(3, r.verified[i] ? 1 : 0);
    insert.bind(4, now);
    insert.exec();
    insert.reset();
  }
  for (const auto i : updates) {
    if (!touched[r.person[i]]) touched[r.person[i]] = k_touched;
    const std::string_view node = r.nodes[i], person = r.person_id(i);
    update.bind(1, std::string(person));
    update.bind(2, r.verified[i] ? 1 : 0);
    update.bind(3, std::string(node));
    update.exec();
    update.reset();
  }
  if (rebuild) m_store.db().exec(k_person_handles_by_person_sql);
  SQLite::Statement del(m_store.db(), "DELETE FROM person_handles WHERE node = ?");
  for (const auto& node : gone) {
    del.bind(1, node);
    del.exec();
    del.reset();
  }
  m_store.db().exec("DELETE FROM identity_conflicts");
  SQLite::Statement conflict(m_store.db(), "INSERT INTO identity_conflicts(node, reason, records) VALUES(?, ?, ?)");
  for (const auto& c : r.conflicts) {
    conflict.bind(1, c.node);
    conflict.bind(2, c.reason);
    conflict.bind(3, nlohmann::json(c.records).dump());
    conflict.exec();
    conflict.reset();
  }
  for (std::size_t p = 0; p < touched.size(); ++p)
    if (touched[p] == k_touched) touched_ids.emplace_back(r.person_ids[p]);
  std::sort(touched_ids.begin(), touched_ids.end());
  touched_ids.erase(std::unique(touched_ids.begin(), touched_ids.end()), touched_ids.end());
  SQLite::Statement mark(m_store.db(), "UPDATE persons SET rev = ? WHERE person_id = ?");
  for (const auto& id : touched_ids) {
    mark.bind(1, static_cast<int64_t>(rev));
    mark.bind(2, id);
    mark.exec();
    mark.reset();
  }
  if (!touched_ids.empty() || !r.new_persons.empty() || !gone.empty()) {
    m_store.set_meta("rev", std::to_string(rev));
    m_store.set_persons_revision(rev);
  }
  if (const auto count = std::to_string(r.person_count()); m_store.meta(k_person_count) != count)
    m_store.set_meta(k_person_count, count);
  tx.commit();
}

void IdentityStore::add_singletons(const std::vector<std::pair<std::string, bool>>& nodes,
                                   const std::function<std::string()>& mint) {
  if (nodes.empty()) return;
  SQLite::Transaction tx(m_store.db());
  const auto now = static_cast<int64_t>(now_ms());
  const std::int64_t rev = m_store.revision() + 1;
  SQLite::Statement person(m_store.db(), k_insert_person_sql);
  SQLite::Statement handle(m_store.db(),
                           "INSERT INTO person_handles(node, person_id, verified, since) VALUES(?, ?, ?, ?)");
  for (const auto& [node, verified] : nodes) {
    const std::string id = mint();
    person.bind(1, id);
    person.bind(2, now);
    person.bind(3, static_cast<int64_t>(rev));
    person.exec();
    person.reset();
    handle.bind(1, node);
    handle.bind(2, id);
    handle.bind(3, verified ? 1 : 0);
    handle.bind(4, now);
    handle.exec();
    handle.reset();
  }
  // Each node is a person of its own: the kept count grows by as many.
  if (const auto kept = kept_person_count(m_store))
    m_store.set_meta(k_person_count, std::to_string(*kept + nodes.size()));
  else
    forget_person_count();
  m_store.set_meta("rev", std::to_string(rev));
  m_store.set_persons_revision(rev);
  tx.commit();
}

std::size_t IdentityStore::person_count() {
  if (const auto kept = kept_person_count(m_store)) return *kept;
  return static_cast<std::size_t>(
      m_store.db().execAndGet("SELECT count(DISTINCT person_id) FROM person_handles").getInt64());
}

void IdentityStore::forget_person_count() {
  m_store.db().exec(fmt::format("DELETE FROM meta WHERE key = '{}'", k_person_count));
}

std::vector<std::string> IdentityStore::persons_changed_since(std::int64_t rev) {
  SQLite::Statement q(m_store.db(), R"sql(
    SELECT person_id FROM persons WHERE rev > ?1
    UNION SELECT ph.person_id FROM messages m
      JOIN conversations c ON c.key = m.conversation
      JOIN person_handles ph ON ph.node = c.customer WHERE m.rev > ?1
    UNION SELECT ph.person_id FROM conversations c
      JOIN person_handles ph ON ph.node = c.customer WHERE c.rev > ?1
    UNION SELECT ph.person_id FROM contacts c
      JOIN person_handles ph ON ph.node = 'crm_id:' || c.connector || '/' || c.id WHERE c.rev > ?1)sql");
  q.bind(1, static_cast<int64_t>(rev));
  std::vector<std::string> out;
  while (q.executeStep()) out.push_back(q.getColumn(0).getString());
  return out;
}

void IdentityStore::for_each_person(const std::function<void(PersonRecord&&)>& fn,
                                    std::optional<std::int64_t> changed_since, const std::function<bool()>& more) {
  auto go_on = [&] { return !more || more(); };
  std::vector<std::string> changed;
  if (changed_since) {
    changed = persons_changed_since(*changed_since);
    std::sort(changed.begin(), changed.end());
    // A few persons are read by index; more, like everyone, with one pass over all messages. The pass
    // costs about a sixth of reading everyone by index up front and a third per person after, so it
    // is the faster from about a fifth of the persons on (measured at 200k and 1M messages).
    if (changed.size() * 4 < person_count()) {
      PersonReader reader(m_store.db());
      for (const auto& id : changed) {
        if (!go_on()) return;
        if (auto p = reader.load(id, true)) fn(std::move(*p));
      }
      return;
    }
  }
  PackedStrings ids;
  {
    SQLite::Statement q(m_store.db(), "SELECT DISTINCT person_id FROM person_handles ORDER BY person_id");
    while (q.executeStep()) ids.push_back(q.getColumn(0).getText());
  }
  std::optional<MessageParts> parts;
  try {
    const auto t0 = std::chrono::steady_clock::now();
    parts.emplace(m_store.db(), scratch_dir(m_store.path()), ids);
    spdlog::debug("sorted the messages of {} persons by person into {} scratch files in {:.3f} s", ids.size(),
                  parts->parts(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  } catch (const Failure& e) {
    spdlog::warn("{}; reading each person's messages by index instead, which is slower", e.what());
  }
  PersonReader pass(m_store.db(), true);
  auto load = [&](std::size_t i) {
    auto read = parts ? std::optional(parts->take(i)) : std::nullopt;
    if (auto p = pass.load(std::string(ids[i]), true, std::move(read))) fn(std::move(*p));
  };
  if (!changed_since) {
    for (std::size_t i = 0; i < ids.size() && go_on(); ++i) load(i);
    return;
  }
  for (const auto& id : changed) {  // a person with no node any more is no person to load
    if (!go_on()) return;
    if (const auto i = ids.find_sorted(id); i != PackedStrings::npos) load(i);
  }
}

std::optional<PersonRecord> IdentityStore::person(const std::string& id_or_alias) {
  SQLite::Statement q(m_store.db(), "SELECT person_id FROM person_aliases WHERE alias = ?");
  q.bind(1, id_or_alias);
  return load_person(q.executeStep() ? q.getColumn(0).getString() : id_or_alias);
}

std::optional<PersonRecord> IdentityStore::load_person(const std::string& id) {
  return PersonReader(m_store.db()).load(id, false);
}

std::vector<ConflictRow> IdentityStore::conflicts() {
  std::vector<ConflictRow> out;
  SQLite::Statement q(m_store.db(), "SELECT node, reason, records FROM identity_conflicts ORDER BY node");
  while (q.executeStep())
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(),
                   nlohmann::json::parse(q.getColumn(2).getString()).get<std::vector<std::string>>()});
  return out;
}

std::string IdentityStore::require_person(const std::string& id_or_alias) {
  const std::string id = survivor_of(id_or_alias).value_or(id_or_alias);
  SQLite::Statement q(m_store.db(), "SELECT 1 FROM person_handles WHERE person_id = ? LIMIT 1");
  q.bind(1, id);
  if (!q.executeStep())
    throw Failure(Errc::not_found, fmt::format("no person \"{}\"; `chansync persons list` shows the ids (run "
                                               "`chansync reconcile` first if you have only pulled)",
                                               id_or_alias));
  return id;
}

std::optional<std::string> IdentityStore::holder(const std::string& node) {
  SQLite::Statement q(m_store.db(), "SELECT person_id FROM person_handles WHERE node = ?");
  q.bind(1, node);
  if (!q.executeStep()) return std::nullopt;
  return q.getColumn(0).getString();
}

std::vector<std::string> IdentityStore::nodes_of(const std::string& person_id) {
  std::vector<std::string> out;
  SQLite::Statement q(m_store.db(), "SELECT node FROM person_handles WHERE person_id = ? ORDER BY node");
  q.bind(1, person_id);
  while (q.executeStep()) out.push_back(q.getColumn(0).getString());
  return out;
}

std::optional<std::string> IdentityStore::survivor_of(const std::string& retired_id) {
  SQLite::Statement q(m_store.db(), "SELECT person_id FROM person_aliases WHERE alias = ?");
  q.bind(1, retired_id);
  if (!q.executeStep()) return std::nullopt;
  return q.getColumn(0).getString();
}

}  // namespace chansync
