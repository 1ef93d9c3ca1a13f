#include "sync/spool.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>
#include <utility>

#include "sync/timestamp.hpp"

namespace fs = std::filesystem;

namespace chansync {
namespace {

constexpr std::size_t k_max_header = 32;  // "<20 digits> <8 hex>\n" fits
constexpr std::uint64_t k_read_chunk = 8u << 20;
constexpr std::size_t k_page_bytes = 32u << 20;  // payload bytes per page, whatever their number
static_assert(k_read_chunk > k_spool_max_body + k_max_header + 1);

std::string connector_dir(const std::string& dir, const std::string& connector) {
  return (fs::path(dir) / connector).string();
}

std::uint32_t crc_of(std::string_view body) {
  return static_cast<std::uint32_t>(
      ::crc32(::crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
}

// A full disk, a quota, a file-size limit or a failing disk: nothing permissions would fix.
bool disk_full(int err) {
  return err == ENOSPC || err == EDQUOT || err == EFBIG || err == EIO;
}

Error io_error(int err, const std::string& path, const std::string& doing) {
  return Error{disk_full(err) ? Errc::io : Errc::cant_write,
               fmt::format("webhook spool {}: {} failed: {}; {}", path, doing, std::strerror(err),
                           disk_full(err) ? "free space on that filesystem; the vendor retries what was refused"
                                          : "check that [listen] spool_dir exists or can be created and is "
                                            "writable by this user")};
}

struct Segment {
  std::uint64_t seq = 0;
  std::string path;
};

// The connector's segments, oldest first. A missing directory has none.
Result<std::vector<Segment>> segments(const std::string& dir) {
  std::vector<Segment> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (!name.ends_with(".spool")) continue;
    std::uint64_t seq = 0;
    const auto stem = std::string_view(name).substr(0, name.size() - 6);
    auto [p, e] = std::from_chars(stem.data(), stem.data() + stem.size(), seq);
    if (e == std::errc() && p == stem.data() + stem.size()) out.push_back({seq, it->path().string()});
  }
  if (ec)
    return fail(Errc::io,
                fmt::format("webhook spool {}: cannot list it: {}; check its permissions", dir, ec.message()));
  std::sort(out.begin(), out.end(), [](const Segment& a, const Segment& b) { return a.seq < b.seq; });
  return out;
}

struct Cursor {
  std::uint64_t seq = 0;
  std::uint64_t offset = 0;
};

Result<Cursor> parse_cursor(const std::string& text) {
  if (text.empty()) return Cursor{};
  Cursor c;
  const auto colon = text.find(':');
  const char* s = text.data();
  const char* end = s + text.size();
  if (colon != std::string::npos && std::from_chars(s, s + colon, c.seq).ptr == s + colon &&
      std::from_chars(s + colon + 1, end, c.offset).ptr == end)
    return c;
  return fail(Errc::state, fmt::format("the saved spool position \"{}\" is not <segment>:<offset>; run `chansync "
                                       "state reset` for this connector's webhooks stream",
                                       text));
}

std::string format_cursor(std::uint64_t seq, std::uint64_t offset) {
  return fmt::format("{}:{}", seq, offset);
}

// Parses "<len> <crc>\n" at the start of `buf`. Returns the header's length, 0 when incomplete, -1 when
// it is not a header.
long parse_header(std::string_view buf, std::size_t& len, std::uint32_t& crc) {
  const auto nl = buf.substr(0, k_max_header).find('\n');
  if (nl == std::string_view::npos) return buf.size() < k_max_header ? 0 : -1;
  const auto line = buf.substr(0, nl);
  const auto sp = line.find(' ');
  if (sp == std::string_view::npos || line.size() - sp - 1 != 8) return -1;
  auto r1 = std::from_chars(line.data(), line.data() + sp, len);
  auto r2 = std::from_chars(line.data() + sp + 1, line.data() + line.size(), crc, 16);
  if (r1.ec != std::errc() || r1.ptr != line.data() + sp || r2.ec != std::errc() ||
      r2.ptr != line.data() + line.size() || len > k_spool_max_body)
    return -1;
  return static_cast<long>(nl + 1);
}

}  // namespace

SpoolWriter::SpoolWriter(std::string dir, std::string connector, std::uint64_t segment_bytes)
    : m_dir(connector_dir(dir, connector)), m_connector(std::move(connector)), m_segment_bytes(segment_bytes) {
  std::error_code ec;
  fs::create_directories(m_dir, ec);
  if (ec) throw Failure(io_error(ec.value(), m_dir, "creating the directory"));
  value_or_throw(open_segment());
}

SpoolWriter::~SpoolWriter() {
  if (m_fd >= 0) ::close(m_fd);
}

Result<void> SpoolWriter::open_segment() {
  // Sequence numbers grow across restarts even when the directory was emptied: never below the
  // current time in microseconds, so a saved cursor never points past a new segment.
  auto existing = segments(m_dir);
  if (!existing) return std::unexpected(existing.error());
  std::uint64_t seq = static_cast<std::uint64_t>(now_ms()) * 1000;
  if (!existing->empty()) seq = std::max(seq, existing->back().seq + 1);
  const std::string path = (fs::path(m_dir) / fmt::format("{:020}.spool", seq)).string();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(io_error(errno, path, "creating a segment"));
  // The new name must survive a crash as well as what is written into it.
  if (const int dfd = ::open(m_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    const int rc = ::fsync(dfd);
    const int err = errno;
    ::close(dfd);
    if (rc != 0) {
      ::close(fd);
      return std::unexpected(io_error(err, m_dir, "syncing the directory"));
    }
  }
  if (m_fd >= 0) {
    // Frames appended to the segment being left may have been acknowledged by nothing yet: they are
    // made durable before it is closed, or the next sync() fails their batch.
    if (m_unsynced && ::fdatasync(m_fd) != 0 && !m_left_unsynced)
      m_left_unsynced = io_error(errno, m_path, "fsync of the segment left");
    ::close(m_fd);
  }
  m_fd = fd;
  m_path = path;
  m_size = 0;
  m_unsynced = false;
  return {};
}

Result<void> SpoolWriter::append(std::string_view body) {
  if (body.size() > k_spool_max_body)
    return fail(Errc::usage, fmt::format("webhook spool {}: a payload of {} bytes is over the {} a frame may hold",
                                         m_path, body.size(), k_spool_max_body));
  // After a failed write or fsync this segment may hold bytes nobody can vouch for: what follows
  // goes into a new one, and the reader treats the old one's tail as torn.
  if (m_broken) {
    if (auto r = open_segment(); !r) return r;
    m_broken = false;
  }
  const std::string header = fmt::format("{} {:08x}\n", body.size(), crc_of(body));
  const struct iovec iov[3] = {{const_cast<char*>(header.data()), header.size()},
                               {const_cast<char*>(body.data()), body.size()},
                               {const_cast<char*>("\n"), 1}};
  const std::size_t total = header.size() + body.size() + 1;
  std::size_t done = 0;
  while (done < total) {
    // writev once; a short write (rare) is finished with plain writes of what is left.
    ssize_t n;
    if (done == 0) {
      n = ::writev(m_fd, iov, 3);
    } else {
      const std::string rest = header + std::string(body) + "\n";
      n = ::write(m_fd, rest.data() + done, total - done);
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      if (::ftruncate(m_fd, static_cast<off_t>(m_size)) != 0) {
        spdlog::error("webhook spool {}: cannot cut back a partial frame: {}; continuing in a new segment", m_path,
                      std::strerror(errno));
        m_broken = true;
      } else if ((err == ENOSPC || err == EDQUOT) && m_size > 0) {
        // The disk is full: what follows goes into a new segment, so that this one, no longer the
        // newest, is deleted once a pull has read it, and that pull frees the space listen needs.
        m_broken = true;
      }
      return std::unexpected(io_error(err, m_path, "appending a payload"));
    }
    done += static_cast<std::size_t>(n);
  }
  m_size += total;
  m_unsynced = true;
  return {};
}

Result<void> SpoolWriter::sync() {
  if (::fdatasync(m_fd) != 0) {
    // Linux reports a writeback error once per file: a second fdatasync would say 0 for the same
    // lost pages. Nothing more goes into this segment.
    m_broken = true;
    m_left_unsynced.reset();
    // Those frames are failed to their senders now: the next segment's batch is not held to them.
    m_unsynced = false;
    return std::unexpected(io_error(errno, m_path, "fsync"));
  }
  m_unsynced = false;
  if (m_left_unsynced) return std::unexpected(*std::exchange(m_left_unsynced, std::nullopt));
  return {};
}

bool SpoolWriter::full() const {
  return m_size >= m_segment_bytes;
}

Result<void> SpoolWriter::rotate() {
  if (auto r = open_segment(); !r) {
    m_broken = true;  // the next append tries again
    return r;
  }
  m_broken = false;
  return {};
}

SpoolLock::SpoolLock(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Failure(io_error(ec.value(), dir, "creating the directory"));
  const std::string path = (fs::path(dir) / "listen.lock").string();
  m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (m_fd < 0) throw Failure(io_error(errno, path, "creating the lock file"));
  // `chansync health` holds the lock for an instant to see whether listen runs: wait that out.
  int rc = 0;
  for (int tries = 0; (rc = ::flock(m_fd, LOCK_EX | LOCK_NB)) != 0 && errno == EWOULDBLOCK && tries < 20; ++tries)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (rc != 0) {
    ::close(m_fd);
    m_fd = -1;
    throw Failure(Errc::locked, fmt::format("another `chansync listen` is using the webhook spool {} (it holds {}); "
                                            "stop it first, or give this one its own [listen] spool_dir",
                                            dir, path));
  }
}

SpoolLock::~SpoolLock() {
  if (m_fd >= 0) ::close(m_fd);
}

Result<SpoolPage> read_spool(const std::string& dir, const std::string& connector, const std::string& cursor,
                             std::size_t max) {
  auto at = parse_cursor(cursor);
  if (!at) return std::unexpected(at.error());
  auto segs = segments(connector_dir(dir, connector));
  if (!segs) return std::unexpected(segs.error());
  SpoolPage page;
  page.next_cursor = cursor;
  // The first segment at or after the cursor's (a deleted one continues at the next that exists).
  auto seg = std::find_if(segs->begin(), segs->end(), [&](const Segment& s) { return s.seq >= at->seq; });
  if (seg == segs->end()) {
    page.done = true;
    return page;
  }
  std::uint64_t offset = seg->seq == at->seq ? at->offset : 0;
  std::string buf;
  std::size_t bytes = 0;  // of the payloads so far: a page stops at k_page_bytes too
  auto full = [&] { return page.payloads.size() >= max || bytes >= k_page_bytes; };
  while (!full()) {
    const bool newest = seg + 1 == segs->end();
    const int fd = ::open(seg->path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return fail(Errc::io, fmt::format("webhook spool {}: cannot open it: {}; check its permissions", seg->path,
                                        std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return fail(Errc::io, fmt::format("webhook spool {}: cannot read its size: {}; check the disk", seg->path,
                                        std::strerror(err)));
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    // Read the rest of the segment in chunks that always hold at least one whole frame.
    const std::uint64_t want = std::min<std::uint64_t>(size > offset ? size - offset : 0, k_read_chunk);
    buf.resize(want);
    std::size_t got = 0;
    while (got < want) {
      const ssize_t n = ::pread(fd, buf.data() + got, want - got, static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        ::close(fd);
        return fail(Errc::io, fmt::format("webhook spool {}: reading at offset {} failed: {}; check the disk (the "
                                          "stream's cursor stays where it was)",
                                          seg->path, offset + got, std::strerror(err)));
      }
      if (n == 0) break;  // shorter than fstat said: read what is there
      got += static_cast<std::size_t>(n);
    }
    ::close(fd);
    std::string_view view(buf.data(), got);
    std::size_t pos = 0;
    bool torn = false;
    // The frame at `at` is whole and its checksum matches.
    auto frame_at = [&](std::size_t at) {
      std::size_t len = 0;
      std::uint32_t crc = 0;
      const long h = parse_header(view.substr(at), len, crc);
      const std::size_t end = at + static_cast<std::size_t>(h) + len;
      return h > 0 && end < view.size() && view[end] == '\n' &&
             crc_of(view.substr(at + static_cast<std::size_t>(h), len)) == crc;
    };
    while (!full() && pos < view.size()) {
      std::size_t len = 0;
      std::uint32_t crc = 0;
      const long h = parse_header(view.substr(pos), len, crc);
      if (h == 0 || (h > 0 && pos + static_cast<std::size_t>(h) + len + 1 > view.size())) {
        torn = true;  // incomplete: still being written, or torn by a crash
        break;
      }
      if (h < 0) {
        // Not a frame (disk damage): skip to the next whole frame after a newline, keeping the bytes
        // in between as a dead letter, so one damaged spot costs only itself.
        std::size_t next = pos + 1;
        while (next < view.size() && !(view[next - 1] == '\n' && frame_at(next))) ++next;
        page.corrupt.push_back(
            {fmt::format("{}:{}", seg->seq, offset + pos),
             fmt::format(
                 "webhook spool {}: {} bytes without a frame header at offset {} (disk "
                 "damage?); kept here as is{}",
                 seg->path, next - pos, offset + pos,
                 next - pos > k_spool_max_body ? fmt::format(" (the first {} MiB)", k_spool_max_body >> 20) : ""),
             std::string(view.substr(pos, std::min(next - pos, k_spool_max_body)))});
        pos = next;
        continue;
      }
      const auto body = view.substr(pos + static_cast<std::size_t>(h), len);
      if (crc_of(body) != crc || view[pos + static_cast<std::size_t>(h) + len] != '\n')
        page.corrupt.push_back(
            {fmt::format("{}:{}", seg->seq, offset + pos),
             fmt::format("webhook spool {}: checksum mismatch at offset {} (disk damage?)", seg->path, offset + pos),
             std::string(body)});
      else {
        page.payloads.emplace_back(body);
        bytes += body.size();
      }
      pos += static_cast<std::size_t>(h) + len + 1;
    }
    const bool chunk_cut = offset + got < size;  // the chunk ended before the segment did
    offset += pos;
    page.next_cursor = format_cursor(seg->seq, offset);
    if (chunk_cut && !full()) continue;                     // read on in this segment
    if (full() && (offset < size || !newest)) return page;  // more to read
    if (newest) {
      // The writer may still be appending to the newest segment: stop at what is complete.
      page.done = true;
      return page;
    }
    if (torn || offset < size)
      spdlog::warn(
          "webhook spool {}: {} bytes at the end were never acknowledged (listen stopped mid-write); "
          "skipped",
          seg->path, size - offset);
    ++seg;
    offset = 0;
    page.next_cursor = format_cursor(seg->seq, 0);
  }
  return page;
}

std::size_t trim_spool(const std::string& dir, const std::string& connector, const std::string& cursor) {
  auto at = parse_cursor(cursor);
  auto segs = segments(connector_dir(dir, connector));
  if (!at || !segs || segs->empty()) return 0;
  std::size_t removed = 0;
  for (auto it = segs->begin(); it + 1 != segs->end() && it->seq < at->seq; ++it) {
    std::error_code ec;
    if (fs::remove(it->path, ec))
      ++removed;
    else if (ec)
      spdlog::warn("webhook spool {}: cannot delete this drained segment: {}; delete it by hand", it->path,
                   ec.message());
  }
  return removed;
}

SpoolBacklog spool_backlog(const std::string& dir, const std::string& connector, const std::string& cursor) {
  SpoolBacklog out;
  auto at = parse_cursor(cursor);
  auto segs = segments(connector_dir(dir, connector));
  if (!at || !segs) return out;
  for (const auto& s : *segs) {
    if (s.seq < at->seq) continue;
    std::error_code ec;
    const auto size = fs::file_size(s.path, ec);
    if (ec) continue;
    const auto from = s.seq == at->seq ? std::min<std::uint64_t>(at->offset, size) : 0;
    if (size > from) {
      ++out.segments;
      out.bytes += size - from;
    }
  }
  return out;
}

}  // namespace chansync
