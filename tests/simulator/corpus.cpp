#include "tests/simulator/corpus.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <random>

namespace chansync::sim {
namespace {

constexpr std::array<const char*, 16> k_first = {"Anna", "Ben",   "Clara", "David", "Elif", "Felix", "Greta", "Hannes",
                                                 "Ida",  "Jonas", "Kemal", "Lena",  "Mia",  "Noah",  "Olga",  "Paul"};
constexpr std::array<const char*, 12> k_last = {"Müller", "Schmidt", "Schneider", "Fischer",  "Weber",  "Meyer",
                                                "Wagner", "Becker",  "Schulz",    "Hoffmann", "Yılmaz", "Koch"};
constexpr std::array<const char*, 8> k_texts = {
    "Hi, is my order on its way?",       "Can I change the delivery address?", "Thanks, that worked!",
    "The parcel arrived damaged.",       "Do you open on Saturday?",           "Please call me back.",
    "Ich habe eine Frage zur Rechnung.", "Where can I find the invoice?"};

// Writes a German mobile number "+49 15x xxxxxxxx" the ways people do.
std::string written(const std::string& national_digits, int style) {
  // national_digits: "1512345678" (without leading 0)
  switch (style % 5) {
    case 0:
      return "+49" + national_digits;
    case 1:
      return "0" + national_digits.substr(0, 3) + " " + national_digits.substr(3);
    case 2:
      return "+49 " + national_digits.substr(0, 3) + " " + national_digits.substr(3, 4) + " " +
             national_digits.substr(7);
    case 3:
      return "(0" + national_digits.substr(0, 3) + ") " + national_digits.substr(3, 3) + "-" +
             national_digits.substr(6);
    default:
      return "0049" + national_digits;
  }
}

}  // namespace

std::string rfc2822(std::int64_t ms) {
  std::time_t t = ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string rfc3339(std::int64_t ms) {
  std::time_t t = ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", buf, ms % 1000);
}

Corpus generate(const CorpusSpec& spec) {
  Corpus c;
  std::mt19937_64 rng(spec.seed);
  c.own_numbers = {"+4930123456", "+4930123457"};
  const std::string landline = "+4930555000";
  struct Customer {
    std::string e164, national;
    bool in_crm;
  };
  std::vector<Customer> customers;
  for (int i = 0; i < spec.customers; ++i) {
    // Assigned German mobile ranges only (0153/0154/0156/0158 are not), so every number validates.
    static constexpr std::array<const char*, 6> k_prefixes = {"151", "152", "155", "157", "159", "176"};
    const std::string national = fmt::format("{}{:08}", k_prefixes[static_cast<std::size_t>(i) % 6], 10000000 + i);
    customers.push_back({"+49" + national, national, i % 10 != 7});  // every 10th-ish only texts
  }
  const std::int64_t day = 86'400'000;
  c.seed = spec.seed;
  c.now_ms = spec.now_ms;
  for (int i = 0; i < spec.customers; ++i) {
    const auto& cu = customers[static_cast<std::size_t>(i)];
    c.customers.push_back({cu.e164, k_first[static_cast<std::size_t>(i) % k_first.size()],
                           k_last[static_cast<std::size_t>(i / 3) % k_last.size()], cu.in_crm});
    if (!cu.in_crm) continue;
    SimContact k;
    k.id = std::to_string(1001 + i);
    k.first = c.customers.back().first;
    k.last = c.customers.back().last;
    k.email = fmt::format("{}.{}@Example.COM{}", k.first, i, i % 2 ? "" : " ");  // some with a stray trailing space
    (i % 3 == 0 ? k.phone : k.mobile) = written(cu.national, i);
    k.modified_ms = spec.now_ms - static_cast<std::int64_t>(rng() % (40 * day));
    c.contacts.push_back(k);
  }
  // The family landline, on two contacts of the same CRM: a conflict, never a merge.
  c.contacts.push_back({"900001", "Karl", "Weber", "karl.weber@example.com", "030 555000", "", spec.now_ms - 5 * day});
  c.contacts.push_back(
      {"900002", "Erika", "Weber", "erika.weber@example.com", "+49 30 555000", "", spec.now_ms - 6 * day});
  // Their address, as a CRM holds it: it may suggest they are related, never join them.
  for (auto* k : {&c.contacts[c.contacts.size() - 2], &c.contacts.back()}) {
    k->zip = "10115";
    k->city = "Berlin";
    k->address = "Invalidenstraße 1";
  }
  c.contacts.back().birth_date = "1961-04-12";
  // A contact who never wrote, and an archived one.
  c.contacts.push_back({"900003", "Quiet", "Person", "quiet@example.org", "", "", spec.now_ms - 9 * day});
  c.contacts.push_back(
      {"900004", "Gone", "Away", "gone@example.org", "", "+4915199999999", spec.now_ms - 3 * day, true});

  for (int i = 0; i < spec.messages; ++i) {
    SimMessage m;
    const auto ci = static_cast<std::size_t>(rng() % customers.size());
    std::string customer = customers[ci].e164;
    std::string channel_prefix;
    if (i % 50 == 3) customer = landline;
    if (i % 97 == 5) customer = "12345";  // a short code: not a valid personal number
    if (ci % 7 == 2 && i % 4 == 0) channel_prefix = "whatsapp:";
    const std::string business = c.own_numbers[static_cast<std::size_t>(i) % 2];
    const int kind = static_cast<int>(rng() % 10);
    if (kind < 6) {
      m.direction = "inbound";
      m.from = channel_prefix + customer;
      m.to = channel_prefix + business;
    } else {
      m.direction = kind < 8 ? "outbound-api" : "outbound-reply";
      m.from = channel_prefix + business;
      m.to = channel_prefix + customer;
    }
    m.body = k_texts[rng() % k_texts.size()];
    m.sent_ms = spec.now_ms - static_cast<std::int64_t>(rng() % (30 * day)) / 1000 * 1000;
    m.sid = fmt::format("SM{:016x}{:016x}", spec.seed, static_cast<std::uint64_t>(i));
    c.messages.push_back(std::move(m));
  }
  std::sort(c.messages.begin(), c.messages.end(), [](const auto& a, const auto& b) {
    return a.sent_ms != b.sent_ms ? a.sent_ms > b.sent_ms : a.sid > b.sid;
  });

  // Calls of every 3rd customer, from a random sequence of their own (the messages stay as they were).
  static constexpr std::array<const char*, 3> k_anonymous = {"anonymous", "restricted", "+266696687"};
  static constexpr std::array<const char*, 8> k_outcomes = {"completed", "completed", "completed", "no-answer",
                                                            "completed", "busy",      "canceled",  "failed"};
  std::mt19937_64 call_rng(spec.seed ^ 0xca11ca11ca11ca11ULL);
  int n = 0;
  for (std::size_t ci = 0; ci < customers.size(); ci += 3) {
    const int calls = 1 + static_cast<int>(call_rng() % 3);
    for (int k = 0; k < calls; ++k, ++n) {
      SimCall call;
      const std::string business = c.own_numbers[static_cast<std::size_t>(n) % 2];
      const bool anonymous = n % 8 == 5;
      const int kind = static_cast<int>(call_rng() % 10);
      call.direction = anonymous || kind < 5 ? "inbound" : kind < 8 ? "outbound-api" : "outbound-dial";
      const std::string customer = anonymous ? k_anonymous[static_cast<std::size_t>(n / 8) % 3] : customers[ci].e164;
      call.from = call.direction == "inbound" ? customer : business;
      call.to = call.direction == "inbound" ? business : customer;
      call.status = k_outcomes[call_rng() % k_outcomes.size()];
      call.duration_s = call.status == "completed" ? 5 + static_cast<int>(call_rng() % 900) : 0;
      call.start_ms = spec.now_ms - static_cast<std::int64_t>(call_rng() % (30 * day)) / 1000 * 1000;
      call.sid = fmt::format("CA{:016x}{:016x}", spec.seed, static_cast<std::uint64_t>(n));
      c.calls.push_back(std::move(call));
    }
  }
  std::sort(c.calls.begin(), c.calls.end(), [](const auto& a, const auto& b) {
    return a.start_ms != b.start_ms ? a.start_ms > b.start_ms : a.sid > b.sid;
  });
  return c;
}

void add_messages(Corpus& corpus, int n, std::uint64_t seed) {
  const std::int64_t newest = corpus.messages.empty() ? 0 : corpus.messages.front().sent_ms;
  std::vector<SimMessage> fresh;
  for (int i = 0; i < n; ++i)
    fresh.push_back({fmt::format("SMadd{:012x}{:015x}", seed, static_cast<std::uint64_t>(i)), "+4915110000001",
                     corpus.own_numbers[0], "inbound", "A new message", newest + 1000 * (i + 1)});
  std::reverse(fresh.begin(), fresh.end());
  corpus.messages.insert(corpus.messages.begin(), fresh.begin(), fresh.end());
}

}  // namespace chansync::sim
