#pragma once
// Seeded, generated vendor data for the simulator: Twilio messages and HubSpot contacts describing
// the same customers, with the messiness real accounts have.
#include <cstdint>
#include <string>
#include <vector>

namespace chansync::sim {

struct SimMessage {
  std::string sid;
  std::string from, to, direction, body;
  std::int64_t sent_ms;
  std::string json;  // the Twilio resource, rendered once by the server (the simulator must not be the bottleneck)
};

// A Twilio voice call (Calls.json). `from` is "anonymous", "restricted" or "+266696687" for callers
// who withheld their number.
struct SimCall {
  std::string sid;
  std::string from, to, direction, status;
  int duration_s = 0;  // completed calls only
  std::int64_t start_ms;
  std::string json;  // rendered once by the server
};

struct SimContact {
  std::string id;
  std::string first, last, email, phone, mobile;
  std::int64_t modified_ms;
  bool archived = false;
  // HubSpot's date_of_birth, zip, city and address; unset (null) when empty.
  std::string birth_date, zip, city, address;
};

// A generated customer: the person behind the Twilio numbers, the HubSpot contact (when in_crm) and,
// for a subset, the Messenger and Instagram conversations (tests/simulator/meta.hpp).
struct SimCustomer {
  std::string e164;
  std::string first, last;  // the same names as the HubSpot contact's
  bool in_crm = true;
};

struct Corpus {
  std::vector<SimCustomer> customers;  // by index; generated numbers and names
  std::uint64_t seed = 0;
  std::int64_t now_ms = 0;
  std::vector<SimMessage> messages;  // sorted by sent_ms descending (Twilio's order)
  std::vector<SimContact> contacts;  // sorted by id
  std::vector<SimCall> calls;        // sorted by start_ms descending (Twilio's order)
  std::vector<std::string> own_numbers;
};

struct CorpusSpec {
  std::uint64_t seed = 42;
  int customers = 40;
  int messages = 400;
  std::int64_t now_ms = 1'780'000'000'000;  // fixed, so the corpus is the same on every machine
};

// Deterministic for a given spec. Includes: numbers written in several national/international
// formats in HubSpot, two business numbers, a family landline on two contacts, a customer only in
// SMS, a contact with no messages, an archived contact, a message from an invalid number, and
// WhatsApp messages from a customer who also texts. Calls: every 3rd customer (i % 3 == 0) calls or
// is called 1-3 times, with busy, unanswered and canceled calls among them, plus anonymous callers
// (one call in 8); drawn from their own random sequence, so the messages do not change.
Corpus generate(const CorpusSpec& spec);

// Appends `n` new inbound messages newer than everything else (for incremental pulls).
void add_messages(Corpus& corpus, int n, std::uint64_t seed);

std::string rfc2822(std::int64_t ms);
std::string rfc3339(std::int64_t ms);

}  // namespace chansync::sim
