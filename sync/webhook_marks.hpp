#pragma once
// What `chansync listen` last did with a connector's webhook requests, kept beside its spool
// (<spool_dir>/<connector>/webhooks.json) so `chansync health` can tell a receiver that stopped
// accepting (a rotated app secret, a full disk) from a vendor that stopped sending.
#include <cstdint>
#include <optional>
#include <string>

#include "sync/error.hpp"
#include "sync/health.hpp"
#include "sync/timestamp.hpp"

namespace chansync {

struct WebhookMarks {
  Timestamp last_accepted = 0;  // 0 = none since the record began
  Timestamp last_refused = 0;
  int last_refused_status = 0;      // the HTTP status listen answered (401, 403, 400, 413, 503)
  std::string last_refused_reason;  // listen's reason, as logged; never a body or a secret
  std::uint64_t accepted = 0;       // totals since the record began
  std::uint64_t refused = 0;
  std::uint64_t refused_since_accepted = 0;  // refusals in a row, up to now
  // Not in the record: what read_webhook_marks sees beside it now.
  bool listening = true;  // a `chansync listen` holds <spool_dir>/listen.lock (true when it cannot tell)
  std::uint64_t spool_free = UINT64_MAX;  // bytes free to listen on the spool's file system
};

// Less free space than this on the spool's file system, and listen is as good as refusing.
constexpr std::uint64_t k_spool_free_min = 64 * 1024;

// Refusals in a row (the newest within a day) that make a receiver broken: Meta retries a refused
// delivery, so a broken receiver refuses many; a scanner's odd unsigned request must not page anyone.
constexpr std::uint64_t k_webhook_refusals_broken = 3;

// The record of `connector` in `spool_dir`; nullopt when listen has recorded nothing for it yet.
// An unreadable or malformed record is nullopt too (logged as a warning).
std::optional<WebhookMarks> read_webhook_marks(const std::string& spool_dir, const std::string& connector);

// Replaces the record atomically (a temporary file renamed over it; not fsynced: losing the last
// second of it in a crash costs evidence, not data). Errors name the path.
Result<void> write_webhook_marks(const std::string& spool_dir, const std::string& connector, const WebhookMarks& m);

// The "webhook receiver" finding for a connector fed by `chansync listen`, as of `now`: webhook_broken
// when no listen holds the spool's lock, when the spool's disk is full, when at least k_webhook_refusals_broken
// requests were refused since the last accepted one and the newest of them within 24 hours (the detail names the status
// and reason, the action what fixes that reason); ok naming the last accepted (and refused) request otherwise; unknown
// when nothing is recorded (listen not running, or no request reached it). Pure.
Finding webhook_marks_finding(const std::optional<WebhookMarks>& marks, const std::string& connector, Timestamp now);

}  // namespace chansync
