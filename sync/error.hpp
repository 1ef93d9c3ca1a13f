#pragma once
// Errors and Result<T>: everything that touches the network or parses remote data returns Result<T>.
// Only cli/run.cpp turns an Error into an exit code (see chansync(1), EXIT STATUS).
#include <chrono>
#include <expected>
#include <optional>
#include <stdexcept>
#include <string>

namespace chansync {

enum class Errc {
  usage,         // bad command line                                  → 64
  config,        // bad or missing configuration, missing secret      → 78
  auth,          // credentials rejected by a remote                  → 77
  not_found,     // a named person, connector or target does not exist → 64
  rate_limited,  // remote asked us to slow down and retries ran out  → 75
  unavailable,   // remote unreachable or 5xx after retries           → 69
  remote,        // remote refused the request (other 4xx)            → 69
  protocol,      // remote sent data we cannot parse                  → 65
  state,         // state store unusable (not a chansync store, too new) → 70
  io,            // the state store's disk is full or failing          → 74
  cant_write,    // the state store cannot be created or written       → 73
  locked,        // another run holds the state lock                  → 75
  internal,      // a bug                                             → 70
  interrupted,   // stopped by SIGINT or SIGTERM, what was done is kept → 130 or 143
};

// Stable lower-case name of an error code, used in logs and JSON output.
const char* to_string(Errc code);

struct Error {
  Errc code = Errc::internal;
  std::string message;    // what happened, why, and what to do — shown to the user as is
  std::string connector;  // empty when not about one connector
  int http_status = 0;    // 0 when no HTTP response was involved
  std::optional<std::chrono::milliseconds> retry_after;

  // "connector: message" (or just message).
  std::string describe() const;
};

template <class T>
using Result = std::expected<T, Error>;

// Shorthand for returning an error: `return fail(Errc::config, "...")`.
inline std::unexpected<Error> fail(Errc code, std::string message, std::string connector = {}) {
  return std::unexpected(Error{code, std::move(message), std::move(connector)});
}

// Thrown by setup code (config loading, opening the state store); caught only in cli/run.cpp.
class Failure : public std::runtime_error {
 public:
  explicit Failure(Error error) : std::runtime_error(error.message), m_error(std::move(error)) {}
  Failure(Errc code, std::string message) : Failure(Error{code, std::move(message)}) {}
  const Error& error() const { return m_error; }

 private:
  Error m_error;
};

// Unwraps a Result in setup code: returns the value or throws Failure.
template <class T>
T value_or_throw(Result<T> result) {
  if (!result) throw Failure(std::move(result.error()));
  return std::move(*result);
}
inline void value_or_throw(Result<void> result) {
  if (!result) throw Failure(std::move(result.error()));
}

}  // namespace chansync
