#include "sync/normalize.hpp"

#include <fmt/format.h>
#include <phonenumbers/phonenumberutil.h>
#include <unicode/locid.h>
#include <unicode/uidna.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <memory>
#include <set>

#include "sync/timestamp.hpp"

namespace chansync {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

// Shared inboxes, in English and the languages of the regions chansync is used in most (German,
// French, Spanish, Italian), and the senders of notifications, newsletters and bounces. "sales.berlin@",
// "info-de@", "team_support@", "support+ticket42@" count too (see is_role).
constexpr std::array<std::string_view, 46> k_role_locals = {
    "info",          "support",    "sales",      "contact",      "hello",         "admin",      "office",
    "noreply",       "no-reply",   "help",       "service",      "team",          "mail",       "billing",
    "mailer-daemon", "postmaster", "donotreply", "do-not-reply", "kontakt",       "vertrieb",   "empfang",
    "buero",         "büro",       "verwaltung", "anfrage",      "kundenservice", "bestellung", "accueil",
    "commercial",    "ventas",     "contacto",   "informacion",  "información",   "hola",       "vendite",
    "contatti",      "ordini",     "rezeption",  "no_reply",     "bounce",        "bounces",    "notification",
    "notifications", "notify",     "newsletter", "news"};

bool is_role(std::string_view local) {
  const auto role = [](std::string_view x) {
    return std::find(k_role_locals.begin(), k_role_locals.end(), x) != k_role_locals.end();
  };
  if (role(local)) return true;
  const auto sep = local.find_first_of(".-_+");
  return sep != std::string_view::npos && role(local.substr(0, sep));
}

// Local parts people type when a form insists on an address they do not want to give.
constexpr std::array<std::string_view, 16> k_placeholder_locals = {
    "test",   "none",  "noemail", "no-email", "nomail", "no.mail", "unknown", "null",
    "nobody", "dummy", "fake",    "invalid",  "na",     "n-a",     "xxx",     "asdf"};

// A subscriber number typed to get past a required field: one digit repeated (0000000, 1111111).
// Runs like 1234567 are left joinable: they are also real numbers, and documentation's examples.
bool placeholder_digits(const std::string& subscriber) {
  return subscriber.size() >= 6 && subscriber.find_first_not_of(subscriber[0]) == std::string::npos;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string to_lower_utf8(std::string_view s) {
  std::string out;
  icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())))
      .toLower(icu::Locale::getRoot())
      .toUTF8String(out);
  return out;
}

std::optional<std::string> domain_to_ascii(const std::string& domain) {
  UErrorCode status = U_ZERO_ERROR;
  // UIDNA is thread-safe once built; one instance serves the whole process.
  static const std::unique_ptr<UIDNA, decltype(&uidna_close)> idna(
      uidna_openUTS46(UIDNA_NONTRANSITIONAL_TO_ASCII, &status), &uidna_close);
  if (!idna) return std::nullopt;
  status = U_ZERO_ERROR;
  UIDNAInfo info = UIDNA_INFO_INITIALIZER;
  std::string out(domain.size() * 4 + 64, '\0');
  const int32_t n = uidna_nameToASCII_UTF8(idna.get(), domain.data(), static_cast<int32_t>(domain.size()), out.data(),
                                           static_cast<int32_t>(out.size()), &info, &status);
  if (U_FAILURE(status) || info.errors != 0) return std::nullopt;
  out.resize(static_cast<std::size_t>(n));
  return out;
}

}  // namespace

bool is_masked_phone(std::string_view raw) {
  std::size_t run = 0;
  bool masked = false;
  for (const char c : trim(raw)) {
    const bool mask = c == 'X' || c == 'x' || c == '*';
    run = mask ? run + 1 : 0;
    masked = masked || run == 2;
    // A number's characters only: "client:maxx" or a SIP address with "xx" in it is no mask.
    if (!mask && !(c >= '0' && c <= '9') && std::string_view(" +()-./").find(c) == std::string_view::npos) return false;
  }
  return masked;
}

std::optional<Handle> normalize_phone(std::string_view raw, std::string_view region) {
  raw = trim(raw);
  if (is_masked_phone(raw)) {
    if (raw.find_first_of("0123456789") == std::string_view::npos) return std::nullopt;
    return Handle{HandleKind::phone, std::string(raw), false};
  }
  std::string digits;
  for (char c : raw)
    if (c >= '0' && c <= '9') digits += c;
  if (digits.empty()) return std::nullopt;

  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  const std::string region_code = region.empty() ? std::string("ZZ") : std::string(region);
  // A number of a known type is valid (IsValidNumber is GetNumberType's pattern matching again, the
  // dearest part of this function); one of no known type is asked the long way, for versions of the
  // library that accept numbers of regions without patterns.
  const auto parsed = util.Parse(std::string(raw), region_code, &number) == PhoneNumberUtil::NO_PARSING_ERROR;
  const auto type = parsed ? util.GetNumberType(number) : PhoneNumberUtil::UNKNOWN;
  if (parsed && (type != PhoneNumberUtil::UNKNOWN || util.IsValidNumber(number))) {
    std::string e164;
    util.Format(number, PhoneNumberUtil::E164, &e164);
    std::string nsn;
    util.GetNationalSignificantNumber(number, &nsn);
    // The subscriber's part, after the area or mobile network code: where the placeholder is typed.
    // It ends the national number, so only a number ending in a placeholder can be one: the length of
    // the code (libphonenumber formats the number to find it, half the cost of this function) is
    // looked up for those alone.
    if (placeholder_digits(nsn.substr(nsn.size() - std::min<std::size_t>(nsn.size(), 6)))) {
      const auto ndc = static_cast<std::size_t>(std::max(0, util.GetLengthOfNationalDestinationCode(number)));
      if (ndc < nsn.size()) nsn.erase(0, ndc);
    }
    const bool personal = type != PhoneNumberUtil::TOLL_FREE && type != PhoneNumberUtil::SHARED_COST &&
                          type != PhoneNumberUtil::PREMIUM_RATE && type != PhoneNumberUtil::UAN &&
                          !placeholder_digits(nsn);
    return Handle{HandleKind::phone, e164, personal};
  }
  const bool plus = !raw.empty() && raw.front() == '+';
  return Handle{HandleKind::phone, (plus ? "+" : "") + digits, false};
}

