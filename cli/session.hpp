#pragma once
// What most subcommands need: the loaded config, the state lock, the store and the adapters.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/app.hpp"
#include "sync/config.hpp"
#include "sync/error.hpp"
#include "sync/run.hpp"
#include "sync/state_lock.hpp"
#include "sync/state_store.hpp"

namespace chansync::cli {

struct Session {
  Config config;
  std::optional<StateLock> lock;
  std::unique_ptr<StateStore> store;
  std::vector<Endpoint> connectors;
  std::vector<Endpoint> targets;
  // Set when a command that only reads (Needs::store_read) found the state lock held: who holds it
  // ("pid N (chansync sync, started T)"). No lock is taken then, and the store is read beside that run
  // (StateStore::BesideWriter): what it has committed so far.
  std::string beside;
};

// `store_read`: the store, only read, by a command that writes nothing (state show and dead-letters,
// persons list, show, decisions and conflicts, push --show-parked). A store that does not exist is an
// error (require_store). While another run holds the state lock (a long sync), such a command reads
// beside it instead of exiting 75: Session::beside. When a first pull left its messages' indexes to
// build and building them fails for want of space, an I/O error or a store that cannot be written,
// such a command says so and goes on (state show marks its counts); the others fail until the build
// succeeds. What one looks at on a full disk, or during a sync, still answers.
// `store_read_and_adapters`: store_read, and every connector built for its own handles (no secret is
// read): persons explain.
// `store` and `store_and_adapters`: a store that exists, written (state reset, erase, persons merge,
// reconcile, push): a mistyped path is an error, never a new empty store. `new_store_and_adapters` and
// `new_store`: the same, made when missing: the commands that fill it (pull, sync, ingest).
enum class Needs {
  config_only,
  store_read,
  store_read_and_adapters,
  store,
  store_and_adapters,
  new_store,
  new_store_and_adapters
};

// The path of the store the last open_session opened ("" before): what a storage error that reaches
// the top of a command names.
const std::string& opened_store_path();

// Throws Failure(Errc::config) when no state store exists at `path`, naming the likely causes.
void require_store(const std::string& path);

// The endpoints a command talks to, by name (empty: all of them; nullopt: none). Only their secrets
// are read, so `pull sms` needs no CRM token and `reconcile` needs none at all.
struct Contacts {
  std::optional<std::vector<std::string>> connectors;
  std::optional<std::vector<std::string>> targets;
  static Contacts all() { return {std::vector<std::string>{}, std::vector<std::string>{}}; }
};

// Throws Failure(Errc::config) when no config file was found (naming the places looked at), or when
// `connectors` / `targets` are asked for and the config declares none.
void require_endpoints(const Config& config, bool connectors, bool targets);

// Loads the config (a command that needs the store or adapters fails with Errc::config when there
// is none, see require_endpoints; store-only commands may instead name the state with --state or
// $CHANSYNC_STATE); with `store` or `store_read` takes the state lock (exit 75 when held, but see
// store_read) and opens the store, finishing a first pull's index build first (see store_read);
// with `store_and_adapters` also creates the adapters: every connector (for its own handles) and
// the contacted targets, in the order named. Unknown names fail with not_found (exit 64) before
// any secret is read. Throws Failure.
Session open_session(const GlobalOptions& g, const std::string& command, Needs needs, const Contacts& contacts = {});

// The endpoints named, in that order (all when `names` is empty). Throws Failure(not_found) naming
// the unknown one and the known ones.
std::vector<EndpointConfig*> chosen(std::vector<EndpointConfig>& endpoints, const std::vector<std::string>& names,
                                    const char* what);

// The node key of a --handle KIND:VALUE (normalised as the adapters store it: parse_handle_key).
// Throws Failure(usage) saying what is wrong, followed by `hint`.
std::string handle_option(const std::string& text, const Config& config, std::string_view hint = {});

// Exit code for a run whose parts may have failed: 0 none, 1 some (or a failed part that still did
// some of its work: `partial`), else the first failure's code.
int outcome(std::size_t failed, std::size_t total, const std::optional<Error>& first, std::size_t partial = 0);

// Exit code of an error (the table in chansync(1)).
int exit_code(Errc code);

}  // namespace chansync::cli
