// Identity suggestions: the string measures against published values, the scorer on a synthetic
// population with known duplicates, and suggestions over a real state store (listed, kept apart by a
// split, merged above [identity] auto_merge_above and not merged again once undone).
#include "sync/suggest.hpp"

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <random>
#include <set>

#include "push_fixtures.hpp"
#include "sync/run.hpp"
#include "sync/similarity.hpp"
#include "sync/state_store.hpp"
#include "sync/suggestions.hpp"

using namespace chansync;

TEST_CASE("Jaro-Winkler and OSA distance give the published values", "[suggest]") {
  // Winkler (1990) and the record-linkage literature's examples.
  CHECK(jaro_winkler("martha", "marhta") == Approx(0.961).epsilon(0.001));
  CHECK(jaro_winkler("dwayne", "duane") == Approx(0.84).epsilon(0.001));
  CHECK(jaro_winkler("dixon", "dicksonx") == Approx(0.813).epsilon(0.001));
  CHECK(jaro_winkler("abc", "abc") == 1.0);
  CHECK(jaro_winkler("", "") == 1.0);
  CHECK(jaro_winkler("abc", "") == 0.0);
  CHECK(jaro_winkler("abc", "xyz") == 0.0);

  CHECK(osa_distance("kitten", "sitting") == 3);
  CHECK(osa_distance("ca", "ac") == 1);  // a transposition is one edit
  CHECK(osa_distance("4915112345678", "4915112345687") == 1);
  CHECK(osa_distance("", "abc") == 3);
  CHECK(osa_distance("aaaaaaaaaa", "bbbbbbbbbb", 2) == 3);  // stops once past the limit
}

TEST_CASE("fold_name makes names written in other scripts or with accents comparable", "[suggest]") {
  CHECK(fold_name("Anna  MÜLLER") == "anna muller");
  CHECK(fold_name("José-María O'Brien") == "jose maria o brien");
  CHECK(fold_name("Дмитрий Иванов") == "dmitrij ivanov");
  CHECK(fold_name("  ") == "");
  CHECK(name_tokens("jose maria") == std::vector<std::string_view>{"jose", "maria"});
}

