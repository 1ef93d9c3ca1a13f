#pragma once

namespace chansync::cli {

// Parses argv, runs the chosen subcommand and returns the process exit code. The ONE place where
// errors become exit codes (table in chansync(1)); nothing escapes it.
int run(int argc, char** argv);

}  // namespace chansync::cli
