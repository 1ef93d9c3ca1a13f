#pragma once
// Captures every spdlog line, at every level, while it lives (the default logger is restored after):
// for tests that check what chansync logs, and that no secret is among it.
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace chansync::test {

struct LogCapture {
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(4096);
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  LogCapture() {
    auto logger = std::make_shared<spdlog::logger>("capture", ring);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  // Every line captured so far, formatted, one after another.
  std::string all() const {
    std::string out;
    for (const auto& l : ring->last_formatted()) out += l;
    return out;
  }
};

}  // namespace chansync::test
