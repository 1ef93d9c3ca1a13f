#pragma once
// adapters::create_adapter without its check of URL options (adapters::check_endpoint), for the tests
// that give an adapter credentials in base_url: load_config and create_adapter refuse them, and these
// tests show that the adapter's own redaction holds beneath that check, as it must for what no config
// check sees (a vendor's link with userinfo, an answer echoing a token).
#include <memory>

#include "adapters/registry.hpp"

namespace chansync::test {

inline std::unique_ptr<Adapter> create_past_url_check(const EndpointConfig& cfg, adapters::Sleeper sleep = {}) {
  return adapters::type_of(cfg).create(adapters::AdapterContext{cfg, "DE", std::move(sleep)});
}

}  // namespace chansync::test
