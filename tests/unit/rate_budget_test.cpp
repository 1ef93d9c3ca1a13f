#include "sync/rate_budget.hpp"

#include <catch2/catch.hpp>

using namespace chansync;
using std::chrono::milliseconds;

TEST_CASE("the IETF RateLimit fields are read in the draft-08 and the older form", "[limits]") {
  const auto sf = parse_ietf_ratelimit({{"ratelimit", R"("default";r=50;t=30)"},
                                        {"ratelimit-policy", R"("default";q=100;w=60, "daily";q=1000;w=86400)"}});
  REQUIRE(sf);
  CHECK(sf->limit == 100);
  CHECK(sf->remaining == 50);
  CHECK(sf->reset == milliseconds(30'000));
  CHECK(sf->window == milliseconds(60'000));
  const auto old = parse_ietf_ratelimit({{"ratelimit", "limit=10, remaining=4, reset=2"}});
  REQUIRE(old);
  CHECK(old->limit == 10);
  CHECK(old->remaining == 4);
  CHECK(old->reset == milliseconds(2'000));
  const auto split =
      parse_ietf_ratelimit({{"ratelimit-limit", "60"}, {"ratelimit-remaining", "59"}, {"ratelimit-reset", "1.5"}});
  REQUIRE(split);
  CHECK(split->reset == milliseconds(1'500));
  CHECK_FALSE(parse_ietf_ratelimit({{"ratelimit", R"("default";r=5)"}}));  // no limit anywhere
}

TEST_CASE("X-RateLimit-Reset is delta seconds, or a Unix time when it is one", "[limits]") {
  const auto delta = parse_x_ratelimit(
      {{"x-ratelimit-limit", "60"}, {"x-ratelimit-remaining", "10"}, {"x-ratelimit-reset", "20"}}, 1'700'000'000'000);
  REQUIRE(delta);
  CHECK(delta->reset == milliseconds(20'000));
  const auto epoch = parse_x_ratelimit(
      {{"x-ratelimit-limit", "5000"}, {"x-ratelimit-remaining", "4999"}, {"x-ratelimit-reset", "1700000042"}},
      1'700'000'000'000);
  REQUIRE(epoch);
  CHECK(epoch->reset == milliseconds(42'000));
  // In Unix milliseconds, as some vendors send it: not a reset 54,000 years away.
  const auto epoch_ms = parse_x_ratelimit(
      {{"x-ratelimit-limit", "5000"}, {"x-ratelimit-remaining", "4999"}, {"x-ratelimit-reset", "1700000042000"}},
      1'700'000'000'000);
  REQUIRE(epoch_ms);
  CHECK(epoch_ms->reset == milliseconds(42'000));
  CHECK_FALSE(parse_x_ratelimit({{"x-ratelimit-limit", "many"}, {"x-ratelimit-remaining", "1"}}, 0));
}

TEST_CASE("a negative or non-numeric rate-limit figure is unreadable, not a budget", "[limits]") {
  CHECK_FALSE(parse_x_ratelimit({{"x-ratelimit-limit", "100"}, {"x-ratelimit-remaining", "-3"}}, 0));
  CHECK_FALSE(parse_ietf_ratelimit({{"ratelimit-limit", "-1"}, {"ratelimit-remaining", "5"}}));
  const auto tab = parse_ietf_ratelimit({{"ratelimit-limit", "\t60 "}, {"ratelimit-remaining", "x"}});
  REQUIRE(tab);
  CHECK(tab->limit == 60);
  CHECK_FALSE(tab->remaining);
}

TEST_CASE("a Unix-time X-RateLimit-Reset already past is a reset of 0", "[limits]") {
  const auto past = parse_x_ratelimit(
      {{"x-ratelimit-limit", "5000"}, {"x-ratelimit-remaining", "12"}, {"x-ratelimit-reset", "1372700873"}},
      1'700'000'000'000);
  REQUIRE(past);
  CHECK(past->reset == milliseconds(0));
}

TEST_CASE("a reset too large for the clock is ten years, not an overflow", "[limits]") {
  const auto ietf = parse_ietf_ratelimit({{"ratelimit", R"("default";limit=100;r=5;t=1e20)"}});
  REQUIRE(ietf);
  CHECK(ietf->reset == std::chrono::seconds(315'360'000));
  const auto x = parse_x_ratelimit(
      {{"x-ratelimit-limit", "100"}, {"x-ratelimit-remaining", "5"}, {"x-ratelimit-reset", "1e300"}}, 0);
  REQUIRE(x);
  CHECK(x->reset == std::chrono::seconds(315'360'000));
}
