#include "sync/suggest.hpp"

#include <algorithm>
#include <cmath>
#include <span>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "sync/similarity.hpp"

namespace chansync {
namespace {

constexpr std::size_t k_fields = k_suggest_fields;
constexpr int k_missing = 7;  // a field's 3 bits in a pattern when one side has no value

struct Name {
  std::string folded;  // fold_name
  std::string sorted;  // its words sorted: "schmidt anna" and "anna schmidt" agree
  std::vector<std::string> words;
  std::size_t raw = 0;  // index into SuggestProfile::names
};

struct Email {
  std::string local, domain;
  std::string mailbox;  // local without its +tag (and for Gmail its dots): the mailbox mail reaches
  std::size_t raw = 0;
};

struct Prepared {
  std::vector<Name> names;
  std::vector<std::string> phones;  // digits only, same order as SuggestProfile::phones
  std::vector<Email> emails;
  std::string birth_date, postal_code, city, street;  // postal code without spaces, city and street folded
  std::string street_name, house;                     // the street's letters and its digits ("12a" → "12")
};

struct Cmp {
  int level = -1;
  std::size_t i = 0, j = 0;  // the values that compared best
};

Prepared prepare(const SuggestProfile& p) {
  Prepared out;
  for (std::size_t i = 0; i < p.names.size(); ++i) {
    Name n;
    n.folded = fold_name(p.names[i]);
    if (n.folded.empty()) continue;
    for (const auto w : name_tokens(n.folded)) n.words.emplace_back(w);
    auto sorted = n.words;
    std::sort(sorted.begin(), sorted.end());
    for (const auto& w : sorted) n.sorted += (n.sorted.empty() ? "" : " ") + w;
    n.raw = i;
    if (std::none_of(out.names.begin(), out.names.end(), [&](const Name& o) { return o.sorted == n.sorted; }))
      out.names.push_back(std::move(n));
  }
  for (const auto& ph : p.phones) {
    std::string digits;
    for (const char c : ph)
      if (c >= '0' && c <= '9') digits += c;
    out.phones.push_back(std::move(digits));
  }
  for (std::size_t i = 0; i < p.emails.size(); ++i) {
    const auto& e = p.emails[i];
    const auto at = e.rfind('@');
    if (at == std::string::npos) continue;
    Email m{e.substr(0, at), e.substr(at + 1), {}, i};
    // The mailbox the provider delivers to: without the +tag, and for Gmail without dots, under one
    // domain name for Gmail's two.
    const bool gmail = m.domain == "gmail.com" || m.domain == "googlemail.com";
    if (gmail) m.domain = "gmail.com";
    for (const char c : m.local.substr(0, m.local.find('+')))
      if (c != '.' || !gmail) m.mailbox += c;
    out.emails.push_back(std::move(m));
  }
  out.birth_date = p.birth_date;
  for (const char c : p.postal_code)
    if (c != ' ') out.postal_code += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  out.city = fold_name(p.city);
  out.street = fold_name(p.street);
  for (const char c : out.street) (c >= '0' && c <= '9' ? out.house : out.street_name) += c;
  return out;
}

template <typename T, typename F>
Cmp best_of(const std::vector<T>& xs, const std::vector<T>& ys, F&& level_of) {
  Cmp best;
  for (std::size_t i = 0; i < xs.size(); ++i)
    for (std::size_t j = 0; j < ys.size(); ++j) {
      const int l = level_of(xs[i], ys[j]);
      if (best.level < 0 || l < best.level) best = {l, i, j};
      if (l == 0) return best;
    }
  return best;
}

int name_level(const Name& x, const Name& y) {
  if (x.sorted == y.sorted) return 0;
  if (std::max(jaro_winkler(x.folded, y.folded), jaro_winkler(x.sorted, y.sorted)) >= 0.92) return 1;
  // A given name in common (a married name, a second first name) is partial; a family name alone is
  // what a household shares, and says nothing.
  const auto given = [](const Name& n) {
    return std::span(n.words).first(n.words.size() > 1 ? n.words.size() - 1 : 1);
  };
  for (const auto& w : given(x))
    if (w.size() >= 2 && std::ranges::find(given(y), w) != given(y).end()) return 2;
  return 3;
}

std::string_view tail(std::string_view s, std::size_t n) {
  return s.size() > n ? s.substr(s.size() - n) : s;
}

int phone_level(const std::string& x, const std::string& y) {
  if (x == y) return 0;
  if (osa_distance(x, y, 1) <= 1) return 1;
  if (x.size() >= 9 && y.size() >= 9 && tail(x, 8) == tail(y, 8)) return 1;
  return 2;
}

std::string digits_of(std::string_view s) {
  std::string out;
  for (const char c : s)
    if (c >= '0' && c <= '9') out += c;
  return out;
}

int email_level(const Email& x, const Email& y) {
  if (x.local == y.local && x.domain == y.domain) return 0;
  if (x.mailbox.size() >= 3 && x.mailbox == y.mailbox && x.domain == y.domain) return 1;
  // A personal name reused at another provider (anna.weber@gmail.com, anna.weber@web.de).
  if (x.local.size() >= 6 && x.local == y.local) return 1;
  // One typo in the name, but not in its digits: anna.1452 and anna.1652 are two customers.
  if (x.domain == y.domain && digits_of(x.local) == digits_of(y.local) && osa_distance(x.local, y.local, 1) <= 1)
    return 1;
  if (x.local == y.local && osa_distance(x.domain, y.domain, 2) <= 2) return 1;
  return 2;
}

// Two folded city names: the same, or one the other's first words ("frankfurt" and "frankfurt am
// main", "halle" and "halle saale" once folded), agree.
int city_level(const std::string& x, const std::string& y) {
  const auto& [shorter, longer] = x.size() <= y.size() ? std::tie(x, y) : std::tie(y, x);
  return longer.starts_with(shorter) && (longer.size() == shorter.size() || longer[shorter.size()] == ' ') ? 0 : 1;
}

int birth_level(const std::string& x, const std::string& y) {
  if (x == y) return 0;
  // YYYY-MM-DD with day and month swapped.
  if (x.size() == 10 && y.size() == 10 && x.substr(0, 5) == y.substr(0, 5) && x.substr(5, 2) == y.substr(8, 2) &&
      x.substr(8, 2) == y.substr(5, 2))
    return 1;
  return osa_distance(x, y, 1) <= 1 ? 1 : 2;
}

// How two prepared profiles compare on every field.
std::array<Cmp, k_fields> compare(const Prepared& a, const Prepared& b) {
  std::array<Cmp, k_fields> c;
  c[0] = best_of(a.names, b.names, name_level);
  c[1] = best_of(a.phones, b.phones, phone_level);
  c[2] = best_of(a.emails, b.emails, email_level);
  if (!a.birth_date.empty() && !b.birth_date.empty()) c[3].level = birth_level(a.birth_date, b.birth_date);
  if (!a.postal_code.empty() && !b.postal_code.empty()) c[4].level = a.postal_code == b.postal_code ? 0 : 1;
  if (!a.city.empty() && !b.city.empty()) c[5].level = a.city == b.city ? 0 : 1;
  // The same street written differently, and the same house: neighbours on one street are strangers,
  // and so are two Bahnhofstraße 2 in different towns (a postal code that differs, or without one to
  // agree on, cities that differ even as one's first words: "Frankfurt" is "Frankfurt am Main" here,
  // but the city field itself agrees on the exact name only, since "Frankfurt (Oder)" is another).
  const bool other_town =
      c[4].level == 1 || (c[4].level != 0 && !a.city.empty() && !b.city.empty() && city_level(a.city, b.city) == 1);
  if (!a.street.empty() && !b.street.empty())
    c[6].level =
        !a.house.empty() && a.house == b.house && !other_town && jaro_winkler(a.street_name, b.street_name) >= 0.9 ? 0
                                                                                                                   : 1;
  // One address is one piece of evidence: the same street and house imply the postal code and city,
  // the same postal code the city. Counted three times it outweighed a different first name, and
  // suggested every household (the identity bench's false merges were mostly that).
  if (c[6].level == 0) c[4].level = c[5].level = -1;
  if (c[4].level == 0) c[5].level = -1;
  return c;
}

std::uint32_t pattern_of(const std::array<Cmp, k_fields>& c) {
  std::uint32_t p = 0;
  for (std::size_t k = 0; k < k_fields; ++k)
    p |= static_cast<std::uint32_t>(c[k].level < 0 ? k_missing : c[k].level) << (3 * k);
  return p;
}

int level_in(std::uint32_t pattern, std::size_t field) {
  const int l = static_cast<int>((pattern >> (3 * field)) & 7U);
  return l == k_missing ? -1 : l;
}

std::uint64_t splitmix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Blocking keys of one profile: two persons are compared only when they share one.
void blocking_keys(const Prepared& p, std::vector<std::string>& out) {
  out.clear();
  for (const auto& n : p.names) {
    if (n.sorted.size() >= 3) out.push_back("n|" + n.sorted);
    if (n.words.size() >= 2) out.push_back("s|" + n.words.back() + ' ' + n.words.front()[0]);
    if (!p.birth_date.empty() && !n.words.empty()) out.push_back("b|" + p.birth_date + ' ' + n.words.front());
    if (!p.postal_code.empty() && !n.words.empty()) out.push_back("z|" + p.postal_code + ' ' + n.words.back());
  }
  for (const auto& ph : p.phones) {
    if (ph.size() < 7) continue;
    out.push_back("p|" + std::string(tail(ph, 7)));
    std::string digits = ph;  // two digits swapped keep the multiset of digits
    std::sort(digits.begin(), digits.end());
    out.push_back("r|" + digits);
  }
  for (const auto& e : p.emails) {
    if (e.mailbox.size() >= 4) out.push_back("e|" + e.mailbox + '@' + e.domain);
    if (e.local.size() >= 6) out.push_back("l|" + e.local);
    std::string letters = e.local;  // two letters swapped keep the multiset of letters
    std::sort(letters.begin(), letters.end());
    out.push_back("f|" + letters + '@' + e.domain);
  }
  if (!p.birth_date.empty() && !p.postal_code.empty()) out.push_back("c|" + p.birth_date + ' ' + p.postal_code);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
}

std::vector<std::uint64_t> candidate_pairs(const std::vector<Prepared>& prepared, const SuggestOptions& options,
                                           const std::function<bool(std::size_t, std::size_t)>& apart,
                                           std::size_t& skipped_blocks) {
  std::vector<std::pair<std::uint64_t, std::uint32_t>> keyed;  // (hash of key, profile)
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < prepared.size(); ++i) {
    blocking_keys(prepared[i], keys);
    for (const auto& k : keys) keyed.emplace_back(std::hash<std::string>{}(k), static_cast<std::uint32_t>(i));
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::uint64_t> pairs;
  for (std::size_t lo = 0; lo < keyed.size();) {
    std::size_t hi = lo + 1;
    while (hi < keyed.size() && keyed[hi].first == keyed[lo].first) ++hi;
    if (hi - lo > options.max_block) {
      ++skipped_blocks;
    } else {
      for (std::size_t x = lo; x < hi; ++x)
        for (std::size_t y = x + 1; y < hi; ++y) {
          const auto a = std::min(keyed[x].second, keyed[y].second), b = std::max(keyed[x].second, keyed[y].second);
          if (a != b) pairs.push_back((std::uint64_t{a} << 32) | b);
        }
    }
    lo = hi;
  }
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  if (apart) std::erase_if(pairs, [&](std::uint64_t p) { return apart(p >> 32, p & 0xffffffffU); });
  return pairs;
}

// What two persons picked at random agree on, before any are compared: a common name now and then,
// a birth date one time in 25,000, a phone number or address next to never.
std::array<std::vector<double>, k_fields> prior_u() {
  const auto rest = [](std::vector<double> v) {
    double sum = 0;
    for (const double x : v) sum += x;
    v.push_back(1 - sum);
    return v;
  };
  return {rest({0.0005, 0.001, 0.03}),
          rest({1e-6, 1e-5}),
          rest({1e-6, 1e-5}),
          rest({4e-5, 2e-4}),
          rest({0.002}),
          rest({0.02}),
          rest({2e-4})};
}

// u: how often persons that are not one agree at each level, from random pairs (all pairs when there
// are few), starting from prior_u as if 1,000 pairs had been seen: a field few persons carry (a birth
// date on two records) is then not measured by the one pair that has it, and a large sample speaks
// for itself.
void estimate_u(const std::vector<Prepared>& prepared, const SuggestOptions& options, SuggestModel& model) {
  constexpr double k_prior_pairs = 1000;
  const auto prior = prior_u();
  std::array<std::vector<double>, k_fields> counts;
  for (std::size_t k = 0; k < k_fields; ++k) {
    counts[k] = prior[k];
    for (auto& c : counts[k]) c *= k_prior_pairs;
  }
  const auto add = [&](std::size_t a, std::size_t b) {
    const auto c = compare(prepared[a], prepared[b]);
    for (std::size_t k = 0; k < k_fields; ++k)
      if (c[k].level >= 0) counts[k][static_cast<std::size_t>(c[k].level)] += 1;
  };
  const std::size_t n = prepared.size();
  if (n * (n - 1) / 2 <= options.u_samples) {
    for (std::size_t a = 0; a < n; ++a)
      for (std::size_t b = a + 1; b < n; ++b) add(a, b);
  } else {
    std::uint64_t state = options.seed;
    for (std::size_t s = 0; s < options.u_samples; ++s) {
      const std::size_t a = splitmix(state) % n, b = splitmix(state) % n;
      if (a != b) add(a, b);
    }
  }
  for (std::size_t k = 0; k < k_fields; ++k) {
    double total = 0;
    for (const double c : counts[k]) total += c;
    model.u[k].clear();
    for (const double c : counts[k]) model.u[k].push_back(c / total);
  }
}

// m: how often one person's two records agree at each level. These are set, not learnt: EM over the
// candidate pairs learnt what the blocking brought together instead of what a duplicate looks like
// (on the identity bench at 1M it took "same address" for the sign of a match, then believed a match
// usually has a different birth date, and merged 24,521 strangers). Values in the range record
// linkage studies report for person records kept by different systems: names and birth dates agree
// on most duplicates, phone numbers and addresses change more often.
std::array<std::vector<double>, k_fields> fixed_m() {
  return {{
      {0.75, 0.12, 0.08, 0.05},  // name: exact, close, partial, different
      {0.55, 0.05, 0.40},        // phone: exact, close, different
      {0.55, 0.10, 0.35},        // email
      {0.90, 0.06, 0.04},        // birth_date
      {0.80, 0.20},              // postal_code: exact, different
      {0.85, 0.15},              // city
      {0.75, 0.25},              // street: similar, different
  }};
}

// The prior by EM over the candidates' comparison patterns (m set, u sampled): the chance that a
// random pair of persons is one person, as u is measured over random pairs, so pairs the blocking
// never proposed count as non-matches. Measured on candidate pairs alone it would call the namesakes
// that blocking on names brings together a match (a population with few duplicates settled at 0.86
// that way and suggested thousands of strangers).
void estimate_prior(const std::unordered_map<std::uint32_t, std::size_t>& patterns, double all_pairs,
                    const SuggestOptions& options, SuggestModel& model) {
  double candidates = 0;
  for (const auto& [p, c] : patterns) candidates += static_cast<double>(c);
  all_pairs = std::max(all_pairs, 1.0);
  model.prior = std::clamp(0.1 * candidates / all_pairs, std::min(1 / all_pairs, 0.5), 0.5);
  if (candidates == 0) return;
  // The likelihood ratio of each pattern does not change between iterations.
  std::vector<std::pair<double, double>> ratios;  // (m/u, count)
  for (const auto& [p, c] : patterns) {
    double ratio = 1;
    for (std::size_t k = 0; k < k_fields; ++k)
      if (const int l = level_in(p, k); l >= 0)
        ratio *= model.m[k][static_cast<std::size_t>(l)] / model.u[k][static_cast<std::size_t>(l)];
    ratios.emplace_back(ratio, static_cast<double>(c));
  }
  for (model.iterations = 0; model.iterations < options.em_iterations; ++model.iterations) {
    const double odds = model.prior / (1 - model.prior);
    double matched = 0;
    for (const auto& [ratio, count] : ratios) matched += count * odds * ratio / (1 + odds * ratio);
    const double prior = std::clamp(matched / all_pairs, std::min(1 / all_pairs, 0.5), 0.5);
    const double change = std::abs(std::log(prior / model.prior));
    model.prior = prior;
    if (change < 1e-9) break;
  }
}

}  // namespace

const char* to_string(SuggestField f) {
  constexpr const char* names[] = {"name", "phone", "email", "birth_date", "postal_code", "city", "street"};
  return names[static_cast<std::size_t>(f)];
}

std::size_t level_count(SuggestField f) {
  switch (f) {
    case SuggestField::name:
      return 4;
    case SuggestField::phone:
    case SuggestField::email:
    case SuggestField::birth_date:
      return 3;
    default:
      return 2;
  }
}

const char* level_name(SuggestField f, int level) {
  if (level < 0) return "missing";
  if (f == SuggestField::street) return level == 0 ? "similar" : "different";
  if (static_cast<std::size_t>(level) + 1 == level_count(f)) return "different";
  constexpr const char* names[] = {"exact", "close", "partial"};
  return names[level];
}

SuggestResult suggest(std::span<const SuggestProfile> profiles, const SuggestOptions& options,
                      const std::function<bool(std::size_t, std::size_t)>& apart) {
  SuggestResult out;
  // Fewer than three persons give no population to tell a duplicate from a stranger by.
  if (profiles.size() < 3) return out;
  std::vector<Prepared> prepared;
  prepared.reserve(profiles.size());
  for (const auto& p : profiles) prepared.push_back(prepare(p));

  // How many persons carry each name: agreeing on "anna muller" says less than on "ilse zwanziger".
  std::unordered_map<std::string_view, std::size_t> name_freq;
  std::size_t named = 0;
  for (const auto& p : prepared) {
    if (!p.names.empty()) ++named;
    for (const auto& n : p.names) ++name_freq[n.sorted];
  }

  const auto pairs = candidate_pairs(prepared, options, apart, out.model.skipped_blocks);
  out.model.candidate_pairs = pairs.size();
  std::unordered_map<std::uint32_t, std::size_t> patterns;
  for (const auto pair : pairs) ++patterns[pattern_of(compare(prepared[pair >> 32], prepared[pair & 0xffffffffU]))];
  estimate_u(prepared, options, out.model);
  const double n = static_cast<double>(profiles.size());
  out.model.m = fixed_m();
  estimate_prior(patterns, n * (n - 1) / 2, options, out.model);

  const auto& model = out.model;
  const double prior_weight = std::log2(model.prior / (1 - model.prior));
  for (const auto pair : pairs) {
    const std::size_t a = pair >> 32, b = pair & 0xffffffffU;
    const auto c = compare(prepared[a], prepared[b]);
    Suggestion s{a, b, 0, prior_weight, {}};
    for (std::size_t k = 0; k < k_fields; ++k) {
      auto& f = s.fields[k];
      f.field = static_cast<SuggestField>(k);
      f.level = c[k].level;
      if (f.level < 0) continue;
      f.m = model.m[k][static_cast<std::size_t>(f.level)];
      f.u = model.u[k][static_cast<std::size_t>(f.level)];
      if (f.field == SuggestField::name && f.level == 0)
        f.u = std::max(static_cast<double>(name_freq[prepared[a].names[c[k].i].sorted]), 1.0) /
              static_cast<double>(std::max<std::size_t>(named, 1));
      f.weight = std::log2(f.m / f.u);
      s.weight += f.weight;
    }
    s.probability = 1 / (1 + std::exp2(-s.weight));
    if (s.probability < options.min_score) continue;
    const auto& pa = profiles[a];
    const auto& pb = profiles[b];
    const auto fill = [&](FieldScore& f, const Cmp& cmp) {
      switch (f.field) {
        case SuggestField::name:
          f.a = pa.names[prepared[a].names[cmp.i].raw], f.b = pb.names[prepared[b].names[cmp.j].raw];
          break;
        case SuggestField::phone:
          f.a = pa.phones[cmp.i], f.b = pb.phones[cmp.j];
          break;
        case SuggestField::email:
          f.a = pa.emails[prepared[a].emails[cmp.i].raw], f.b = pb.emails[prepared[b].emails[cmp.j].raw];
          break;
        case SuggestField::birth_date:
          f.a = pa.birth_date, f.b = pb.birth_date;
          break;
        case SuggestField::postal_code:
          f.a = pa.postal_code, f.b = pb.postal_code;
          break;
        case SuggestField::city:
          f.a = pa.city, f.b = pb.city;
          break;
        case SuggestField::street:
          f.a = pa.street, f.b = pb.street;
          break;
      }
    };
    for (std::size_t k = 0; k < k_fields; ++k)
      if (s.fields[k].level >= 0) fill(s.fields[k], c[k]);
    out.suggestions.push_back(std::move(s));
  }
  std::sort(out.suggestions.begin(), out.suggestions.end(), [](const Suggestion& x, const Suggestion& y) {
    return x.probability != y.probability ? x.probability > y.probability : std::pair(x.a, x.b) < std::pair(y.a, y.b);
  });
  return out;
}

}  // namespace chansync
