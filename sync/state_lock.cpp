#include "sync/state_lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "sync/replace_file.hpp"
#include "sync/timestamp.hpp"

namespace chansync {

Result<StateLock> StateLock::acquire(const std::string& state_path, const std::string& command, std::string* held_by) {
  if (state_path == ":memory:") return StateLock(-1);
  const std::string path = real_path(state_path) + ".lock";
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    // A full disk is an I/O problem (74); anything else that stops creating a file is "cannot create" (73).
    const bool full = err == ENOSPC || err == EDQUOT || err == EIO;
    return fail(full ? Errc::io : Errc::cant_write,
                fmt::format("cannot create the state lock file {}: {}; {}", path, std::strerror(err),
                            full ? "free space on that filesystem and run again"
                                 : "check that the state directory exists or can be created and is writable by "
                                   "this user, or point [state] path / --state elsewhere"));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[512] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string holder = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "an unknown process";
    while (!holder.empty() && holder.back() == '\n') holder.pop_back();
    ::close(fd);
    if (held_by) *held_by = holder;
    return fail(Errc::locked, fmt::format("state {} is in use by {}; this run did nothing. Retry when it has "
                                          "finished (exit code 75 means: try again later)",
                                          state_path, holder));
  }
  const std::string me =
      fmt::format("pid {} (chansync {}, started {})\n", ::getpid(), command, format_rfc3339(now_ms()));
  // The lock is held either way; the holder text is only a courtesy for the next run's message.
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, me.data(), me.size(), 0);
  return StateLock(fd);
}

StateLock::~StateLock() {
  if (m_fd >= 0) ::close(m_fd);  // closing releases the flock
}

}  // namespace chansync
