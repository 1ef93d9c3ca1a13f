#include <catch2/catch.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "adapters/registry.hpp"
#include "sync/pull.hpp"

using namespace chansync;

TEST_CASE("twilio-conversations requests are accepted by Twilio's OpenAPI spec (Prism)",
          "[prism][twilio-conversations-prism]") {
  const char* url = std::getenv("PRISM_URL");
  REQUIRE(url);
  // The spec's examples are account ACaaaa… and service ISaaaa…; both service roots are checked.
  for (const std::string service : {"", "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}) {
    INFO("service_sid \"" << service << "\"");
    EndpointConfig cfg{"conv", "twilio-conversations"};
    cfg.options = {{"account_sid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
                   {"own_numbers", nlohmann::json::array()},
                   {"agent_identities", nlohmann::json::array()},
                   {"base_url", url}};
    if (!service.empty()) cfg.options["service_sid"] = service;
    cfg.secrets = {{"auth_token", "token"}};
    auto adapter = adapters::create_adapter(cfg, "US", [](auto) {});
    // Prism answers a request the spec rejects with 422 (an http error here): every call must succeed.
    auto first = adapter->conversations()->pull_conversations({"conversations", "", 50});
    INFO((first ? std::string("ok") : first.error().message));
    REQUIRE(first);
    CHECK(first->requests == 3);  // the list, one conversation's participants and messages; nothing retried
    CHECK(first->done);           // the example's next_page_url is null
    std::size_t messages = 0;
    for (const auto& c : first->items) messages += c.messages.size();
    CHECK(messages == 3);  // the example conversation's SMS customer and its three messages map
    // A page of the shape Twilio's absolute next_page_url links (PageSize, Page, PageToken).
    const std::string root = service.empty() ? "/v1" : "/v1/Services/" + service;
    auto second = adapter->conversations()->pull_conversations(
        {"conversations",
         nlohmann::json{{"since", 0}, {"next", root + "/Conversations?PageSize=50&Page=1&PageToken=PTCHaaaa"}}.dump(),
         50});
    INFO((second ? std::string("ok") : second.error().message));
    REQUIRE(second);
    // The probe's read: /v1/Configuration, or the service.
    const auto probe = adapter->probe();
    INFO(probe.summary);
    CHECK(probe.evidence.http_status == 200);
    CHECK(probe.cls == HealthClass::ok);
  }
}
