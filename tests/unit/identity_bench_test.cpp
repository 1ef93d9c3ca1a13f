#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>
#include <unordered_map>

#include "sync/suggestions.hpp"
#include "tests/bench/identity/generator.hpp"
#include "tests/bench/identity/quality.hpp"

using namespace chansync;
using namespace chansync::bench::identity;

namespace {

std::function<std::string()> counter() {
  auto n = std::make_shared<int>(0);
  return [n] { return "p" + std::to_string(++*n); };
}

}  // namespace

TEST_CASE("identity generator gives the same records and labels for a seed, and others for another seed",
          "[identity-bench]") {
  const auto a = generate(7, 600), b = generate(7, 600), c = generate(8, 600);
  CHECK(a.input.contacts == b.input.contacts);
  CHECK(a.input.conversation_handles == b.input.conversation_handles);
  CHECK(a.input.links == b.input.links);
  CHECK(a.contact_person == b.contact_person);
  CHECK(a.handle_person == b.handle_person);
  CHECK(a.handle_name == b.handle_name);
  CHECK(a.input.contacts != c.input.contacts);
  CHECK(a.input.conversation_handles != c.input.conversation_handles);
}

TEST_CASE("identity generator labels every record, lists each conversation handle once, sends valid E.164",
          "[identity-bench]") {
  const auto d = generate(5, 2000);
  REQUIRE(d.contact_person.size() == d.input.contacts.size());
  REQUIRE(d.handle_person.size() == d.input.conversation_handles.size());
  REQUIRE(d.handle_name.size() == d.input.conversation_handles.size());
  std::set<std::string> keys;
  for (const auto& h : d.input.conversation_handles) {
    CHECK(keys.insert(h.key()).second);
    // Vendors send the numbers of real phones: a rejected one would mean the generator's numbers are off.
    if (h.kind == HandleKind::phone) CHECK(h.verified);
  }
  for (const auto& [customer, linked] : d.input.links) CHECK((customer.verified && linked.verified));
  CHECK(d.noise.household_landlines > 0);
  CHECK(d.noise.crm_duplicates > 0);
  CHECK(d.noise.misread_national > 0);
}

TEST_CASE("pairwise quality of hand-made clusterings of five records", "[identity-bench]") {
  SECTION("one record in the wrong person") {
    const std::vector<std::uint32_t> truth{0, 0, 0, 1, 1}, predicted{10, 10, 11, 11, 11};
    const auto q = pairwise_quality(truth, predicted);
    CHECK(q.true_pairs == 4);  // 3 + 1
    CHECK(q.predicted_pairs == 4);
    CHECK(q.correct_pairs == 2);
    CHECK(q.precision == Approx(0.5));
    CHECK(q.recall == Approx(0.5));
    CHECK(q.f1 == Approx(0.5));
    CHECK(q.over_merges == 1);
    CHECK(q.under_merges == 1);
    CHECK(q.true_persons == 2);
    CHECK(q.predicted_persons == 2);
  }
  SECTION("two people merged, complete otherwise") {
    const std::vector<std::uint32_t> truth{0, 0, 1, 1, 2}, predicted{5, 5, 5, 5, 6};
    const auto q = pairwise_quality(truth, predicted);
    CHECK(q.true_pairs == 2);
    CHECK(q.predicted_pairs == 6);
    CHECK(q.correct_pairs == 2);
    CHECK(q.precision == Approx(1.0 / 3));
    CHECK(q.recall == Approx(1.0));
    CHECK(q.f1 == Approx(0.5));
    CHECK(q.over_merges == 1);
    CHECK(q.under_merges == 0);
  }
  SECTION("nothing joined") {
    const std::vector<std::uint32_t> truth{0, 0, 1, 1, 1}, predicted{1, 2, 3, 4, 5};
    const auto q = pairwise_quality(truth, predicted);
    CHECK(q.predicted_pairs == 0);
    CHECK(q.precision == Approx(1.0));  // no wrong pair
    CHECK(q.recall == Approx(0.0));
    CHECK(q.f1 == Approx(0.0));
    CHECK(q.over_merges == 0);
    CHECK(q.under_merges == 2);
  }
}

