#include "sync/erase.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "sync/digest.hpp"
#include "sync/error.hpp"
#include "sync/model.hpp"
#include "sync/reconcile.hpp"
#include "sync/state_store.hpp"
#include "sync/timestamp.hpp"

namespace chansync {
namespace {

std::string salt(StateStore& store) {
  if (auto s = store.meta(k_tombstone_salt)) return *s;
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    throw Failure(Errc::internal, "cannot draw random bytes for the tombstone salt (OpenSSL RAND_bytes failed)");
  std::string hex;
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  store.set_meta(k_tombstone_salt, hex);
  return hex;
}

// Runs `sql` with ?1 bound to each of `values` and sums what sqlite3_changes (or the first column of
// a SELECT) reports.
std::int64_t for_each_value(StateStore& store, const std::string& sql, const std::vector<std::string>& values,
                            bool count_only) {
  std::int64_t n = 0;
  SQLite::Statement st(store.db(), sql);
  for (const auto& v : values) {
    st.bind(1, v);
    if (count_only) {
      if (st.executeStep()) n += st.getColumn(0).getInt64();
    } else {
      n += st.exec();
    }
    st.reset();
  }
  return n;
}

// Where `text` names `needle` (any letter case) as a whole value from `from` on, not inside a longer
// one: anna@example.com is not in joanna@example.com, nor 4915112345678 in 14915112345678. An email
// continues to the left with letters, digits and ._%+- and to the right with letters, digits, - and
// a dot followed by more; other values (digits, ids) with letters and digits. npos when nowhere.
std::size_t find_whole(std::string_view text, std::string_view needle, std::size_t from = 0) {
  if (needle.empty()) return std::string_view::npos;
  const auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  const auto same = [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  };
  const bool email = needle.find('@') != std::string_view::npos;
  for (auto it = text.begin() + static_cast<std::ptrdiff_t>(std::min(from, text.size()));; ++it) {
    it = std::search(it, text.end(), needle.begin(), needle.end(), same);
    if (it == text.end()) return std::string_view::npos;
    const std::size_t at = static_cast<std::size_t>(it - text.begin()), end = at + needle.size();
    const char before = at > 0 ? text[at - 1] : ' ', after = end < text.size() ? text[end] : ' ';
    const bool joined_left =
        alnum(before) || (email && std::string_view("._%+-").find(before) != std::string_view::npos);
    const bool joined_right =
        alnum(after) || (email && (after == '-' || (after == '.' && end + 1 < text.size() && alnum(text[end + 1]))));
    if (!joined_left && !joined_right) return at;
  }
}

bool names_any(std::string_view text, const std::vector<std::string>& needles) {
  return std::any_of(needles.begin(), needles.end(),
                     [&](const std::string& n) { return find_whole(text, n) != std::string_view::npos; });
}

// Other records that name one of the erased handles: another person's CRM contact listing her email,
// a conversation linking her number. Each keeps its own data and loses that handle, as the page commit
// does to records pulled after the erase (RecordStore::without_erased); done here to those already
// stored, or reconcile would make the handle a node again, joined to someone else.
struct Mentions {
  // (connector, id) → the contact's handles without the erased ones, as stored JSON.
  std::map<std::pair<std::string, std::string>, std::string> contacts;
  std::map<std::int64_t, std::string> conversations;  // key → its links without the erased ones ("" for none)
};

// Rows whose JSON holds a handle's value are read and their handles compared by key (the value alone
// may be a substring of another's). `nodes`: everything erased, whose own records go whole.
Mentions named_elsewhere(StateStore& store, const std::vector<std::string>& handles,
                         const std::vector<std::string>& nodes) {
  Mentions m;
  const std::set<std::string> erased(handles.begin(), handles.end());
  const std::set<std::string> gone(nodes.begin(), nodes.end());
  // The listed handles without the erased ones, when that leaves some out.
  const auto without_erased = [&](std::string_view json) -> std::optional<std::vector<Handle>> {
    auto listed = handles_from_json(json);
    if (std::erase_if(listed, [&](const Handle& h) { return erased.count(h.key()) > 0; }) == 0) return std::nullopt;
    return listed;
  };
  SQLite::Statement c(store.db(), "SELECT connector, id, handles FROM contacts WHERE instr(handles, ?1) > 0");
  SQLite::Statement l(store.db(),
                      "SELECT key, customer_links, customer FROM conversations WHERE customer_links != '' AND "
                      "instr(customer_links, ?1) > 0");
  for (const auto& key : handles) {
    const auto h = Handle::from_key(key, true);
    if (!h) continue;
    // As the value appears inside the stored JSON (a string, escaped).
    const std::string needle = nlohmann::json(h->value).dump();
    c.bind(1, needle);
    while (c.executeStep()) {
      std::pair<std::string, std::string> id{c.getColumn(0).getString(), c.getColumn(1).getString()};
      if (gone.count(crm_node(id.first, id.second))) continue;
      if (auto kept = without_erased(c.getColumn(2).getText()))
        m.contacts[std::move(id)] = nlohmann::json(*kept).dump();
    }
    c.reset();
    l.bind(1, needle);
    while (l.executeStep()) {
      if (erased.count(l.getColumn(2).getString())) continue;
      if (auto kept = without_erased(l.getColumn(1).getText()))
        m.conversations[l.getColumn(0).getInt64()] = kept->empty() ? std::string() : nlohmann::json(*kept).dump();
    }
    l.reset();
  }
  return m;
}

void strip(StateStore& store, const Mentions& m, std::int64_t rev) {
  SQLite::Statement contact(store.db(), "UPDATE contacts SET handles = ?, rev = ? WHERE connector = ? AND id = ?");
  for (const auto& [id, handles] : m.contacts) {
    contact.bind(1, handles);
    contact.bind(2, static_cast<int64_t>(rev));
    contact.bind(3, id.first);
    contact.bind(4, id.second);
    contact.exec();
    contact.reset();
  }
  SQLite::Statement links(store.db(), "UPDATE conversations SET customer_links = ?, rev = ? WHERE key = ?");
  for (const auto& [key, kept] : m.conversations) {
    links.bind(1, kept);
    links.bind(2, static_cast<int64_t>(rev));
    links.bind(3, static_cast<int64_t>(key));
    links.exec();
    links.reset();
  }
}

// The dead letters that name the person: whose raw payload or error holds one of `needles` as a whole
// value (any case: "Anna@Example.com" in a CRM's payload), or that are the rejects of one of
// `records` (crm_id: nodes). SQL finds the candidates, find_whole() decides.
std::vector<std::int64_t> dead_letters_naming(StateStore& store, const std::vector<std::string>& needles,
                                              const std::vector<std::string>& records) {
  std::vector<std::int64_t> out;
  std::vector<std::string> any;
  for (std::size_t i = 1; i <= needles.size(); ++i)
    any.push_back(fmt::format("instr(lower(raw), lower(?{0})) > 0 OR instr(lower(error), lower(?{0})) > 0", i));
  for (std::size_t i = 1; i <= records.size(); ++i)
    any.push_back(fmt::format("'crm_id:' || connector || '/' || record_id = ?{}", needles.size() + i));
  if (any.empty()) return out;
  SQLite::Statement q(store.db(), fmt::format("SELECT id, raw, error, 'crm_id:' || connector || '/' || record_id FROM "
                                              "dead_letters WHERE {}",
                                              fmt::join(any, " OR ")));
  int i = 1;
  for (const auto& n : needles) q.bind(i++, n);
  for (const auto& r : records) q.bind(i++, r);
  while (q.executeStep()) {
    const auto raw = q.getColumn(1);
    const std::string_view bytes(static_cast<const char*>(raw.getBlob()), static_cast<std::size_t>(raw.getBytes()));
    if (names_any(bytes, needles) || names_any(q.getColumn(2).getText(), needles) ||
        std::find(records.begin(), records.end(), q.getColumn(3).getString()) != records.end())
      out.push_back(q.getColumn(0).getInt64());
  }
  return out;
}

// Texts kept about the streams and runs that may quote a vendor's words about the person: a stream's
// last vendor notice and last error (chansync before 2026-12 wrote WhatsApp's "message … to +49…
// failed"), the health history's evidence, which copies them, and the sync reports of the run
// history. The notice and error go; elsewhere each mention becomes "(erased)", so the rest stays.
void scrub_texts(StateStore& store, const std::vector<std::string>& needles) {
  if (needles.empty()) return;
  const auto scrubbed = [&](std::string text) {
    for (const auto& n : needles)
      for (auto at = find_whole(text, n); at != std::string::npos; at = find_whole(text, n, at + 8))
        text.replace(at, n.size(), "(erased)");
    return text;
  };
  for (const char* column : {"notice", "error"}) {
    std::vector<std::pair<std::string, std::string>> hit;  // (connector, stream)
    SQLite::Statement q(store.db(),
                        fmt::format("SELECT connector, stream, {} FROM streams WHERE {} != ''", column, column));
    while (q.executeStep())
      if (names_any(q.getColumn(2).getText(), needles))
        hit.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getString());
    SQLite::Statement upd(store.db(),
                          fmt::format("UPDATE streams SET {} = ? WHERE connector = ? AND stream = ?", column));
    for (const auto& [connector, stream] : hit) {
      upd.bind(1, std::string(column) == "notice" ? std::string() : std::string("(a message naming an erased person)"));
      upd.bind(2, connector);
      upd.bind(3, stream);
      upd.exec();
      upd.reset();
    }
  }
  // Each row of `table` whose `column` names the person, with each mention replaced: the health
  // history's evidence (which copies the notice and error), a sync's report in the run history.
  const auto scrub_column = [&](const char* table, const char* key, const char* column) {
    std::vector<std::string> any;
    for (std::size_t i = 1; i <= needles.size(); ++i)
      any.push_back(fmt::format("instr(lower({}), lower(?{})) > 0", column, i));
    SQLite::Statement q(store.db(),
                        fmt::format("SELECT {}, {} FROM {} WHERE {}", key, column, table, fmt::join(any, " OR ")));
    for (std::size_t i = 0; i < needles.size(); ++i) q.bind(static_cast<int>(i + 1), needles[i]);
    std::vector<std::pair<std::int64_t, std::string>> changed;
    while (q.executeStep()) {
      std::string text = scrubbed(q.getColumn(1).getString());
      if (text != q.getColumn(1).getString()) changed.emplace_back(q.getColumn(0).getInt64(), std::move(text));
    }
    SQLite::Statement upd(store.db(), fmt::format("UPDATE {} SET {} = ? WHERE {} = ?", table, column, key));
    for (const auto& [row, text] : changed) {
      upd.bind(1, text);
      upd.bind(2, static_cast<int64_t>(row));
      upd.exec();
      upd.reset();
    }
  };
  scrub_column("health_checks", "rowid", "evidence");
  scrub_column("runs", "id", "summary");
}

}  // namespace

