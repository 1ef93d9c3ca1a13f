#include "sync/timestamp.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <chrono>

namespace chansync {
namespace {

constexpr std::array<std::string_view, 12> k_months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> k_weekdays = {"Thu", "Fri", "Sat", "Sun",
                                                        "Mon", "Tue", "Wed"};  // 1970-01-01 was a Thursday

// A tiny cursor over the input; every reader returns false on mismatch.
struct Scanner {
  std::string_view s;
  void skip_spaces() {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  }
  bool literal(char c) {
    if (s.empty() || s.front() != c) return false;
    s.remove_prefix(1);
    return true;
  }
  bool number(int& out, int min_digits, int max_digits) {
    int n = 0, v = 0;
    while (n < max_digits && n < static_cast<int>(s.size()) && s[n] >= '0' && s[n] <= '9') {
      v = v * 10 + (s[n] - '0');
      ++n;
    }
    if (n < min_digits) return false;
    s.remove_prefix(n);
    out = v;
    return true;
  }
  bool word(std::string_view& out) {
    std::size_t n = 0;
    while (n < s.size() && ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z'))) ++n;
    if (n == 0) return false;
    out = s.substr(0, n);
    s.remove_prefix(n);
    return true;
  }
};

std::optional<int> month_index(std::string_view name) {
  for (std::size_t i = 0; i < k_months.size(); ++i)
    if (k_months[i] == name) return static_cast<int>(i) + 1;
  return std::nullopt;
}

bool valid_civil(int y, int mo, int d, int h, int mi, int s) {
  static constexpr int k_mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return y >= 1970 && y < 10000 && mo >= 1 && mo <= 12 && d >= 1 && d <= k_mdays[mo - 1] && h >= 0 && h < 24 &&
         mi >= 0 && mi < 60 && s >= 0 && s <= 60;
}

Timestamp to_ms(int y, int mo, int d, int h, int mi, int s, int ms, int offset_minutes) {
  const std::int64_t days = days_from_civil(y, mo, d);
  const std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + s - offset_minutes * 60;
  return secs * 1000 + ms;
}

struct Civil {
  int y, mo, d, h, mi, s, ms;
  int weekday;  // index into k_weekdays
};

Civil to_civil(Timestamp ts) {
  std::int64_t secs = ts / 1000;
  int ms = static_cast<int>(ts % 1000);
  if (ms < 0) {
    ms += 1000;
    --secs;
  }
  std::int64_t z = secs / 86400;
  std::int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --z;
  }
  const int weekday = static_cast<int>(((z % 7) + 7) % 7);
  // Howard Hinnant's civil_from_days.
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return Civil{static_cast<int>(y + (m <= 2)),
               static_cast<int>(m),
               static_cast<int>(d),
               static_cast<int>(rem / 3600),
               static_cast<int>(rem % 3600 / 60),
               static_cast<int>(rem % 60),
               ms,
               weekday};
}

}  // namespace

std::int64_t days_from_civil(int year, unsigned month, unsigned day) {
  const int y = year - (month <= 2);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<Timestamp> parse_rfc2822(std::string_view text) {
  Scanner sc{text};
  sc.skip_spaces();
  std::string_view word;
  Scanner probe = sc;
  if (probe.word(word) && probe.literal(',')) sc = probe;  // optional "Thu,"
  sc.skip_spaces();
  int d = 0, y = 0, h = 0, mi = 0, s = 0;
  std::string_view mon;
  if (!sc.number(d, 1, 2)) return std::nullopt;
  sc.skip_spaces();
  if (!sc.word(mon)) return std::nullopt;
  const auto mo = month_index(mon);
  if (!mo) return std::nullopt;
  sc.skip_spaces();
  if (!sc.number(y, 4, 4)) return std::nullopt;
  sc.skip_spaces();
  if (!sc.number(h, 2, 2) || !sc.literal(':') || !sc.number(mi, 2, 2)) return std::nullopt;
  if (sc.literal(':') && !sc.number(s, 2, 2)) return std::nullopt;
  sc.skip_spaces();
  int offset = 0;
  if (!sc.s.empty() && (sc.s.front() == '+' || sc.s.front() == '-')) {
    const int sign = sc.s.front() == '-' ? -1 : 1;
    sc.s.remove_prefix(1);
    int hhmm = 0;
    if (!sc.number(hhmm, 4, 4)) return std::nullopt;
    offset = sign * (hhmm / 100 * 60 + hhmm % 100);
  } else if (std::string_view zone; sc.word(zone)) {
    if (zone != "GMT" && zone != "UT" && zone != "UTC" && zone != "Z") return std::nullopt;
  } else {
    return std::nullopt;
  }
  sc.skip_spaces();
  if (!sc.s.empty() || !valid_civil(y, *mo, d, h, mi, s)) return std::nullopt;
  return to_ms(y, *mo, d, h, mi, s, 0, offset);
}

std::optional<Timestamp> parse_http_date(std::string_view text) {
  // IMF-fixdate is RFC 2822 with a mandatory "GMT"; obsolete forms are not worth supporting.
  return parse_rfc2822(text);
}

std::optional<Timestamp> parse_rfc3339(std::string_view text) {
  Scanner sc{text};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
  if (!sc.number(y, 4, 4) || !sc.literal('-') || !sc.number(mo, 2, 2) || !sc.literal('-') || !sc.number(d, 2, 2))
    return std::nullopt;
  if (!sc.literal('T') && !sc.literal('t') && !sc.literal(' ')) return std::nullopt;
  if (!sc.number(h, 2, 2) || !sc.literal(':') || !sc.number(mi, 2, 2) || !sc.literal(':') || !sc.number(s, 2, 2))
    return std::nullopt;
  if (sc.literal('.')) {
    int digits = 0;
    while (!sc.s.empty() && sc.s.front() >= '0' && sc.s.front() <= '9') {
      if (digits < 3) ms = ms * 10 + (sc.s.front() - '0');
      ++digits;
      sc.s.remove_prefix(1);
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 3; ++i) ms *= 10;
  }
  int offset = 0;
  if (sc.literal('Z') || sc.literal('z')) {
  } else if (!sc.s.empty() && (sc.s.front() == '+' || sc.s.front() == '-')) {
    const int sign = sc.s.front() == '-' ? -1 : 1;
    sc.s.remove_prefix(1);
    int oh = 0, om = 0;
    if (!sc.number(oh, 2, 2) || !sc.literal(':') || !sc.number(om, 2, 2)) return std::nullopt;
    offset = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (!sc.s.empty() || !valid_civil(y, mo, d, h, mi, s)) return std::nullopt;
  return to_ms(y, mo, d, h, mi, s, ms, offset);
}

std::string format_rfc3339(Timestamp ts) {
  const Civil c = to_civil(ts);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", c.y, c.mo, c.d, c.h, c.mi, c.s, c.ms);
}

std::string format_date(Timestamp ts) {
  const Civil c = to_civil(ts);
  return fmt::format("{:04}-{:02}-{:02}", c.y, c.mo, c.d);
}

std::string format_rfc2822(Timestamp ts) {
  const Civil c = to_civil(ts);
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000", k_weekdays[c.weekday], c.d, k_months[c.mo - 1], c.y,
                     c.h, c.mi, c.s);
}

Timestamp now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace chansync
