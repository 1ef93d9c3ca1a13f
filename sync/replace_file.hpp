#pragma once
// Replacing a small file whole: written to a temporary file beside it and renamed over it, so a
// reader sees the old content or the new, never half of it, also after a crash (the file is fsynced
// before the rename; the directory is not: a power failure may bring the old content back, which
// costs nothing but a refresh — durable data goes through the spool or the store).
#include <string>
#include <string_view>

#include "sync/error.hpp"

namespace chansync {

// Where `path` really leads: symlinks followed, even to a target not made yet, and `..` resolved,
// so that two paths to one file are one string.
std::string real_path(const std::string& path);

// Errc::cant_write naming `path` and the cause; the temporary file is removed on failure. A symlink
// is followed (the file it names is replaced, the link stays); a file's permissions are kept. A
// device or FIFO (/dev/stdout) is written into, not replaced; a directory is refused.
Result<void> replace_file(const std::string& path, std::string_view content);

}  // namespace chansync
