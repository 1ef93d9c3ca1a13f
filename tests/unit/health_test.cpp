#include "sync/health.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "sync/health_history.hpp"
#include "sync/state_store.hpp"

using namespace chansync;

namespace {
HealthReport with(int status, std::map<std::string, std::string> headers = {}, std::string transport = {}) {
  ProbeObservation o;
  o.http_status = status;
  o.headers = std::move(headers);
  o.transport_error = std::move(transport);
  return classify("c", "t", o);
}
}  // namespace

TEST_CASE("health classification maps evidence to classes and monitoring severities", "[health]") {
  CHECK(with(200).cls == HealthClass::ok);
  CHECK(with(401).cls == HealthClass::auth_failed);
  CHECK(with(429, {{"retry-after", "30"}}).cls == HealthClass::rate_limited);
  CHECK_THAT(with(429, {{"retry-after", "30"}}).summary, Catch::Contains("Retry-After 30"));
  CHECK(with(503).cls == HealthClass::unreachable);
  CHECK(with(503, {{"retry-after", "30"}}).cls == HealthClass::rate_limited);  // shedding load, not down
  CHECK_THAT(with(503, {{"retry-after", "30"}}).summary, Catch::Contains("Retry-After 30"));
  CHECK(with(0, {}, "Connection refused").cls == HealthClass::unreachable);
  CHECK(with(410).cls == HealthClass::gone);
  CHECK(with(418).cls == HealthClass::unknown);
  const auto dep = with(200, {{"sunset", "Sat, 31 Dec 2033 23:59:59 GMT"}});
  CHECK(dep.cls == HealthClass::deprecated);
  REQUIRE(dep.sunset);
  CHECK(format_date(*dep.sunset) == "2033-12-31");
  // A Deprecation date says since when it is deprecated (RFC 9745), not when it goes away.
  CHECK_FALSE(with(200, {{"deprecation", "@1688169599"}}).sunset);
  CHECK(with(200, {{"deprecation", "@1688169599"}, {"sunset", "Sat, 31 Dec 2033 23:59:59 GMT"}}).sunset ==
        2019686399000);
  CHECK(overall({with(200), with(429)}) == Severity::warning);
  CHECK(overall({with(429), with(401)}) == Severity::critical);
  CHECK(overall({with(200), with(418)}) == Severity::unknown);
  CHECK(overall({}) == Severity::ok);
  CHECK(to_string(severity_of(with(403).cls)) == std::string("CRITICAL"));
}

TEST_CASE("a stream's health is how its last pull ended", "[health]") {
  const auto ok = stream_health("sms", "twilio-messaging", "conversations", 1'780'000'000'000, "", "", 42);
  CHECK(ok.cls == HealthClass::ok);
  CHECK(ok.stream == "conversations");
  CHECK_THAT(ok.summary, Catch::Contains("42 records"));
  CHECK(stream_health("c", "t", "s", 1, "HTTP 401", "auth", 0).cls == HealthClass::auth_failed);
  CHECK(stream_health("c", "t", "s", 1, "HTTP 503", "unavailable", 0).cls == HealthClass::unreachable);
  CHECK(stream_health("c", "t", "s", 1, "HTTP 429", "rate_limited", 0).cls == HealthClass::rate_limited);
  const auto bad = stream_health("c", "t", "s", 1, "page is not valid JSON", "protocol", 0);
  CHECK(bad.cls == HealthClass::schema_drift);  // the vendor's answer no longer parses
  CHECK(stream_health("c", "t", "s", 1, "disk full", "io", 0).cls == HealthClass::unknown);  // never ok
  CHECK_THAT(bad.summary, Catch::Contains("page is not valid JSON") && Catch::Contains("next pull resumes"));
}

TEST_CASE("every class has its severity: critical, warning, ok, unknown", "[health]") {
  using H = HealthClass;
  for (auto c : {H::unreachable, H::auth_failed, H::gone, H::outage, H::restricted, H::webhook_broken})
    CHECK(severity_of(c) == Severity::critical);
  for (auto c : {H::rate_limited, H::schema_drift, H::silent, H::deprecated, H::degraded, H::recovering})
    CHECK(severity_of(c) == Severity::warning);
  CHECK(severity_of(H::ok) == Severity::ok);
  CHECK(severity_of(H::unknown) == Severity::unknown);
  CHECK(all_health_classes().size() == 14);
  for (auto c : all_health_classes()) CHECK(parse_health_class(to_string(c)) == c);
  CHECK_FALSE(parse_health_class("broken"));
}

