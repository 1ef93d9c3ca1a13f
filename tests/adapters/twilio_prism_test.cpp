#include <catch2/catch.hpp>
#include <cstdlib>

#include "adapters/http.hpp"
#include "adapters/registry.hpp"
#include "sync/pull.hpp"

using namespace chansync;

TEST_CASE("twilio pull requests are accepted by Twilio's OpenAPI spec (Prism)", "[prism][twilio-prism]") {
  const char* url = std::getenv("PRISM_URL");
  REQUIRE(url);
  EndpointConfig cfg{"sms", "twilio-messaging"};
  cfg.options = {{"account_sid", "AC00000000000000000000000000000000"},
                 {"own_numbers", nlohmann::json::array()},
                 {"base_url", url}};
  cfg.secrets = {{"auth_token", "token"}};
  auto adapter = adapters::create_adapter(cfg, "US", [](auto) {});
  // Prism's example always links a next page: two pages prove paging; a 422 fails.
  PullRequest req{"conversations", "", 50};
  for (int i = 0; i < 2; ++i) {
    auto page = adapter->conversations()->pull_conversations(req);
    INFO((page ? std::string("ok") : page.error().message));
    REQUIRE(page);
    req.cursor = page->next_cursor;
    if (page->done) break;
  }
  // An incremental request with DateSent> must be valid too.
  auto inc =
      adapter->conversations()->pull_conversations(PullRequest{"conversations", R"({"since":"2015-07-30"})", 50});
  INFO((inc ? std::string("ok") : inc.error().message));
  REQUIRE(inc);
  // The probe's account fetch too.
  CHECK(adapter->probe().evidence.http_status == 200);
}
