#include "sync/replace_file.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace chansync {

Result<void> replace_file(const std::string& path, std::string_view content) {
  const std::string tmp = fmt::format("{}.{}.tmp", path, ::getpid());
  std::error_code ignored;
  {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out.flush()) {
      std::filesystem::remove(tmp, ignored);
      return fail(Errc::cant_write, fmt::format("cannot write {} (through {})", path, tmp));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ignored);
    return fail(Errc::cant_write, fmt::format("cannot write {}: {}", path, ec.message()));
  }
  return {};
}

}  // namespace chansync
