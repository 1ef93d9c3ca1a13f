#include "sync/message_parts.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <numeric>
#include <optional>
#include <system_error>
#include <thread>

#include "sync/error.hpp"
#include "sync/interner.hpp"
#include "sync/state_rows.hpp"

namespace chansync {
namespace {

// A record: the person's number (u32), its kind (u8), then each column of the row, text as its length
// (u32) and bytes: a message's in k_message_cols order, sent_at as 8 bytes and the conversation as its
// number in m_conversation_ids (u32); a contact's in k_contact_cols order, all as text. Native byte
// order: the files live as long as the process.
enum Kind : std::uint8_t { k_message, k_contact };
constexpr int k_conversation_col = 2;  // a message's conversation id, in k_message_row_cols

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void put_text(std::string& out, std::string_view text) {
  put(out, static_cast<std::uint32_t>(text.size()));
  out.append(text);
}
template <class T>
T get(const std::string& in, std::size_t& at) {
  T v;
  std::memcpy(&v, in.data() + at, sizeof v);
  at += sizeof v;
  return v;
}

[[noreturn]] void scratch_failed(const std::filesystem::path& dir, const char* doing, int err) {
  const bool full = err == ENOSPC || err == EDQUOT;
  throw Failure(Errc::io, fmt::format("cannot {} a scratch file in {}: {}{}", doing, dir.string(), std::strerror(err),
                                      full ? ". A pass over every person first sorts the stored messages there, which "
                                             "needs about as much free space as they take; free some there"
                                           : ""));
}

// Writes `bytes` at `at` in the file (two readers write one file, each where it reserved).
void write_at(int fd, const std::string& bytes, std::uint64_t at, const std::filesystem::path& dir) {
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(at + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) scratch_failed(dir, "write", errno);
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

MessageParts::MessageParts(SQLite::Database& db, const std::filesystem::path& dir, const PackedStrings& persons,
                           std::size_t part_bytes, std::int64_t split_at)
    : m_dir(dir) {
  try {
    fill(db, persons, part_bytes, split_at);
  } catch (...) {
    for (const int fd : m_fds) ::close(fd);  // no destructor runs for a constructor that throws
    throw;
  }
}

void MessageParts::fill(SQLite::Database& db, const PackedStrings& persons, std::size_t part_bytes,
                        std::int64_t split_at) {
  const std::filesystem::path& dir = m_dir;
  if (persons.empty()) return;  // no person, no part: take() hands out nothing
  // Each conversation's person and id, by its key (SQLite gives keys from 1 up, each the largest
  // yet plus one, so a vector indexed by key holds them). A conversation whose customer is no
  // person's has none: its messages are no one's. The ids are numbered in the order take() reads
  // them, by person: at a million messages they outgrow the processor's cache, and read at random,
  // once per message, they cost a cache miss each. Read in the table's order (reading them by person
  // through the indexes took twice as long), then placed by person with a counting sort.
  std::vector<std::uint32_t> person_of;
  std::vector<std::uint32_t> slot_of_key;
  m_names.assign(persons.size(), {});
  {
    slot_of_key.assign(static_cast<std::size_t>(db.execAndGet("SELECT max(key) FROM conversations").getInt64()) + 1,
                       k_none);
    PackedStrings ids;
    std::vector<std::pair<std::uint32_t, std::size_t>> found;  // (person, key) of ids[i]
    SQLite::Statement q(db, R"sql(SELECT c.key, c.id, ph.person_id, c.customer_name FROM conversations c
      JOIN person_handles ph ON ph.node = c.customer)sql");
    // Every byte of the text, as the reads by index take it (getString): a C string would end at a NUL
    // a vendor's name may hold, and a full push would then send another name than an incremental one.
    const auto text = [&q](int col) {
      const auto c = q.getColumn(col);
      const char* p = c.getText();
      return std::string_view(p, static_cast<std::size_t>(c.getBytes()));
    };
    while (q.executeStep()) {
      const auto i = persons.find_sorted(text(2));
      if (i == PackedStrings::npos) continue;
      found.emplace_back(static_cast<std::uint32_t>(i), static_cast<std::size_t>(q.getColumn(0).getInt64()));
      ids.push_back(text(1));
      // The least of the names, so the choice does not depend on row order.
      const std::string_view name = text(3);
      if (!name.empty() && (m_names[i].empty() || name < m_names[i])) m_names[i] = name;
    }
    std::vector<std::uint32_t> start(persons.size() + 1, 0);
    for (const auto& f : found) ++start[f.first + 1];
    std::partial_sum(start.begin(), start.end(), start.begin());
    std::vector<std::uint32_t> order(found.size());
    for (std::uint32_t i = 0; i < found.size(); ++i) order[start[found[i].first]++] = i;
    m_conversation_ids.reserve(ids.size(), ids.chars());
    person_of.reserve(found.size());
    for (const auto i : order) {
      // A conversation stored after max(key) was read (a command reading beside a running sync): room.
      if (found[i].second >= slot_of_key.size()) slot_of_key.resize(found[i].second + 1, k_none);
      slot_of_key[found[i].second] = static_cast<std::uint32_t>(m_conversation_ids.size());
      m_conversation_ids.push_back(ids[i]);
      person_of.push_back(found[i].first);
    }
  }

  // As many parts as keep each about part_bytes, from the size of the whole store (an overestimate).
  const auto store_bytes = static_cast<std::size_t>(db.execAndGet("PRAGMA page_count").getInt64()) *
                           static_cast<std::size_t>(db.execAndGet("PRAGMA page_size").getInt64());
  const std::size_t parts =
      std::clamp<std::size_t>(store_bytes / std::max<std::size_t>(1, part_bytes) + 1, 1, k_max_parts);
  m_per_part = std::max<std::size_t>(1, (persons.size() + parts - 1) / parts);
  const std::string pattern = (dir / "chansync-scratch-XXXXXX").string();
  for (std::size_t p = 0; p * m_per_part < persons.size(); ++p) {
    std::string name = pattern;
    const int fd = ::mkstemp(name.data());
    if (fd < 0) scratch_failed(dir, "create", errno);
    m_fds.push_back(fd);
    ::unlink(name.c_str());
  }

  // Each reader gathers records in a buffer per part and writes a full one where it reserves room at
  // the end of the part's file: about 1 MiB of buffers per reader, from 8 to 32 KiB each (2.3 MiB at
  // most, with 256 parts).
  std::vector<std::atomic<std::uint64_t>> ends(m_fds.size());
  const std::size_t flush_at = std::clamp<std::size_t>((std::size_t{1} << 20) / m_fds.size(), 8 << 10, 32 << 10);
  using Buffers = std::vector<std::string>;  // a reader's, one per part
  auto buffers = [&] {
    Buffers b(m_fds.size());
    for (auto& p : b) p.reserve(flush_at + 1024);
    return b;
  };
  auto write_part = [&](std::size_t part, std::string& out) {
    if (out.empty()) return;
    write_at(m_fds[part], out, ends[part].fetch_add(out.size()), dir);
    out.clear();
  };
  // A record goes straight into its part's buffer: start() writes its head and returns the buffer,
  // done() writes the buffer out once it is full.
  auto start = [&](Buffers& b, std::size_t person, Kind kind) -> std::string& {
    std::string& out = b[person / m_per_part];
    put(out, static_cast<std::uint32_t>(person));
    put(out, kind);
    return out;
  };
  auto done = [&](Buffers& b, std::size_t person) {
    std::string& out = b[person / m_per_part];
    if (out.size() >= flush_at) write_part(person / m_per_part, out);
  };
  auto flush = [&](Buffers& b) {
    for (std::size_t p = 0; p < b.size(); ++p) write_part(p, b[p]);
  };
  // The messages whose rowids are in [first, last], in storage order; the conversation as its number
  // in m_conversation_ids.
  std::atomic<bool> failed = false;
  auto scan = [&](SQLite::Database& from, std::int64_t first, std::int64_t last) {
    Buffers b = buffers();
    SQLite::Statement q(from,
                        fmt::format("SELECT {} FROM messages m WHERE m.rowid BETWEEN ? AND ?", k_message_row_cols));
    q.bind(1, first);
    q.bind(2, last);
    while (q.executeStep() && !failed) {
      const auto key = static_cast<std::uint64_t>(q.getColumn(MessageRow::k_columns).getInt64());
      const std::uint32_t slot = key < slot_of_key.size() ? slot_of_key[key] : k_none;
      if (slot == k_none) continue;
      const MessageRow row = message_row(q, 0);
      const std::uint32_t person = person_of[slot];
      std::string& out = start(b, person, k_message);
      for (int i = 0; i < MessageRow::k_columns; ++i) {
        if (i == MessageRow::k_sent_at)
          put(out, row.sent_at);
        else if (i == k_conversation_col)
          put(out, slot);
        else
          put_text(out, row.text[i]);
      }
      done(b, person);
    }
    flush(b);
  };
  // A store of many messages is read by two threads, half the rowids each, the second on a connection
  // of its own: the store is in WAL mode, and with no transaction open here and the state lock held,
  // both read the same last commit. At 1M messages the pass took 1.0 s on one thread while the other
  // core idled, before the first person could be sent.
  SQLite::Statement bounds(db, "SELECT coalesce(min(rowid), 0), coalesce(max(rowid), -1) FROM messages");
  bounds.executeStep();
  const std::int64_t first = bounds.getColumn(0).getInt64(), last = bounds.getColumn(1).getInt64();
  bounds.reset();
  // The second connection is opened here, and only outside a transaction (one with writes of its own
  // would show them to this connection alone): a store it cannot open, a thread that cannot start, and
  // a small store are read by this thread alone.
  std::optional<SQLite::Database> second;
  if (const char* file = sqlite3_db_filename(db.getHandle(), "main");
      file && *file && sqlite3_get_autocommit(db.getHandle()) && last - first + 1 >= split_at) {
    try {
      second.emplace(file, SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX);
      second->setBusyTimeout(5000);
      second->exec("PRAGMA cache_size = -1024");  // read once, front to back: no cache to speak of
    } catch (const SQLite::Exception& e) {
      spdlog::debug("reading the messages on one thread: a second connection to the store failed: {}", e.what());
      second.reset();
    }
  }
  std::int64_t mid = second ? first + (last - first) / 2 : last;
  std::exception_ptr helper_error;
  std::thread helper;
  if (second) {
    try {
      helper = std::thread([&] {
        try {
          scan(*second, mid + 1, last);
        } catch (...) {
          helper_error = std::current_exception();
          failed = true;
        }
      });
      m_readers = 2;
    } catch (const std::system_error& e) {
      spdlog::debug("reading the messages on one thread: {}", e.what());
      mid = last;
    }
  }
  try {
    scan(db, first, mid);
  } catch (...) {
    failed = true;
    if (helper.joinable()) helper.join();
    throw;
  }
  if (helper.joinable()) helper.join();
  if (helper_error) std::rethrow_exception(helper_error);
  // Contacts by the person their record node belongs to (scanned in the contacts' order).
  Buffers b = buffers();
  SQLite::Statement c(db, fmt::format(R"sql(SELECT ph.person_id, {} FROM contacts c
    JOIN person_handles ph ON ph.node = 'crm_id:' || c.connector || '/' || c.id)sql",
                                      k_contact_cols));
  while (c.executeStep()) {
    const auto person = persons.find_sorted(c.getColumn(0).getText());
    if (person == PackedStrings::npos) continue;
    const ContactRow row = contact_row(c, 1);
    std::string& out = start(b, person, k_contact);
    for (const auto text : row.text) put_text(out, text);
    done(b, person);
  }
  flush(b);
}

MessageParts::~MessageParts() {
  for (const int fd : m_fds) ::close(fd);
}

void MessageParts::load(std::size_t part) {
  const int fd = m_fds[part];
  const off_t size = ::lseek(fd, 0, SEEK_END);
  if (size < 0) scratch_failed(m_dir, "read", errno);
  m_bytes.resize(static_cast<std::size_t>(size));
  for (std::size_t done = 0; done < m_bytes.size();) {
    const ssize_t n = ::pread(fd, m_bytes.data() + done, m_bytes.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) scratch_failed(m_dir, "read", n < 0 ? errno : EIO);
    done += static_cast<std::size_t>(n);
  }
  m_index.clear();
  for (std::size_t at = 0; at < m_bytes.size();) {
    const std::size_t record = at;
    const auto person = get<std::uint32_t>(m_bytes, at);
    if (get<Kind>(m_bytes, at) == k_contact) {
      for (int i = 0; i < ContactRow::k_columns; ++i) at += get<std::uint32_t>(m_bytes, at);
    } else {
      for (int i = 0; i < MessageRow::k_columns; ++i)
        at += i == MessageRow::k_sent_at ? sizeof(std::int64_t)
              : i == k_conversation_col  ? sizeof(std::uint32_t)
                                         : get<std::uint32_t>(m_bytes, at);
    }
    m_index.emplace_back(person, record);
  }
  std::sort(m_index.begin(), m_index.end());
  m_next = 0;
  m_loaded = part;
}

MessageParts::Person MessageParts::take(std::size_t i) {
  Person out;
  const std::size_t part = i / m_per_part;
  if (part >= m_fds.size()) return out;
  out.vendor_name = std::move(m_names[i]);
  if (part != m_loaded) load(part);
  while (m_next < m_index.size() && m_index[m_next].first < i) ++m_next;
  // Room for all of them at once: a vector grown one message at a time moved each a few times over,
  // and the freed copies stayed with the allocator: a 1M first sync peaked at 100-107 MB with this
  // against 107-112 MB without (200k: 72 against 74 MB), in as much time.
  std::size_t records = 0;
  while (m_next + records < m_index.size() && m_index[m_next + records].first == i) ++records;
  out.messages.reserve(records);
  const auto text = [&](std::size_t& at) {
    const auto n = get<std::uint32_t>(m_bytes, at);
    at += n;
    return std::string_view(m_bytes).substr(at - n, n);
  };
  for (; m_next < m_index.size() && m_index[m_next].first == i; ++m_next) {
    std::size_t at = m_index[m_next].second + sizeof(std::uint32_t);
    if (get<Kind>(m_bytes, at) == k_contact) {
      ContactRow row;
      for (auto& column : row.text) column = text(at);
      out.contacts.push_back(to_contact(row));
      continue;
    }
    MessageRow row;
    for (int c = 0; c < MessageRow::k_columns; ++c) {
      if (c == MessageRow::k_sent_at)
        row.sent_at = get<std::int64_t>(m_bytes, at);
      else if (c == k_conversation_col)
        row.text[c] = m_conversation_ids[get<std::uint32_t>(m_bytes, at)];
      else
        row.text[c] = text(at);
    }
    out.messages.push_back(to_message(row));
  }
  return out;
}

}  // namespace chansync