TEST_CASE("reconcile never joins household members linked only by a landline listed on two records of one CRM",
          "[identity-bench]") {
  // Households and two CRMs; nothing else that links different people (no offices, typos, misread
  // numbers or placeholders), so a landline is the only handle members can have in common.
  GeneratorConfig cfg;
  cfg.household = 0.6;
  cfg.in_hubspot = 0.8;
  cfg.in_salesforce = 0.4;
  cfg.employed = 0;
  cfg.crm_duplicate = 0;
  cfg.email_typo = cfg.phone_typo = cfg.foreign_national = cfg.placeholder = cfg.gmail_variant = 0;
  const auto data = generate(3, 3000, cfg);
  const auto result = reconcile(data.input, counter());
  const auto truth = true_persons(data);
  const auto predicted = predicted_persons(data, result);

  std::map<std::uint32_t, std::set<std::uint32_t>> persons_of;  // true person → predicted persons
  std::map<std::uint32_t, std::set<std::string>> keys_of;       // true person → handle keys of its records
  for (std::size_t i = 0; i < truth.size(); ++i) persons_of[truth[i]].insert(predicted[i]);
  for (std::size_t i = 0; i < data.input.contacts.size(); ++i)
    for (const auto& h : data.input.contacts[i].handles) keys_of[data.contact_person[i]].insert(h.key());
  for (std::size_t i = 0; i < data.input.conversation_handles.size(); ++i)
    keys_of[data.handle_person[i]].insert(data.input.conversation_handles[i].key());

  std::size_t checked = 0;
  for (const auto& h : data.households) {
    std::map<std::string, int> listed;  // connector → records holding the landline
    for (auto c : h.contacts) ++listed[data.input.contacts[c].connector];
    if (std::none_of(listed.begin(), listed.end(), [](const auto& l) { return l.second >= 2; })) continue;
    ++checked;
    std::map<std::uint32_t, std::uint32_t> member_of;  // predicted person → the member it holds
    for (std::size_t a = 0; a < h.members.size(); ++a) {
      for (std::size_t b = a + 1; b < h.members.size(); ++b) {
        std::vector<std::string> common;
        std::set_intersection(keys_of[h.members[a]].begin(), keys_of[h.members[a]].end(), keys_of[h.members[b]].begin(),
                              keys_of[h.members[b]].end(), std::back_inserter(common));
        REQUIRE((common.empty() || common == std::vector<std::string>{h.landline}));
      }
      for (auto p : persons_of[h.members[a]]) {
        const auto [it, fresh] = member_of.emplace(p, h.members[a]);
        CHECK((fresh || it->second == h.members[a]));
      }
    }
  }
  CHECK(checked >= 100);
}

TEST_CASE("reconcile gives a generated data set the same identities whatever the order of its input",
          "[identity-bench]") {
  const auto data = generate(9, 1500);
  IdentityInput in = data.input;
  in.trace = true;
  const auto base = reconcile(in, counter());
  REQUIRE(base.person_count() > 100);
  REQUIRE_FALSE(base.conflicts.empty());
  // A second run on the first one's ids, so stable ids, votes and aliases are in play too.
  in.previous = base.assignment();
  for (std::size_t p = 0; p < base.person_count(); ++p)
    in.person_seq[std::string(base.person_ids[p])] = static_cast<std::int64_t>(p % 7);
  in.contacts.resize(in.contacts.size() * 9 / 10);
  const auto again = reconcile(in, counter());

  std::mt19937 rng(5);
  for (int round = 0; round < 3; ++round) {
    for (auto& c : in.contacts) std::shuffle(c.handles.begin(), c.handles.end(), rng);
    std::shuffle(in.contacts.begin(), in.contacts.end(), rng);
    std::shuffle(in.conversation_handles.begin(), in.conversation_handles.end(), rng);
    std::shuffle(in.links.begin(), in.links.end(), rng);
    const auto r = reconcile(in, counter());
    CHECK(r.nodes == again.nodes);
    CHECK(r.person == again.person);
    CHECK(r.person_ids == again.person_ids);
    CHECK(r.verified == again.verified);
    CHECK(r.new_persons == again.new_persons);
    CHECK(r.aliases == again.aliases);
    CHECK(r.conflicts == again.conflicts);
    CHECK(result_digest(r) == result_digest(again));
  }
  CHECK_FALSE(again.aliases.empty());
}

TEST_CASE("identity generator gives CRM records attributes, shared within a household, noisier in duplicates",
          "[identity-bench]") {
  const auto d = generate(4, 3000);
  REQUIRE(d.noise.birth_dates > 0);
  REQUIRE(d.noise.addresses > 0);
  CHECK(d.noise.swapped_dates + d.noise.street_typos + d.noise.old_addresses > 0);
  std::size_t with_date = 0, with_street = 0;
  for (const auto& c : d.contacts) {
    with_date += !c.attributes.birth_date.empty();
    with_street += !c.attributes.street.empty();
    if (!c.attributes.birth_date.empty()) CHECK(c.attributes.birth_date.size() == 10);
  }
  CHECK(with_date == d.noise.birth_dates);
  CHECK(with_street == d.noise.addresses);
  // Two members of a household whose records both carry a clean address give the same street.
  std::map<std::uint32_t, std::set<std::string>> streets_of;
  for (std::size_t i = 0; i < d.contacts.size(); ++i)
    if (!d.contacts[i].attributes.street.empty())
      streets_of[d.contact_person[i]].insert(d.contacts[i].attributes.street);
  std::size_t shared = 0;
  for (const auto& h : d.households)
    for (std::size_t a = 0; a + 1 < h.members.size(); ++a) {
      const auto& x = streets_of[h.members[a]];
      const auto& y = streets_of[h.members[a + 1]];
      shared += std::any_of(x.begin(), x.end(), [&](const std::string& s) { return y.contains(s); });
    }
  CHECK(shared >= 10);
}

