#pragma once
// Stage 1: the page loop. One transaction per page (records + cursor), so a crash at any point
// resumes from the last committed page without loss or duplicates.
#include <string>

#include "sync/adapter.hpp"
#include "sync/state_store.hpp"

namespace chansync {

struct PullStats {
  std::string connector;
  std::size_t pages = 0;
  std::size_t requests = 0;
  std::size_t received = 0;
  std::size_t written = 0;
  std::size_t rejected = 0;
  std::optional<Error> error;  // set when the pull stopped early; pages before it are committed
};

// Pulls one connector until its source reports done or an error occurs. Never throws for remote
// problems: they end up in `error`, with every page before them committed.
PullStats pull_connector(const std::string& name, Adapter& adapter, StateStore& store, int page_size = 0);

}  // namespace chansync
