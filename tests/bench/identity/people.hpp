#pragma once
// The true people behind the identity benchmark's records, and the ways a person's name, phone number
// and email address end up written in a CRM or sent by a vendor. Everything is a pure function of a
// seed and an index: the same seed gives the same people on every machine.
#include <cstdint>
#include <string>
#include <string_view>

namespace chansync::bench::identity {

// splitmix64: std:: distributions differ between standard libraries, and the data must not.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : m_state(seed) {}
  std::uint64_t next();
  std::uint64_t below(std::uint64_t n);  // uniform in [0, n); n > 0
  bool chance(double p);                 // true with probability p
 private:
  std::uint64_t m_state;
};

// A well-mixed hash of two words: the seed of one person's, household's or company's generator.
std::uint64_t mix(std::uint64_t a, std::uint64_t b);

enum class Country { de, us, gb, fr };
const char* region_of(Country c);  // "DE", "US", "GB", "FR"

// A phone number in parts, so that each record can write it its own way.
struct Number {
  Country country = Country::de;
  std::string nsn;      // national significant number
  std::size_t ndc = 0;  // length of the area or mobile network code at the start of nsn
  std::string e164() const;
};

// Unique per (country, index) for index < 10^7: a bijective scramble of the index into the
// subscriber digits, so no two people share a number by accident.
Number mobile_number(Country c, std::uint64_t index, std::uint64_t seed);
Number landline_number(Country c, std::uint64_t index, std::uint64_t seed);
Number office_number(Country c, std::uint64_t index, std::uint64_t seed);

// How a number is written in a CRM whose connector's region is `region`: national forms when the
// person is local, international ones otherwise; with probability `foreign_national` a national form
// anyway (which libphonenumber then reads in the wrong country). `misread` is set when that happened.
std::string write_phone(const Number& n, Country region, double foreign_national, Rng& rng, bool& misread);
// An office switchboard number with this person's extension ("x123", "ext. 12") as typed in a CRM of
// `region`; German offices also write a direct dial ("-12"), which is a number of its own.
std::string write_office_phone(const Number& n, int extension, Country region, Rng& rng);

// A name in the form it is typed: `latin` is plain ASCII (what an email address is built from),
// `native` the person's own spelling (umlauts, accents, Cyrillic or Greek); equal for plain names.
struct NameForm {
  std::string_view latin, native;
};
// A person's names, drawn for a country; `foreign` picks a Russian or Greek name (transliterated
// in some records).
NameForm first_name(Country c, bool foreign, Rng& rng);
NameForm last_name(Country c, bool foreign, Rng& rng);
NameForm other_last_name(Country c, Rng& rng);  // a maiden name, for name changes

// A private address built from the name's ASCII form and the person's index (so it is unique):
// "anna.schmidt48213@gmx.de".
std::string personal_email(Country c, const NameForm& first, const NameForm& last, std::uint64_t index, Rng& rng);
// An address as someone typed it: case changed, surrounding space, "mailto:".
std::string write_email(std::string_view email, Rng& rng);
// One typing mistake: two letters of the name swapped, or the domain misspelt (gmial.com).
std::string email_typo(std::string_view email, Rng& rng);
// The same Gmail mailbox written differently (dots dropped, a +tag): a different address to chansync.
std::string gmail_variant(std::string_view email, Rng& rng);

// A company: its domain (sometimes an IDN), role address, an optional shared non-role address
// ("team.berlin@…", "kontakt@…"), and its switchboard number.
struct Company {
  Country country = Country::de;
  std::string domain;
  std::string role_email;    // info@, sales@ …: normalize_email keeps it unverified
  std::string shared_email;  // "" when the company has none
  Number phone;
};
Company company(std::uint64_t index, std::uint64_t seed, double shared_email);

// A home address as a CRM's attribute fields hold it: "Hauptstraße 5", "10437", "Berlin" in DE;
// "12 Oak Street", "60614", "Chicago" in the US; GB and FR postcodes in their own forms. Eight cities
// a country and 240 street names in each, so unrelated people share postcodes, now and then a street
// and rarely a building.
struct Address {
  std::string street, postal_code, city;
};
Address home_address(Country c, std::uint64_t index, std::uint64_t seed);
// The city as some records write it: "Muenchen", "Frankfurt" for "Frankfurt am Main"; the same
// string when it has no other form.
std::string city_variant(std::string_view city);
// A birth date "YYYY-MM-DD" between 1940 and 2006.
std::string birth_date(Rng& rng);
// The same date with day and month swapped (a US form read as European), or "" when that is no date
// or no change.
std::string swap_day_month(std::string_view date);
// One digit of a date mistyped (still a valid date).
std::string date_typo(std::string_view date, Rng& rng);
// A street as typed once more: the street type abbreviated ("Hauptstr. 5", "12 Oak St") or two
// neighbouring letters swapped.
std::string street_typo(std::string_view street, Rng& rng);

}  // namespace chansync::bench::identity
