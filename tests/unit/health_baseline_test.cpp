// A probe judged against the connector's own history: latency far above its usual, a server error
// that is a blip or repeats, one matching a reported outage; and streams whose pulls stopped
// returning records against streams that are usually empty.
#include "sync/health_baseline.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <vector>

using namespace chansync;

namespace {

HealthReport probe(int status, double latency_ms = 100) {
  ProbeObservation o;
  o.http_status = status;
  o.latency_ms = latency_ms;
  return classify("sms", "twilio-sms", o);
}

// A stored check of a probe, as check_health records it.
HealthRow row(const HealthReport& r) {
  return {r.connector, "", r.checked_at, to_string(r.cls), nlohmann::json(r).dump(), "", 0};
}

std::vector<HealthRow> history(std::initializer_list<std::pair<int, double>> checks) {
  std::vector<HealthRow> out;
  for (const auto& [status, ms] : checks) out.push_back(row(probe(status, ms)));
  return out;
}

bool has(const HealthReport& r, HealthClass c, const std::string& signal) {
  for (const auto& f : r.findings)
    if (f.cls == c && f.signal == signal) return true;
  return false;
}

}  // namespace

TEST_CASE("baseline: a probe far slower than its usual latency is degraded", "[health]") {
  const auto usual = history({{200, 110}, {200, 90}, {200, 100}, {200, 95}, {200, 105}, {200, 2000}});

  auto slow = probe(200, 900);
  apply_baseline(slow, usual);
  CHECK(slow.cls == HealthClass::degraded);
  CHECK(has(slow, HealthClass::degraded, "latency"));
  CHECK_THAT(slow.summary, Catch::Contains("900 ms") && Catch::Contains("usual 105 ms"));
  CHECK_FALSE(slow.action.empty());

  auto normal = probe(200, 300);  // under 3× the median
  apply_baseline(normal, usual);
  CHECK(normal.cls == HealthClass::ok);

  // A fast vendor's jitter is not degradation: 3× of 2 ms is still within the margin.
  auto jitter = probe(200, 40);
  apply_baseline(jitter, history({{200, 2}, {200, 2}, {200, 3}, {200, 2}, {200, 2}}));
  CHECK(jitter.cls == HealthClass::ok);

  // Too few earlier checks: latency is not judged.
  auto young = probe(200, 5000);
  apply_baseline(young, history({{200, 100}, {200, 100}, {200, 100}, {200, 100}}));
  CHECK(young.cls == HealthClass::ok);

  // Failed checks are not latency samples.
  auto after_failures = probe(200, 5000);
  apply_baseline(after_failures, history({{503, 1}, {503, 1}, {401, 1}, {200, 100}, {200, 100}, {200, 100}}));
  CHECK(after_failures.cls == HealthClass::ok);
}

TEST_CASE("baseline: one server error is a blip, two in a row unreachable, with an outage the outage", "[health]") {
  auto blip = probe(503);
  apply_baseline(blip, history({{200, 100}, {200, 100}}));
  CHECK(blip.cls == HealthClass::degraded);
  CHECK(has(blip, HealthClass::degraded, "HTTP status"));
  CHECK_THAT(blip.summary, Catch::Contains("HTTP 503") && Catch::Contains("previous check got HTTP 200"));

  auto repeated = probe(503);
  apply_baseline(repeated, history({{502, 100}, {200, 100}}));
  CHECK(repeated.cls == HealthClass::unreachable);
  CHECK_THAT(repeated.summary, Catch::Contains("previous check failed too"));

  // No earlier check: nothing tells a blip from an outage, so it stays unreachable.
  auto first = probe(500);
  apply_baseline(first, {});
  CHECK(first.cls == HealthClass::unreachable);

  // After a transport failure a server error is not a blip either.
  auto refused = probe(0);
  refused.evidence.transport_error = "Connection refused";
  auto after_refused = probe(503);
  apply_baseline(after_refused, {row(refused)});
  CHECK(after_refused.cls == HealthClass::unreachable);

  auto outage = probe(503);
  add_finding(outage, {HealthClass::outage, "status page", "SMS: major_outage", "SMS is down", "wait"});
  apply_baseline(outage, history({{503, 100}}));
  CHECK(outage.cls == HealthClass::outage);
  CHECK_FALSE(has(outage, HealthClass::unreachable, "HTTP status"));
  CHECK(has(outage, HealthClass::outage, "HTTP status"));

  // An offline check made no call: it is skipped when looking for the previous one.
  HealthReport offline{"sms", "twilio-sms"};
  auto skip = probe(503);
  auto rows = history({{200, 100}});
  rows.insert(rows.begin(), row(offline));
  apply_baseline(skip, rows);
  CHECK(skip.cls == HealthClass::degraded);
}

