#pragma once
// The webhook spool: what `chansync listen` accepted, kept raw and durable until `pull` has committed
// it to the state store. One directory per connector, <spool_dir>/<connector>/, holding segment files
// "<seq>.spool" (seq: 20 digits, increasing across restarts). A segment is a sequence of frames
//     "<length> <crc32, 8 hex digits>\n" <body> "\n"
// appended by exactly one writer (the `listen` that holds <spool_dir>/listen.lock) and read by `pull`
// without that lock: the spool never waits for the state store, nor the store for the spool.
// A frame is acknowledged to the vendor only after the fsync that made it durable, so a torn frame at
// the end of a segment (listen killed mid-write) was never acknowledged: the reader skips it once a
// newer segment exists, and waits for it while it is the newest (its writer may still be writing).
// The cursor is "<seq>:<offset>" of the next frame to read; segments wholly before the committed
// cursor are deleted (trim_spool), never the newest.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/error.hpp"
#include "sync/model.hpp"

namespace chansync {

// Largest body `listen` accepts (413 past this): Meta's payloads are mostly a few KB, but WhatsApp's
// batch up to 1,000 updates and are documented up to 3 MB.
constexpr std::size_t k_spool_max_body = 4u << 20;

// Appends frames to a connector's spool. One per connector inside `listen`; not thread-safe.
class SpoolWriter {
 public:
  // Creates <dir>/<connector>/ and opens a new segment there. Throws Failure (Errc::cant_write, or
  // Errc::io on a full disk) naming the path and the fix.
  SpoolWriter(std::string dir, std::string connector, std::uint64_t segment_bytes = 64u << 20);
  ~SpoolWriter();
  SpoolWriter(const SpoolWriter&) = delete;
  SpoolWriter& operator=(const SpoolWriter&) = delete;

  // Writes one frame; not durable until sync(). On failure the segment is cut back to where it was,
  // so no partial frame is left behind (or, when that fails too, the next frame starts a new
  // segment), and the error says why (Errc::io for a full disk). A body over k_spool_max_body is
  // refused (Errc::usage).
  Result<void> append(std::string_view body);
  // fdatasync: every frame appended so far is durable once this returns without error, also those
  // appended to a segment left since the last sync() (a full disk moves on to a new one: the old one
  // is synced as it is closed, and an error there is this call's). After an error, none appended
  // since the last good sync() may be trusted, and the next append() starts a new segment.
  Result<void> sync();
  // The segment has reached its size: rotate() after the sync() that made it durable.
  bool full() const;
  // Starts a new segment (after a failure, the next append() tries again).
  Result<void> rotate();
  const std::string& segment_path() const { return m_path; }

 private:
  Result<void> open_segment();

  std::string m_dir, m_connector, m_path;
  std::uint64_t m_segment_bytes, m_size = 0;
  int m_fd = -1;
  bool m_broken = false;                 // a write or fsync failed here: the next append starts a new segment
  bool m_unsynced = false;               // frames were appended since the last fdatasync of m_fd
  std::optional<Error> m_left_unsynced;  // syncing a segment as it was left failed: sync() says so
};

// Held by one `listen` for its whole run: an exclusive flock on <dir>/listen.lock. Throws
// Failure(Errc::locked) when another listen holds it, naming the file.
class SpoolLock {
 public:
  explicit SpoolLock(const std::string& dir);
  ~SpoolLock();
  SpoolLock(const SpoolLock&) = delete;
  SpoolLock& operator=(const SpoolLock&) = delete;

 private:
  int m_fd = -1;
};

struct SpoolPage {
  std::vector<std::string> payloads;  // bodies in arrival order
  std::vector<DeadLetter> corrupt;    // frames whose checksum or header is wrong (disk damage), raw
  std::string next_cursor;            // where the next read starts
  bool done = false;                  // nothing more to read now
};

// Reads up to `max` frames (and about 32 MiB) after `cursor` ("" = the oldest segment's start). A missing spool is an
// empty one. Errors (unreadable directory or file, bad cursor) name the path.
Result<SpoolPage> read_spool(const std::string& dir, const std::string& connector, const std::string& cursor,
                             std::size_t max);

// Deletes the segments wholly before `cursor`, except the newest. Returns how many; logs and skips
// files it cannot delete (they are read past again harmlessly, since the cursor is beyond them).
std::size_t trim_spool(const std::string& dir, const std::string& connector, const std::string& cursor);

// Frames held in the spool after `cursor` and the bytes they take (for `state show` and health).
struct SpoolBacklog {
  std::size_t segments = 0;
  std::uint64_t bytes = 0;
};
SpoolBacklog spool_backlog(const std::string& dir, const std::string& connector, const std::string& cursor);

}  // namespace chansync
