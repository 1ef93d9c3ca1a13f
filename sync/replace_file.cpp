#include "sync/replace_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace chansync {

namespace {

// The process's umask, read without setting it (umask(2) would change it for every thread a moment).
mode_t current_umask() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("Umask:")) return static_cast<mode_t>(std::strtoul(line.c_str() + 6, nullptr, 8));
  return 022;
}

}  // namespace

std::string real_path(const std::string& path_in) {
  namespace fs = std::filesystem;
  fs::path path(path_in);
  std::error_code ec;
  for (int hops = 0; hops < 40 && fs::is_symlink(path, ec); ++hops) {
    const auto target = fs::read_symlink(path, ec);
    if (ec) break;
    path = target.is_absolute() ? target : path.parent_path() / target;
  }
  const auto real = fs::weakly_canonical(path, ec);
  return ec || real.empty() ? path.string() : real.string();
}

namespace {

Result<void> write_all(int fd, const std::string& shown, std::string_view content) {
  for (std::size_t done = 0; done < content.size();) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return fail(Errc::cant_write,
                  fmt::format("cannot write {}: {}", shown, n == 0 ? "nothing was written" : std::strerror(errno)));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

Result<void> replace_file(const std::string& path_in, std::string_view content) {
  const std::string path = real_path(path_in);
  std::error_code ec_link;
  const std::string shown =
      std::filesystem::is_symlink(path_in, ec_link) ? fmt::format("{} (through {})", path_in, path) : path_in;
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode))
    return fail(Errc::cant_write, fmt::format("cannot write {}: it is a directory", shown));
  if (exists && !S_ISREG(st.st_mode)) {
    // Renaming over a device or a FIFO would put a file in its place: write into it. A FIFO no one
    // reads would block the open for good (a cron job hanging): ENXIO says so at once.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
      return fail(Errc::cant_write,
                  fmt::format("cannot write {}: {}", shown,
                              errno == ENXIO ? "it is a FIFO no process reads" : std::strerror(errno)));
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    auto r = write_all(fd, shown, content);
    ::close(fd);
    return r;
  }
  // A temporary name no one can guess or plant a symlink at (O_EXCL), with the file's mode before
  // anything is written into it (a 0600 page is never readable by others in between).
  std::string tmp = path + ".XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0)
    return fail(Errc::cant_write, fmt::format("cannot write {}: cannot create a temporary file beside it: {}", shown,
                                              std::strerror(errno)));
  ::fchmod(fd, exists ? (st.st_mode & 07777) : (0666 & ~current_umask()));
  auto r = write_all(fd, fmt::format("{} (through {})", shown, tmp), content);
  if (r && ::fsync(fd) != 0)  // renamed, the page is whole also after a crash
    r = fail(Errc::cant_write, fmt::format("cannot write {} (through {}): {}", shown, tmp, std::strerror(errno)));
  ::close(fd);
  std::error_code ec;
  if (r) std::filesystem::rename(tmp, path, ec);
  if (!r || ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    if (!r) return r;
    return fail(Errc::cant_write, fmt::format("cannot write {}: {}", shown, ec.message()));
  }
  return {};
}

}  // namespace chansync
