#pragma once
// Replacing a small file whole: written to a temporary file beside it and renamed over it, so a
// reader sees the old content or the new, never half of it. Not fsynced: for records whose loss on
// power failure costs nothing but a refresh (durable data goes through the spool or the store).
#include <string>
#include <string_view>

#include "sync/error.hpp"

namespace chansync {

// Errc::cant_write naming `path` and the cause; the temporary file is removed on failure.
Result<void> replace_file(const std::string& path, std::string_view content);

}  // namespace chansync
