#pragma once
// The ONE explicit table of adapter types. Each row's option specs drive `connectors types`, config
// validation ("did you mean"), secret handling and the chansync-adapters(7) drift test.
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/http.hpp"
#include "sync/adapter.hpp"
#include "sync/config.hpp"

namespace chansync::adapters {

// What an adapter gets when it is created.
struct AdapterContext {
  const EndpointConfig& config;
  std::string default_region;  // [identity] default_region
  Sleeper sleep;               // injectable for tests; empty = real sleep
};

struct AdapterType {
  TypeSpec spec;
  std::function<std::unique_ptr<Adapter>(const AdapterContext&)> create;
};

// Every adapter type, in display order.
std::span<const AdapterType> registry();

// The spec half of the table, for load_config.
std::vector<TypeSpec> type_specs();

// Creates the adapter for a validated endpoint config. Throws Failure(Errc::config) for an unknown type.
std::unique_ptr<Adapter> create_adapter(const EndpointConfig& cfg, const std::string& default_region,
                                        Sleeper sleep = {});

}  // namespace chansync::adapters
