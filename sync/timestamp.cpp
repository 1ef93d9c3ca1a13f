#include "sync/timestamp.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <iterator>

namespace chansync {
namespace {

namespace chr = std::chrono;

constexpr std::array<std::string_view, 12> k_months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
// Indexed by weekday::c_encoding(), so Sunday first.
constexpr std::array<std::string_view, 7> k_weekdays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> k_long_weekdays = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                             "Thursday", "Friday", "Saturday"};

// The zone names RFC 5322 defines (UT, GMT, the US zones, military Z) plus "UTC"; other names such as
// CET are ambiguous and rejected.
struct NamedZone {
  std::string_view name;
  int offset_minutes;
};
constexpr std::array<NamedZone, 12> k_zones = {{{"GMT", 0},
                                                {"UT", 0},
                                                {"UTC", 0},
                                                {"Z", 0},
                                                {"EST", -5 * 60},
                                                {"EDT", -4 * 60},
                                                {"CST", -6 * 60},
                                                {"CDT", -5 * 60},
                                                {"MST", -7 * 60},
                                                {"MDT", -6 * 60},
                                                {"PST", -8 * 60},
                                                {"PDT", -7 * 60}}};

// ABNF literals are case-insensitive (RFC 5234), so "thu" and "JUL" name a day and a month too.
bool iequals(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

template <std::size_t N>
std::optional<unsigned> index_of(const std::array<std::string_view, N>& names, std::string_view name) {
  for (std::size_t i = 0; i < N; ++i)
    if (iequals(names[i], name)) return static_cast<unsigned>(i);
  return std::nullopt;
}

// A tiny cursor over the input; every reader returns false on mismatch.
struct Scanner {
  std::string_view s;
  // True if at least one space or tab was skipped: the grammars need whitespace between fields.
  bool spaces() {
    const std::size_t before = s.size();
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    return s.size() != before;
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
  bool month(int& out) {
    std::string_view name;
    if (!word(name)) return false;
    const auto i = index_of(k_months, name);
    if (!i) return false;
    out = static_cast<int>(*i) + 1;
    return true;
  }
  template <std::size_t N>
  bool weekday(const std::array<std::string_view, N>& names, std::optional<chr::weekday>& out) {
    std::string_view name;
    if (!word(name)) return false;
    const auto i = index_of(names, name);
    if (!i) return false;
    out = chr::weekday{*i};
    return true;
  }
  bool done() {
    spaces();
    return s.empty();
  }
};

// What a parser read, before anything checks that it names a real instant.
struct Fields {
  int year = 0, month = 0, day = 0;
  int hour = 0, minute = 0, second = 0, millis = 0;
  int offset_minutes = 0;                 // local time minus UTC
  std::optional<chr::weekday> weekday{};  // when the text names one, it must be the date's
};

// "HH:MM" or "HH:MM:SS"; ranges are checked by to_timestamp.
bool read_time(Scanner& sc, Fields& f, bool seconds_required) {
  if (!sc.number(f.hour, 2, 2) || !sc.literal(':') || !sc.number(f.minute, 2, 2)) return false;
  if (sc.literal(':')) return sc.number(f.second, 2, 2);
  return !seconds_required;
}

// The one place fields become an instant, so every format gets the same checks: month lengths and
// leap years from year_month_day::ok(), the weekday from sys_days.
std::optional<Timestamp> to_timestamp(const Fields& f) {
  const chr::year_month_day date{chr::year{f.year}, chr::month{static_cast<unsigned>(f.month)},
                                 chr::day{static_cast<unsigned>(f.day)}};
  if (!date.ok() || f.hour > 23 || f.minute > 59 || f.second > 60) return std::nullopt;
  const chr::sys_days day{date};
  if (f.weekday && chr::weekday{day} != *f.weekday) return std::nullopt;
  // Unix time has no leap seconds: ":60" is held at ":59" of the same minute (so it still sorts before
  // the next day), and is accepted only where one can happen, at 23:59:60 UTC.
  const bool leap = f.second == 60;
  const chr::sys_time<chr::milliseconds> utc = day + chr::hours{f.hour} + chr::minutes{f.minute - f.offset_minutes} +
                                               chr::seconds{leap ? 59 : f.second} + chr::milliseconds{f.millis};
  if (leap && utc - chr::floor<chr::days>(utc) < chr::hours{23} + chr::minutes{59} + chr::seconds{59})
    return std::nullopt;
  return utc.time_since_epoch().count();
}

// RFC 850 writes the year in two digits; RFC 9110 §5.6.7 says one more than 50 years in the future
// means the most recent past year with those digits.
int resolve_two_digit_year(int yy, Timestamp now) {
  const chr::sys_time<chr::milliseconds> t{chr::milliseconds{now}};
  const int current = static_cast<int>(chr::year_month_day{chr::floor<chr::days>(t)}.year());
  const int year = current - current % 100 + yy;
  return year > current + 50 ? year - 100 : year;
}

// "Sunday, 06-Nov-94 08:49:37 GMT". Four-digit years are accepted too: some servers send them.
std::optional<Timestamp> parse_rfc850(std::string_view text, Timestamp now) {
  Scanner sc{text};
  sc.spaces();
  Fields f;
  if (!sc.weekday(k_long_weekdays, f.weekday) || !sc.literal(',') || !sc.spaces()) return std::nullopt;
  if (!sc.number(f.day, 1, 2) || !sc.literal('-') || !sc.month(f.month) || !sc.literal('-')) return std::nullopt;
  const std::size_t before = sc.s.size();
  if (!sc.number(f.year, 2, 4)) return std::nullopt;
  const std::size_t digits = before - sc.s.size();
  if (digits == 3) return std::nullopt;
  if (digits == 2) f.year = resolve_two_digit_year(f.year, now);
  std::string_view zone;
  if (!sc.spaces() || !read_time(sc, f, true) || !sc.spaces() || !sc.word(zone) || !iequals(zone, "GMT") || !sc.done())
    return std::nullopt;
  return to_timestamp(f);
}

// "Sun Nov  6 08:49:37 1994": C's asctime(), always UTC.
std::optional<Timestamp> parse_asctime(std::string_view text) {
  Scanner sc{text};
  sc.spaces();
  Fields f;
  if (!sc.weekday(k_weekdays, f.weekday) || !sc.spaces() || !sc.month(f.month) || !sc.spaces() ||
      !sc.number(f.day, 1, 2) || !sc.spaces() || !read_time(sc, f, true) || !sc.spaces() || !sc.number(f.year, 4, 4) ||
      !sc.done())
    return std::nullopt;
  return to_timestamp(f);
}

struct Civil {
  chr::year_month_day date;
  chr::hh_mm_ss<chr::milliseconds> time;
  chr::weekday weekday;
};

Civil to_civil(Timestamp ts) {
  const chr::sys_time<chr::milliseconds> t{chr::milliseconds{ts}};
  const auto day = chr::floor<chr::days>(t);  // floor, not truncation: before 1970 the day starts earlier
  return Civil{chr::year_month_day{day}, chr::hh_mm_ss{t - day}, chr::weekday{day}};
}

}  // namespace

std::optional<Timestamp> parse_rfc2822(std::string_view text) {
  Scanner sc{text};
  sc.spaces();
  Fields f;
  if (!sc.s.empty() && !(sc.s.front() >= '0' && sc.s.front() <= '9')) {  // optional "Thu,"
    if (!sc.weekday(k_weekdays, f.weekday) || !sc.literal(',')) return std::nullopt;
    sc.spaces();
  }
  if (!sc.number(f.day, 1, 2) || !sc.spaces() || !sc.month(f.month) || !sc.spaces() || !sc.number(f.year, 4, 4) ||
      !sc.spaces() || !read_time(sc, f, false) || !sc.spaces())
    return std::nullopt;
  if (!sc.s.empty() && (sc.s.front() == '+' || sc.s.front() == '-')) {
    const int sign = sc.s.front() == '-' ? -1 : 1;
    sc.s.remove_prefix(1);
    int hhmm = 0;
    if (!sc.number(hhmm, 4, 4) || hhmm / 100 > 23 || hhmm % 100 > 59) return std::nullopt;
    f.offset_minutes = sign * (hhmm / 100 * 60 + hhmm % 100);
  } else {
    std::string_view name;
    if (!sc.word(name)) return std::nullopt;
    const auto zone =
        std::find_if(k_zones.begin(), k_zones.end(), [&](const NamedZone& z) { return iequals(z.name, name); });
    if (zone == k_zones.end()) return std::nullopt;
    f.offset_minutes = zone->offset_minutes;
  }
  if (!sc.done()) return std::nullopt;
  return to_timestamp(f);
}

std::optional<Timestamp> parse_http_date(std::string_view text, Timestamp now) {
  // IMF-fixdate is RFC 2822 with a mandatory weekday and "GMT"; the RFC 2822 parser accepts it (and,
  // leniently, its other forms), so only the two obsolete forms need parsers of their own.
  if (auto t = parse_rfc2822(text)) return t;
  if (auto t = parse_rfc850(text, now)) return t;
  return parse_asctime(text);
}

std::optional<Timestamp> parse_http_date(std::string_view text) {
  return parse_http_date(text, now_ms());
}

std::optional<Timestamp> parse_rfc3339(std::string_view text) {
  Scanner sc{text};
  Fields f;
  if (!sc.number(f.year, 4, 4) || !sc.literal('-') || !sc.number(f.month, 2, 2) || !sc.literal('-') ||
      !sc.number(f.day, 2, 2))
    return std::nullopt;
  if (!sc.literal('T') && !sc.literal('t') && !sc.literal(' ')) return std::nullopt;
  if (!read_time(sc, f, true)) return std::nullopt;
  if (sc.literal('.')) {
    int digits = 0;
    while (!sc.s.empty() && sc.s.front() >= '0' && sc.s.front() <= '9') {
      if (digits < 3) f.millis = f.millis * 10 + (sc.s.front() - '0');  // finer digits are truncated
      ++digits;
      sc.s.remove_prefix(1);
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 3; ++i) f.millis *= 10;
  }
  if (sc.literal('Z') || sc.literal('z')) {
  } else if (!sc.s.empty() && (sc.s.front() == '+' || sc.s.front() == '-')) {
    const int sign = sc.s.front() == '-' ? -1 : 1;
    sc.s.remove_prefix(1);
    int oh = 0, om = 0;
    // ISO 8601's basic offset (+0000, Meta Graph's times) is read as well as RFC 3339's +00:00.
    if (!sc.number(oh, 2, 2)) return std::nullopt;
    (void)sc.literal(':');
    if (!sc.number(om, 2, 2) || oh > 23 || om > 59) return std::nullopt;
    f.offset_minutes = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (!sc.s.empty()) return std::nullopt;
  return to_timestamp(f);
}

void append_rfc3339(std::string& out, Timestamp ts) {
  const Civil c = to_civil(ts);
  const int year = static_cast<int>(c.date.year());
  if (year < 0 || year > 9999) {  // not a time any vendor sends: the general format
    fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", year,
                   static_cast<unsigned>(c.date.month()), static_cast<unsigned>(c.date.day()), c.time.hours().count(),
                   c.time.minutes().count(), c.time.seconds().count(), c.time.subseconds().count());
    return;
  }
  // The digits written directly: a push formats one time per message, and with fmt's padded fields a
  // time cost about 4,300 instructions (a string made and returned included); this way, about 380.
  std::array<char, 24> t;
  const auto digits = [&](std::size_t at, std::size_t n, long long v) {
    for (std::size_t i = n; i-- > 0; v /= 10) t[at + i] = static_cast<char>('0' + v % 10);
  };
  digits(0, 4, year);
  t[4] = '-';
  digits(5, 2, static_cast<unsigned>(c.date.month()));
  t[7] = '-';
  digits(8, 2, static_cast<unsigned>(c.date.day()));
  t[10] = 'T';
  digits(11, 2, c.time.hours().count());
  t[13] = ':';
  digits(14, 2, c.time.minutes().count());
  t[16] = ':';
  digits(17, 2, c.time.seconds().count());
  t[19] = '.';
  digits(20, 3, c.time.subseconds().count());
  t[23] = 'Z';
  out.append(t.data(), t.size());
}

std::string format_rfc3339(Timestamp ts) {
  std::string out;
  append_rfc3339(out, ts);
  return out;
}

std::string format_date(Timestamp ts) {
  const Civil c = to_civil(ts);
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(c.date.year()), static_cast<unsigned>(c.date.month()),
                     static_cast<unsigned>(c.date.day()));
}

std::string format_rfc2822(Timestamp ts) {
  const Civil c = to_civil(ts);
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000", k_weekdays[c.weekday.c_encoding()],
                     static_cast<unsigned>(c.date.day()), k_months[static_cast<unsigned>(c.date.month()) - 1],
                     static_cast<int>(c.date.year()), c.time.hours().count(), c.time.minutes().count(),
                     c.time.seconds().count());
}

Timestamp now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace chansync