// Pulls `every` ms apart, newest first, the newest ending at `newest`, receiving `received` each.
std::vector<PullRecord> pulls(Timestamp newest, Timestamp every, const std::vector<std::size_t>& received) {
  std::vector<PullRecord> out;
  for (std::size_t i = 0; i < received.size(); ++i)
    out.push_back({newest - static_cast<Timestamp>(i) * every, received[i]});
  return out;
}

TEST_CASE("baseline: pulls that stopped returning records are schema drift; usually empty ones are not", "[health]") {
  using V = std::vector<std::size_t>;
  constexpr Timestamp now = 1'800'000'000'000, hour = 3'600'000, day = 24 * hour;
  // Busy until a day and more ago, then `empty` pulls with nothing, 12 hours apart.
  auto busy = [&](std::size_t empty) {
    V v(empty, 0);
    for (int i = 0; i < 40; ++i) v.push_back(50 + static_cast<std::size_t>(i));
    return pulls(now, 12 * hour, v);
  };
  CHECK_FALSE(empty_pulls_finding(busy(0), now, "sms"));
  CHECK_FALSE(empty_pulls_finding(busy(1), now, "sms"));  // one empty pull: chance 1/42
  const auto two = empty_pulls_finding(busy(2), now, "sms");
  REQUIRE(two);
  CHECK(two->cls == HealthClass::schema_drift);
  CHECK(two->value == "0 in the last 2");
  CHECK_THAT(two->detail, Catch::Contains("40 of the 40 before them"));
  CHECK_THAT(two->action, Catch::Contains("sms"));

  // The same streak over a quarter of an hour (a bot pulled every 5 minutes, nobody wrote since) is
  // not drift: customers write in bursts.
  V quick(3, 0);
  for (int i = 0; i < 11; ++i) quick.push_back(3);
  CHECK_FALSE(empty_pulls_finding(pulls(now, 5 * 60'000, quick), now, "tg"));
  // A day later, still nothing: drift.
  CHECK(empty_pulls_finding(pulls(now, 5 * 60'000, quick), now + day, "tg"));

  // A stream that is empty on most pulls (a quiet CRM searched every 15 minutes).
  V quiet(5, 0);
  for (int i = 0; i < 40; ++i) quiet.push_back(i % 4 == 0 ? 3 : 0);
  CHECK_FALSE(empty_pulls_finding(pulls(now, day, quiet), now, "crm"));

  // Too little history to judge.
  CHECK_FALSE(empty_pulls_finding(pulls(now, day, V{0, 0, 0, 0, 5, 5, 5, 5, 5}), now, "sms"));
  CHECK_FALSE(empty_pulls_finding(std::vector<PullRecord>{}, now, "sms"));
}

TEST_CASE("baseline: pulls that stopped being run are silent, naming when and how often they ran", "[health]") {
  constexpr Timestamp now = 1'800'000'000'000, minute = 60'000;
  const std::vector<std::size_t> some(20, 3);
  // A 5-minute cron, last pull 10 minutes ago: fine. 30 minutes is under the one-hour floor.
  CHECK_FALSE(stale_pulls_finding(pulls(now - 10 * minute, 5 * minute, some), now, "sms", "conversations"));
  CHECK_FALSE(stale_pulls_finding(pulls(now - 30 * minute, 5 * minute, some), now, "sms", "conversations"));
  // Two hours: the cron job is gone.
  const auto stale = stale_pulls_finding(pulls(now - 120 * minute, 5 * minute, some), now, "sms", "conversations");
  REQUIRE(stale);
  CHECK(stale->cls == HealthClass::silent);
  CHECK_THAT(stale->detail, Catch::Contains("no pull of sms/conversations has completed since") &&
                                Catch::Contains("2 h ago") && Catch::Contains("every 5 min"));
  CHECK_THAT(stale->action, Catch::Contains("cron"));
  // A daily pull is stale after four days, not one.
  CHECK_FALSE(stale_pulls_finding(pulls(now - 2 * 1440 * minute, 1440 * minute, some), now, "crm", "contacts"));
  CHECK(stale_pulls_finding(pulls(now - 5 * 1440 * minute, 1440 * minute, some), now, "crm", "contacts"));
  // Too few pulls to know the usual interval.
  CHECK_FALSE(stale_pulls_finding(pulls(now - 1000 * minute, 5 * minute, {3, 3, 3}), now, "sms", "conversations"));
}
