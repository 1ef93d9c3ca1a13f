#pragma once
// `chansync listen`: the webhook receiver. Serves /webhooks/<connector> for every connector that
// receives webhooks (WebhookReceiver):
//   GET  hub.mode=subscribe&hub.verify_token=…&hub.challenge=… → the challenge when the token matches
//        (constant time), 403 otherwise;
//   POST → X-Hub-Signature-256 checked against the raw body with the app secret (constant time)
//        BEFORE anything else looks at the body (401: missing, malformed or wrong); a body that is not
//        JSON or not of the connector's `object` → 400; over k_spool_max_body → 413; then appended raw
//        to the connector's spool and fsynced before the 200. Requests arriving together share one
//        fsync (group commit). A spool that cannot be written (full disk) → 503, so the vendor retries.
// Unknown connector → 404. One log line per refused request with the reason; never a body or secret.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sync/adapter.hpp"
#include "sync/error.hpp"

namespace chansync::listen {

struct ListenConnector {
  std::string name;
  WebhookSpec spec;
};

struct ListenOptions {
  std::string address = "127.0.0.1:8787";  // HOST:PORT; port 0 = any free port
  std::string spool_dir;
  std::vector<ListenConnector> connectors;
  bool fsync = true;         // false only for the benchmark's no-fsync baseline (CHANSYNC_LISTEN_NO_FSYNC=1)
  std::size_t threads = 32;  // request workers; more in flight means more requests per fsync
};

// Counters since start, for the log line at exit and the benchmark.
struct ListenStats {
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;
  std::uint64_t fsyncs = 0;
};

class Receiver {
 public:
  // Takes the spool lock and opens a new segment per connector. Throws Failure: locked (another
  // listen has the spool), cant_write/io (spool not writable), config (no connector receives webhooks).
  explicit Receiver(ListenOptions options);
  ~Receiver();
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  // Binds the address; returns "host:port" as bound. Throws Failure(unavailable) naming the address
  // when it is taken or not local.
  std::string bind();
  // Serves until stop(): finishes the requests in flight, syncs the spool, returns true. False when
  // the server stopped by itself (its socket failed).
  bool run();
  // Safe from any thread (a signal-waiting thread), at any time: a stop() before or while run()
  // starts still stops it.
  void stop();
  // Safe from any thread at any time, as stop() is.
  ListenStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m;
};

}  // namespace chansync::listen
