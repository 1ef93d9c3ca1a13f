#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>

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

TEST_CASE("identity generator gives the same records and labels for a seed, and others for another seed") {
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

TEST_CASE("identity generator labels every record, lists each conversation handle once, sends valid E.164") {
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

TEST_CASE("pairwise quality of hand-made clusterings of five records") {
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

TEST_CASE("reconcile never joins household members linked only by a landline listed on two records of one CRM") {
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

TEST_CASE("reconcile gives a generated data set the same identities whatever the order of its input") {
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
