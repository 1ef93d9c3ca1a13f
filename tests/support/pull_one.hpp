#pragma once
// Pulls a connector that has exactly one stream and returns that stream's figures.
#include <catch2/catch.hpp>

#include "sync/pull.hpp"

namespace chansync::test {

inline PullStats pull_one(const std::string& name, Adapter& adapter, StateStore& store, int page_size = 0) {
  auto all = pull_connector(name, adapter, store, page_size);
  REQUIRE(all.size() == 1);
  return all.front();
}

}  // namespace chansync::test
