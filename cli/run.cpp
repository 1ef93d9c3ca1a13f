#include "cli/run.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "cli/app.hpp"
#include "cli/logging.hpp"
#include "cli/session.hpp"
#include "sync/error.hpp"
#include "sync/similarity.hpp"

namespace chansync::cli {
namespace {

// An option named `name` ("--config", "-o") of `app` or of the commands it is under.
const CLI::Option* option_of(const CLI::App* app, const std::string& name) {
  for (; app; app = app->get_parent())
    if (const auto* o = app->get_option_no_throw(name)) return o;
  return nullptr;
}

// The names of the subcommands of `app`, in the order they were added.
std::vector<std::string> subcommand_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
  return names;
}

// Whether stdout is a pipe whose reading end is closed.
bool reader_gone() {
  pollfd p{STDOUT_FILENO, POLLOUT, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLERR) != 0;
}

// For a parse error: the command word argv names wrongly, as "did you mean" advice, or the commands
// one that needs a subcommand takes. "" when the words name commands that exist.
std::string command_hint(const CLI::App& root, int argc, char** argv) {
  const CLI::App* at = &root;
  std::string path = "chansync";
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.starts_with("-")) {
      // Skip the value of an option that takes one ("--config FILE"), unless given as --name=value.
      const auto* o = word.find('=') == std::string::npos ? option_of(at, word) : nullptr;
      if (o && o->get_expected_min() > 0) ++i;
      continue;
    }
    const auto names = subcommand_names(*at);
    if (names.empty()) return "";  // a command's own arguments
    if (std::find(names.begin(), names.end(), word) != names.end()) {
      at = at->get_subcommand(word);
      path += " " + word;
      continue;
    }
    const std::string near = closest(word, names);
    return near.empty() ? fmt::format("\"{}\" is not a command of {}; it has: {}", word, path, fmt::join(names, ", "))
                        : fmt::format("\"{}\" is not a command of {}; did you mean \"{}\"?", word, path, near);
  }
  if (at != &root && at->get_require_subcommand_min() > 0)
    return fmt::format("{} needs one of: {}", path, fmt::join(subcommand_names(*at), ", "));
  return "";
}

}  // namespace

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
    const std::string hint = command_hint(*app, argc, argv);
    // Asked for JSON logs: the error is a JSON record too, whatever else the command line got wrong.
    for (int i = 1; i < argc; ++i)
      if (std::string_view(argv[i]) == "--log-format=json" ||
          (std::string_view(argv[i]) == "--log-format" && i + 1 < argc && std::string_view(argv[i + 1]) == "json")) {
        GlobalOptions json_logs;
        json_logs.log_format = "json";
        setup_logging(json_logs);
        spdlog::error("{}{}", e.what(), hint.empty() ? "" : "; " + hint);
        return 64;
      }
    std::fprintf(stderr, "chansync: %s\n%s%sRun 'chansync --help' (or 'chansync COMMAND --help') for usage.\n",
                 e.what(), hint.empty() ? "" : "chansync: ", hint.empty() ? "" : (hint + "\n").c_str());
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
      // A reader that stopped early (`| head`) ends the run as SIGPIPE would (where it is ignored, as
      // under systemd, the failed write may have cleared errno before this flush: ask the pipe).
      if (errno == EPIPE || reader_gone()) return 141;
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
  } catch (const SQLite::Exception& e) {
    // A store error no step mapped (a full disk while recording the run, a read-only store): the
    // storage failure it is, with its exit code and advice, not an internal error.
    const auto f =
        storage_failure(e, opened_store_path().empty() ? std::string("(not opened)") : opened_store_path(), "using it");
    spdlog::error("{}", f.error().describe());
    return exit_code(f.error().code);
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}; please report it with the command line and `chansync -v` output", e.what());
    return 70;
  }
}

}  // namespace chansync::cli
