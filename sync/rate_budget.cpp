#include "sync/rate_budget.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>

namespace chansync {

using std::chrono::milliseconds;

std::optional<double> header_number(std::string_view s) {
  auto strip = [](char c) { return c == ' ' || c == '\t' || c == '"'; };
  while (!s.empty() && strip(s.front())) s.remove_prefix(1);
  while (!s.empty() && strip(s.back())) s.remove_suffix(1);
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || !std::isfinite(v) || v < 0) return std::nullopt;
  return v;
}

namespace {

const std::string* header(const HeaderMap& h, const char* name) {
  const auto it = h.find(name);
  return it == h.end() ? nullptr : &it->second;
}

// The value of `key` (e.g. "r") in the first list member of a structured field carrying it:
// `"default";r=50;t=30` or the older `limit=100, remaining=50, reset=30`.
std::optional<double> param(std::string_view v, std::string_view key) {
  for (std::size_t pos = 0; (pos = v.find(key, pos)) != std::string_view::npos; pos += key.size()) {
    const char before = pos == 0 ? ';' : v[pos - 1];
    const std::size_t after = pos + key.size();
    if ((before != ';' && before != ',' && before != ' ') || after >= v.size() || v[after] != '=') continue;
    const auto rest = v.substr(after + 1);
    return header_number(rest.substr(0, rest.find_first_of(";,")));
  }
  return std::nullopt;
}

// At most ten years (a vendor's figure past it means "not in this run" all the same), and llround
// must not overflow; a negative or NaN figure is 0.
milliseconds seconds(double s) {
  return milliseconds(
      static_cast<std::int64_t>(std::llround(std::clamp(std::isnan(s) ? 0.0 : s, 0.0, 315'360'000.0) * 1000)));
}

}  // namespace

std::optional<Budget> parse_ietf_ratelimit(const HeaderMap& h) {
  Budget b;
  if (const auto* rl = header(h, "ratelimit")) {
    const auto* policy = header(h, "ratelimit-policy");
    const auto limit = param(*rl, "limit") ? param(*rl, "limit") : policy ? param(*policy, "q") : std::nullopt;
    if (!limit || *limit <= 0) return std::nullopt;
    b.limit = *limit;
    b.remaining = param(*rl, "r") ? param(*rl, "r") : param(*rl, "remaining");
    const auto reset = param(*rl, "t") ? param(*rl, "t") : param(*rl, "reset");
    if (reset) b.reset = seconds(*reset);
    if (policy)
      if (const auto w = param(*policy, "w")) b.window = seconds(*w);
    return b;
  }
  const auto* limit = header(h, "ratelimit-limit");
  const auto l = limit ? header_number(*limit) : std::nullopt;
  if (!l || *l <= 0) return std::nullopt;
  b.limit = *l;
  if (const auto* r = header(h, "ratelimit-remaining")) b.remaining = header_number(*r);
  if (const auto* t = header(h, "ratelimit-reset"))
    if (const auto s = header_number(*t)) b.reset = seconds(*s);
  return b;
}

std::optional<Budget> parse_x_ratelimit(const HeaderMap& h, std::int64_t now_unix_ms) {
  const auto* limit = header(h, "x-ratelimit-limit");
  const auto* remaining = header(h, "x-ratelimit-remaining");
  // Plain doubles (-1: unreadable): GCC 12 takes the optionals for uninitialised here once seconds() is
  // inlined below.
  const double l = limit ? header_number(*limit).value_or(-1) : -1;
  const double r = remaining ? header_number(*remaining).value_or(-1) : -1;
  if (l <= 0 || r < 0) return std::nullopt;
  Budget b{l, r, std::nullopt, std::nullopt};
  if (const auto* t = header(h, "x-ratelimit-reset"))
    if (const auto s = header_number(*t))
      // Past 1e9 it is a moment, not a span: Unix seconds, or past 1e11 (the year 5138 in seconds)
      // Unix milliseconds, as some vendors send.
      b.reset = *s > 1e11  ? seconds((*s - static_cast<double>(now_unix_ms)) / 1000)
                : *s > 1e9 ? seconds(*s - static_cast<double>(now_unix_ms) / 1000)
                           : seconds(*s);
  return b;
}

}  // namespace chansync
