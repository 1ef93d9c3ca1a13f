#include "sync/checkpointer.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "sync/state_store.hpp"

namespace chansync {

Checkpointer::Checkpointer(StateStore& store) : m_store(store) {
  auto& db = store.db();
  if (db.execAndGet("PRAGMA journal_mode").getString() != "wal") return;
  m_frames = db.execAndGet("PRAGMA wal_autocheckpoint").getInt();
  if (m_frames <= 0) return;  // checkpoints are off: leave them off
  try {
    m_db = std::make_unique<SQLite::Database>(store.path(), SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX);
    m_db->setBusyTimeout(5000);
    m_db->exec("PRAGMA synchronous = NORMAL");
  } catch (const SQLite::Exception& e) {
    spdlog::debug("checkpoints stay in the writer's thread: a second connection to {} failed: {}", store.path(),
                  e.what());
    m_db.reset();
    return;
  }
  m_thread = std::jthread([this](std::stop_token stop) { run(stop); });
  // Replaces the autocheckpoint hook (sqlite3_wal_autocheckpoint is this hook); restored on destruction.
  sqlite3_wal_hook(db.getHandle(), &Checkpointer::on_commit, this);
}

Checkpointer::~Checkpointer() {
  if (!m_db) return;
  m_thread.request_stop();
  m_thread.join();
  sqlite3_wal_autocheckpoint(m_store.db().getHandle(), m_frames);
}

void Checkpointer::now() {
  if (!m_db) return;
  {
    std::lock_guard lock(m_mutex);
    m_wanted = true;
  }
  m_asked.notify_one();
}

int Checkpointer::on_commit(void* self, sqlite3* db, const char* name, int frames) {
  auto* c = static_cast<Checkpointer*>(self);
  if (frames >= 2 * c->m_frames) {
    // The log starts again from its beginning only when a write transaction begins after a
    // checkpoint caught up with it, which the copies beside the writing never do while pages keep
    // coming: left alone, the log would grow as large as the store. At twice the size that starts a
    // copy, the writer waits for a copy under way (there rarely is one: it began a size ago) and
    // copies what is left (little) itself, between its transactions.
    std::lock_guard copying(c->m_copying);
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (frames >= c->m_frames) {
    c->now();
  }
  return SQLITE_OK;
}

void Checkpointer::run(std::stop_token stop) {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_asked.wait(lock, stop, [&] { return m_wanted; });
    if (stop.stop_requested()) return;  // a copy asked for and not begun: the store's close makes it
    m_wanted = false;
    lock.unlock();
    int logged = 0, copied = 0;
    // PASSIVE: copies what no reader still needs and never waits for the writer.
    int rc;
    {
      std::lock_guard copying(m_copying);
      rc = sqlite3_wal_checkpoint_v2(m_db->getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &logged, &copied);
    }
    if (rc != SQLITE_OK)
      spdlog::debug("checkpoint of {} failed ({}); the next one or the store's close copies the log", m_store.path(),
                    sqlite3_errstr(rc));
    else
      spdlog::debug("checkpoint: {} of {} log pages copied into {}", copied, logged, m_store.path());
    lock.lock();
  }
}

}  // namespace chansync
