// Where the generated people live and when they were born: cities with their postal codes, streets,
// house numbers, birth dates, and the ways a CRM writes them wrong (a city's other spelling, a street
// typo, day and month swapped). Split from people.cpp, which makes names, numbers and addresses of mail.
#include <fmt/format.h>

#include <array>
#include <cctype>
#include <span>

#include "tests/bench/identity/people.hpp"

namespace chansync::bench::identity {

namespace {

// A city, the first of its postcodes and how many there are (DE, US, FR: numeric; GB: the district
// prefix and districts 1..span).
struct City {
  std::string_view name;
  std::string_view postal;  // DE/US/FR: the first code; GB: the area letters
  int span;
};

constexpr std::array<City, 8> k_de_cities = {{{"Berlin", "10115", 4000},
                                              {"Hamburg", "20095", 2600},
                                              {"München", "80331", 1600},
                                              {"Köln", "50667", 480},
                                              {"Frankfurt am Main", "60306", 600},
                                              {"Stuttgart", "70173", 440},
                                              {"Leipzig", "04103", 250},
                                              {"Düsseldorf", "40210", 420}}};
constexpr std::array<City, 8> k_us_cities = {{{"New York", "10001", 290},
                                              {"Chicago", "60601", 60},
                                              {"San Francisco", "94102", 32},
                                              {"Boston", "02108", 29},
                                              {"Seattle", "98101", 98},
                                              {"Denver", "80202", 37},
                                              {"Austin", "78701", 58},
                                              {"Los Angeles", "90001", 88}}};
constexpr std::array<City, 8> k_gb_cities = {{{"London", "SW", 20},
                                              {"Manchester", "M", 40},
                                              {"Birmingham", "B", 40},
                                              {"Leeds", "LS", 28},
                                              {"Glasgow", "G", 40},
                                              {"Liverpool", "L", 38},
                                              {"Bristol", "BS", 40},
                                              {"Edinburgh", "EH", 17}}};
constexpr std::array<City, 8> k_fr_cities = {{{"Paris", "75001", 20},
                                              {"Lyon", "69001", 9},
                                              {"Marseille", "13001", 16},
                                              {"Toulouse", "31000", 500},
                                              {"Nice", "06000", 300},
                                              {"Nantes", "44000", 300},
                                              {"Strasbourg", "67000", 200},
                                              {"Bordeaux", "33000", 800}}};
// Street names are a name and a type ("Linden" + "weg"): 240 a country, as many as a small town has.
// Every city has them all (every German city has its Goethestraße); with 150 house numbers a street,
// unrelated people rarely share a building, and now and then a street.
struct Streets {
  std::array<std::string_view, 40> names;
  std::array<std::string_view, 6> types;
};
constexpr Streets k_de_streets = {
    {"Haupt",  "Bahnhof", "Garten",    "Schul",     "Dorf",  "Berg",   "Linden",   "Kirch",  "Goethe",    "Schiller",
     "Ring",   "Wald",    "Mühlen",    "Friedrich", "Park",  "Birken", "Rosen",    "Feld",   "Blumen",    "Wiesen",
     "Mozart", "Lessing", "Beethoven", "Eichen",    "Ahorn", "Tannen", "Buchen",   "Sonnen", "Kastanien", "Fichten",
     "Amsel",  "Drossel", "Lerchen",   "Finken",    "Heine", "Kant",   "Bismarck", "Luisen", "Marien",    "Wilhelm"},
    {"straße", "weg", "allee", "platz", "ring", "gasse"}};
constexpr Streets k_us_streets = {
    {"Main",     "Oak",      "Maple",    "Park",   "Washington", "Elm",      "Cedar",  "Pine",
     "Lake",     "Hill",     "Sunset",   "Church", "Walnut",     "Spring",   "Ridge",  "Highland",
     "Lincoln",  "Jackson",  "River",    "Forest", "Madison",    "Center",   "Union",  "Jefferson",
     "Franklin", "Chestnut", "Willow",   "Meadow", "Valley",     "Cherry",   "Adams",  "Monroe",
     "Hickory",  "Birch",    "Prospect", "Grant",  "Cleveland",  "Harrison", "Spruce", "Dogwood"},
    {" Street", " Avenue", " Road", " Drive", " Lane", " Boulevard"}};
constexpr Streets k_gb_streets = {
    {"Station",   "Church",    "Victoria",  "Green",  "Manor",   "Park",   "Queens",  "Mill",
     "Kings",     "London",    "York",      "Albert", "Grange",  "New",    "School",  "Springfield",
     "Windsor",   "Highfield", "North",     "South",  "West",    "Mount",  "Stanley", "Chester",
     "Alexandra", "Richmond",  "Cambridge", "Oxford", "Princes", "George", "Beech",   "Elm",
     "Orchard",   "Woodland",  "Heath",     "Meadow", "Hill",    "Brook",  "Abbey",   "Castle"},
    {" Road", " Lane", " Street", " Close", " Avenue", " Gardens"}};
constexpr Streets k_fr_streets = {
    {"de la Paix",     "Victor Hugo",    "Jean Jaurès",  "de la République", "Voltaire",
     "Pasteur",        "de la Gare",     "du Moulin",    "de l'Église",      "Foch",
     "Jules Ferry",    "des Écoles",     "Gambetta",     "de la Liberté",    "du Château",
     "Nationale",      "des Lilas",      "des Vignes",   "Saint-Michel",     "de Verdun",
     "Carnot",         "Émile Zola",     "du Commerce",  "des Tilleuls",     "de Paris",
     "du Marché",      "des Acacias",    "de la Mairie", "Jean Moulin",      "Pierre Curie",
     "Anatole France", "de la Fontaine", "des Roses",    "du Stade",         "Lamartine",
     "Molière",        "Racine",         "du Port",      "des Peupliers",    "Saint-Jacques"},
    {"rue", "avenue", "boulevard", "place", "allée", "impasse"}};
constexpr std::size_t k_streets = 240;

std::string street_name(Country c, std::uint64_t street) {
  const auto& s = c == Country::de   ? k_de_streets
                  : c == Country::us ? k_us_streets
                  : c == Country::gb ? k_gb_streets
                                     : k_fr_streets;
  const auto name = s.names[street % 40], type = s.types[street / 40 % 6];
  return c == Country::fr ? fmt::format("{} {}", type, name) : fmt::format("{}{}", name, type);
}

std::string gb_postcode(const City& city, std::uint64_t street, int number) {
  // Outward code: area + district (each street lies in one); inward: a sector digit and two letters.
  constexpr std::string_view letters = "ABDEFGHJLNPQRSTUWXYZ";  // the inward code's alphabet
  const auto district = 1 + static_cast<int>(street * 7 % static_cast<std::uint64_t>(city.span));
  const auto unit = street * 131 + static_cast<std::uint64_t>(number) / 20;
  return fmt::format("{}{} {}{}{}", city.postal, district, unit % 10, letters[unit / 10 % 20],
                     letters[unit / 200 % 20]);
}

int days_in(int year, int month) {
  constexpr std::array<int, 12> days = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  return month == 2 && leap ? 29 : days[static_cast<std::size_t>(month - 1)];
}

bool valid_date(std::string_view d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  const int y = std::stoi(std::string(d.substr(0, 4))), m = std::stoi(std::string(d.substr(5, 2))),
            day = std::stoi(std::string(d.substr(8, 2)));
  return m >= 1 && m <= 12 && day >= 1 && day <= days_in(y, m);
}

}  // namespace

Address home_address(Country c, std::uint64_t index, std::uint64_t seed) {
  Rng rng(mix(seed ^ 0x61646472657373ULL, index));
  const auto& cities = c == Country::de   ? k_de_cities
                       : c == Country::us ? k_us_cities
                       : c == Country::gb ? k_gb_cities
                                          : k_fr_cities;
  // Big cities hold more people: the first city of a country gets a quarter of them.
  const auto ci = rng.chance(0.25) ? 0 : rng.below(cities.size());
  const City& city = cities[ci];
  const auto si = rng.below(k_streets);
  const int number = 1 + static_cast<int>(rng.below(150));
  Address a;
  a.city = city.name;
  a.street = c == Country::de ? fmt::format("{} {}", street_name(c, si), number)
                              : fmt::format("{} {}", number, street_name(c, si));
  if (c == Country::gb) {
    a.postal_code = gb_postcode(city, si + k_streets * ci, number);
  } else {
    // A street of a city has one or two postcodes (numbers above 75 in the second).
    const int first = std::stoi(std::string(city.postal));
    const auto offset = static_cast<int>((si * 2 + (number > 75 ? 1 : 0)) * 37 % static_cast<std::uint64_t>(city.span));
    a.postal_code = fmt::format("{:05}", first + offset);
  }
  return a;
}

std::string city_variant(std::string_view city) {
  constexpr std::array<std::pair<std::string_view, std::string_view>, 5> variants = {
      {{"München", "Muenchen"},
       {"Köln", "Koeln"},
       {"Düsseldorf", "Duesseldorf"},
       {"Frankfurt am Main", "Frankfurt"},
       {"New York", "New York City"}}};
  for (const auto& [name, variant] : variants)
    if (city == name) return std::string(variant);
  return std::string(city);
}

std::string birth_date(Rng& rng) {
  const int year = 1940 + static_cast<int>(rng.below(67)), month = 1 + static_cast<int>(rng.below(12));
  const int day = 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(days_in(year, month))));
  return fmt::format("{:04}-{:02}-{:02}", year, month, day);
}

