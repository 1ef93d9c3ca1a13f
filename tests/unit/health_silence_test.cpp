// Silence on synthetic histories: a business-hours channel over a weekend and over a Monday morning,
// a busy channel that stops, a naturally quiet one, and histories too thin to judge.
#include "sync/health_silence.hpp"

#include <catch2/catch.hpp>
#include <vector>

using namespace chansync;

namespace {

constexpr Timestamp k_hour = 3'600'000;
constexpr Timestamp k_day = 24 * k_hour;
constexpr Timestamp k_monday = 1'793'577'600'000;  // 2026-11-02T00:00:00Z, a Monday

// Three messages an hour, 9:00 to 17:00 UTC, Monday to Friday, for four weeks from k_monday.
std::vector<Timestamp> business_hours() {
  std::vector<Timestamp> out;
  for (int day = 0; day < 28; ++day) {
    if (day % 7 >= 5) continue;
    for (int h = 9; h < 17; ++h)
      for (int m : {5, 25, 45}) out.push_back(k_monday + day * k_day + h * k_hour + m * 60'000);
  }
  return out;
}

}  // namespace

TEST_CASE("silence: a business-hours channel is quiet over the weekend, silent by Monday noon", "[health]") {
  const auto history = business_hours();  // the last message is Friday of week 4, 16:45
  const Timestamp monday = k_monday + 28 * k_day;

  const auto weekend = silence_finding("sms", "sms", history, monday + 8 * k_hour);
  CHECK(weekend.cls == HealthClass::ok);
  CHECK(weekend.value == "last 2026-11-27T16:45:00.000Z");
  CHECK(weekend.detail.find("plausible") != std::string::npos);

  // Monday 12:00: three business hours without the usual three messages each.
  const auto noon = silence_finding("sms", "sms", history, monday + 12 * k_hour);
  CHECK(noon.cls == HealthClass::silent);
  CHECK(noon.signal == "inbound sms messages");
  // 9 for the three hours, and 0.75 for the quarter hour after the last message on Friday.
  CHECK(noon.detail.find("about 10 by now") != std::string::npos);
  CHECK(noon.action.find("chansync pull sms") != std::string::npos);
  REQUIRE(noon.at);
  CHECK(*noon.at == history.back());

  // Monday 9:20: one message expected, no alarm yet.
  CHECK(silence_finding("sms", "sms", history, monday + 9 * k_hour + 20 * 60'000).cls == HealthClass::ok);
}

TEST_CASE("silence: a busy channel that stops is silent within hours; a quiet one is not", "[health]") {
  std::vector<Timestamp> busy;  // two an hour, day and night, for three weeks
  for (Timestamp t = k_monday; t < k_monday + 21 * k_day; t += 30 * 60'000) busy.push_back(t);
  CHECK(silence_finding("wa", "whatsapp", busy, busy.back() + 2 * k_hour).cls == HealthClass::ok);
  const auto stopped = silence_finding("wa", "whatsapp", busy, busy.back() + 6 * k_hour);
  CHECK(stopped.cls == HealthClass::silent);
  CHECK(stopped.detail.find("for 6 h") != std::string::npos);

  std::vector<Timestamp> quiet;  // one every 16 hours for four weeks: two days without is ordinary
  for (Timestamp t = k_monday; t < k_monday + 28 * k_day; t += 16 * k_hour) quiet.push_back(t);
  REQUIRE(quiet.size() >= k_silence_min_messages);
  CHECK(silence_finding("fb", "messenger", quiet, quiet.back() + 2 * k_day).cls == HealthClass::ok);
  // ...but two weeks without is not.
  CHECK(silence_finding("fb", "messenger", quiet, quiet.back() + 14 * k_day).cls == HealthClass::silent);
}

TEST_CASE("silence: a channel whose customers write several lines at once is judged by arrivals, not lines",
          "[health]") {
  // Day and night, a conversation every 30 minutes, each four lines within three minutes, for four
  // weeks: 45 minutes without one is ordinary; 6 hours is not.
  std::vector<Timestamp> bursts;
  for (Timestamp t = k_monday; t < k_monday + 28 * k_day; t += 30 * 60'000)
    for (Timestamp line : {0, 40'000, 100'000, 170'000}) bursts.push_back(t + line);
  const auto soon = silence_finding("wa", "whatsapp", bursts, bursts.back() + 45 * 60'000);
  CHECK(soon.cls == HealthClass::ok);
  const auto stopped = silence_finding("wa", "whatsapp", bursts, bursts.back() + 6 * k_hour);
  CHECK(stopped.cls == HealthClass::silent);
  CHECK_THAT(stopped.detail, Catch::Contains("about 12 by now"));
  // Under two hours, a gap is said in minutes (it read "for 0 h").
  std::vector<Timestamp> minutely;
  for (Timestamp t = k_monday; t < k_monday + 28 * k_day; t += 6 * 60'000) minutely.push_back(t);
  const auto short_gap = silence_finding("sms", "sms", minutely, minutely.back() + 90 * 60'000);
  CHECK(short_gap.cls == HealthClass::silent);
  CHECK_THAT(short_gap.detail, Catch::Contains("for 90 min"));
}

TEST_CASE("silence: too few messages or less than a week of them cannot be judged", "[health]") {
  std::vector<Timestamp> few;
  for (int i = 0; i < 20; ++i) few.push_back(k_monday + i * k_day);
  const auto f = silence_finding("sms", "sms", few, few.back() + 30 * k_day);
  CHECK(f.cls == HealthClass::unknown);
  CHECK(f.detail.find("too few") != std::string::npos);

  std::vector<Timestamp> short_history;  // 100 messages over three days
  for (int i = 0; i < 100; ++i) short_history.push_back(k_monday + i * 40 * 60'000);
  CHECK(silence_finding("sms", "sms", short_history, short_history.back() + 10 * k_day).cls == HealthClass::unknown);
  CHECK(silence_finding("sms", "sms", {}, k_monday).cls == HealthClass::unknown);

  // Only the four weeks before the last message count: old traffic does not make today's gap odd.
  std::vector<Timestamp> old_then_quiet;
  for (Timestamp t = k_monday; t < k_monday + 7 * k_day; t += 10 * 60'000) old_then_quiet.push_back(t);
  for (Timestamp t = k_monday + 60 * k_day; t < k_monday + 88 * k_day; t += 16 * k_hour) old_then_quiet.push_back(t);
  CHECK(silence_finding("sms", "sms", old_then_quiet, old_then_quiet.back() + 2 * k_day).cls == HealthClass::ok);
}

TEST_CASE("silence: a chance too small for a double is named as such, not printed as 0", "[health]") {
  std::vector<Timestamp> busy;
  for (Timestamp t = k_monday; t < k_monday + 28 * k_day; t += 60'000) busy.push_back(t);  // one a minute
  const auto f = silence_finding("sms", "sms", busy, busy.back() + 30 * k_day);
  CHECK(f.cls == HealthClass::silent);
  CHECK_THAT(f.detail, Catch::Contains("chance of such a gap below 1e-300"));
  CHECK_THAT(f.detail, !Catch::Contains("0e+00"));
}
