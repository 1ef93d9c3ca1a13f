#pragma once
// Stage 1: the page loop. One transaction per page (records + cursor of that (connector, stream)), so
// a crash at any point resumes from the last committed page without loss or duplicates.
#include <optional>
#include <string>
#include <vector>

#include "sync/adapter.hpp"
#include "sync/state_store.hpp"

namespace chansync {

// One stream's pull. Figures count one unit each: messages (conversation streams) or contacts.
struct PullStats {
  std::string connector;
  std::string stream;
  std::size_t pages = 0;
  std::size_t requests = 0;
  std::size_t received = 0;
  std::size_t written = 0;
  std::size_t rejected = 0;
  std::optional<Error> error;  // set when the pull stopped early; pages before it are committed
  std::string notice;          // the last problem the vendor reported inside the data (Page::notices)
};

// Pulls every stream of a connector (every role it plays) until each reports done or fails; one
// stream's failure does not stop the others. Non-acknowledging streams fetch page N+1 while page N
// commits; acknowledging streams fetch only after the previous page is committed and call
// Adapter::committed() after each commit. Never throws for remote problems: they end up in the
// stream's `error`, with every page before them committed. Throws Failure when the state store
// cannot be written (disk full, read-only: see storage_failure()), since no stream could go on.
// `spool_dir` is [listen] spool_dir: where spool streams (Stream::spool) are read from.
std::vector<PullStats> pull_connector(const std::string& name, Adapter& adapter, StateStore& store, int page_size = 0,
                                      const std::string& spool_dir = {});

// Payloads per page of a spool stream (each may hold several messages).
constexpr std::size_t k_spool_page = 500;

}  // namespace chansync
