#include "tests/bench/identity/generator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <unordered_map>

#include "sync/normalize.hpp"
#include "tests/bench/identity/people.hpp"

namespace chansync::bench::identity {
namespace {

constexpr std::uint32_t k_none = UINT32_MAX;
constexpr std::uint64_t k_household_salt = 0x686f757365686f6cULL, k_company_salt = 0x636f6d70616e79ULL,
                        k_traits_salt = 0x747261697473ULL, k_attributes_salt = 0x61747472696273ULL;

// Who lives with whom and who works where: decided before any person is generated, so that each
// person is a function of (seed, id) and this plan alone.
struct World {
  std::vector<std::uint32_t> household_of;   // person → household index, or k_none
  std::vector<std::uint32_t> heads;          // household → its first member (whose landline it is)
  std::vector<std::uint32_t> company_of;     // person → company index, or k_none
  std::vector<std::uint32_t> company_first;  // company → its first employee
};

World plan_world(std::uint64_t seed, std::uint32_t people, const GeneratorConfig& cfg) {
  World w;
  w.household_of.assign(people, k_none);
  // Households of 2–4 (mean 3) start at a rate that puts cfg.household of all people in one.
  const double start = cfg.household / (3 - 2 * std::min(cfg.household, 0.99));
  Rng rng(mix(seed, k_household_salt));
  for (std::uint32_t i = 0; i < people;) {
    if (!rng.chance(start)) {
      ++i;
      continue;
    }
    const auto size = static_cast<std::uint32_t>(std::min<std::uint64_t>(2 + rng.below(3), people - i));
    for (std::uint32_t k = 0; k < size; ++k) w.household_of[i + k] = static_cast<std::uint32_t>(w.heads.size());
    w.heads.push_back(i);
    i += size;
  }
  const auto companies = static_cast<std::uint32_t>(std::max(1.0, people * cfg.employed / 5));  // ~5 staff each
  w.company_of.assign(people, k_none);
  w.company_first.assign(companies, k_none);
  for (std::uint32_t i = 0; i < people; ++i) {
    Rng r(mix(seed ^ k_company_salt, i));
    if (!r.chance(cfg.employed)) continue;
    const auto j = static_cast<std::uint32_t>(r.below(companies));
    w.company_of[i] = j;
    if (w.company_first[j] == k_none) w.company_first[j] = i;
  }
  return w;
}

struct Traits {
  Country country;
  bool foreign;
  NameForm first, last;
};

Traits traits(std::uint64_t seed, std::uint32_t id, const GeneratorConfig& cfg) {
  Rng r(mix(seed ^ k_traits_salt, id));
  const auto x = r.below(100);
  const Country c = x < 40 ? Country::de : x < 65 ? Country::us : x < 85 ? Country::gb : Country::fr;
  const bool foreign = r.chance(cfg.foreign_name);
  const auto first = first_name(c, foreign, r);
  return {c, foreign, first, last_name(c, foreign, r)};
}

// A true person: traits plus the numbers and addresses records are written from.
struct Person {
  std::uint32_t id;
  Traits t;
  std::optional<NameForm> former_last;
  std::string email, former_email, work_email;
  std::optional<Number> mobile, landline;
  bool household = false;
  std::optional<Company> company;
  bool first_employee = false;
  int extension = 0;
  std::string birth_date;
  Address home, former_home;  // a household's home is its first member's
};

// Writes each person's records, normalised as the connectors would.
class Writer {
 public:
  Writer(std::uint64_t seed, const GeneratorConfig& cfg, const World& w) : m_seed(seed), m_cfg(cfg), m_world(w) {}

  void emit(std::uint32_t id);

  std::vector<Contact> contacts;
  std::vector<std::uint32_t> contact_person;
  std::vector<Handle> handles;
  std::vector<std::uint32_t> handle_person;
  std::vector<std::string> handle_name;
  std::vector<std::pair<Handle, Handle>> links;
  NoiseCounts noise;
  double normalise_seconds = 0;

 private:
  Person person(std::uint32_t id, Rng& r) const;
  void crm_records(const Person& p, Rng& r);
  void conversations(const Person& p, Rng& r);
  ContactAttributes attributes(const Person& p, bool duplicate, bool former_name, Rng& r);

