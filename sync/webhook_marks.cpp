#include "sync/webhook_marks.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sync/replace_file.hpp"
#include "sync/spool.hpp"

namespace chansync {
namespace {

namespace fs = std::filesystem;

constexpr const char* k_signal = "webhook receiver";
constexpr Timestamp k_day_ms = 24LL * 3'600'000;

fs::path path_of(const std::string& spool_dir, const std::string& connector) {
  return fs::path(spool_dir) / connector / "webhooks.json";
}

std::string when(Timestamp t) {
  return t ? format_rfc3339(t) : std::string("never");
}

// What fixes the reason listen gave (listen/receiver.cpp words each refusal).
std::string fix_for(int status, const std::string& connector) {
  switch (status) {
    case 401:
      return fmt::format(
          "make {}'s app_secret the Meta app's secret (App settings > Basic; it changes when someone resets it), "
          "then restart `chansync listen`; Meta redelivers what it could not deliver for a while",
          connector);
    case 403:
      return fmt::format(
          "make {}'s verify_token what the app's webhook subscription was given, then verify the "
          "subscription again in the App Dashboard",
          connector);
    case 413:
      return fmt::format(
          "a request's body was over the {} MiB listen takes, more than Meta documents for a webhook (3 MB): if "
          "only Meta posts to /webhooks/{}, report it with the `listen:` log line",
          k_spool_max_body >> 20, connector);
    case 400:
      return fmt::format(
          "the requests are not {}'s payloads: check that the subscription's callback URL ends in "
          "/webhooks/{} and subscribes the right product",
          connector, connector);
    case 503:
      return "the spool cannot be written: free space on the spool's disk (`chansync state show` names spool_dir)";
    default:
      return "see the `listen:` lines of chansync listen's log for each refused request";
  }
}

// Whether a `chansync listen` holds the spool's lock: a shared lock taken for an instant is refused
// while it does (listen waits such an instant out). A lock file that cannot be opened for another
// reason than its absence says nothing: listen is given the benefit of the doubt.
bool listen_holds_lock(const std::string& spool_dir) {
  const auto path = fs::path(spool_dir) / "listen.lock";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno != ENOENT;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases the shared lock when it was taken
  return held;
}

}  // namespace

std::optional<WebhookMarks> read_webhook_marks(const std::string& spool_dir, const std::string& connector) {
  const auto path = path_of(spool_dir, connector);
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (!in || j.is_discarded() || !j.is_object()) {
    spdlog::warn("{}: not the JSON record `chansync listen` writes; ignored (the next request rewrites it)",
                 path.string());
    return std::nullopt;
  }
  WebhookMarks m;
  m.last_accepted = j.value("last_accepted", Timestamp{0});
  m.last_refused = j.value("last_refused", Timestamp{0});
  m.last_refused_status = j.value("last_refused_status", 0);
  m.last_refused_reason = j.value("last_refused_reason", "");
  m.accepted = j.value("accepted", std::uint64_t{0});
  m.refused = j.value("refused", std::uint64_t{0});
  m.refused_since_accepted = j.value("refused_since_accepted", std::uint64_t{0});
  m.listening = listen_holds_lock(spool_dir);
  if (struct statvfs v; ::statvfs(path.parent_path().c_str(), &v) == 0)
    m.spool_free = static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize;
  return m;
}

Result<void> write_webhook_marks(const std::string& spool_dir, const std::string& connector, const WebhookMarks& m) {
  const auto path = path_of(spool_dir, connector);
  const nlohmann::json j = {{"last_accepted", m.last_accepted},
                            {"last_refused", m.last_refused},
                            {"last_refused_status", m.last_refused_status},
                            {"last_refused_reason", m.last_refused_reason},
                            {"accepted", m.accepted},
                            {"refused", m.refused},
                            {"refused_since_accepted", m.refused_since_accepted}};
  if (auto r = replace_file(path.string(), j.dump() + '\n'); !r)
    return fail(Errc::cant_write, r.error().message + ": check the spool directory's space and permissions");
  return {};
}

Finding webhook_marks_finding(const std::optional<WebhookMarks>& marks, const std::string& connector, Timestamp now) {
  if (!marks || (marks->last_accepted == 0 && marks->last_refused == 0))
    return {
        HealthClass::unknown, k_signal, "no request recorded",
        fmt::format("webhook receiver not checked: `chansync listen` has recorded no webhook request for {}",
                    connector),
        fmt::format("run `chansync listen` where the vendor's webhook subscription points (its callback URL ends in "
                    "/webhooks/{})",
                    connector)};
  const auto& m = *marks;
  if (!m.listening)
    return {HealthClass::webhook_broken, k_signal, "listen not running",
            fmt::format("no `chansync listen` holds the spool's listen.lock: nothing receives {}'s webhooks (the "
                        "last accepted {}); the vendor's deliveries fail, and it retries them only for a while",
                        connector, when(m.last_accepted)),
            "start `chansync listen` again where the vendor's callback URL points, and keep it running (as a "
            "service that restarts it)"};
  if (m.spool_free < k_spool_free_min)
    return {HealthClass::webhook_broken, k_signal, "spool disk full",
            fmt::format("the spool's file system has {} bytes free: `chansync listen` cannot store {}'s webhooks "
                        "and refuses them (503), and cannot record that it does",
                        m.spool_free, connector),
            fmt::format("free space on the disk of [listen] spool_dir; `chansync pull {}` then deletes the spool "
                        "segments it has stored",
                        connector)};
  // >=: the marks are in milliseconds, and refusals may follow an acceptance within the same one.
  if (m.refused_since_accepted >= k_webhook_refusals_broken && m.last_refused >= m.last_accepted &&
      now - m.last_refused < k_day_ms)
    return {HealthClass::webhook_broken, k_signal,
            fmt::format("{} refused in a row (HTTP {})", m.refused_since_accepted, m.last_refused_status),
            fmt::format("`chansync listen` refused the last {} webhook requests for {} (the last {}: HTTP {} {}); the "
                        "last accepted {}: customer messages sent since are not arriving",
                        m.refused_since_accepted, connector, format_rfc3339(m.last_refused), m.last_refused_status,
                        m.last_refused_reason, when(m.last_accepted)),
            fix_for(m.last_refused_status, connector)};
  if (m.last_accepted == 0)
    return {
        HealthClass::unknown, k_signal, "none accepted",
        fmt::format("webhook receiver not checked: `chansync listen` has accepted no webhook request for {} yet "
                    "({} refused, the last {}: HTTP {} {})",
                    connector, m.refused, format_rfc3339(m.last_refused), m.last_refused_status, m.last_refused_reason),
        fix_for(m.last_refused_status, connector)};
  std::string detail = fmt::format("last webhook request accepted {}", when(m.last_accepted));
  if (m.last_refused)
    detail += fmt::format("; last refused {} (HTTP {} {})", format_rfc3339(m.last_refused), m.last_refused_status,
                          m.last_refused_reason);
  return {HealthClass::ok, k_signal, when(m.last_accepted), detail, ""};
}

}  // namespace chansync