Handle anonymous_phone(std::string_view record_id) {
  return Handle{HandleKind::phone, "anonymous/" + std::string(record_id), false};
}

bool is_anonymous_phone(const Handle& h) {
  return h.kind == HandleKind::phone && !h.verified && h.value.starts_with("anonymous/");
}

bool is_redacted_phone(const Handle& h) {
  return h.kind == HandleKind::phone && !h.verified && h.value.starts_with("redacted/");
}

Handle redacted_phone(std::string_view record_id) {
  return Handle{HandleKind::phone, "redacted/" + std::string(record_id), false};
}

std::optional<Handle> normalize_email(std::string_view raw) {
  raw = trim(raw);
  if (raw.size() >= 7 && to_lower_utf8(raw.substr(0, 7)) == "mailto:") raw.remove_prefix(7);
  const auto at = raw.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= raw.size()) return std::nullopt;
  const std::string local = to_lower_utf8(raw.substr(0, at));
  const std::string domain_raw = to_lower_utf8(raw.substr(at + 1));
  if (local.find_first_of(" \t@<>") != std::string::npos || domain_raw.find('.') == std::string::npos)
    return std::nullopt;
  const auto domain = domain_to_ascii(domain_raw);
  if (!domain) return std::nullopt;
  const bool role = is_role(local);
  // Placeholders ("noemail@…", "test@…") and reserved non-domains (RFC 2606 .invalid, localhost)
  // name no one.
  const bool placeholder =
      std::find(k_placeholder_locals.begin(), k_placeholder_locals.end(), local) != k_placeholder_locals.end() ||
      domain->ends_with(".invalid") || *domain == "localhost" || domain->ends_with(".localhost");
  return Handle{HandleKind::email, local + "@" + *domain, !role && !placeholder};
}

bool is_known_region(std::string_view region) {
  const auto& util = *PhoneNumberUtil::GetInstance();
  std::set<std::string> regions;
  util.GetSupportedRegions(&regions);
  return regions.count(std::string(region)) > 0;
}

std::optional<Handle> PhoneNormalizer::operator()(std::string_view raw) {
  // Debian's Abseil has its own string_view, which its string hash takes.
  if (auto it = m_memo.find(absl::string_view(raw.data(), raw.size())); it != m_memo.end()) return it->second;
  if (m_memo.size() >= 100'000) m_memo.clear();  // bounded: a pathological feed must not grow it forever
  return m_memo.emplace(std::string(raw), normalize_phone(raw, m_region)).first->second;
}

std::optional<std::string> parse_handle_key(std::string_view text, std::string_view region, std::string& why) {
  const auto colon = text.find(':');
  const auto kind = colon == std::string_view::npos ? std::nullopt : handle_kind_from(text.substr(0, colon));
  if (!kind || *kind == HandleKind::crm_id) {
    why = "must be KIND:VALUE, e.g. phone:+4915112345678 or email:anna@example.com";
    return std::nullopt;
  }
  const std::string_view value = text.substr(colon + 1);
  std::optional<Handle> h;
  if (*kind == HandleKind::phone)
    h = normalize_phone(value, region);
  else if (*kind == HandleKind::email)
    h = normalize_email(value);
  else if (!value.empty())
    h = Handle{*kind, std::string(value), true};
  if (!h || h->value.empty()) {
    why = fmt::format("\"{}\" is not a {}", value, to_string(*kind));
    return std::nullopt;
  }
  return h->key();
}

std::optional<std::string> normalize_birth_date(std::string_view raw) {
  constexpr Timestamp k_day_ms = 86'400'000;
  const std::string text(trim(raw));
  std::optional<Timestamp> ts;
  if (text.size() == 10)
    ts = parse_rfc3339(text + "T00:00:00Z");
  else if (text.find('T') != std::string::npos)
    ts = parse_rfc3339(text);
  else if (!text.empty() && text.find_first_not_of("0123456789", text[0] == '-' ? 1 : 0) == std::string::npos &&
           text.size() <= 16) {
    Timestamp ms = 0;
    if (std::from_chars(text.data(), text.data() + text.size(), ms).ec == std::errc()) ts = ms;
  }
  if (!ts || *ts % k_day_ms != 0) return std::nullopt;
  return format_date(*ts);
}

namespace {

// Splits at runs of whitespace (ASCII, and the no-break space exports are full of) and joins the
// words with one space.
std::string collapse_spaces(std::string_view raw) {
  std::string out;
  bool gap = false;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const bool nbsp = raw.substr(i, 2) == "\xC2\xA0";
    if (nbsp || raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r' || raw[i] == '\f' ||
        raw[i] == '\v') {
      gap = !out.empty();
      if (nbsp) ++i;
      continue;
    }
    if (gap) out += ' ';
    gap = false;
    out += raw[i];
  }
  return out;
}

}  // namespace

std::string normalize_postal_code(std::string_view raw) {
  std::string out = collapse_spaces(raw);
  for (auto& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

std::string normalize_place(std::string_view raw) {
  return collapse_spaces(raw);
}

}  // namespace chansync
