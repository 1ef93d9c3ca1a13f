#include "tests/bench/identity/people.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <span>

namespace chansync::bench::identity {
namespace {

constexpr std::array<NameForm, 16> k_de_first = {{{"Juergen", "Jürgen"},
                                                  {"Anna", "Anna"},
                                                  {"Lukas", "Lukas"},
                                                  {"Sophie", "Sophie"},
                                                  {"Joerg", "Jörg"},
                                                  {"Maximilian", "Maximilian"},
                                                  {"Lena", "Lena"},
                                                  {"Baerbel", "Bärbel"},
                                                  {"Felix", "Felix"},
                                                  {"Marie", "Marie"},
                                                  {"Uwe", "Uwe"},
                                                  {"Katrin", "Katrin"},
                                                  {"Soeren", "Sören"},
                                                  {"Hannah", "Hannah"},
                                                  {"Tobias", "Tobias"},
                                                  {"Ute", "Ute"}}};
constexpr std::array<NameForm, 16> k_de_last = {{{"Mueller", "Müller"},
                                                 {"Schmidt", "Schmidt"},
                                                 {"Schneider", "Schneider"},
                                                 {"Fischer", "Fischer"},
                                                 {"Weiss", "Weiß"},
                                                 {"Meyer", "Meyer"},
                                                 {"Wagner", "Wagner"},
                                                 {"Schroeder", "Schröder"},
                                                 {"Becker", "Becker"},
                                                 {"Hoffmann", "Hoffmann"},
                                                 {"Koehler", "Köhler"},
                                                 {"Richter", "Richter"},
                                                 {"Krueger", "Krüger"},
                                                 {"Wolf", "Wolf"},
                                                 {"Hartmann", "Hartmann"},
                                                 {"Lange", "Lange"}}};
constexpr std::array<NameForm, 12> k_en_first = {{{"James", "James"},
                                                  {"Mary", "Mary"},
                                                  {"Olivia", "Olivia"},
                                                  {"Noah", "Noah"},
                                                  {"Emma", "Emma"},
                                                  {"William", "William"},
                                                  {"Ava", "Ava"},
                                                  {"Liam", "Liam"},
                                                  {"Zoe", "Zoë"},
                                                  {"Chloe", "Chloë"},
                                                  {"Jack", "Jack"},
                                                  {"Grace", "Grace"}}};
constexpr std::array<NameForm, 12> k_en_last = {{{"Smith", "Smith"},
                                                 {"Johnson", "Johnson"},
                                                 {"Williams", "Williams"},
                                                 {"Brown", "Brown"},
                                                 {"Jones", "Jones"},
                                                 {"Taylor", "Taylor"},
                                                 {"Davies", "Davies"},
                                                 {"Garcia", "García"},
                                                 {"Evans", "Evans"},
                                                 {"OBrien", "O'Brien"},
                                                 {"Nunez", "Núñez"},
                                                 {"Wilson", "Wilson"}}};
constexpr std::array<NameForm, 12> k_fr_first = {{{"Helene", "Hélène"},
                                                  {"Francois", "François"},
                                                  {"Camille", "Camille"},
                                                  {"Jerome", "Jérôme"},
                                                  {"Louise", "Louise"},
                                                  {"Noel", "Noël"},
                                                  {"Chloe", "Chloé"},
                                                  {"Hugo", "Hugo"},
                                                  {"Ines", "Inès"},
                                                  {"Theo", "Théo"},
                                                  {"Manon", "Manon"},
                                                  {"Loic", "Loïc"}}};
constexpr std::array<NameForm, 12> k_fr_last = {{{"Martin", "Martin"},
                                                 {"Bernard", "Bernard"},
                                                 {"Lefevre", "Lefèvre"},
                                                 {"Dubois", "Dubois"},
                                                 {"Thomas", "Thomas"},
                                                 {"Robert", "Robert"},
                                                 {"Petit", "Petit"},
                                                 {"Durand", "Durand"},
                                                 {"Leroy", "Leroy"},
                                                 {"Moreau", "Moreau"},
                                                 {"Benoit", "Benoît"},
                                                 {"Francois", "François"}}};
// People whose own spelling is not Latin: a CRM holds either form, a messenger the native one.
constexpr std::array<NameForm, 8> k_foreign_first = {{{"Dmitri", "Дмитрий"},
                                                      {"Olga", "Ольга"},
                                                      {"Sergei", "Сергей"},
                                                      {"Natalia", "Наталья"},
                                                      {"Giorgos", "Γιώργος"},
                                                      {"Eleni", "Ελένη"},
                                                      {"Nikos", "Νίκος"},
                                                      {"Maria", "Μαρία"}}};
constexpr std::array<NameForm, 8> k_foreign_last = {{{"Ivanov", "Иванов"},
                                                     {"Smirnova", "Смирнова"},
                                                     {"Kuznetsov", "Кузнецов"},
                                                     {"Popova", "Попова"},
                                                     {"Papadopoulos", "Παπαδόπουλος"},
                                                     {"Georgiou", "Γεωργίου"},
                                                     {"Nikolaou", "Νικολάου"},
                                                     {"Dimitriou", "Δημητρίου"}}};

template <class T, std::size_t N>
const T& pick(const std::array<T, N>& a, Rng& rng) {
  return a[rng.below(N)];
}

std::span<const std::string_view> private_domains(Country c) {
  static constexpr std::array<std::string_view, 4> de = {"gmx.de", "web.de", "t-online.de", "gmail.com"};
  static constexpr std::array<std::string_view, 4> us = {"gmail.com", "yahoo.com", "outlook.com", "icloud.com"};
  static constexpr std::array<std::string_view, 4> gb = {"gmail.com", "btinternet.com", "hotmail.co.uk", "outlook.com"};
  static constexpr std::array<std::string_view, 4> fr = {"orange.fr", "free.fr", "gmail.com", "laposte.net"};
  switch (c) {
    case Country::de:
      return de;
    case Country::us:
      return us;
    case Country::gb:
      return gb;
    case Country::fr:
      return fr;
  }
  return de;
}

const char* country_code(Country c) {
  switch (c) {
    case Country::de:
      return "49";
    case Country::us:
      return "1";
    case Country::gb:
      return "44";
    case Country::fr:
      return "33";
  }
  return "";
}

// A bijection of [0, m) when index < m: 1,000,003 is prime and divides none of our moduli.
std::uint64_t scatter(std::uint64_t index, std::uint64_t m, std::uint64_t seed) {
  return (index % m * 1'000'003 + seed % m) % m;
}

// `prefix` followed by `digits` digits of the scrambled index.
Number number(Country c, std::string_view prefix, std::size_t ndc, int digits, std::uint64_t index,
              std::uint64_t seed) {
  std::uint64_t m = 1;
  for (int i = 0; i < digits; ++i) m *= 10;
  return {c, fmt::format("{}{:0{}}", prefix, scatter(index, m, seed), digits), ndc};
}

// US numbers: an area code of the list, an exchange 200–999, a line; the same bijection over all three.
Number us_number(std::span<const std::string_view> areas, std::uint64_t index, std::uint64_t seed) {
  const std::uint64_t x = scatter(index, areas.size() * 8'000'000, seed);
  return {Country::us, fmt::format("{}{}{:04}", areas[x / 8'000'000], 200 + x / 10'000 % 800, x % 10'000), 3};
}

// "151 23456789", "212 234 5678", "6 12 34 56 78", "20 7123 4567".
std::string grouped(const Number& n) {
  const std::string_view nsn = n.nsn, ndc = nsn.substr(0, n.ndc), rest = nsn.substr(n.ndc);
  switch (n.country) {
    case Country::us:
      return fmt::format("{} {} {}", ndc, rest.substr(0, 3), rest.substr(3));
    case Country::fr: {
      std::string out(ndc);
      for (std::size_t i = 0; i < rest.size(); i += 2) out += fmt::format(" {}", rest.substr(i, 2));
      return out;
    }
    case Country::gb:
      if (rest.size() == 8) return fmt::format("{} {} {}", ndc, rest.substr(0, 4), rest.substr(4));
      [[fallthrough]];
    case Country::de:
      return fmt::format("{} {}", ndc, rest);
  }
  return std::string(nsn);
}

std::string national(const Number& n, bool punctuated) {
  const std::string_view nsn = n.nsn;
  if (n.country == Country::us)
    return punctuated ? fmt::format("{}.{}.{}", nsn.substr(0, 3), nsn.substr(3, 3), nsn.substr(6))
                      : fmt::format("({}) {}-{}", nsn.substr(0, 3), nsn.substr(3, 3), nsn.substr(6));
  if (!punctuated) return "0" + grouped(n);
  std::string out = "0" + grouped(n);
  const char sep = n.country == Country::fr ? '.' : n.country == Country::de ? '/' : '-';
  for (char& ch : out)
    if (ch == ' ') ch = sep;
  return out;
}

}  // namespace

std::uint64_t Rng::next() {
  std::uint64_t z = (m_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t Rng::below(std::uint64_t n) {
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
}

bool Rng::chance(double p) {
  return static_cast<double>(next() >> 11) * 0x1.0p-53 < p;
}

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  Rng r(a ^ (b * 0xd1b54a32d192ed03ULL));
  r.next();
  return r.next();
}

const char* region_of(Country c) {
  switch (c) {
    case Country::de:
      return "DE";
    case Country::us:
      return "US";
    case Country::gb:
      return "GB";
    case Country::fr:
      return "FR";
  }
  return "";
}

std::string Number::e164() const {
  return fmt::format("+{}{}", country_code(country), nsn);
}

constexpr std::array<std::string_view, 8> k_us_mobile_areas = {"212", "312", "415", "617", "646", "206", "303", "512"};
constexpr std::array<std::string_view, 4> k_us_landline_areas = {"718", "773", "510", "781"};
constexpr std::array<std::string_view, 2> k_us_office_areas = {"872", "628"};

Number mobile_number(Country c, std::uint64_t index, std::uint64_t seed) {
  switch (c) {
    case Country::de:
      return number(c, "151", 3, 8, index, seed);
    case Country::us:
      return us_number(k_us_mobile_areas, index, seed);
    case Country::gb:
      return number(c, "78", 4, 8, index, seed);
    case Country::fr:
      return number(c, "61", 1, 7, index, seed);  // 639 and 69 are not mobile ranges to libphonenumber
  }
  return {};
}

Number landline_number(Country c, std::uint64_t index, std::uint64_t seed) {
  // A scramble of its own: with the mobiles' one, a household's landline and its first member's
  // mobile ended in the same eight digits, which no telephone network does and the scorer reads as
  // one number mistyped.
  seed ^= 0x6c616e646c696e65ULL;
  switch (c) {
    case Country::de:
      return number(c, "30", 2, 8, index, seed);
    case Country::us:
      return us_number(k_us_landline_areas, index, seed);
    case Country::gb:
      return number(c, "207", 2, 7, index, seed);
    case Country::fr:
      return number(c, "1", 1, 8, index, seed);
  }
  return {};
}

Number office_number(Country c, std::uint64_t index, std::uint64_t seed) {
  switch (c) {
    case Country::de:
      return number(c, "89", 2, 7, index, seed);
    case Country::us:
      return us_number(k_us_office_areas, index, seed);
    case Country::gb:
      return number(c, "161", 3, 7, index, seed);
    case Country::fr:
      return number(c, "49", 1, 7, index, seed);  // 40 is not a valid range
  }
  return {};
}

std::string write_phone(const Number& n, Country region, double foreign_national, Rng& rng, bool& misread) {
  misread = false;
  const auto cc = country_code(n.country);
  const bool trunk_in_brackets = n.country == Country::de || n.country == Country::gb;
  if (n.country != region && rng.chance(foreign_national)) {
    misread = true;
    return national(n, rng.chance(0.3));
  }
  const auto r = rng.below(100);
  if (n.country == region) {
    if (r < 35) return national(n, false);
    if (r < 50) return national(n, true);
  } else if (r < 50) {
    return r < 25 ? n.e164() : fmt::format("+{} {}", cc, grouped(n));
  }
  if (r < 70) return fmt::format("+{} {}", cc, grouped(n));
  if (r < 88) return n.e164();
  if (r < 94 && trunk_in_brackets) return fmt::format("+{} (0){}", cc, grouped(n));
  return fmt::format("00{} {}", cc, grouped(n));  // an IDD only European regions read
}

std::string write_office_phone(const Number& n, int extension, Country region, Rng& rng) {
  const auto cc = country_code(n.country);
  if (n.country == Country::de && rng.chance(0.5)) return fmt::format("+{} {}-{}", cc, grouped(n), extension);
  if (n.country == region && rng.chance(0.5)) return fmt::format("{} x{}", national(n, false), extension);
  return fmt::format("+{} {} ext. {}", cc, grouped(n), extension);
}

NameForm first_name(Country c, bool foreign, Rng& rng) {
  if (foreign) return pick(k_foreign_first, rng);
  switch (c) {
    case Country::de:
      return pick(k_de_first, rng);
    case Country::fr:
      return pick(k_fr_first, rng);
    default:
      return pick(k_en_first, rng);
  }
}

NameForm last_name(Country c, bool foreign, Rng& rng) {
  if (foreign) return pick(k_foreign_last, rng);
  switch (c) {
    case Country::de:
      return pick(k_de_last, rng);
    case Country::fr:
      return pick(k_fr_last, rng);
    default:
      return pick(k_en_last, rng);
  }
}

NameForm other_last_name(Country c, Rng& rng) {
  return last_name(c, false, rng);
}

std::string personal_email(Country c, const NameForm& first, const NameForm& last, std::uint64_t index, Rng& rng) {
  auto lower = [](std::string_view s) {
    std::string out;
    for (char ch : s)
      if (std::isalpha(static_cast<unsigned char>(ch))) out += static_cast<char>(std::tolower(ch));
    return out;
  };
  const auto f = lower(first.latin), l = lower(last.latin);
  const auto domains = private_domains(c);
  const auto domain = domains[rng.below(domains.size())];
  switch (rng.below(4)) {
    case 0:
      return fmt::format("{}.{}{}@{}", f, l, index, domain);
    case 1:
      return fmt::format("{}{}{}@{}", f[0], l, index, domain);
    case 2:
      return fmt::format("{}_{}{}@{}", f, l, index, domain);
    default:
      return fmt::format("{}.{}{}@{}", l, f, index, domain);
  }
}

std::string write_email(std::string_view email, Rng& rng) {
  std::string out(email);
  const auto r = rng.below(100);
  if (r < 15) {  // "Anna.Schmidt48213@GMX.de": the capitals people type
    bool word_start = true;
    for (char& ch : out) {
      if (word_start && std::isalpha(static_cast<unsigned char>(ch)))
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      word_start = ch == '.' || ch == '@' || ch == '_';
    }
  } else if (r < 20) {
    for (char& ch : out) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  } else if (r < 24) {
    out = " " + out + " ";
  } else if (r < 26) {
    out = "mailto:" + out;
  }
  return out;
}

std::string email_typo(std::string_view email, Rng& rng) {
  std::string out(email);
  const auto at = out.find('@');
  if (rng.chance(0.4)) {  // the domain: a dropped or doubled letter of its first label
    const auto dot = out.find('.', at);
    const auto pos = at + 1 + rng.below(dot - at - 1);
    if (rng.chance(0.5) && dot - at > 2)
      out.erase(pos, 1);
    else
      out.insert(pos, 1, out[pos]);
    return out;
  }
  // Two neighbouring letters of the local part swapped; the index digits stay (so no one else's address).
  for (int attempt = 0; attempt < 8; ++attempt) {
    const auto pos = rng.below(at - 1);
    if (std::isalpha(static_cast<unsigned char>(out[pos])) && std::isalpha(static_cast<unsigned char>(out[pos + 1])) &&
        out[pos] != out[pos + 1]) {
      std::swap(out[pos], out[pos + 1]);
      return out;
    }
  }
  out.insert(at, 1, out[at - 1]);
  return out;
}

std::string gmail_variant(std::string_view email, Rng& rng) {
  const auto at = email.find('@');
  std::string local(email.substr(0, at));
  if (rng.chance(0.5) && local.find('.') != std::string::npos)
    std::erase(local, '.');
  else
    local += "+shop";
  return local + std::string(email.substr(at));
}

Company company(std::uint64_t index, std::uint64_t seed, double shared_email) {
  static constexpr std::array<std::string_view, 8> names = {"nordwind", "acme",       "bluebird", "lumen",
                                                            "kessler",  "müller-bau", "atelier",  "brightway"};
  static constexpr std::array<std::string_view, 8> shared = {"team.berlin", "kontakt",   "vertrieb", "accounts",
                                                             "bureau",      "reception", "empfang",  "orders"};
  static constexpr std::array<std::string_view, 4> roles = {"info", "sales", "office", "contact"};
  Rng rng(mix(seed, index ^ 0xc0ffee));
  Company c;
  c.country = static_cast<Country>(rng.below(4));
  static constexpr std::array<std::string_view, 4> tlds = {"de", "com", "co.uk", "fr"};
  c.domain = fmt::format("{}-{}.{}", names[rng.below(names.size())], index, tlds[static_cast<int>(c.country)]);
  c.role_email = fmt::format("{}@{}", roles[rng.below(roles.size())], c.domain);
  if (rng.chance(shared_email)) c.shared_email = fmt::format("{}@{}", shared[rng.below(shared.size())], c.domain);
  c.phone = office_number(c.country, index, seed);
  return c;
}

}  // namespace chansync::bench::identity
