#pragma once
// Every person's CRM contacts, messages and vendor name for a pass over all persons (push --full, a
// target's first push), read in storage order. By index, a person's messages cost one random page
// read each: they are stored in the order they were pulled, so a person's are spread over the whole
// table (at 1M messages, 1.4M reads of a 340 MB file, most of a push); contacts likewise, once the
// contacts table outgrows the page cache. MessageParts instead reads each table once, front to back,
// and sorts the rows by person into scratch files, each holding a range of persons; then it hands
// out each person's rows, reading one file (a few MiB) at a time. The names come from the same pass
// over conversations that finds each one's person. A store whose messages span k_split_at rowids or
// more is read by two threads, half the rowids each, the second on a read-only connection of its own.
//
// The scratch files are made in the state store's directory and unlinked as soon as they are open,
// so nothing is left behind, even by a killed process. They take about as much space as the stored
// messages and contacts. Private to the state store's .cpp files.
#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "sync/model.hpp"
#include "sync/packed_strings.hpp"

namespace chansync {

class MessageParts {
 public:
  static constexpr std::size_t k_part_bytes = std::size_t{4} << 20;  // scratch per file, about
  static constexpr std::size_t k_max_parts = 256;                    // open files at once
  static constexpr std::int64_t k_split_at = 20000;                  // stored messages from which two threads read them

  // `persons`: every person id, in byte order. Reads every message whose conversation's customer is
  // a node of one of them. Throws Failure(Errc::io), naming `dir` and the cause, when a scratch file
  // cannot be made or written (a full disk, a directory that is not writable).
  MessageParts(SQLite::Database& db, const std::filesystem::path& dir, const PackedStrings& persons,
               std::size_t part_bytes = k_part_bytes, std::int64_t split_at = k_split_at);
  ~MessageParts();
  MessageParts(const MessageParts&) = delete;
  MessageParts& operator=(const MessageParts&) = delete;

  // What the pass read of one person.
  struct Person {
    std::vector<Contact> contacts;  // the CRM contacts of their record nodes, in no particular order
    std::vector<Message> messages;  // in no particular order
    std::string vendor_name;        // the least of the names their conversations carry; "" if none
  };
  // persons[i]'s. `i` must not decrease from one call to the next; persons skipped are dropped.
  // Throws Failure(Errc::io) when a scratch file cannot be read.
  Person take(std::size_t i);
  std::size_t parts() const { return m_fds.size(); }
  int readers() const { return m_readers; }  // threads that read the messages: 1, or 2 past split_at

 private:
  void fill(SQLite::Database& db, const PackedStrings& persons, std::size_t part_bytes, std::int64_t split_at);
  void load(std::size_t part);

  std::filesystem::path m_dir;
  std::vector<std::string> m_names;  // by person
  PackedStrings m_conversation_ids;  // the messages' conversations, numbered in the persons' order
  std::vector<int> m_fds;            // one scratch file per part
  int m_readers = 1;
  std::size_t m_per_part = 1;       // persons per part: part p holds persons [p * m_per_part, ...)
  std::size_t m_loaded = SIZE_MAX;  // the part in m_bytes
  std::string m_bytes;              // its records
  std::vector<std::pair<std::uint32_t, std::size_t>> m_index;  // (person, offset), by person
  std::size_t m_next = 0;                                      // first entry of m_index not taken
};

}  // namespace chansync
