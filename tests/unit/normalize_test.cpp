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
  CHECK(normalize_email("tester@example.org")->verified);
  CHECK(normalize_email("nonexistent.person@example.org")->verified);
}
