#pragma once
// Labelled data for measuring identity reconciliation: seeded true people and the records a real
// deployment would hold for them (CRM contacts, conversation customer handles, vendor links), every
// record tagged with the person it belongs to. Handles go through the pipeline's own normalize_phone
// and normalize_email, so its rules (regions, validity, role and placeholder addresses) apply.
#include <cstdint>
#include <string>
#include <vector>

#include "sync/reconcile.hpp"

namespace chansync::bench::identity {

// How often each kind of mess occurs. The defaults are a guess at a mid-size B2C deployment with
// customers in DE, US, GB and FR; tests turn kinds off to isolate one.
struct GeneratorConfig {
  double in_hubspot = 0.55;          // people with a HubSpot contact (connector region DE)
  double in_salesforce = 0.30;       // people with a Salesforce contact (region US); independent
  double crm_duplicate = 0.03;       // a CRM contact entered a second time in the same CRM
  double household = 0.10;           // people who share a landline with 1–3 others of their household
  double own_landline = 0.15;        // people with a landline of their own
  double employed = 0.30;            // people whose company's addresses and switchboard reach CRMs
  double shared_office_email = 0.4;  // companies with a non-role shared address (team.berlin@…)
  double name_change = 0.03;         // people listed under a former last name (and its email) once
  double foreign_name = 0.05;        // people with a Cyrillic or Greek name, transliterated in some records
  double email_typo = 0.03;          // per email typed into a CRM
  double phone_typo = 0.01;          // per phone typed into a CRM: two digits swapped
  double foreign_national = 0.10;    // a foreign number typed in national form (read in the CRM's region)
  double placeholder = 0.02;         // contacts carrying test@test.com or +10000000000
  double gmail_variant = 0.02;       // mail sent from a dotless or +tag form of a Gmail address
  // Contact attributes (birth date, street, postcode, city) a CRM record carries; a duplicate, a quick
  // entry, carries each half as often and has its noise twice as often. Drawn from a stream of their
  // own, so the records' names and handles are those of a run without attributes.
  double crm_birth_date = 0.35;  // records with the person's birth date
  double crm_address = 0.5;      // records with their street, postcode and city (household members share one)
  double date_swapped = 0.05;    // per birth date typed: day and month swapped, when that is a date
  double date_typo = 0.02;       // per birth date typed: one digit wrong
  double street_typo = 0.08;     // per street typed: abbreviated ("Hauptstr.") or two letters swapped
  double city_variant = 0.1;     // per city typed: another form ("Muenchen", "Frankfurt")
  double moved = 0.05;           // per address typed: an earlier address (a former name's record: 0.3)
};

// A landline shared by a household, and where the generator listed it.
struct Household {
  std::string landline;                // its handle key ("phone:+4930…")
  std::vector<std::uint32_t> members;  // true person ids
  std::vector<std::size_t> contacts;   // indices into input.contacts whose handles hold it
};

// How many of each kind of mess went in, for the report.
struct NoiseCounts {
  std::size_t crm_duplicates = 0, name_changes = 0, foreign_names = 0, email_typos = 0, phone_typos = 0;
  std::size_t misread_national = 0, placeholders = 0, gmail_variants = 0, office_emails = 0, office_phones = 0;
  std::size_t household_landlines = 0, hidden_whatsapp_numbers = 0;
  std::size_t birth_dates = 0, addresses = 0;  // records carrying them
  std::size_t swapped_dates = 0, date_typos = 0, street_typos = 0, city_variants = 0, old_addresses = 0;
};

struct LabelledData {
  // Only contacts, conversation_handles and links are filled.
  IdentityInput input;
  std::vector<Contact> contacts;              // the CRM records whole (names, attributes), as input.contacts
  std::vector<std::uint32_t> contact_person;  // true person of input.contacts[i]
  std::vector<std::uint32_t> handle_person;   // true person of input.conversation_handles[i]
  std::vector<std::string> handle_name;       // the vendor's name for the customer of that handle ("" none)
  std::vector<Household> households;
  NoiseCounts noise;
  std::size_t people = 0;
  double normalise_seconds = 0;  // time spent inside normalize_phone/normalize_email
};

// `people` true people (ids 0 … people-1) and their records. Deterministic: the same seed, count and
// config give equal data. Conversation handles are distinct. One thread: libphonenumber's regex cache
// takes a lock on every lookup, and a second thread made generation slower, not faster.
LabelledData generate(std::uint64_t seed, std::size_t people, const GeneratorConfig& config = {});

}  // namespace chansync::bench::identity
