#pragma once
// Conformance harnesses: what the contract suite (conformance_test.cpp) needs to run one adapter
// type — a working config against a loopback fake server speaking that vendor's wire format, a
// config that cannot work, and for sources a server with several pages per stream. One row per
// registered type, in harnesses.cpp; a registered type without a row fails the suite.
#include <filesystem>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "sync/config.hpp"
#include "tests/support/fake_server.hpp"

namespace chansync::test {

struct Harness {
  std::string type;  // the registry row's type name
  // A working config: `base_url` is a fake server answering with `fixtures` or `pages` ("" when
  // both are empty); `dir` is a fresh empty directory the endpoint may write to.
  std::function<EndpointConfig(const std::string& base_url, const std::filesystem::path& dir)> config;
  // A config that cannot work: a dead port, a path under a regular file.
  std::function<EndpointConfig(const std::filesystem::path& dir)> broken;
  // The vendor's wire format replayed from tests/fixtures/<vendor>/ for every endpoint the adapter
  // calls, its probe's included. Empty for an adapter that speaks no HTTP.
  FakeServer::Handler fixtures;
  // The target is the user's own receiver, whose 2xx body is not specified (a webhook): a 200 HTML
  // page is its answer, not a sign that something else answered. The probe check skips that case.
  bool any_2xx_body = false;
  // Sources: the fixture server sends at least one record the adapter rejects (a dead letter).
  bool fixtures_have_rejects = false;
  // Sources: a scripted server with at least 3 pages per stream. It answers by the request alone,
  // so a fresh adapter resuming from a saved cursor is served the same pages.
  FakeServer::Handler pages;
  // Sinks: the person_id of every record the target received, in order of arrival (a re-sent person
  // appears again), read back from the target itself (`server`: an HTTP sink's fake server, else nullptr).
  // A database keeps rows, not arrivals: its harness derives them from the rows (postgres_delivered).
  std::function<std::vector<std::string>(const EndpointConfig& cfg, FakeServer* server)> delivered;
  // Sinks: what the target holds now, as a reader of it sees it — per person_id, the number of
  // copies of the person and of its messages. A feed or a receiver that upserts by person_id (as
  // chansync-adapters(7) tells its readers to) holds the last copy it got; a database or an inbox
  // holds what its tables hold. `messages` is -1 for a target that does not store them apart.
  struct Copies {
    int persons = 0;
    int messages = -1;
  };
  std::function<std::map<std::string, Copies>(const EndpointConfig& cfg, FakeServer* server)> held;
};

// Every harness, one per adapter type.
std::span<const Harness> harnesses();
// The harness of a type; nullptr when there is none.
const Harness* find_harness(const std::string& type);

}  // namespace chansync::test