TEST_CASE("--warn-only demotes a class a team accepts to WARNING, never promotes one", "[health]") {
  const std::vector<HealthClass> accept = {HealthClass::gone, HealthClass::ok};
  const auto gone = with(410);
  CHECK(severity_of(gone, accept) == Severity::warning);
  CHECK(severity_of(with(401), accept) == Severity::critical);
  CHECK(severity_of(with(200), accept) == Severity::ok);
  CHECK(overall({gone, with(200)}, accept) == Severity::warning);
  CHECK(overall({gone, with(200)}) == Severity::critical);
}

TEST_CASE("every finding carries its signal, value and what to do; the worst decides the class", "[health]") {
  ProbeObservation o;
  o.http_status = 200;
  o.headers = {{"x-app-usage", R"({"call_count":96,"total_cputime":10,"total_time":20})"},
               {"sunset", "Sat, 31 Dec 2033 23:59:59 GMT"}};
  auto r = classify("fb", "meta-messenger", o);
  CHECK(r.cls == HealthClass::rate_limited);  // rate_limited precedes deprecated
  REQUIRE(r.findings.size() == 3);
  CHECK(r.findings[0].cls == HealthClass::rate_limited);
  CHECK(r.findings[0].value == "96%");
  CHECK(r.findings[1].cls == HealthClass::deprecated);
  CHECK(r.findings[2].cls == HealthClass::ok);
  CHECK(r.findings[2].signal == "HTTP status");
  CHECK_FALSE(r.action.empty());
  REQUIRE(r.sunset);

  // Graph answers a throttled app with 400 and code 4: the code decides, not "unexpected HTTP 400".
  ProbeObservation g;
  g.http_status = 400;
  g.body = R"({"error":{"message":"(#4) Application request limit reached","type":"OAuthException","code":4}})";
  const auto throttled = classify("fb", "meta-messenger", g);
  CHECK(throttled.cls == HealthClass::rate_limited);
  CHECK(throttled.findings.front().signal == "Graph error code");

  ProbeObservation v;
  v.http_status = 200;
  v.api_version = "v18.0";
  v.headers = {{"facebook-api-version", "v20.0"}};
  CHECK(classify("fb", "meta-messenger", v).cls == HealthClass::gone);

  // A probe that could not run is never ok.
  ProbeObservation none;
  none.transport_error = "Connection refused";
  const auto down = classify("fb", "meta-messenger", none);
  CHECK(down.cls == HealthClass::unreachable);
  REQUIRE(down.findings.size() == 1);
  CHECK(down.findings[0].value == "Connection refused");
  // The URL once, whether HttpClient's message names it or not.
  none.url = "https://graph.example/v23.0/me";
  CHECK(classify("fb", "meta-messenger", none).findings[0].detail ==
        "cannot reach https://graph.example/v23.0/me: Connection refused");
  none.transport_error = "cannot reach https://graph.example/v23.0/me: timed out after 60 s";
  CHECK(classify("fb", "meta-messenger", none).findings[0].detail == none.transport_error);
  auto proxy = with(200, {{"x-app-usage", R"({"call_count":99})"}});
  require_vendor_body(proxy, false, "a Graph page object");
  CHECK(proxy.cls == HealthClass::unknown);
  CHECK(proxy.findings.size() == 1);
  CHECK(proxy.findings[0].signal == "response body");
}

TEST_CASE("a probe's IETF draft-08 RateLimit fields and a Unix-time X-RateLimit-Reset reach its findings", "[health]") {
  ProbeObservation o;
  o.http_status = 200;
  o.headers = {{"ratelimit", R"("default";r=4;t=45)"},
               {"ratelimit-policy", R"("default";q=200;w=60, "daily";q=5000;w=86400)"}};
  const auto ietf = classify("api", "t", o);
  CHECK(ietf.cls == HealthClass::rate_limited);
  const auto f = std::find_if(ietf.findings.begin(), ietf.findings.end(),
                              [](const Finding& x) { return x.signal == "RateLimit"; });
  REQUIRE(f != ietf.findings.end());
  CHECK(f->value == "4 of 200 left");  // the first policy item's quota
  CHECK_THAT(f->detail, Catch::Contains("98% used") && Catch::EndsWith("; it resets in 45 s"));

  // The reset is a Unix time ten minutes ahead: the finding counts the seconds from the probe's time.
  o.headers = {{"x-ratelimit-limit", "5000"},
               {"x-ratelimit-remaining", "0"},
               {"x-ratelimit-reset", std::to_string(now_ms() / 1000 + 600)}};
  const auto gh = classify("api", "t", o);
  CHECK(gh.cls == HealthClass::rate_limited);
  CHECK(gh.findings[0].signal == "X-RateLimit-Remaining");
  CHECK_THAT(gh.findings[0].detail, Catch::Matches(".*; it resets in (600|59[0-9]) s"));
}

TEST_CASE("a class an adapter set without a finding gets one; settle keeps the adapter's words", "[health]") {
  HealthReport r{"pg", "postgres", "", HealthClass::unreachable, "cannot connect to 127.0.0.1:5"};
  settle(r);
  REQUIRE(r.findings.size() == 1);
  CHECK(r.findings[0].cls == HealthClass::unreachable);
  CHECK(r.findings[0].detail == "cannot connect to 127.0.0.1:5");
  settle(r);
  CHECK(r.findings.size() == 1);
  CHECK(r.summary == "cannot connect to 127.0.0.1:5");
}

namespace {
HealthRow row(Timestamp at, HealthClass cls, HealthClass observed) {
  return {"sms", "", at, to_string(cls), R"({"summary":"s"})", to_string(observed)};
}
HealthReport ok_at(Timestamp at) {
  auto r = with(200);
  r.connector = "sms";
  r.checked_at = at;
  return r;
}
constexpr Timestamp k_min = 60'000;
}  // namespace

TEST_CASE("a stored check without a time (0) gives no 'since 1970'", "[health]") {
  const HealthSettings s;
  const Timestamp t0 = 1'790'000'000'000;
  // An older chansync stored a check with checked_at 0 and since 1970 (a probe that set no time).
  std::vector<HealthRow> history = {{"wa", "", 0, "ok", R"({"summary":"s","since":"1970-01-01T00:00:00.000Z"})", "ok"}};
  auto r = ok_at(t0);
  apply_recovery(r, history, s);
  CHECK(r.since == t0);
  history.front().evidence_json = R"({"summary":"s"})";  // no since: walking back finds only the time 0
  auto again = ok_at(t0);
  apply_recovery(again, history, s);
  CHECK(again.since == t0);
}

TEST_CASE("a connector that was failing is recovering until 3 passes or 30 minutes, then ok", "[health]") {
  const HealthSettings s;  // 3 checks or 30 min
  const Timestamp t0 = 1'790'000'000'000;
  // newest first: the auth failure at t0, then this pass at t0 + 1 min.
  std::vector<HealthRow> history = {row(t0, HealthClass::auth_failed, HealthClass::auth_failed)};
  auto first = ok_at(t0 + k_min);
  apply_recovery(first, history, s);
  CHECK(first.cls == HealthClass::recovering);
  CHECK(first.observed == HealthClass::ok);
  CHECK(severity_of(first.cls) == Severity::warning);
  CHECK_THAT(first.summary, Catch::Contains("auth_failed until") && Catch::Contains("1 check"));
  CHECK(first.findings.front().signal == "recovery streak");
  CHECK(first.since == first.checked_at);

  history.insert(history.begin(), row(t0 + k_min, HealthClass::recovering, HealthClass::ok));
  auto second = ok_at(t0 + 2 * k_min);
  apply_recovery(second, history, s);
  CHECK(second.cls == HealthClass::recovering);
  CHECK(second.since == t0 + k_min);

  history.insert(history.begin(), row(t0 + 2 * k_min, HealthClass::recovering, HealthClass::ok));
  auto third = ok_at(t0 + 3 * k_min);
  apply_recovery(third, history, s);
  CHECK(third.cls == HealthClass::ok);  // the third pass in a row

  // Time alone: one pass 31 minutes after the first pass is enough.
  std::vector<HealthRow> slow = {row(t0 + k_min, HealthClass::recovering, HealthClass::ok),
                                 row(t0, HealthClass::unreachable, HealthClass::unreachable)};
  auto later = ok_at(t0 + 32 * k_min);
  apply_recovery(later, slow, s);
  CHECK(later.cls == HealthClass::ok);

  // Not after something that is not a failure (deprecated, unknown), nor with no history.
  auto after_unknown = ok_at(t0 + k_min);
  apply_recovery(after_unknown, {row(t0, HealthClass::unknown, HealthClass::unknown)}, s);
  CHECK(after_unknown.cls == HealthClass::ok);
  auto fresh = ok_at(t0);
  apply_recovery(fresh, {}, s);
  CHECK(fresh.cls == HealthClass::ok);
  // A failure now stays what it is and knows since when.
  auto still = with(401);
  still.connector = "sms";
  still.checked_at = t0 + 2 * k_min;
  apply_recovery(still,
                 {row(t0 + k_min, HealthClass::auth_failed, HealthClass::auth_failed),
                  row(t0, HealthClass::auth_failed, HealthClass::auth_failed)},
                 s);
  CHECK(still.cls == HealthClass::auth_failed);
  CHECK(still.since == t0);
  // A stored check that knew its since is believed beyond the rows read.
  auto known = with(401);
  known.checked_at = t0 + 2 * k_min;
  apply_recovery(known, {{"sms", "", t0 + k_min, "auth_failed", R"({"since":"2026-11-01T00:00:00.000Z"})"}}, s);
  CHECK(format_rfc3339(*known.since) == "2026-11-01T00:00:00.000Z");
}

TEST_CASE("health history: runs are stored and --since lists the changes of class", "[health]") {
  StateStore store(":memory:");
  const Timestamp t0 = 1'790'000'000'000;
  auto rows = [&](Timestamp at, HealthClass c) {
    return std::vector<HealthRow>{{"sms", "", at, to_string(c), R"({"summary":"at )" + std::to_string(at) + "\"}"},
                                  {"crm", "", at, "ok", R"({"summary":"fine"})"}};
  };
  store.runs().record_health_run({t0, "OK", 0}, rows(t0, HealthClass::ok));
  store.runs().record_health_run({t0 + k_min, "CRITICAL", 2}, rows(t0 + k_min, HealthClass::auth_failed));
  store.runs().record_health_run({t0 + 2 * k_min, "CRITICAL", 2}, rows(t0 + 2 * k_min, HealthClass::auth_failed));
  store.runs().record_health_run({t0 + 3 * k_min, "WARNING", 1}, rows(t0 + 3 * k_min, HealthClass::recovering));
  CHECK(store.count("health_runs") == 4);
  CHECK(store.runs().health_of("sms", "", 10).front().run_id == 4);

  const auto all = transitions(store.runs().health_since(t0), t0);
  // sms: first check ok, → auth_failed, → recovering; crm: ok throughout.
  REQUIRE(all.size() == 4);
  CHECK(all[0].to == "ok");
  CHECK(all[0].from.empty());
  const auto window = transitions(store.runs().health_since(t0 + 2 * k_min), t0 + 2 * k_min);
  REQUIRE(window.size() == 2);
  CHECK(window[0].connector == "crm");
  CHECK(window[0].from == "ok");
  CHECK(window[0].to == "ok");        // unchanged in the window: its class and since when
  CHECK(window[0].at == t0 + k_min);  // the oldest row read; a stored check's "since" goes further back
  CHECK(window[1].from == "auth_failed");
  CHECK(window[1].to == "recovering");
  CHECK(window[1].at == t0 + 3 * k_min);
}