TEST_CASE("accepting suggestions: hand-made joins of five persons are counted true or false", "[identity-bench]") {
  // Records of true people 0, 0, 1, 1, 2 in persons 0..4, one record each.
  const std::vector<std::uint32_t> truth{0, 0, 1, 1, 2}, predicted{0, 1, 2, 3, 4};
  std::vector<Suggestion> s(4);
  s[0] = {.a = 0, .b = 1, .probability = 0.999};  // the same person: true
  s[1] = {.a = 2, .b = 3, .probability = 0.95};   // true, below 0.99
  s[2] = {.a = 1, .b = 4, .probability = 0.93};   // joins person 2's record to 0's: false
  s[3] = {.a = 0, .b = 4, .probability = 0.92};   // already one cluster: no join
  const auto strict = accept_suggestions(truth, predicted, 5, s, 0.99);
  CHECK(strict.accepted == 1);
  CHECK(strict.joins == 1);
  CHECK(strict.true_merges == 1);
  CHECK(strict.false_merges == 0);
  CHECK(strict.quality.precision == Approx(1.0));
  CHECK(strict.quality.recall == Approx(0.5));
  const auto loose = accept_suggestions(truth, predicted, 5, s, 0.9);
  CHECK(loose.accepted == 4);
  CHECK(loose.joins == 3);
  CHECK(loose.true_merges == 2);
  CHECK(loose.false_merges == 1);
  CHECK(loose.quality.recall == Approx(1.0));
  CHECK(loose.quality.precision == Approx(2.0 / 4));  // {0,0,2}: 3 pairs, 1 correct; {1,1}: 1 correct
  REQUIRE(loose.joined.size() == 3);
  CHECK(loose.joined[2] == std::pair<std::size_t, bool>{2, false});
  CHECK_THROWS_AS(accept_suggestions(truth, predicted, 4, s, 0.9), std::invalid_argument);
}

TEST_CASE("accepting the suggestions over a generated data set never lowers recall and counts every join",
          "[identity-bench]") {
  const auto data = generate(11, 3000);
  const auto result = reconcile(data.input, counter());
  const auto truth = true_persons(data);
  const auto predicted = predicted_persons(data, result);
  const auto automatic = pairwise_quality(truth, predicted);
  std::unordered_map<std::string, std::vector<std::string>> names;
  for (std::size_t i = 0; i < data.handle_name.size(); ++i)
    if (!data.handle_name[i].empty()) names[data.input.conversation_handles[i].key()].push_back(data.handle_name[i]);
  const auto profiles = person_profiles(data.contacts, result, names);
  REQUIRE(profiles.size() == result.person_count());
  const auto found = suggest(profiles, SuggestOptions{});
  REQUIRE_FALSE(found.suggestions.empty());
  std::size_t previous_accepted = SIZE_MAX;
  for (const double threshold : {0.9, 0.99, 1.01}) {
    const auto a = accept_suggestions(truth, predicted, result.person_count(), found.suggestions, threshold);
    const auto above =
        static_cast<std::size_t>(std::count_if(found.suggestions.begin(), found.suggestions.end(),
                                               [&](const Suggestion& s) { return s.probability >= threshold; }));
    CHECK(a.accepted == above);
    CHECK(a.accepted <= previous_accepted);
    previous_accepted = a.accepted;
    CHECK(a.joins <= a.accepted);
    CHECK(a.true_merges + a.false_merges == a.joins);
    CHECK(a.joined.size() == a.joins);
    CHECK(a.quality.recall >= automatic.recall);
    CHECK(a.quality.correct_pairs >= automatic.correct_pairs);
    // A join of a person without records (a handle in a conflict, alone) leaves the count as it was.
    CHECK(a.quality.predicted_persons <= automatic.predicted_persons);
    CHECK(a.quality.predicted_persons + a.joins >= automatic.predicted_persons);
    for (const double v : {a.quality.precision, a.quality.recall, a.quality.f1}) {
      CHECK(v >= 0);
      CHECK(v <= 1);
    }
    if (a.true_merges > 0) CHECK(a.quality.recall > automatic.recall);
  }
  // Nothing accepted: the automatic clustering, unchanged.
  const auto none = accept_suggestions(truth, predicted, result.person_count(), found.suggestions, 1.01);
  CHECK(none.joins == 0);
  CHECK(none.quality.correct_pairs == automatic.correct_pairs);
  CHECK(none.quality.predicted_pairs == automatic.predicted_pairs);
}
