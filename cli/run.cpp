#include "cli/run.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/app.hpp"
#include "cli/logging.hpp"
#include "cli/session.hpp"
#include "sync/error.hpp"

namespace chansync::cli {

int run(int argc, char** argv) {
  Context ctx;
  std::unique_ptr<CLI::App> app;
  try {
    app = build_app(ctx);
    app->parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app->exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app->exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app->exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11's own codes are 100+; ours say "usage" (64).
    std::fprintf(stderr, "chansync: %s\nRun 'chansync --help' (or 'chansync COMMAND --help') for usage.\n", e.what());
    return 64;
  }
  setup_logging(ctx.global);
  if (!ctx.action) {
    std::fputs(app->help().c_str(), stderr);
    return 64;
  }
  try {
    const int rc = ctx.action();
    // Output that did not reach its file (a full disk, `> /dev/full`) must not pass for a success:
    // `health -o prometheus > f && mv f ...` would install a cut-off file.
    errno = 0;
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
      if (errno == EPIPE) return 141;  // a reader that stopped early (`| head`), as SIGPIPE would end it
      spdlog::error(
          "writing to standard output failed{}; what was printed is incomplete: free space or "
          "redirect it elsewhere",
          errno != 0 ? std::string(": ") + std::strerror(errno) : std::string());
      return exit_code(Errc::io);
    }
    return rc;
  } catch (const Failure& f) {
    spdlog::error("{}", f.error().describe());
    return exit_code(f.error().code);
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}; please report it with the command line and `chansync -v` output", e.what());
    return 70;
  }
}

}  // namespace chansync::cli