namespace {

const std::vector<std::string> k_first = {"Anna",   "Ben",   "Clara", "David",  "Elif", "Felix", "Greta", "Hannah",
                                          "Ida",    "Jonas", "Karl",  "Lena",   "Mia",  "Noah",  "Olga",  "Paul",
                                          "Quirin", "Rosa",  "Sven",  "Tara",   "Uwe",  "Vera",  "Wim",   "Xenia",
                                          "Yusuf",  "Zoe",   "Emil",  "Frieda", "Hugo", "Ilse"};
const std::vector<std::string> k_last = {"Müller", "Schmidt", "Schneider", "Fischer",  "Weber",   "Meyer",
                                         "Wagner", "Becker",  "Schulz",    "Hoffmann", "Koch",    "Richter",
                                         "Klein",  "Wolf",    "Schröder",  "Neumann",  "Schwarz", "Zimmermann",
                                         "Braun",  "Krüger",  "Hofmann",   "Hartmann", "Lange",   "Schmitt"};

// `n` distinct people: a name from the lists above (common names repeat, as they do), their own
// mobile number and address.
std::vector<SuggestProfile> population(std::size_t n, std::mt19937& rng) {
  std::vector<SuggestProfile> out;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& first = k_first[rng() % k_first.size()];
    const auto& last = k_last[rng() % k_last.size()];
    SuggestProfile p;
    p.person_id = fmt::format("p{}", i);
    p.names = {first + " " + last};
    p.phones = {fmt::format("+49151{:08}", 10'000'000 + i * 7919 % 90'000'000)};
    p.emails = {fmt::format("{}.{}{}@mail{}.example", fold_name(first), i, rng() % 100, rng() % 5)};
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

TEST_CASE("suggest finds the same person written differently and not namesakes", "[suggest]") {
  std::mt19937 rng(7);
  auto people = population(1500, rng);
  // Duplicates of known persons, the way they show up: a record from another system with the name
  // transliterated and one digit mistyped, the mailbox written with dots, a swapped pair of digits.
  std::vector<std::pair<std::size_t, std::size_t>> truth;
  const auto dup = [&](std::size_t of, SuggestProfile p) {
    p.person_id = fmt::format("dup{}", of);
    truth.emplace_back(of, people.size());
    people.push_back(std::move(p));
  };
  for (std::size_t of = 0; of < 40; ++of) {
    const auto& o = people[of];
    std::string phone = o.phones[0];
    SuggestProfile p;
    switch (of % 4) {
      case 0:  // same name, transliterated; one digit of the number mistyped; no email
        p.names = {fold_name(o.names[0])};
        phone.back() = phone.back() == '9' ? '0' : static_cast<char>(phone.back() + 1);
        p.phones = {phone};
        break;
      case 1:  // name words swapped, the same email with a +tag, a different number
        p.names = {o.names[0].substr(o.names[0].find(' ') + 1) + " " + o.names[0].substr(0, o.names[0].find(' '))};
        p.emails = {o.emails[0].substr(0, o.emails[0].find('@')) + "+shop" + o.emails[0].substr(o.emails[0].find('@'))};
        p.phones = {fmt::format("+49170{:07}", of)};
        break;
      case 2:  // a typo in the name; two digits swapped
        p.names = {o.names[0] + "n"};
        std::swap(phone[phone.size() - 1], phone[phone.size() - 2]);
        p.phones = {phone};
        break;
      default:  // only a Messenger name and the email with a typo in the domain
        p.names = {o.names[0]};
        p.emails = {o.emails[0].substr(0, o.emails[0].size() - 1) + "x"};
        break;
    }
    dup(of, std::move(p));
  }
  // A namesake: same name as person 100, nothing else in common.
  people.push_back({"namesake", {people[100].names[0]}, {"+4917099999999"}, {"someone.else@elsewhere.example"}});

  SuggestOptions options;
  options.min_score = 0.5;
  const auto r = suggest(people, options);
  std::set<std::pair<std::size_t, std::size_t>> found, sure;
  for (const auto& s : r.suggestions) {
    found.emplace(s.a, s.b);
    if (s.probability >= 0.9) sure.emplace(s.a, s.b);
  }
  std::size_t hits = 0, sure_hits = 0;
  for (const auto& t : truth) {
    hits += found.contains(t);
    sure_hits += sure.contains(t);
  }
  INFO("model prior " << r.model.prior << ", " << r.model.candidate_pairs << " candidate pairs, "
                      << r.suggestions.size() << " suggestions");
  CHECK(hits == truth.size());  // every duplicate is at least even odds
  CHECK(found.size() == hits);  // and nothing else is: no namesake, no stranger
  // Above 0.9 all but a name typo with two digits swapped (about 0.8: in a pool of 30 first and 24
  // last names a near-miss name is no rarity).
  CHECK(sure_hits >= truth.size() - truth.size() / 4);
  CHECK(r.model.candidate_pairs < people.size() * 20);  // blocking, not all pairs
  CHECK(r.model.prior > 0);
  CHECK(r.model.prior < 100.0 / (1541.0 * 1540 / 2));  // about 40 duplicates among all pairs
  for (std::size_t i = 1; i < r.suggestions.size(); ++i)
    CHECK(r.suggestions[i - 1].probability >= r.suggestions[i].probability);

  // The waterfall adds up: the prior's weight and the fields' weights give the probability.
  REQUIRE_FALSE(r.suggestions.empty());
  const auto& s = r.suggestions.front();
  double weight = std::log2(r.model.prior / (1 - r.model.prior));
  for (const auto& f : s.fields) weight += f.weight;
  CHECK(s.weight == Approx(weight));
  CHECK(s.probability == Approx(1 / (1 + std::exp2(-weight))));
  const auto& name = s.fields[static_cast<std::size_t>(SuggestField::name)];
  CHECK_FALSE(name.a.empty());
  CHECK(name.weight > 0);

  // The same data gives the same suggestions in the same order.
  const auto again = suggest(people, options);
  REQUIRE(again.suggestions.size() == r.suggestions.size());
  for (std::size_t i = 0; i < r.suggestions.size(); ++i) {
    CHECK(again.suggestions[i].a == r.suggestions[i].a);
    CHECK(again.suggestions[i].probability == r.suggestions[i].probability);
  }

  // A pair kept apart is never suggested.
  const auto kept = suggest(people, options,
                            [&](std::size_t a, std::size_t b) { return a == truth[0].first && b == truth[0].second; });
  for (const auto& k : kept.suggestions) CHECK_FALSE((k.a == truth[0].first && k.b == truth[0].second));
  CHECK(kept.suggestions.size() == r.suggestions.size() - 1);
}

TEST_CASE("suggest: a block shared by too many persons proposes no pairs, and tiny inputs are fine", "[suggest]") {
  std::vector<SuggestProfile> same(60, SuggestProfile{"", {"Anna Müller"}, {}, {}});
  for (std::size_t i = 0; i < same.size(); ++i) same[i].person_id = fmt::format("p{}", i);
  const auto r = suggest(same, {});
  CHECK(r.model.candidate_pairs == 0);
  CHECK(r.model.skipped_blocks >= 1);
  CHECK(r.suggestions.empty());
  CHECK(suggest(std::vector<SuggestProfile>(1), {}).suggestions.empty());
  // Two persons, even alike, are no population to measure strangers by.
  const std::vector<SuggestProfile> two = {{"a", {"Ilse Zwanziger"}, {"+4915112345678"}, {}},
                                           {"b", {"Ilse Zwanziger"}, {"+4915112345687"}, {}}};
  CHECK(suggest(two, {}).suggestions.empty());
  CHECK(suggest(std::vector<SuggestProfile>{}, {}).suggestions.empty());
}

namespace {

// A CRM of distinct customers and a shop export holding one of them again with a transliterated name
// and a mistyped number: reconcile keeps them apart, the scorer should pair them.
void seed_store(StateStore& store) {
  std::mt19937 rng(3);
  std::vector<Contact> crm;
  for (std::size_t i = 0; i < 300; ++i)
    crm.push_back({"crm",
                   std::to_string(i),
                   k_first[rng() % k_first.size()],
                   k_last[rng() % k_last.size()],
                   {Handle{HandleKind::phone, fmt::format("+4915{:09}", 100'000'000 + i * 104'729), true},
                    Handle{HandleKind::email, fmt::format("c{}.{}@example.com", i, rng() % 1000), true}}});
  crm[7].first_name = "Jürgen";
  crm[7].last_name = "Größmann";
  crm[7].attributes.birth_date = "1971-04-02";
  store.records().commit_contacts("crm", "contacts", crm, {}, "x");
  std::string phone = crm[7].handles[0].value;
  std::swap(phone[phone.size() - 1], phone[phone.size() - 2]);
  Contact shop{"shop", "s7", "Juergen", "Groessmann", {Handle{HandleKind::phone, phone, true}}};
  shop.attributes.birth_date = "1971-02-04";  // day and month the other way round
  store.records().commit_contacts("shop", "contacts", {shop}, {}, "y");
}

std::string person_of(StateStore& store, const std::string& node) {
  SQLite::Statement q(store.db(), "SELECT person_id FROM person_handles WHERE node = ?");
  q.bind(1, node);
  return q.executeStep() ? q.getColumn(0).getString() : "";
}

}  // namespace

TEST_CASE("suggestions over the store: listed, kept apart by a split, merged above auto_merge_above, undone for good",
          "[suggest]") {
  StateStore store(":memory:");
  seed_store(store);
  const std::vector<Endpoint> none;
  REQUIRE(reconcile_store(store, none, false).persons == 301);
  const std::string crm = person_of(store, "crm_id:crm/7"), shop = person_of(store, "crm_id:shop/s7");
  REQUIRE(crm != shop);

  auto listed = list_suggestions(store, none, {}, {});
  CHECK_FALSE(listed.stale);
  REQUIRE(listed.result.suggestions.size() == 1);
  const auto& s = listed.result.suggestions[0];
  CHECK(std::set{listed.profiles[s.a].person_id, listed.profiles[s.b].person_id} == std::set{crm, shop});
  const auto& name = s.fields[static_cast<std::size_t>(SuggestField::name)];
  CHECK(std::string(level_name(SuggestField::name, name.level)) == "close");
  CHECK(std::set{name.a, name.b} == std::set<std::string>{"Jürgen Größmann", "Juergen Groessmann"});
  CHECK(std::string(level_name(SuggestField::phone, s.fields[1].level)) == "close");
  const auto& born = s.fields[static_cast<std::size_t>(SuggestField::birth_date)];
  CHECK(std::string(level_name(SuggestField::birth_date, born.level)) == "close");
  CHECK(std::set{born.a, born.b} == std::set<std::string>{"1971-04-02", "1971-02-04"});

  // auto_merge_above records the merge as a decision; the report counts it.
  IdentityRules rules;
  rules.auto_merge_above = 0.95;
  const auto merged = reconcile_store(store, none, false, rules);
  CHECK(merged.auto_merged == 1);
  CHECK(merged.persons == 300);
  CHECK(person_of(store, "crm_id:crm/7") == person_of(store, "crm_id:shop/s7"));
  const auto decisions = store.decisions().list();
  REQUIRE(decisions.size() == 1);
  CHECK(decisions[0].reason.find("auto_merge_above 0.95") != std::string::npos);
  CHECK(list_suggestions(store, none, rules, {}).result.suggestions.empty());  // one person now

  // Undone, the pair is neither merged again nor listed: the undo answered "not one person".
  store.decisions().undo(decisions[0].id);
  const auto after = reconcile_store(store, none, false, rules);
  CHECK(after.auto_merged == 0);
  CHECK(after.persons == 301);
  CHECK(person_of(store, "crm_id:crm/7") != person_of(store, "crm_id:shop/s7"));
  CHECK(reconcile_store(store, none, true, rules).auto_merged == 0);

  CHECK(list_suggestions(store, none, rules, {}).result.suggestions.empty());

  // Merged by hand and then the shop record split off: the split keeps them out of the listing.
  const auto again = store.decisions().merge(crm, shop, "checked");
  reconcile_store(store, none, false);
  store.decisions().split(person_of(store, "crm_id:crm/7"), "crm_id:shop/s7", "not the same Jürgen");
  reconcile_store(store, none, false);
  CHECK(person_of(store, "crm_id:crm/7") != person_of(store, "crm_id:shop/s7"));
  CHECK(list_suggestions(store, none, {}, {}).result.suggestions.empty());
  CHECK(again.kind == IdentityDecision::Kind::merge);
}

TEST_CASE("auto_merge never joins two persons kept apart through a third like both", "[suggest]") {
  StateStore store(":memory:");
  seed_store(store);
  const std::vector<Endpoint> none;
  IdentityRules rules;
  rules.auto_merge_above = 0.95;
  REQUIRE(reconcile_store(store, none, false, rules).auto_merged == 1);  // crm/7 and shop/s7
  store.decisions().undo(store.decisions().list().at(0).id);
  REQUIRE(reconcile_store(store, none, false, rules).auto_merged == 0);
  const std::string a = person_of(store, "crm_id:crm/7"), c = person_of(store, "crm_id:shop/s7");
  REQUIRE(a != c);

  // A third record like both: C's name and A's birth date, and A's and C's numbers each with a digit
  // off (typed once per system).
  const auto off = [](std::string p) {
    p[p.size() - 8] = p[p.size() - 8] == '9' ? '0' : static_cast<char>(p[p.size() - 8] + 1);
    return p;
  };
  const auto crm7 = store.records().contact("crm", "7");
  const auto shop7 = store.records().contact("shop", "s7");
  REQUIRE((crm7 && shop7));
  const std::string phone = off(crm7->handles[0].value), phone2 = off(shop7->handles[0].value);
  Contact b{"desk",
            "b1",
            "Juergen",
            "Groessmann",
            {Handle{HandleKind::phone, phone, true}, Handle{HandleKind::phone, phone2, true}}};
  b.attributes.birth_date = "1971-04-02";
  store.records().commit_contacts("desk", "contacts", {b}, {}, "z");
  SuggestOptions sure;
  sure.min_score = 0.95;
  const auto listed = list_suggestions(store, none, rules, sure);
  std::size_t with_b = 0;
  for (const auto& s : listed.result.suggestions) {
    const auto is_b = [&](std::size_t i) { return listed.profiles[i].phones.size() == 2; };
    if (is_b(s.a) || is_b(s.b)) ++with_b;
  }
  CHECK(with_b == 2);  // B pairs with A and with C, both above the threshold
  const auto r = reconcile_store(store, none, false, rules);
  CHECK(r.auto_merged == 1);  // one of the two; the other would join A and C
  CHECK(person_of(store, "crm_id:crm/7") != person_of(store, "crm_id:shop/s7"));
}

TEST_CASE("suggest: one street name in two towns, or without a house number, is no shared address", "[suggest]") {
  std::mt19937 rng(11);
  auto people = population(600, rng);
  const auto add = [&](std::string id, std::string phone, std::string postal, std::string city, std::string street) {
    SuggestProfile p{std::move(id), {"Thomas Becker"}, {std::move(phone)}, {}};
    p.postal_code = std::move(postal);
    p.city = std::move(city);
    p.street = std::move(street);
    people.push_back(std::move(p));
    return people.size() - 1;
  };
  const auto berlin = add("berlin", "+4917011111111", "10115", "Berlin", "Bahnhofstraße 2");
  const auto munich = add("munich", "+4917022222222", "80331", "München", "Bahnhofstrasse 2");
  const auto home = add("home", "+4917033333333", "10115", "Berlin", "Bahnhofstr. 2");
  const auto plain_a = add("plain-a", "+4917044444444", "", "Hamburg", "Hauptstraße");
  const auto plain_b = add("plain-b", "+4917055555555", "", "Hamburg", "Hauptstraße");
  // One town named two ways: by one postal code, or with the one name the other's first word.
  const auto ffm = add("ffm", "+4917066666666", "60311", "Frankfurt am Main", "Zeil 5");
  const auto ffm_short = add("ffm-short", "+4917077777777", "60311", "Frankfurt", "Zeil 5");
  const auto halle = add("halle", "+4917088888888", "", "Halle (Saale)", "Markt 1");
  const auto halle_short = add("halle-short", "+4917099999999", "", "Halle", "Markt 1");
  const auto hallein = add("hallein", "+4917010101010", "", "Hallein", "Markt 1");
  SuggestOptions options;
  options.min_score = 0;
  const auto r = suggest(people, options);
  const auto street_level = [&](std::size_t a, std::size_t b) {
    for (const auto& s : r.suggestions)
      if (s.a == std::min(a, b) && s.b == std::max(a, b))
        return s.fields[static_cast<std::size_t>(SuggestField::street)].level;
    FAIL("no candidate pair " << a << ", " << b);
    return -2;
  };
  CHECK(street_level(berlin, home) == 0);    // the same house, written three ways
  CHECK(street_level(berlin, munich) == 1);  // another town's Bahnhofstraße 2
  CHECK(street_level(home, munich) == 1);
  CHECK(street_level(plain_a, plain_b) == 1);  // a street without a house number is many houses
  CHECK(street_level(ffm, ffm_short) == 0);
  CHECK(street_level(halle, halle_short) == 0);
  CHECK(street_level(halle_short, hallein) == 1);  // a prefix that is not a whole word is another town
}
