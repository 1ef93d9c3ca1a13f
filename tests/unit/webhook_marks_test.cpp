#include "sync/webhook_marks.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "sync/spool.hpp"

using namespace chansync;

namespace {
constexpr Timestamp k_now = 1'796'083'200'000;  // 2026-12-01T00:00:00Z
constexpr Timestamp k_minute = 60'000;

WebhookMarks refused_in_a_row(std::uint64_t n, Timestamp last_refused) {
  WebhookMarks m;
  m.last_accepted = k_now - 60 * k_minute;
  m.last_refused = last_refused;
  m.last_refused_status = 401;
  m.last_refused_reason = "X-Hub-Signature-256 does not match the body (wrong app secret, or the body was altered)";
  m.accepted = 40;
  m.refused = n;
  m.refused_since_accepted = n;
  return m;
}
}  // namespace

TEST_CASE("webhook receiver: refusals in a row since the last accepted request are webhook_broken", "[health]") {
  const auto f = webhook_marks_finding(refused_in_a_row(3, k_now - k_minute), "wa", k_now);
  CHECK(f.cls == HealthClass::webhook_broken);
  CHECK(f.signal == "webhook receiver");
  CHECK(f.value == "3 refused in a row (HTTP 401)");
  CHECK_THAT(f.detail, Catch::Contains("refused the last 3 webhook requests for wa") &&
                           Catch::Contains("2026-11-30T23:59:00") && Catch::Contains("wrong app secret") &&
                           Catch::Contains("last accepted 2026-11-30T23:00:00"));
  CHECK_THAT(f.action, Catch::Contains("app_secret"));
}

TEST_CASE("webhook receiver: a stray refusal, an old one, or an accepted request since are not broken", "[health]") {
  // Two refusals: a scanner, not Meta retrying a delivery.
  const auto stray = webhook_marks_finding(refused_in_a_row(2, k_now - k_minute), "wa", k_now);
  CHECK(stray.cls == HealthClass::ok);
  CHECK_THAT(stray.detail, Catch::Contains("last refused") && Catch::Contains("HTTP 401"));
  // Refusals more than a day ago: Meta has given up retrying; silence speaks for now.
  CHECK(webhook_marks_finding(refused_in_a_row(9, k_now - 25 * 60 * k_minute), "wa", k_now).cls == HealthClass::ok);
  auto recovered = refused_in_a_row(0, k_now - 2 * k_minute);
  recovered.last_accepted = k_now - k_minute;
  const auto f = webhook_marks_finding(recovered, "wa", k_now);
  CHECK(f.cls == HealthClass::ok);
  CHECK(f.value == "2026-11-30T23:59:00.000Z");
}

TEST_CASE("webhook receiver: nothing recorded, or nothing ever accepted, is unknown", "[health]") {
  const auto none = webhook_marks_finding(std::nullopt, "wa", k_now);
  CHECK(none.cls == HealthClass::unknown);
  CHECK_THAT(none.detail, Catch::Contains("has recorded no webhook request for wa"));
  CHECK_THAT(none.action, Catch::Contains("/webhooks/wa"));
  auto never = refused_in_a_row(1, k_now - k_minute);
  never.last_accepted = 0;
  never.last_refused_status = 403;
  const auto f = webhook_marks_finding(never, "wa", k_now);
  CHECK(f.cls == HealthClass::unknown);
  CHECK_THAT(f.action, Catch::Contains("verify_token"));
}

TEST_CASE("webhook receiver: the record round-trips beside the spool and a damaged one reads as none", "[health]") {
  const auto dir = std::filesystem::temp_directory_path() / ("chansync-marks-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "wa");
  CHECK_FALSE(read_webhook_marks(dir.string(), "wa"));
  const auto m = refused_in_a_row(4, k_now);
  REQUIRE(write_webhook_marks(dir.string(), "wa", m));
  const auto back = read_webhook_marks(dir.string(), "wa");
  REQUIRE(back);
  CHECK(back->last_accepted == m.last_accepted);
  CHECK(back->last_refused == m.last_refused);
  CHECK(back->last_refused_status == 401);
  CHECK(back->last_refused_reason == m.last_refused_reason);
  CHECK(back->refused_since_accepted == 4);
  CHECK(back->accepted == 40);
  CHECK_FALSE(back->listening);  // no listen.lock: listen never ran here
  CHECK(back->spool_free > 0);
  {
    const SpoolLock lock(dir.string());  // what `chansync listen` holds while it runs
    CHECK(read_webhook_marks(dir.string(), "wa")->listening);
  }
  CHECK_FALSE(read_webhook_marks(dir.string(), "wa")->listening);  // stopped: the lock file stays, unheld
  { std::ofstream(dir / "wa" / "webhooks.json") << "{\"last_acc"; }
  CHECK_FALSE(read_webhook_marks(dir.string(), "wa"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("webhook receiver: listen not running, or its spool's disk full, is webhook_broken", "[health]") {
  auto m = refused_in_a_row(0, 0);
  m.listening = false;
  auto f = webhook_marks_finding(m, "wa", k_now);
  CHECK(f.cls == HealthClass::webhook_broken);
  CHECK(f.value == "listen not running");
  CHECK_THAT(f.action, Catch::Contains("start `chansync listen`"));
  m.listening = true;
  m.spool_free = 4096;
  f = webhook_marks_finding(m, "wa", k_now);
  CHECK(f.cls == HealthClass::webhook_broken);
  CHECK(f.value == "spool disk full");
  CHECK_THAT(f.detail, Catch::Contains("4096 bytes free"));
  CHECK_THAT(f.action, Catch::Contains("chansync pull wa"));
  m.spool_free = k_spool_free_min;
  CHECK(webhook_marks_finding(m, "wa", k_now).cls == HealthClass::ok);
}
