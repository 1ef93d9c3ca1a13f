#include "adapters/meta/graph_health.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "adapters/telegram/telegram_api.hpp"

using namespace chansync;
using namespace chansync::adapters;

namespace {

const std::string k_page = "the Page 1000000000000001";

const char* k_page_apps =
    R"({"data":[{"category":"Business","link":"https://example.com/app","name":"Inbox App","id":"555",)"
    R"("subscribed_fields":["messages","messaging_postbacks"]}]})";
const char* k_waba_apps =
    R"({"data":[{"whatsapp_business_api_data":{"link":"https://example.com/app","name":"Inbox App","id":"555"}}]})";

HealthReport ok_probe() {
  HealthReport r{"fb", "meta-messenger"};
  add_finding(r, {HealthClass::ok, "HTTP status", "200", "ok (HTTP 200, 30 ms)", ""});
  return r;
}

const Finding* find(const HealthReport& r, const std::string& signal) {
  for (const auto& f : r.findings)
    if (f.signal == signal) return &f;
  return nullptr;
}

}  // namespace

TEST_CASE("subscribed_apps: no app, or no app with the messages field, is webhook_broken", "[health][meta]") {
  const auto gone = meta::subscription_finding(200, R"({"data":[]})", "", k_page, "messages");
  CHECK(gone.cls == HealthClass::webhook_broken);
  CHECK(gone.signal == "webhook subscription");
  CHECK(gone.value == "no app subscribed");
  CHECK_THAT(gone.detail, Catch::Contains("no app is subscribed to the webhooks of the Page 1000000000000001"));
  CHECK_THAT(gone.action, Catch::Contains("subscribed_fields=messages"));

  const auto feed_only = meta::subscription_finding(
      200, R"({"data":[{"name":"Inbox App","id":"555","subscribed_fields":["feed"]}]})", "", k_page, "messages");
  CHECK(feed_only.cls == HealthClass::webhook_broken);
  CHECK_THAT(feed_only.detail, Catch::Contains("Inbox App") && Catch::Contains("\"messages\""));

  const auto ok = meta::subscription_finding(200, k_page_apps, "", k_page, "messages");
  CHECK(ok.cls == HealthClass::ok);
  CHECK(ok.value == "Inbox App");

  // WhatsApp nests the app; any app will do.
  const auto waba = meta::subscription_finding(200, k_waba_apps, "", "the WhatsApp Business Account 1022", "");
  CHECK(waba.cls == HealthClass::ok);
  CHECK(waba.value == "Inbox App");
  CHECK(meta::subscription_finding(200, R"({"data":[]})", "", "the WhatsApp Business Account 1022", "").cls ==
        HealthClass::webhook_broken);
}

TEST_CASE("subscribed_apps: an error or a stranger's answer is unknown, never ok", "[health][meta]") {
  const auto perm = meta::subscription_finding(
      400,
      R"({"error":{"message":"(#200) Requires pages_manage_metadata permission","type":"OAuthException","code":200,"fbtrace_id":"Ab1"}})",
      "", k_page, "messages");
  CHECK(perm.cls == HealthClass::unknown);
  CHECK_THAT(perm.detail, Catch::StartsWith("webhook subscription not checked") && Catch::Contains("Graph error 200"));
  CHECK(meta::subscription_finding(200, "<html>proxy</html>", "", k_page, "").cls == HealthClass::unknown);
  CHECK(meta::subscription_finding(0, "", "cannot reach graph.facebook.com", k_page, "").cls == HealthClass::unknown);
}

TEST_CASE("debug_token: invalid, missing scopes, expiries reported, never-expiring said so", "[health][meta]") {
  const std::string needed[] = {"pages_messaging"};
  auto expired = ok_probe();
  meta::add_token_findings(
      expired, 200,
      R"({"data":{"app_id":"555","is_valid":false,"expires_at":1790000000,"scopes":[],)"
      R"("error":{"code":190,"message":"Error validating access token: Session has expired","subcode":463}}})",
      "", needed, "create a new token");
  CHECK(expired.cls == HealthClass::auth_failed);
  REQUIRE(find(expired, "debug_token"));
  CHECK(find(expired, "debug_token")->value == "190/463");
  CHECK_THAT(expired.summary, Catch::Contains("Session has expired"));
  CHECK(expired.action == "create a new token");

  auto scopes = ok_probe();
  meta::add_token_findings(
      scopes, 200,
      R"({"data":{"is_valid":true,"expires_at":0,"data_access_expires_at":1800000000,"scopes":["pages_show_list"]}})",
      "", needed, "create a new token");
  CHECK(scopes.cls == HealthClass::auth_failed);
  REQUIRE(find(scopes, "token scopes"));
  CHECK(find(scopes, "token scopes")->value == "missing pages_messaging");
  REQUIRE(scopes.expiries.size() == 1);
  CHECK(scopes.expiries[0].what == "data access");
  CHECK(scopes.expiries[0].at == 1'800'000'000'000);
  REQUIRE(find(scopes, "access token expiry"));
  CHECK(find(scopes, "access token expiry")->value == "never");

  auto fine = ok_probe();
  meta::add_token_findings(
      fine, 200,
      R"({"data":{"is_valid":true,"expires_at":1800000000,"data_access_expires_at":0,"scopes":["pages_messaging"]}})",
      "", needed, "create a new token");
  CHECK(fine.cls == HealthClass::ok);
  REQUIRE(fine.expiries.size() == 1);
  CHECK(fine.expiries[0].what == "access token");
  CHECK(fine.expiries[0].action == "create a new token");

  // debug_token itself failing leaves the probe's class and says what was not checked.
  auto blind = ok_probe();
  meta::add_token_findings(blind, 0, "", "cannot reach graph.facebook.com", needed, "x");
  CHECK(blind.cls == HealthClass::ok);
  CHECK_THAT(blind.summary, Catch::Contains("token not checked"));
}

TEST_CASE("getWebhookInfo: a webhook set takes the updates getUpdates should get", "[health][telegram]") {
  const auto info = telegram::parse_webhook_info(
      R"({"ok":true,"result":{"url":"https://hooks.example.com/bot/5550001111:SECRET","has_custom_certificate":false,)"
      R"("pending_update_count":12,"last_error_date":1796083000,"last_error_message":"Wrong response from the webhook: 502 Bad Gateway"}})");
  REQUIRE(info);
  const auto redact = [](std::string_view t) {
    std::string s(t);
    if (const auto at = s.find("5550001111:SECRET"); at != std::string::npos) s.replace(at, 17, "<redacted>");
    return s;
  };
  const auto f = telegram::webhook_info_finding(*info, redact);
  CHECK(f.cls == HealthClass::webhook_broken);
  CHECK(f.signal == "getWebhookInfo");
  CHECK(f.value == "webhook https://hooks.example.com/bot/<redacted>");
  CHECK_THAT(f.detail, Catch::Contains("502 Bad Gateway") && Catch::Contains("2026-11-30T23:56:40") &&
                           Catch::Contains("12 updates pending") && !Catch::Contains("SECRET"));
  CHECK_THAT(f.action, Catch::Contains("deleteWebhook"));

  const auto none = telegram::parse_webhook_info(R"({"ok":true,"result":{"url":"","pending_update_count":3}})");
  REQUIRE(none);
  const auto ok = telegram::webhook_info_finding(*none, redact);
  CHECK(ok.cls == HealthClass::ok);
  CHECK_THAT(ok.detail, Catch::Contains("3 pending"));
  CHECK_FALSE(telegram::parse_webhook_info(R"({"ok":false,"error_code":401,"description":"Unauthorized"})"));
}
