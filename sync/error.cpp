#include "sync/error.hpp"

namespace chansync {

const char* to_string(Errc code) {
  switch (code) {
    case Errc::usage:
      return "usage";
    case Errc::config:
      return "config";
    case Errc::auth:
      return "auth";
    case Errc::not_found:
      return "not_found";
    case Errc::rate_limited:
      return "rate_limited";
    case Errc::unavailable:
      return "unavailable";
    case Errc::remote:
      return "remote";
    case Errc::protocol:
      return "protocol";
    case Errc::state:
      return "state";
    case Errc::io:
      return "io";
    case Errc::cant_write:
      return "cant_write";
    case Errc::locked:
      return "locked";
    case Errc::internal:
      return "internal";
    case Errc::interrupted:
      return "interrupted";
  }
  return "internal";
}

std::string Error::describe() const {
  return connector.empty() ? message : connector + ": " + message;
}

}  // namespace chansync
