// The status page's pure parts: escaping, the inbound chart's bars and gap, the history strip, the
// page holding a report's class and evidence; and the hourly counts the chart is drawn from.
#include "cli/health_html.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "sync/health_hourly.hpp"
#include "sync/state_records.hpp"
#include "sync/state_store.hpp"

using namespace chansync;
using namespace chansync::cli;

namespace {

constexpr Timestamp k_end = 1'793'577'600'000;  // 2026-11-02T00:00:00Z

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

}  // namespace

TEST_CASE("html: escaping covers markup and both quotes", "[health][html]") {
  CHECK(html_escape("<script>alert(\"x\")</script> & 'y'") ==
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;");
  CHECK(html_escape("plain text") == "plain text");
}

TEST_CASE("html: hourly counts bucket by hour ending at the end, ignoring what lies outside", "[health][html]") {
  const std::vector<Timestamp> times{
      k_end - 1, k_end - k_hour_ms, k_end - k_hour_ms - 1, k_end - 3 * k_hour_ms, k_end - 3 * k_hour_ms - 1, k_end};
  const auto c = hourly_counts(times, k_end, 3);
  REQUIRE(c.size() == 3);
  CHECK(c[0] == 1);  // [end-3h, end-2h)
  CHECK(c[1] == 1);  // [end-2h, end-1h): end-1h-1
  CHECK(c[2] == 2);  // [end-1h, end)
}

TEST_CASE("html: inbound_per_hour counts one connector's inbound messages of every channel", "[health][html]") {
  StateStore store(":memory:");
  const auto add = [&](const char* connector, const char* id, const char* channel, const char* direction,
                       Timestamp at) {
    SQLite::Statement q(store.db(),
                        "INSERT INTO messages(connector, id, conversation, channel, direction, author_kind, "
                        "author_handle, sent_at, text) VALUES (?, ?, 'c1', ?, ?, 'customer', '+491', ?, 'hi')");
    q.bind(1, connector);
    q.bind(2, id);
    q.bind(3, channel);
    q.bind(4, direction);
    q.bind(5, static_cast<std::int64_t>(at));
    q.exec();
  };
  add("sms", "1", "sms", "inbound", k_end - 30 * 60'000);
  add("sms", "2", "whatsapp", "inbound", k_end - 40 * 60'000);
  add("sms", "3", "sms", "outbound", k_end - 30 * 60'000);       // not inbound
  add("fb", "4", "messenger", "inbound", k_end - 30 * 60'000);   // another connector
  add("sms", "5", "sms", "inbound", k_end - 2 * k_hour_ms - 1);  // before the window
  const auto c = inbound_per_hour(store, "sms", k_end, 2);
  REQUIRE(c.size() == 2);
  CHECK(c[0] == 0);
  CHECK(c[1] == 2);
  // During a bulk load (no unique index of ids yet) a message pulled twice is two rows: it counts once.
  store.db().exec("DROP INDEX messages_by_id");
  REQUIRE(store.records().bulk_loading());
  add("sms", "1", "sms", "inbound", k_end - 30 * 60'000);
  const auto once = inbound_per_hour(store, "sms", k_end, 2);
  CHECK(once == c);
}

TEST_CASE("html: the inbound chart has a bar per hour with messages and marks the gap from the last one",
          "[health][html]") {
  std::vector<std::int64_t> counts(48, 0);
  for (int i = 0; i < 24; ++i) counts[static_cast<std::size_t>(i)] = 3 + i % 2;
  const auto svg = inbound_svg(counts, k_end, k_end - 24 * k_hour_ms);
  CHECK(count_of(svg, "class=\"bar\"") == 24);
  REQUIRE(count_of(svg, "class=\"gap\"") == 1);
  // The gap starts halfway along the 1008-pixel chart, at the last message, and runs to the end.
  CHECK(svg.find("class=\"gap\" data-gap-start=\"2026-11-01T00:00:00.000Z\" x=\"504.0\" y=\"0\" width=\"504.0\"") !=
        std::string::npos);

  SECTION("no gap when the last message is within the hour, or unknown") {
    CHECK(count_of(inbound_svg(counts, k_end, k_end - 60'000), "class=\"gap\"") == 0);
    CHECK(count_of(inbound_svg(counts, k_end, std::nullopt), "class=\"gap\"") == 0);
  }
  SECTION("a last message before the chart's start marks the whole chart") {
    const auto all = inbound_svg(std::vector<std::int64_t>(48, 0), k_end, k_end - 100 * k_hour_ms);
    CHECK(all.find("x=\"0.0\" y=\"0\" width=\"1008.0\"") != std::string::npos);
    CHECK(count_of(all, "class=\"bar\"") == 0);
  }
}

TEST_CASE("html: the history strip has a segment per class interval", "[health][html]") {
  const std::vector<HealthTransition> ts{{"tw", "", "", "ok", k_end - 10 * k_hour_ms, "fine"},
                                         {"tw", "", "ok", "auth_failed", k_end - 5 * k_hour_ms, "HTTP 401 <bad>"}};
  const auto svg = history_strip(ts, k_end - 10 * k_hour_ms, k_end);
  CHECK(count_of(svg, "class=\"seg cls-ok\"") == 1);
  CHECK(count_of(svg, "class=\"seg cls-auth_failed\"") == 1);
  CHECK(svg.find("HTTP 401 &lt;bad&gt;") != std::string::npos);
  CHECK(svg.find("<bad>") == std::string::npos);

  SECTION("the class before the window's first change fills the strip up to it") {
    const std::vector<HealthTransition> one{{"tw", "", "ok", "auth_failed", k_end - 5 * k_hour_ms, "401"}};
    const auto strip = history_strip(one, k_end - 10 * k_hour_ms, k_end);
    CHECK(strip.find("class=\"seg cls-ok\" x=\"0.0\" y=\"0\" width=\"504.0\"") != std::string::npos);
    CHECK(strip.find("class=\"seg cls-auth_failed\" x=\"504.0\" y=\"0\" width=\"504.0\"") != std::string::npos);
  }
}

TEST_CASE("html: the page shows each report's class, escaped evidence and what to do", "[health][html]") {
  HealthCheckResult result;
  result.checked_at = k_end;
  result.status = Severity::critical;
  HealthReport r;
  r.connector = "twilio<1>";
  r.type = "twilio";
  r.cls = HealthClass::auth_failed;
  r.summary = "401 from the vendor";
  r.checked_at = k_end;
  r.action = "rotate the token & retry";
  r.findings.push_back({HealthClass::auth_failed, "HTTP status", "401", "Authenticate <20003>", "rotate", {}});
  result.reports.push_back(r);
  result.inbound.push_back({"twilio<1>", "sms", k_end - 30 * k_hour_ms});
  HtmlPageInput in;
  in.result = &result;
  in.start = k_end - 14 * 24 * k_hour_ms;
  in.end = k_end;
  in.hourly["twilio<1>"] = std::vector<std::int64_t>(14 * 24, 1);
  const auto page = health_html(in);
  CHECK(page.find("twilio&lt;1&gt;") != std::string::npos);
  CHECK(page.find("twilio<1>") == std::string::npos);
  CHECK(page.find("Authenticate &lt;20003&gt;") != std::string::npos);
  CHECK(page.find("rotate the token &amp; retry") != std::string::npos);
  CHECK(page.find("class=\"finding cls-auth_failed\"") != std::string::npos);
  CHECK(count_of(page, "class=\"bar\"") == 14 * 24);
  CHECK(count_of(page, "class=\"gap\"") == 1);
  CHECK(page.find("<script") == std::string::npos);
  // No external asset: the only URL is the SVG namespace.
  CHECK(count_of(page, "http://") == count_of(page, "http://www.w3.org/2000/svg"));
  CHECK(count_of(page, "https://") == 0);
}
