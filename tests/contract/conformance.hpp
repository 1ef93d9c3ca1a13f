#pragma once
// The contract suite's plumbing: run a check once per registered adapter type that has a harness,
// create adapters as a validated config would, and serve a harness's fake server.
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "adapters/registry.hpp"
#include "tests/contract/harness.hpp"

namespace chansync::test {

// [identity] default_region of every adapter the suite creates.
inline constexpr const char* k_region = "DE";

// Runs `check` in a Catch2 section named after each registered type with a harness (a type
// without one is reported by the harness test, not here). _source/_sink: only types playing a
// source role / the sink role; _source also leaves out types that pull nothing themselves (see pulls()).
using Check = std::function<void(const adapters::AdapterType& row, const Harness& h)>;
void for_each_adapter(const Check& check);
void for_each_source(const Check& check);
void for_each_sink(const Check& check);

// Whether the type's adapter fetches any stream itself. A stream read from the webhook spool
// (Stream::spool) is the pipeline's to read, and the adapter is never asked to pull it: a type whose
// every stream is a spool (whatsapp-cloud) has nothing for the pull checks, which skip it; its
// mapping is covered by the webhook checks and its own tests.
bool pulls(const adapters::AdapterType& row, const Harness& h);

// Creates an adapter of `row`'s type from `cfg` with the type's option defaults filled in (as
// load_config does) and a sleeper that returns at once (no test waits out a backoff).
std::unique_ptr<Adapter> create(const adapters::AdapterType& row, EndpointConfig cfg);

// A fresh empty directory, removed with everything in it.
class Scratch {
 public:
  Scratch();
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  std::filesystem::path path;
};

// A harness's working config, against a fake server answering with `handler` (none when empty).
struct Endpoint {
  Endpoint(const Harness& h, const FakeServer::Handler& handler, const std::filesystem::path& dir);
  std::unique_ptr<FakeServer> server;
  EndpointConfig cfg;
};

// The response bodies a fake server sent, for checking that stored bytes are bytes that were sent.
class SentBodies {
 public:
  // `handler`, also recording each body it answers with.
  FakeServer::Handler wrap(FakeServer::Handler handler);
  std::vector<std::string> bodies();

 private:
  std::mutex m_mu;
  std::vector<std::string> m_bodies;
};

}  // namespace chansync::test
