#include <catch2/catch.hpp>
#include <cstdlib>

#include "adapters/http.hpp"
#include "adapters/registry.hpp"
#include "sync/pull.hpp"

using namespace chansync;

TEST_CASE("twilio-calls requests are accepted by Twilio's OpenAPI spec (Prism)", "[prism][twilio-calls-prism]") {
  const char* url = std::getenv("PRISM_URL");
  REQUIRE(url);
  EndpointConfig cfg{"voice", "twilio-calls"};
  cfg.options = {{"account_sid", "AC00000000000000000000000000000000"},
                 {"own_numbers", nlohmann::json::array()},
                 {"base_url", url}};
  cfg.secrets = {{"auth_token", "token"}};
  auto adapter = adapters::create_adapter(cfg, "US", [](auto) {});
  // Prism answers a request the spec rejects with 422 (an http error here): every call must succeed.
  // Its example always links a next page: two pages prove paging.
  PullRequest req{"conversations", "", 50};
  std::size_t calls = 0;
  for (int i = 0; i < 2; ++i) {
    auto page = adapter->conversations()->pull_conversations(req);
    INFO((page ? std::string("ok") : page.error().message));
    REQUIRE(page);
    CHECK(page->requests == 1);  // nothing retried, nothing refused
    for (const auto& c : page->items) calls += c.messages.size();
    req.cursor = page->next_cursor;
    if (page->done) break;
  }
  CHECK(calls > 0);  // the spec's example calls map
  // An incremental request with StartTime>= must be valid too.
  auto inc =
      adapter->conversations()->pull_conversations(PullRequest{"conversations", R"({"since":"2019-10-18"})", 50});
  INFO((inc ? std::string("ok") : inc.error().message));
  REQUIRE(inc);
  // The probe's account fetch too.
  CHECK(adapter->probe().evidence.http_status == 200);
}
