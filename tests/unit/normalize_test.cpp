#include "sync/normalize.hpp"

#include <catch2/catch.hpp>

using namespace chansync;

TEST_CASE("phone numbers in national and international formats normalise to one E.164") {
  struct Row {
    const char* raw;
    const char* region;
    const char* e164;
  };
  const Row rows[] = {
      {"+49 151 12345678", "DE", "+4915112345678"}, {"0151 12345678", "DE", "+4915112345678"},
      {"(0151) 123-45678", "DE", "+4915112345678"}, {"004915112345678", "DE", "+4915112345678"},
      {"+4915112345678", "", "+4915112345678"},     {"030 555000", "DE", "+4930555000"},
      {"(415) 555-2671", "US", "+14155552671"},     {"+1 415 555 2671", "DE", "+14155552671"},
  };
  for (const auto& r : rows) {
    INFO(r.raw << " in " << r.region);
    const auto h = normalize_phone(r.raw, r.region);
    REQUIRE(h);
    CHECK(h->value == r.e164);
    CHECK(h->verified);
  }
}

TEST_CASE("invalid and non-personal numbers are kept unverified, never joined") {
  auto short_code = normalize_phone("12345", "DE");
  REQUIRE(short_code);
  CHECK_FALSE(short_code->verified);
  CHECK(short_code->value == "12345");
  auto no_region = normalize_phone("0151 12345678", "");
  REQUIRE(no_region);
  CHECK_FALSE(no_region->verified);
  auto toll_free = normalize_phone("0800 1234567", "DE");
  REQUIRE(toll_free);
  CHECK_FALSE(toll_free->verified);
  CHECK_FALSE(normalize_phone("call me", "DE"));
}

TEST_CASE("emails are trimmed, lower-cased, IDNA-encoded; role addresses never join") {
  CHECK(normalize_email("  Anna.Mueller@Example.COM ")->value == "anna.mueller@example.com");
  CHECK(normalize_email("mailto:x@y.de")->value == "x@y.de");
  CHECK(normalize_email("jörg@Bücher.example")->value == "jörg@xn--bcher-kva.example");
  CHECK_FALSE(normalize_email("support@shop.de")->verified);
  CHECK(normalize_email("anna@shop.de")->verified);
  // Shared inboxes in other languages and with a suffix are role addresses too; people are not.
  for (const char* raw : {"Kontakt@firma.de", "vertrieb@firma.de", "team.berlin@firma.de", "info-de@shop.fr",
                          "sales_emea@acme.com", "Büro@praxis.de", "accueil@mairie.fr", "ventas@tienda.es"}) {
    INFO(raw);
    CHECK_FALSE(normalize_email(raw)->verified);
  }
  for (const char* raw : {"anna.info@shop.de", "teamleiter@firma.de", "salesforce.admin.anna@x.com"}) {
    INFO(raw);
    CHECK(normalize_email(raw)->verified);
  }
  CHECK_FALSE(normalize_email("not-an-address"));
  CHECK_FALSE(normalize_email("a@localhost"));
  CHECK_FALSE(normalize_email("@example.com"));
}

TEST_CASE("placeholder numbers and addresses are kept unverified, never joined") {
  for (const char* raw : {"+49 151 11111111", "+49 30 0000000", "030 9999999"}) {
    INFO(raw);
    const auto h = normalize_phone(raw, "DE");
    REQUIRE(h);
    CHECK_FALSE(h->verified);
  }
  for (const char* raw :
       {"noemail@gmail.com", "Test@Example.org", "none@acme.de", "ann@mail.invalid", "bob@localhost"}) {
    INFO(raw);
    const auto h = normalize_email(raw);
    if (!h) continue;  // "bob@localhost" has no dot: not an address at all
    CHECK_FALSE(h->verified);
  }
  // Real ones next to them still join.
  CHECK(normalize_phone("+49 151 12345601", "DE")->verified);
  CHECK(normalize_phone("+49 30 901820", "DE")->verified);
  // Ending in six of one digit is not enough: the whole subscriber part must be.
  CHECK(normalize_phone("+49 30 1000000", "DE")->verified);
  CHECK(normalize_phone("+49 151 12111111", "DE")->verified);
  CHECK(normalize_email("tester@example.org")->verified);
  CHECK(normalize_email("nonexistent.person@example.org")->verified);
}

TEST_CASE("birth dates become YYYY-MM-DD from the forms CRMs send, and nothing else does", "[normalize]") {
  CHECK(normalize_birth_date("1990-05-17") == "1990-05-17");
  CHECK(normalize_birth_date(" 1990-05-17\t") == "1990-05-17");
  CHECK(normalize_birth_date("1990-05-17T00:00:00Z") == "1990-05-17");
  CHECK(normalize_birth_date("1990-05-17T00:00:00.000Z") == "1990-05-17");
  CHECK(normalize_birth_date("642902400000") == "1990-05-17");   // HubSpot: midnight UTC in ms
  CHECK(normalize_birth_date("-315619200000") == "1960-01-01");  // born before 1970
  CHECK(normalize_birth_date("2000-02-29") == "2000-02-29");
  CHECK_FALSE(normalize_birth_date("1990-02-30"));  // no such day
  CHECK_FALSE(normalize_birth_date("1990-13-01"));
  CHECK_FALSE(normalize_birth_date("17.05.1990"));  // day and month order is a guess
  CHECK_FALSE(normalize_birth_date("05/17/1990"));
  CHECK_FALSE(normalize_birth_date("1990-05-17T10:30:00Z"));  // a time of day is not a date
  CHECK_FALSE(normalize_birth_date("642902400001"));
  CHECK_FALSE(normalize_birth_date("yesterday"));
  CHECK_FALSE(normalize_birth_date(""));
  CHECK_FALSE(normalize_birth_date("99999999999999999999"));
}

TEST_CASE("postal codes are upper-cased and places keep their case, both with whitespace collapsed", "[normalize]") {
  CHECK(normalize_postal_code("  sw1a   1aa ") == "SW1A 1AA");
  CHECK(normalize_postal_code("10115") == "10115");
  CHECK(normalize_postal_code("1012\xC2\xA0"
                              "ab") == "1012 AB");  // a no-break space is a space
  CHECK(normalize_postal_code(" \t ").empty());
  CHECK(normalize_place("  Frankfurt  am\tMain ") == "Frankfurt am Main");
  CHECK(normalize_place("Hauptstraße\n 5") == "Hauptstraße 5");
  CHECK(normalize_place("ÉVRY") == "ÉVRY");
}

TEST_CASE("a masked number is kept as typed and unverified, never read as keypad letters", "[normalize]") {
  for (const char* masked : {"+1415555XXXX", "+1 415 555 xxxx", "+49151****567"}) {
    INFO(masked);
    CHECK(is_masked_phone(masked));
    const auto h = normalize_phone(masked, "DE");
    REQUIRE(h);
    CHECK_FALSE(h->verified);
    CHECK(h->value == std::string(masked));  // not +14155559999
  }
  CHECK_FALSE(is_masked_phone("+1 415 555 1234 x12"));  // an extension is no mask
  CHECK_FALSE(is_masked_phone("client:maxx"));          // nor letters around an "xx"
  CHECK_FALSE(is_masked_phone("sip:+4930123@foxx.sip.twilio.com"));
  CHECK(normalize_phone("+1 415 555 1234 x12", "US")->verified);
  CHECK_FALSE(normalize_phone("XXXX", "DE"));  // no digit at all
  CHECK(redacted_phone("SM01").value == "redacted/SM01");
  CHECK_FALSE(redacted_phone("SM01").verified);
}