TEST_CASE("durations for --since", "[health]") {
  CHECK(parse_duration("7d") == 7 * 86'400'000LL);
  CHECK(parse_duration("12h") == 12 * 3'600'000LL);
  CHECK(parse_duration("30m") == 30 * 60'000LL);
  CHECK(parse_duration("45s") == 45'000LL);
  CHECK_FALSE(parse_duration("7"));
  CHECK_FALSE(parse_duration("d"));
  CHECK_FALSE(parse_duration("1w"));
  CHECK_FALSE(parse_duration("-1d"));
  CHECK(parse_duration("36500d") == 36'500 * 86'400'000LL);  // a hundred years
  CHECK_FALSE(parse_duration("106751991167d"));              // overflowed into the year 10907
  CHECK_FALSE(parse_duration("99999999999999s"));
}

TEST_CASE("health and run history older than 90 days is deleted as new history is written", "[health]") {
  StateStore store(":memory:");
  const Timestamp now = now_ms();
  const Timestamp old = now - RunLog::k_history_ms - k_min, kept = now - RunLog::k_history_ms + k_min;
  auto check = [](Timestamp at) { return HealthRow{"sms", "", at, "ok", R"({"summary":"fine"})"}; };
  // A store that kept its history for longer: more old checks than one run deletes.
  const int old_checks = RunLog::k_prune_batch + 10;
  store.runs().record_health_run({old, "OK", 0}, std::vector<HealthRow>(old_checks, check(old)));
  store.runs().record_health_run({kept, "OK", 0}, {check(kept)});
  store.db().exec(fmt::format("INSERT INTO runs(command, started_at) VALUES('sync', {}), ('sync', {})", old, kept));

  store.runs().record_health_run({now, "OK", 0}, {check(now)});
  CHECK(store.count("health_checks") == 10 + 2);  // one batch deleted; the rest with the next run
  CHECK(store.count("health_runs") == 2);
  store.runs().record_health_run({now, "OK", 0}, {check(now)});
  CHECK(store.count("health_checks") == 3);
  CHECK(store.runs().health_of("sms", "", 10).back().checked_at == kept);

  const auto run = store.runs().begin("sync");
  CHECK(store.count("runs") == 2);  // the one within 90 days, and this one
  CHECK(store.db().execAndGet("SELECT min(started_at) FROM runs").getInt64() == static_cast<std::int64_t>(kept));
  store.runs().finish(run, "ok", "{}");
}
