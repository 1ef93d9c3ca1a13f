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
  // A backfill in windows: its probes for the newest record and the oldest day (PageSize=1,
  // DateSent<=), then a window's page (DateSent>= and DateSent<=) and the oldest window's (DateSent<=).
  cfg.options["backfill_in_flight"] = 2;
  auto windowed = adapters::create_adapter(cfg, "US", [](auto) {});
  auto planned = windowed->conversations()->pull_conversations(PullRequest{"conversations", "", 50});
  INFO((planned ? std::string("ok") : planned.error().message));
  REQUIRE(planned);
  auto window = windowed->conversations()->pull_conversations(
      PullRequest{"conversations",
                  R"({"since":"","windows":[{"since":"2015-07-01","until":"2015-07-30","next":""},)"
                  R"({"since":"","until":"2015-06-30","next":""}]})",
                  50});
  INFO((window ? std::string("ok") : window.error().message));
  REQUIRE(window);
  CHECK(nlohmann::json::parse(window->next_cursor).at("windows").size() == 2);  // Prism always links a next page
  // The probe's account fetch too.
  CHECK(adapter->probe().evidence.http_status == 200);
}