  template <class F>
  std::optional<Handle> timed(F&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    auto h = f();
    normalise_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return h;
  }
  // A number written with a country code reads the same in every region (libphonenumber ignores the
  // default region then), so those share one memo whatever connector they came from.
  std::optional<Handle> phone(std::string_view raw, Country region) {
    const auto digits_from = raw.find_first_not_of(' ');
    auto& n = digits_from != std::string_view::npos && raw[digits_from] == '+' ? m_plus
              : region == Country::de                                          ? m_de
                                                                               : m_us;
    return timed([&] { return n(raw); });
  }
  std::optional<Handle> email(std::string_view raw) {
    return timed([&] { return normalize_email(raw); });
  }

  std::uint64_t m_seed;
  const GeneratorConfig& m_cfg;
  const World& m_world;
  PhoneNormalizer m_de{"DE"}, m_us{"US"}, m_plus{""};
};

Person Writer::person(std::uint32_t id, Rng& r) const {
  Person p{id, traits(m_seed, id, m_cfg)};
  const auto h = m_world.household_of[id];
  if (h != k_none) {
    const auto head = m_world.heads[h];
    p.household = true;
    if (head != id) {  // one country and, mostly, one last name per household
      const auto ht = traits(m_seed, head, m_cfg);
      p.t.country = ht.country;
      if (r.chance(0.8)) p.t.last = ht.last;
    }
    p.landline = landline_number(p.t.country, head, m_seed);
    p.home = home_address(p.t.country, head, m_seed);
  } else if (r.chance(m_cfg.own_landline)) {
    p.landline = landline_number(p.t.country, id, m_seed);
  }
  if (!p.household) p.home = home_address(p.t.country, id, m_seed);
  p.former_home = home_address(p.t.country, id + (std::uint64_t{1} << 40), m_seed);
  Rng birth(mix(m_seed ^ k_attributes_salt, id));  // not `r`: the records stay those of a run without attributes
  p.birth_date = birth_date(birth);
  if (r.chance(0.9)) p.mobile = mobile_number(p.t.country, id, m_seed);
  if (r.chance(0.85)) p.email = personal_email(p.t.country, p.t.first, p.t.last, id, r);
  if (r.chance(m_cfg.name_change)) {
    p.former_last = other_last_name(p.t.country, r);
    p.former_email = personal_email(p.t.country, p.t.first, *p.former_last, id, r);
  }
  if (const auto c = m_world.company_of[id]; c != k_none) {
    p.company = company(c, m_seed, m_cfg.shared_office_email);
    p.first_employee = m_world.company_first[c] == id;
    p.extension = static_cast<int>(10 + r.below(290));
    const std::string last(p.t.last.latin);
    p.work_email = fmt::format("{}.{}{}@{}", p.t.first.latin, last, id, p.company->domain);
    std::transform(p.work_email.begin(), p.work_email.end(), p.work_email.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  }
  return p;
}

void Writer::emit(std::uint32_t id) {
  Rng r(mix(m_seed, id));
  const Person p = person(id, r);
  if (p.t.foreign) ++noise.foreign_names;
  crm_records(p, r);
  conversations(p, r);
}

void Writer::crm_records(const Person& p, Rng& r) {
  struct Crm {
    const char* connector;
    Country region;
    double share;
  };
  const Crm crms[] = {{"hubspot", Country::de, m_cfg.in_hubspot}, {"salesforce", Country::us, m_cfg.in_salesforce}};
  std::vector<std::pair<const Crm*, int>> records;  // (CRM, copy)
  for (const auto& crm : crms) {
    if (!r.chance(crm.share)) continue;
    records.emplace_back(&crm, 0);
    if (r.chance(m_cfg.crm_duplicate)) records.emplace_back(&crm, 1), ++noise.crm_duplicates;
  }
  // A former name (and the address that went with it) survives in one record: the last one.
  const std::size_t former = p.former_last && !records.empty() ? records.size() - 1 : records.size();
  if (former < records.size()) ++noise.name_changes;
  auto form = [&](const NameForm& n) { return std::string(r.chance(0.5) ? n.native : n.latin); };

  for (std::size_t k = 0; k < records.size(); ++k) {
    const auto& [crm, copy] = records[k];
    Contact c;
    c.connector = crm->connector;
    c.id = crm->region == Country::de ? fmt::format("{}", 1'000'000 + 2ULL * p.id + copy)
                                      : fmt::format("003{:012}{}AA", p.id, copy);
    c.first_name = form(p.t.first);
    c.last_name = form(k == former ? *p.former_last : p.t.last);
    // A duplicate is often a quick web-form entry: fewer fields filled.
    const double keep = copy ? 0.55 : 0.85;
    auto add = [&](std::optional<Handle> h) {
      if (h && std::find(c.handles.begin(), c.handles.end(), *h) == c.handles.end()) c.handles.push_back(*h);
    };
    auto add_phone = [&](Number n) {
      if (r.chance(m_cfg.phone_typo)) {
        const auto pos = n.ndc + r.below(n.nsn.size() - n.ndc - 1);
        if (n.nsn[pos] != n.nsn[pos + 1]) std::swap(n.nsn[pos], n.nsn[pos + 1]), ++noise.phone_typos;
      }
      bool misread = false;
      add(phone(write_phone(n, crm->region, m_cfg.foreign_national, r, misread), crm->region));
      if (misread) ++noise.misread_national;
    };
    auto add_email = [&](const std::string& e) {
      const bool typo = r.chance(m_cfg.email_typo);
      if (typo) ++noise.email_typos;
      add(email(write_email(typo ? email_typo(e, r) : e, r)));
    };
    if (p.mobile && r.chance(keep)) add_phone(*p.mobile);
    if (const auto& e = k == former ? p.former_email : p.email; !e.empty() && r.chance(keep - 0.1)) add_email(e);
    if (p.landline && r.chance(p.household ? 0.7 : 0.5)) {
      add_phone(*p.landline);
      if (p.household) ++noise.household_landlines;
    }
    if (p.company) {
      if (r.chance(0.5)) add_email(p.work_email);
      if (r.chance(0.15)) add(email(p.company->role_email)), ++noise.office_emails;
      if (!p.company->shared_email.empty() && r.chance(0.35))
        add(email(p.company->shared_email)), ++noise.office_emails;
      if (r.chance(0.3)) {
        add(phone(write_office_phone(p.company->phone, p.extension, crm->region, r), crm->region));
        ++noise.office_phones;
      }
    }
    if (r.chance(m_cfg.placeholder)) {
      add(r.chance(0.5) ? email("test@test.com") : phone("+10000000000", crm->region));
      ++noise.placeholders;
    }
    Rng ar(mix(m_seed ^ k_attributes_salt, std::uint64_t{p.id} << 8 | k));
    c.attributes = attributes(p, copy != 0, k == former, ar);
    contacts.push_back(std::move(c));
    contact_person.push_back(p.id);
  }
}

ContactAttributes Writer::attributes(const Person& p, bool duplicate, bool former_name, Rng& r) {
  ContactAttributes a;
  const double share = duplicate ? 0.5 : 1, sloppy = duplicate ? 2 : 1;
  if (r.chance(m_cfg.crm_birth_date * share)) {
    ++this->noise.birth_dates;
    a.birth_date = p.birth_date;
    if (const auto swapped = swap_day_month(a.birth_date); !swapped.empty() && r.chance(m_cfg.date_swapped * sloppy))
      a.birth_date = swapped, ++this->noise.swapped_dates;
    else if (r.chance(m_cfg.date_typo * sloppy))
      a.birth_date = date_typo(a.birth_date, r), ++this->noise.date_typos;
  }
  if (r.chance(m_cfg.crm_address * share)) {
    ++this->noise.addresses;
    // People who changed their name often moved too.
    const bool old = r.chance(former_name ? 0.3 : m_cfg.moved);
    if (old) ++this->noise.old_addresses;
    const Address& home = old ? p.former_home : p.home;
    a.street = home.street;
    if (r.chance(m_cfg.street_typo * sloppy)) a.street = street_typo(a.street, r), ++this->noise.street_typos;
    if (r.chance(0.95)) a.postal_code = home.postal_code;
    a.city = home.city;
    if (r.chance(m_cfg.city_variant * sloppy))
      if (auto v = city_variant(a.city); v != a.city) a.city = std::move(v), ++this->noise.city_variants;
  }
  return a;
}

void Writer::conversations(const Person& p, Rng& r) {
  const std::size_t first = handles.size();
  auto add = [&](std::optional<Handle> h, std::string name) {
    if (!h || std::find(handles.begin() + static_cast<std::ptrdiff_t>(first), handles.end(), *h) != handles.end())
      return;
    handles.push_back(std::move(*h));
    handle_person.push_back(p.id);
    handle_name.push_back(std::move(name));
  };
  const std::string native = fmt::format("{} {}", p.t.first.native, p.t.last.native);
  // Vendor-scoped ids: unique per person (the id is their suffix), random-looking otherwise.
  auto vendor_id = [&](std::uint64_t salt, int digits) {
    std::uint64_t m = 1;
    for (int i = 0; i < digits - 7; ++i) m *= 10;
    return fmt::format("{}{:07}", m / 10 + mix(m_seed ^ salt, p.id) % (m - m / 10), p.id);
  };

  // Twilio and WhatsApp send E.164; normalised only when a channel uses it (the costly step).
  std::optional<Handle> mobile_handle;
  auto mobile = [&] {
    if (!mobile_handle) mobile_handle = phone(p.mobile->e164(), p.t.country);
    return *mobile_handle;
  };
  if (p.mobile && r.chance(0.35)) add(mobile(), "");  // SMS
  if (p.mobile && r.chance(0.45)) {                   // WhatsApp
    const Handle bsuid{HandleKind::whatsapp_bsuid,
                       fmt::format("waba1:{}.{}", region_of(p.t.country), vendor_id(1, 19))};
    if (!r.chance(0.2)) {
      add(mobile(), native);
      if (r.chance(0.5)) links.emplace_back(mobile(), bsuid);
    } else {  // the number hidden; sometimes an older thread still showed it
      ++noise.hidden_whatsapp_numbers;
      add(bsuid, native);
      if (r.chance(0.3)) add(mobile(), native), links.emplace_back(mobile(), bsuid);
    }
  }
  if (r.chance(0.25)) add(Handle{HandleKind::messenger_psid, "1000000000000001:" + vendor_id(2, 16)}, native);
  if (r.chance(0.2)) {
    std::string username = fmt::format("{}.{}", p.t.first.latin, p.t.last.latin);
    std::transform(username.begin(), username.end(), username.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    add(Handle{HandleKind::instagram_igsid, "17841400000000001:" + vendor_id(3, 17)},
        r.chance(0.5) ? native : username);
  }
  if (r.chance(0.1)) {
    const Handle tg{HandleKind::telegram_id, vendor_id(4, 10)};
    add(tg, std::string(p.t.first.native));
    if (p.mobile && r.chance(0.3)) links.emplace_back(tg, mobile());  // the user shared their own contact
  }
  if (!p.email.empty() && r.chance(0.4)) {
    const bool variant = p.email.ends_with("@gmail.com") && r.chance(m_cfg.gmail_variant);
    if (variant) ++noise.gmail_variants;
    add(email(write_email(variant ? gmail_variant(p.email, r) : p.email, r)), native);
  }
  if (!p.work_email.empty() && r.chance(0.15)) add(email(p.work_email), native);
  // A company's shared and role addresses write to the business too: from its first employee.
  if (p.first_employee && !p.company->shared_email.empty() && r.chance(0.5)) add(email(p.company->shared_email), "");
  if (p.first_employee && r.chance(0.3)) add(email(p.company->role_email), "");
}

}  // namespace

LabelledData generate(std::uint64_t seed, std::size_t people, const GeneratorConfig& config) {
  const auto n = static_cast<std::uint32_t>(std::min<std::size_t>(people, 10'000'000));  // numbers stay unique
  const World world = plan_world(seed, n, config);
  Writer w(seed, config, world);
  for (std::uint32_t id = 0; id < n; ++id) w.emit(id);

  LabelledData out;
  out.people = n;
  out.contacts = std::move(w.contacts);
  out.input.contacts.assign(out.contacts.begin(), out.contacts.end());
  out.contact_person = std::move(w.contact_person);
  out.input.conversation_handles = std::move(w.handles);
  out.handle_person = std::move(w.handle_person);
  out.handle_name = std::move(w.handle_name);
  out.input.links = std::move(w.links);
  out.noise = w.noise;
  out.normalise_seconds = w.normalise_seconds;

  // Where each household's landline was listed (its valid E.164 is its normalised value).
  std::unordered_map<std::string, std::size_t> by_landline;
  for (std::size_t h = 0; h < world.heads.size(); ++h) {
    const auto head = world.heads[h];
    const auto country = traits(seed, head, config).country;
    out.households.push_back({Handle{HandleKind::phone, landline_number(country, head, seed).e164()}.key(), {}, {}});
    by_landline.emplace(out.households.back().landline, h);
  }
  for (std::uint32_t i = 0; i < n; ++i)
    if (world.household_of[i] != k_none) out.households[world.household_of[i]].members.push_back(i);
  if (!by_landline.empty())
    for (std::size_t c = 0; c < out.input.contacts.size(); ++c)
      for (const auto& h : out.input.contacts[c].handles)
        if (h.kind == HandleKind::phone)
          if (auto it = by_landline.find(h.key()); it != by_landline.end())
            out.households[it->second].contacts.push_back(c);
  return out;
}

}  // namespace chansync::bench::identity
