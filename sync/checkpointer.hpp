#pragma once
// Copies the state store's write-ahead log into the database file on a thread of its own while a
// pull goes on writing. SQLite does it in the committing thread (wal_autocheckpoint): the writer, the
// pull's bottleneck, stopped for every 64 MiB of log to copy it and wait for two fsyncs (0.3–0.4 s
// each, four times in a pull of 1M messages), and a first pull's last copy came after its index
// builds. With a Checkpointer the copy runs beside the writing, and the copy of the rows beside the
// index builds (now(), before them). The log grows to twice the size that starts a copy before the
// writer copies the rest itself so that it can start again from its beginning (see on_commit): at
// most 128 MiB beside the store. A checkpoint is safe at any moment: a crash during one loses
// nothing committed.
#include <SQLiteCpp/Database.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>

namespace chansync {

class StateStore;

class Checkpointer {
 public:
  // Takes over the store's checkpoints until destroyed. Does nothing for a store without a log
  // (":memory:") or when its second connection cannot be opened: SQLite's own checkpoints stay.
  explicit Checkpointer(StateStore& store);
  ~Checkpointer();  // waits for a copy under way; what is left, the store's close copies
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Asks for a copy of everything committed so far, whatever the log's size.
  void now();

 private:
  static int on_commit(void* self, struct sqlite3*, const char*, int frames);
  void run(std::stop_token stop);

  StateStore& m_store;
  int m_frames = 0;  // the log's size that starts a copy, in pages: SQLite's autocheckpoint setting
  std::unique_ptr<SQLite::Database> m_db;  // its own connection: a checkpoint runs beside the writer's
  std::mutex m_copying;  // held by whoever copies the log: this thread, or the writer at twice the size
  std::mutex m_mutex;
  std::condition_variable_any m_asked;
  bool m_wanted = false;
  std::jthread m_thread;  // last: started once the members above exist, stopped and joined first
};

}  // namespace chansync
