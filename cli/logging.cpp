#include "cli/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ansicolor_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli/output.hpp"

namespace chansync::cli {
namespace {

// %* in the JSON pattern: the message as a JSON string, escaped.
class JsonMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string s = nlohmann::json(std::string(msg.payload.data(), msg.payload.size())).dump();
    dest.append(s.data(), s.data() + s.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessage>(); }
};

// %* in the text pattern: the message as one line of text (terminal_text): a vendor's words with a
// line break cannot forge a log line of their own, nor an escape sequence recolour the terminal.
class TextMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string s = terminal_text(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(s.data(), s.data() + s.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<TextMessage>(); }
};

}  // namespace

void setup_logging(const GlobalOptions& g) {
  // no-color.org: NO_COLOR set to a non-empty value turns colour off.
  const char* no_color = std::getenv("NO_COLOR");
  const bool color = !g.no_color && !(no_color && *no_color) && ::isatty(STDERR_FILENO) && g.log_format == "text";
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (color)
    sink = std::make_shared<spdlog::sinks::ansicolor_stderr_sink_mt>();
  else
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("chansync", sink);
  if (g.log_format == "json") {
    auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    f->add_flag<JsonMessage>('*').set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","message":%*})");
    logger->set_formatter(std::move(f));
  } else {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<TextMessage>('*').set_pattern(color ? "%^%l%$: %*" : "chansync: %l: %*");
    logger->set_formatter(std::move(f));
  }
  logger->set_level(g.quiet          ? spdlog::level::err
                    : g.verbose >= 2 ? spdlog::level::trace
                    : g.verbose == 1 ? spdlog::level::debug
                                     : spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace chansync::cli
