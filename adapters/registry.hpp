#pragma once
// The ONE explicit table of adapter types. Each row's option specs drive `connectors types`, config
// validation ("did you mean"), secret handling and the chansync-adapters(7) drift test.
#include <algorithm>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
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

// The option every type with a URL option (OptionSpec::Kind::url) gets, so that each can be pointed
// at plain http beyond loopback on purpose: see check_endpoint.
OptionSpec allow_plaintext_option(const std::vector<OptionSpec>& options);

// The registry row of adapter class A: its roles are the role interfaces A inherits, so they are
// declared once, by the class, and config validation, docs and the pipeline all read the same thing.
// A type with a URL option gets allow_plaintext after its own options.
template <class A>
AdapterType adapter_type(std::string type, std::string summary, std::vector<OptionSpec> options) {
  static_assert(std::is_base_of_v<Adapter, A>);
  auto has = [&](auto pred) { return std::any_of(options.begin(), options.end(), pred); };
  if (has([](const auto& o) { return o.kind == OptionSpec::Kind::url; }) &&
      !has([](const auto& o) { return o.key == "allow_plaintext"; }))
    options.push_back(allow_plaintext_option(options));
  std::vector<Role> roles;
  if constexpr (std::is_base_of_v<ConversationSource, A>) roles.push_back(Role::conversations);
  if constexpr (std::is_base_of_v<ContactSource, A>) roles.push_back(Role::contacts);
  if constexpr (std::is_base_of_v<Sink, A>) roles.push_back(Role::sink);
  return AdapterType{TypeSpec{std::move(type), std::move(summary), std::move(roles), std::move(options),
                              std::is_base_of_v<WebhookReceiver, A>},
                     [](const AdapterContext& ctx) -> std::unique_ptr<Adapter> { return std::make_unique<A>(ctx); }};
}

// Every adapter type, in display order.
std::span<const AdapterType> registry();

// The spec half of the table, for load_config.
std::vector<TypeSpec> type_specs();

// The registry row of cfg.type. Throws Failure(Errc::config) for an unknown type.
const AdapterType& type_of(const EndpointConfig& cfg);

// What load_config checks of an endpoint's URL options (refused_url, sync/config.hpp), for an
// EndpointConfig made some other way. Throws Failure(Errc::config) naming the key and the fix, or for
// an unknown type.
void check_endpoint(const EndpointConfig& cfg);

// Creates the adapter for a validated endpoint config, after check_endpoint. Throws
// Failure(Errc::config) for an unknown type or a config the adapter refuses.
std::unique_ptr<Adapter> create_adapter(const EndpointConfig& cfg, const std::string& default_region,
                                        Sleeper sleep = {});

}  // namespace chansync::adapters