std::optional<std::string> unscoped_key(std::string_view node) {
  for (const auto kind : {HandleKind::messenger_psid, HandleKind::instagram_igsid, HandleKind::whatsapp_bsuid}) {
    const std::string prefix = std::string(to_string(kind)) + ":";
    if (!node.starts_with(prefix)) continue;
    const auto value = node.substr(prefix.size());
    const auto colon = value.find(':');
    if (colon == std::string_view::npos || colon + 1 >= value.size()) return std::nullopt;
    return prefix + "*:" + std::string(value.substr(colon + 1));
  }
  return std::nullopt;
}

EraseReport erase_person(StateStore& store, const std::string& person, const std::string& node, bool dry_run) {
  EraseReport r{.dry_run = dry_run};
  if (!person.empty()) {
    r.person_id = store.identity().require_person(person);
    r.nodes = store.identity().nodes_of(r.person_id);
  } else if (auto holder = store.identity().holder(node)) {
    r.person_id = *holder;
    r.nodes = store.identity().nodes_of(r.person_id);
  } else {
    r.nodes = {node};
  }

  // CRM records among the nodes, and the handles' values as they may appear in a raw payload
  // (a phone also without its '+': WhatsApp's wa_id).
  std::vector<std::string> handles, records, needles;
  for (const auto& n : r.nodes) {
    if (n.starts_with("crm_id:")) {
      records.push_back(n);
      continue;
    }
    handles.push_back(n);
    // A scoped id ("page:psid") appears in a payload without its scope. Short values would match
    // unrelated letters by chance, so they are not looked for.
    std::string value = n.substr(n.find(':') + 1);
    if (!n.starts_with("email:") && value.find(':') != std::string::npos) value = value.substr(value.rfind(':') + 1);
    if (value.starts_with("+")) value.erase(0, 1);
    if (value.size() >= 6) needles.push_back(value);
  }
  constexpr const char* k_record_match = "'crm_id:' || connector || '/' || id = ?1";
  const auto count = [&](const std::string& sql, const std::vector<std::string>& values) {
    return for_each_value(store, sql, values, true);
  };
  r.messages = count(R"sql(SELECT count(*) FROM messages m JOIN conversations c
    ON c.key = m.conversation WHERE c.customer = ?1)sql",
                     handles);
  r.conversations = count("SELECT count(*) FROM conversations WHERE customer = ?1", handles);
  r.contacts = count(fmt::format("SELECT count(*) FROM contacts WHERE {}", k_record_match), records);
  const auto letters = dead_letters_naming(store, needles, records);
  r.dead_letters = static_cast<std::int64_t>(letters.size());
  const auto others = named_elsewhere(store, handles, r.nodes);
  r.other_records = static_cast<std::int64_t>(others.contacts.size() + others.conversations.size());
  if (!r.person_id.empty()) {
    SQLite::Statement q(store.db(), "SELECT count(*) FROM person_aliases WHERE person_id = ?");
    q.bind(1, r.person_id);
    q.executeStep();
    r.aliases = q.getColumn(0).getInt64();
    // Targets that confirmed the person, and those it was sent to without an answer (push_sent).
    SQLite::Statement t(store.db(),
                        "SELECT target FROM push_ledger WHERE person_id = ?1 UNION "
                        "SELECT target FROM push_sent WHERE person_id = ?1 ORDER BY target");
    t.bind(1, r.person_id);
    while (t.executeStep()) r.targets.push_back(t.getColumn(0).getString());
  }
  const std::set<std::string> erased_nodes(r.nodes.begin(), r.nodes.end());
  const auto decisions = store.decisions().touching(erased_nodes);
  r.decisions = static_cast<std::int64_t>(decisions.size());
  // Dead letters and other records' mentions count: a customer not pulled yet whose payloads were
  // rejected is erased (and tombstoned) too. Nothing at all is refused: a mistyped value would
  // otherwise tombstone someone else's number for good.
  if (r.messages + r.conversations + r.contacts + r.dead_letters + r.other_records == 0 && r.person_id.empty())
    throw Failure(Errc::not_found,
                  fmt::format("nothing is stored for {}, so nothing was erased and no tombstone was written; check "
                              "the value (`chansync persons list` shows handles)",
                              node));
  if (dry_run) return r;

  SQLite::Transaction tx(store.db());
  const auto rev = store.revision() + 1;
  const auto run = [&](const std::string& sql, const std::vector<std::string>& values) {
    for_each_value(store, sql, values, false);
  };
  run(R"sql(DELETE FROM messages WHERE conversation IN (SELECT key FROM conversations WHERE customer = ?1))sql",
      handles);
  run("DELETE FROM conversations WHERE customer = ?1", handles);
  run(fmt::format("DELETE FROM contacts WHERE {}", k_record_match), records);
  {
    SQLite::Statement del(store.db(), "DELETE FROM dead_letters WHERE id = ?");
    for (const auto id : letters) {
      del.bind(1, static_cast<int64_t>(id));
      del.exec();
      del.reset();
    }
  }
  scrub_texts(store, needles);
  strip(store, others, rev);
  run("DELETE FROM person_handles WHERE node = ?1", r.nodes);
  store.identity().forget_person_count();
  run("DELETE FROM identity_conflicts WHERE node = ?1 OR instr(records, '\"' || ?1 || '\"') > 0", r.nodes);
  if (!r.person_id.empty()) {
    const std::vector<std::string> id{r.person_id};
    // What targets hold of the person, and of persons merged into it whose deletion a target has not
    // confirmed yet, is deleted there for good (HubSpot: its GDPR delete, not a restorable archive).
    for (const char* table : {"push_ledger", "push_sent"})
      run(fmt::format("UPDATE {} SET erased = 1 WHERE person_id = ?1 OR person_id IN "
                      "(SELECT alias FROM person_aliases WHERE person_id = ?1)",
                      table),
          id);
    run("DELETE FROM person_aliases WHERE person_id = ?1 OR alias = ?1", id);
    run("DELETE FROM push_failures WHERE person_id = ?1", id);
  }
  {
    // A decision forgets the erased nodes and keeps deciding about the rest: a merge of this customer's
    // CRM record with their WhatsApp number still holds once one email address of theirs is erased.
    // One left with a side of nothing decides nothing and goes.
    SQLite::Statement del(store.db(), "DELETE FROM identity_decisions WHERE id = ?");
    // The operator's reason may name what was erased ("anna@example.com is her"): then it goes too.
    SQLite::Statement upd(store.db(),
                          "UPDATE identity_decisions SET a_nodes = ?, b_nodes = ?, reason = ? WHERE id = ?");
    const auto names_erased = [&](const std::string& text) { return names_any(text, needles); };
    const auto kept = [&](const std::vector<std::string>& nodes) {
      std::vector<std::string> out;
      for (const auto& n : nodes)
        if (!erased_nodes.contains(n)) out.push_back(n);
      return out;
    };
    for (const auto& d : decisions) {
      const auto a = kept(d.a_nodes), b = kept(d.b_nodes);
      auto& st = a.empty() || b.empty() ? del : upd;
      int i = 1;
      if (&st == &upd) {
        upd.bind(i++, nlohmann::json(a).dump());
        upd.bind(i++, nlohmann::json(b).dump());
        upd.bind(i++, names_erased(d.reason) ? std::string("(erased)") : d.reason);
      }
      st.bind(i, static_cast<int64_t>(d.id));
      st.exec();
      st.reset();
    }
  }
  const std::string s = salt(store);
  {
    SQLite::Statement ins(store.db(), "INSERT OR IGNORE INTO tombstones(digest, erased_at) VALUES(?, ?)");
    const auto tombstone = [&](const std::string& key) {
      ins.bind(1, hmac_sha256_hex(s, key));
      ins.bind(2, static_cast<int64_t>(now_ms()));
      ins.exec();
      ins.reset();
    };
    for (const auto& n : r.nodes) {
      tombstone(n);
      if (const auto bare = unscoped_key(n)) tombstone(*bare);
    }
  }
  // A new revision: reconcile runs again, and the person is no longer live, so the next push deletes
  // it on every target that holds it.
  store.set_meta("rev", std::to_string(rev));
  store.set_identity_input_revision(rev);
  store.set_persons_revision(rev);
  tx.commit();
  store.records().reload_tombstones();
  // secure_delete overwrites the deleted rows' pages, but in the write-ahead log first: until those
  // pages are copied into the file, the file still holds the old ones, and the log the pages before
  // them. Copied now, and the log emptied. Another process reading the store (health --watch) can hold
  // that back until it lets go.
  SQLite::Statement checkpoint(store.db(), "PRAGMA wal_checkpoint(TRUNCATE)");
  if (checkpoint.executeStep() && checkpoint.getColumn(0).getInt() != 0)
    spdlog::warn(
        "the erased rows are deleted, but another process is reading {} (chansync health --watch?), so "
        "their old bytes stay in the file and its -wal log until the last process using the store closes "
        "it; stop that process, or run `sqlite3 {} 'PRAGMA wal_checkpoint(TRUNCATE)'` once it is idle",
        store.path(), store.path());
  return r;
}

}  // namespace chansync
