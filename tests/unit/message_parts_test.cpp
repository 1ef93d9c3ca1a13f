#include "sync/message_parts.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "sync/error.hpp"
#include "sync/interner.hpp"
#include "sync/state_store.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/unit/push_fixtures.hpp"

using namespace chansync;

namespace {

// 30 SMS customers with 0–4 messages each (c0 has none, so only a CRM contact names that person's
// number: customer 0 is a person without messages), one of them also on a second connector whose
// messages carry attachments and a status, and, pulled after the reconcile, a conversation whose
// customer is no person yet.
struct Store {
  test::TempDir dir{"parts"};
  StateStore store{(dir.path / "state.db").string()};
  Store() {
    std::vector<Conversation> page;
    for (int i = 0; i < 30; ++i) {
      page.push_back(test::conversation("c" + std::to_string(i), "+49151123456" + std::to_string(10 + i), i % 5));
      if (i % 3 == 1) page.back().customer_name = "Name " + std::to_string(i);  // the vendor's name for some
    }
    page[3].customer_name = "Zed";  // customer 3 is also "Bea" on WhatsApp: the least name is the person's
    page[7].customer_name = std::string("Nul\0Name 7", 10);  // a vendor's name with a NUL: kept whole
    test::commit(store, page);
    Contact contact{"crm", "k1", "Ada", "Lovelace", {{HandleKind::phone, "+4915112345610", true}}};
    store.records().commit_contacts("crm", "contacts", {contact}, {}, "1");
    Conversation wa{"wa", "w1", "whatsapp", {HandleKind::phone, "+4915112345613", true}, "+4930123456", {}};
    wa.customer_name = "Bea";
    Message m{"wa", "wm1", "w1", "whatsapp", Direction::outbound, AuthorKind::agent, "agent", 5000, "see attached"};
    m.status = "read";
    m.attachments = {{"image/png", "a.png", "https://example.test/a.png", 42}};
    wa.messages = {m};
    store.records().commit_conversations("wa", "conversations", {wa}, {}, "1");
    test::reconcile_now(store);
    test::commit(store, {test::conversation("late", "+4915100000000", 3)});
  }
  PackedStrings persons() {
    PackedStrings ids;
    SQLite::Statement q(store.db(), "SELECT DISTINCT person_id FROM person_handles ORDER BY person_id");
    while (q.executeStep()) ids.push_back(q.getColumn(0).getText());
    return ids;
  }
};

std::vector<std::string> ids_of(const std::vector<Message>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.push_back(m.connector + "/" + m.id);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("a pass over every person gives each the record reading it alone gives") {
  Store s;
  for (const std::optional<std::int64_t> since : {std::optional<std::int64_t>{}, std::optional<std::int64_t>{0}}) {
    INFO("changed since " << (since ? std::to_string(*since) : "ever"));
    std::vector<PersonRecord> pass;
    s.store.identity().for_each_person([&](PersonRecord&& p) { pass.push_back(std::move(p)); }, since);
    REQUIRE(pass.size() == 30);
    std::size_t messages = 0;
    for (const auto& p : pass) {
      const auto alone = s.store.identity().person(p.person_id);
      REQUIRE(alone);
      CHECK(nlohmann::json(p) == nlohmann::json(*alone));
      messages += p.messages.size();
    }
    CHECK(messages == 60 + 1);  // 6 rounds of 0+1+2+3+4, and the WhatsApp one; none of "late"
    std::multiset<std::string> names;
    for (const auto& p : pass) names.insert(p.display_name);
    CHECK(names.count("Bea") == 1);
    CHECK(names.count("Zed") == 0);
    CHECK(names.count("Name 4") == 1);
    CHECK(names.count(std::string("Nul\0Name 7", 10)) == 1);
    CHECK(names.count("Ada Lovelace") == 1);  // a CRM contact's name comes before the vendor's
  }
  // Nothing is left in the store's directory but the store.
  for (const auto& entry : std::filesystem::directory_iterator(s.dir.path))
    CHECK(entry.path().filename().string().starts_with("state.db"));
}

TEST_CASE("a pass over persons who have only CRM contacts gives each their contact") {
  test::TempDir dir{"parts"};
  StateStore store{(dir.path / "state.db").string()};
  std::vector<Contact> contacts;
  for (int i = 0; i < 3; ++i)
    contacts.push_back({"crm",
                        "k" + std::to_string(i),
                        "Name",
                        std::to_string(i),
                        {{HandleKind::phone, "+4915112345" + std::to_string(610 + i), true}}});
  contacts[2].archived = true;  // an archived contact makes no person
  store.records().commit_contacts("crm", "contacts", contacts, {}, "1");
  test::reconcile_now(store);
  std::vector<PersonRecord> pass;
  store.identity().for_each_person([&](PersonRecord&& p) { pass.push_back(std::move(p)); });
  REQUIRE(pass.size() == 2);  // the archived contact's node is nobody's
  for (const auto& p : pass) {
    REQUIRE(p.contacts.size() == 1);
    CHECK(nlohmann::json(p) == nlohmann::json(*store.identity().person(p.person_id)));
  }
}

TEST_CASE("message parts hand out each person's messages however finely they are parted") {
  Store s;
  const auto persons = s.persons();
  REQUIRE(persons.size() == 30);
  // Read by one thread, and by two (split_at 1: any store of two or more messages).
  for (const std::int64_t split_at : {MessageParts::k_split_at, std::int64_t{1}})
    for (const std::size_t part_bytes : {std::size_t{1}, std::size_t{20000}, MessageParts::k_part_bytes}) {
      INFO("part bytes " << part_bytes << ", split at " << split_at);
      MessageParts parts(s.store.db(), s.dir.path, persons, part_bytes, split_at);
      std::size_t contacts = 0;
      CHECK(parts.readers() == (split_at == 1 ? 2 : 1));
      if (part_bytes == 1) CHECK(parts.parts() == 30);  // one person per file
      if (part_bytes == MessageParts::k_part_bytes) CHECK(parts.parts() == 1);
      for (std::size_t i = 0; i < persons.size(); ++i) {
        INFO(persons[i]);
        const auto alone = s.store.identity().person(std::string(persons[i]));
        const auto taken = parts.take(i);
        CHECK(ids_of(taken.messages) == ids_of(alone->messages));
        CHECK(nlohmann::json(taken.contacts) == nlohmann::json(alone->contacts));
        contacts += taken.contacts.size();
      }
      CHECK(contacts == 1);
      const auto past = parts.take(persons.size());  // past the last person
      CHECK((past.messages.empty() && past.contacts.empty()));
    }
  SECTION("persons skipped are passed over") {
    MessageParts parts(s.store.db(), s.dir.path, persons, 1000);
    const auto expect = [&](std::size_t i) {
      return ids_of(s.store.identity().person(std::string(persons[i]))->messages);
    };
    CHECK(ids_of(parts.take(3).messages) == expect(3));
    CHECK(ids_of(parts.take(17).messages) == expect(17));
    CHECK(ids_of(parts.take(29).messages) == expect(29));
  }
}

TEST_CASE("a scratch file that cannot be made is an I/O error naming the directory and the cause") {
  Store s;
  const auto missing = s.dir.path / "missing";
  try {
    MessageParts parts(s.store.db(), missing, s.persons());
    FAIL("no error");
  } catch (const Failure& e) {
    CHECK(e.error().code == Errc::io);
    CHECK_THAT(e.what(), Catch::Contains(missing.string()) && Catch::Contains("No such file or directory"));
  }
}

TEST_CASE("an interner finds the pairs it holds and nothing else") {
  using namespace std::literals;
  const std::string held[] = {"sms\0c1"s, "sms\0c2"s, "sms\0c1\0"s};  // NULs and all
  Interner in;
  for (const auto& s : held) in.intern(s);
  CHECK(in.find(held[1]) == 1);
  CHECK(in.find(held[2]) == 2);
  CHECK(in.find("sms\0c3"sv) == k_none);
  CHECK(in.find("sms"sv) == k_none);
  CHECK(in.find(held[0], 1) == k_none);   // another tag
  CHECK(Interner().find("x") == k_none);  // an empty one
  CHECK(in.size() == 3);                  // finding adds nothing
}

TEST_CASE("an interner's batch lookup finds what one lookup at a time finds") {
  Interner in;
  std::vector<std::string> held, asked;
  for (int i = 0; i < 5000; ++i) held.push_back("sms\0c" + std::to_string(i * 7));
  for (const auto& s : held) in.intern(s);
  for (int i = 0; i < 5000 * 7; i += 3) asked.push_back("sms\0c" + std::to_string(i));  // 1 in 7 held
  const std::vector<std::string_view> keys(asked.begin(), asked.end());
  std::vector<std::uint32_t> found(keys.size(), 12345);
  for (std::size_t at = 0; at < keys.size(); at += 64) {
    const std::size_t n = std::min<std::size_t>(64, keys.size() - at);
    in.find_each(std::span(keys).subspan(at, n), std::span(found).subspan(at, n));
  }
  std::size_t hits = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    INFO(asked[i]);
    REQUIRE(found[i] == in.find(keys[i]));
    hits += found[i] != k_none;
  }
  CHECK(hits == 5000 / 3 + 1);  // the multiples of 21 below 35,000
  std::uint32_t none = 7;
  Interner().find_each(std::span(keys).first(1), std::span(&none, 1));
  CHECK(none == k_none);  // an empty one
}

TEST_CASE("a store without persons makes no parts, and a pass over its persons calls nothing") {
  test::TempDir dir{"parts"};
  StateStore store{(dir.path / "state.db").string()};
  test::commit(store, {test::conversation("c1", "+4915112345601", 3)});  // pulled, never reconciled
  MessageParts parts(store.db(), dir.path, PackedStrings{}, MessageParts::k_part_bytes, 1);
  CHECK(parts.parts() == 0);
  CHECK(parts.take(0).messages.empty());
  int called = 0;
  store.identity().for_each_person([&](PersonRecord&&) { ++called; });
  CHECK(called == 0);
}

TEST_CASE("a customer's handle is as verified as their first stored conversation says") {
  test::TempDir dir{"parts"};
  StateStore store{(dir.path / "state.db").string()};
  auto first = test::conversation("c1", "+4915112345601", 1), second = test::conversation("c2", "+4915112345601", 1);
  first.customer.verified = false;  // stored first (the lower key): its word counts
  test::commit(store, {first});
  test::commit(store, {second});
  test::reconcile_now(store);
  CHECK(store.db().execAndGet("SELECT verified FROM person_handles WHERE node = 'phone:+4915112345601'").getInt() == 0);
}
