#pragma once
#include "cli/app.hpp"

namespace chansync::cli {

// Logs go to stderr only (stdout is for data). -v: debug, -vv: trace, -q: errors only.
// --log-format json writes one JSON object per line. Colour unless --no-color, NO_COLOR or not a tty.
void setup_logging(const GlobalOptions& g);

}  // namespace chansync::cli