std::string swap_day_month(std::string_view date) {
  if (date.size() != 10 || date.substr(5, 2) == date.substr(8, 2)) return "";
  const std::string out = fmt::format("{}{}-{}", date.substr(0, 5), date.substr(8, 2), date.substr(5, 2));
  return valid_date(out) ? out : "";
}

std::string date_typo(std::string_view date, Rng& rng) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::string out(date);
    constexpr std::array<std::size_t, 6> digits = {2, 3, 5, 6, 8, 9};  // not the century
    const auto pos = digits[rng.below(digits.size())];
    out[pos] = static_cast<char>('0' + rng.below(10));
    if (out != date && valid_date(out)) return out;
  }
  return std::string(date);
}

std::string street_typo(std::string_view street, Rng& rng) {
  std::string out(street);
  constexpr std::array<std::pair<std::string_view, std::string_view>, 6> short_forms = {{{"straße", "str."},
                                                                                         {"Street", "St"},
                                                                                         {"Avenue", "Ave"},
                                                                                         {"Road", "Rd"},
                                                                                         {"Boulevard", "Blvd"},
                                                                                         {"avenue", "av."}}};
  if (rng.chance(0.6))
    for (const auto& [full, abbr] : short_forms)
      if (const auto at = out.find(full); at != std::string::npos) return out.replace(at, full.size(), abbr);
  for (int attempt = 0; attempt < 8; ++attempt) {
    const auto pos = rng.below(out.size() - 1);
    if (std::isalpha(static_cast<unsigned char>(out[pos])) && std::isalpha(static_cast<unsigned char>(out[pos + 1])) &&
        out[pos] != out[pos + 1]) {
      std::swap(out[pos], out[pos + 1]);
      return out;
    }
  }
  return out;
}

}  // namespace chansync::bench::identity
