// chansync erase: everything of a person leaves the store, and tombstones keep a re-pull from
// bringing it back.
#include "sync/erase.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "push_fixtures.hpp"
#include "sync/run.hpp"
#include "sync/state_store.hpp"

using namespace chansync;
using namespace chansync::test;

namespace {

const Handle k_phone{HandleKind::phone, "+4915112345678", true};
const Handle k_email{HandleKind::email, "anna@example.com", true};
const std::vector<Endpoint> k_none;

std::int64_t count(StateStore& store, const std::string& sql) {
  return store.db().execAndGet(sql).getInt64();
}

// Anna: a CRM record (phone, email), an SMS conversation, a dead letter naming her number; Bob: an
// SMS conversation; both pushed once to a target "out".
std::string seed(StateStore& store, RecordingSink& sink) {
  Contact anna{"crm", "1", "Anna", "Weber", {k_phone, k_email}};
  store.records().commit_contacts("crm", "contacts", {anna}, {}, "x");
  commit(store, {conversation("c1", k_phone.value, 3), conversation("c2", "+4915199999999", 2)});
  store.records().commit_conversations(
      "sms", "conversations", {},
      {DeadLetter{"SM9", "bad date", R"({"from":"+4915112345678","date_sent":"yesterday"})"}}, "x2");
  reconcile_store(store, k_none, false);
  push_target("out", sink, store, {});
  SQLite::Statement q(store.db(), "SELECT person_id FROM person_handles WHERE node = 'crm_id:crm/1'");
  REQUIRE(q.executeStep());
  return q.getColumn(0).getString();
}

// The record ids of the dead letters kept, in order, comma-separated.
std::string dead_letter_ids(StateStore& store) {
  SQLite::Statement q(store.db(),
                      "SELECT group_concat(record_id, ',') FROM (SELECT record_id FROM dead_letters "
                      "ORDER BY record_id)");
  REQUIRE(q.executeStep());
  return q.getColumn(0).getString();
}

}  // namespace

TEST_CASE("erase --dry-run counts and changes nothing; erase removes the person and queues the deletion", "[erase]") {
  StateStore store(":memory:");
  RecordingSink sink;
  const std::string anna = seed(store, sink);
  const auto before = store.counts();

  const auto dry = erase_person(store, "", k_email.key(), true);  // by handle: the person holding it
  CHECK(dry.person_id == anna);
  CHECK(dry.nodes == std::vector<std::string>{"crm_id:crm/1", k_email.key(), k_phone.key()});
  CHECK(dry.conversations == 1);
  CHECK(dry.messages == 3);
  CHECK(dry.contacts == 1);
  CHECK(dry.dead_letters == 1);
  CHECK(dry.targets == std::vector<std::string>{"out"});
  CHECK(store.counts() == before);
  CHECK(count(store, "SELECT count(*) FROM tombstones") == 0);

  store.db().exec("UPDATE streams SET notice = 'message wamid.X1 to +4915112345678 failed' WHERE connector = 'sms'");
  store.db().exec("UPDATE streams SET notice = 'message wamid.X2 to +4915199999999 failed' WHERE connector = 'crm'");
  const auto r = erase_person(store, anna, "", false);
  CHECK(r.messages == 3);
  CHECK(count(store, "SELECT count(*) FROM push_ledger WHERE erased = 1 AND person_id = '" + anna + "'") == 1);
  CHECK(count(store, "SELECT count(*) FROM push_ledger WHERE erased = 1") == 1);
  CHECK(count(store, "SELECT count(*) FROM streams WHERE instr(notice, '4915112345678') > 0") == 0);
  CHECK(count(store, "SELECT count(*) FROM streams WHERE notice != ''") == 1);  // the other number's
  CHECK(count(store, "SELECT count(*) FROM messages") == 2);                    // Bob's
  CHECK(count(store, "SELECT count(*) FROM conversations") == 1);
  CHECK(count(store, "SELECT count(*) FROM contacts") == 0);
  CHECK(count(store, "SELECT count(*) FROM dead_letters") == 0);
  CHECK(count(store, "SELECT count(*) FROM person_handles WHERE person_id = '" + anna + "'") == 0);
  CHECK(store.identity().person_count() == 1);  // Bob: the count kept by reconcile is forgotten
  CHECK(count(store, "SELECT count(*) FROM tombstones") == 3);
  // No tombstone holds the value in clear.
  CHECK(count(store, "SELECT count(*) FROM tombstones WHERE instr(digest, '4915112345678') > 0") == 0);

  // The next push deletes her on the target; Bob stays.
  reconcile_store(store, k_none, false);
  const auto pushed = push_target("out", sink, store, {});
  CHECK(pushed.deleted == 1);
  REQUIRE(sink.removed.size() == 1);
  CHECK(sink.removed[0] == std::pair<std::string, std::string>{anna, ""});
  const auto asked = std::find_if(sink.seen.begin(), sink.seen.end(),
                                  [&](const auto& e) { return e && e->person_id == anna && e->erased; });
  CHECK(asked != sink.seen.end());  // the deletion said it is an erasure: gone for good where the target can
  CHECK(sink.held.size() == 1);
  CHECK(count(store, "SELECT count(*) FROM push_ledger") == 1);  // Bob's, not erased
  CHECK(count(store, "SELECT count(*) FROM push_ledger WHERE erased = 0") == 1);
  CHECK_THROWS_WITH(erase_person(store, anna, "", false), Catch::Contains("no person"));
  CHECK_THROWS_WITH(erase_person(store, "", "phone:+4915100000001", false), Catch::Contains("nothing is stored"));
}

TEST_CASE("after erase, a re-pull stores none of the person; other records lose only the erased handles", "[erase]") {
  StateStore store(":memory:");
  RecordingSink sink;
  const std::string anna = seed(store, sink);
  erase_person(store, anna, "", false);

  // The same pages again, as a full re-pull would bring them, plus another CRM's record that lists
  // her email beside its own person's number, and a WhatsApp link to her number.
  Contact anna_again{"crm", "1", "Anna", "Weber", {k_phone, k_email}};
  Contact other{"crm2", "7", "Carla", "M", {k_email, Handle{HandleKind::phone, "+4915155555555", true}}};
  store.records().commit_contacts("crm", "contacts", {anna_again}, {}, "y");
  store.records().commit_contacts("crm2", "contacts", {other}, {}, "y");
  auto linked = conversation("c3", "+4915155555555", 1);
  linked.customer_links = {k_phone};
  commit(store, {conversation("c1", k_phone.value, 5), conversation("c2", "+4915199999999", 3), linked});
  CHECK(count(store, "SELECT count(*) FROM contacts WHERE connector = 'crm'") == 0);
  CHECK(count(store, "SELECT count(*) FROM conversations WHERE customer = 'phone:+4915112345678'") == 0);
  CHECK(count(store,
              "SELECT count(*) FROM messages m JOIN conversations c ON c.key = m.conversation "
              "WHERE c.id = 'c1'") == 0);
  CHECK(count(store,
              "SELECT count(*) FROM messages m JOIN conversations c ON c.key = m.conversation "
              "WHERE c.id = 'c2'") == 3);
  CHECK(count(store, "SELECT count(*) FROM messages WHERE conversation NOT IN (SELECT key FROM conversations)") ==
        0);  // c1's went with it
  CHECK(store.records().contact("crm2", "7")->handles == std::vector<Handle>{{HandleKind::phone, "+4915155555555"}});
  CHECK(count(store, "SELECT count(*) FROM conversations WHERE customer_links LIKE '%4915112345678%'") == 0);
  reconcile_store(store, k_none, false);
  CHECK(count(store,
              "SELECT count(*) FROM person_handles WHERE node IN ('crm_id:crm/1', 'email:anna@example.com', "
              "'phone:+4915112345678')") == 0);

  // A store opened afresh (the next cron run) reads the tombstones too.
  const auto path = std::filesystem::temp_directory_path() / "chansync-erase-test.db";
  std::filesystem::remove(path);
  {
    StateStore file(path.string());
    RecordingSink s2;
    const std::string id = seed(file, s2);
    erase_person(file, id, "", false);
  }
  {
    StateStore file(path.string());
    commit(file, {conversation("c1", k_phone.value, 5)});
    CHECK(count(file, "SELECT count(*) FROM conversations WHERE id = 'c1'") == 0);
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
}

TEST_CASE("erase strips the handle from other records already stored, and finds every dead letter of the person",
          "[erase]") {
  StateStore store(":memory:");
  RecordingSink sink;
  // Two people's CRM records list the same office number: a conflict, so no person holds it.
  const Handle office{HandleKind::phone, "+4930555000", true};
  const Handle karl_mail{HandleKind::email, "karl@example.com", true};
  store.records().commit_contacts(
      "crm", "contacts",
      {Contact{"crm", "2", "Karl", "K", {office, karl_mail}},
       Contact{"crm", "3", "Erika", "E", {office, {HandleKind::email, "erika@example.com"}}}},
      {}, "y");
  // Dead letters naming Anna in other letter case, or the reject of her CRM record; one of someone else.
  store.records().commit_contacts(
      "crm", "contacts", {},
      {DeadLetter{"1", "date_of_birth \"17.05\" is not a date", R"({"id":"1","firstname":"Anna"})"},
       DeadLetter{"8", "bad", R"({"email":"ANNA@Example.COM"})"}, DeadLetter{"9", "bad", R"({"email":"x@y.de"})"}},
      "z");
  const std::string anna = seed(store, sink);
  CHECK(count(store, "SELECT count(*) FROM identity_conflicts WHERE node = 'phone:+4930555000'") == 1);

  const auto office_erase = erase_person(store, "", office.key(), false);
  CHECK(office_erase.person_id.empty());
  CHECK(office_erase.other_records == 2);
  const auto karl = store.records().contact("crm", "2");
  REQUIRE(karl);
  CHECK(karl->handles == std::vector<Handle>{karl_mail});
  REQUIRE(store.records().contact("crm", "3"));
  CHECK(store.records().contact("crm", "3")->handles.size() == 1);
  // Reconcile does not bring the number back through their records.
  reconcile_store(store, k_none, false);
  CHECK(count(store, "SELECT count(*) FROM person_handles WHERE node = 'phone:+4930555000'") == 0);
  CHECK(count(store, "SELECT count(*) FROM identity_conflicts") == 0);
  CHECK(count(store, "SELECT count(*) FROM person_handles WHERE node IN ('crm_id:crm/2', 'crm_id:crm/3')") == 2);

  const auto dry = erase_person(store, anna, "", true);
  CHECK(dry.dead_letters == 3);  // the SMS one, the reject of crm/1, the upper-case email
  CHECK(dry.other_records == 0);
  CHECK(erase_person(store, anna, "", false).dead_letters == 3);
  CHECK(count(store, "SELECT count(*) FROM dead_letters") == 1);  // x@y.de's

  // A re-pull's reject of the erased record is not stored again; another record's is.
  store.records().commit_contacts("crm", "contacts", {},
                                  {DeadLetter{"1", "date_of_birth \"17.05\" is not a date", R"({"id":"1"})"},
                                   DeadLetter{"2", "date_of_birth \"x\" is not a date", R"({"id":"2"})"}},
                                  "z2");
  CHECK(count(store, "SELECT count(*) FROM dead_letters WHERE record_id = '1'") == 0);
  CHECK(count(store, "SELECT count(*) FROM dead_letters WHERE record_id = '2'") == 1);
}

TEST_CASE("erase of a handle only dead letters name tombstones it; of one nothing names, writes nothing", "[erase]") {
  StateStore store(":memory:");
  store.records().commit_conversations(
      "sms", "conversations", {},
      {DeadLetter{"SM1", "bad date", R"({"from":"+4917699887766","date_sent":"yesterday"})"}}, "x");
  const auto r = erase_person(store, "", "phone:+4917699887766", false);
  CHECK(r.person_id.empty());
  CHECK(r.dead_letters == 1);
  CHECK(count(store, "SELECT count(*) FROM dead_letters") == 0);
  CHECK(count(store, "SELECT count(*) FROM tombstones") == 1);
  // The pull that later brings the customer stores nothing of them.
  commit(store, {conversation("c9", "+4917699887766", 2)});
  CHECK(count(store, "SELECT count(*) FROM conversations") == 0);

  CHECK_THROWS_WITH(erase_person(store, "", "phone:+4915100000001", false),
                    Catch::Contains("no tombstone was written"));
  CHECK(count(store, "SELECT count(*) FROM tombstones") == 1);
}

TEST_CASE("erase takes whole values only, counts a dead letter once, and scrubs what health copied", "[erase]") {
  StateStore store(":memory:");
  RecordingSink sink;
  store.records().commit_contacts(
      "crm", "contacts", {},
      {DeadLetter{"7", "bad", R"({"email":"joanna@example.com"})"},                          // someone else's
       DeadLetter{"8", "bad", R"({"email":"anna@example.com.au"})"},                         // another domain
       DeadLetter{"9", "bad", R"({"email":"Anna@Example.com","phone":"+4915112345678"})"}},  // hers, twice named
      "z");
  const std::string anna = seed(store, sink);
  store.db().exec(R"sql(UPDATE streams SET notice = 'message to +4915112345678 failed',
                         error = 'HTTP 400: anna@example.com is invalid' WHERE connector = 'crm')sql");
  store.runs().record_health_run({now_ms(), "WARNING", 1}, {{"crm", "", now_ms(), "schema_drift",
                                                             R"({"detail":"anna@example.com; joanna@example.com"})"}});

  store.db().exec(R"sql(INSERT INTO runs(command, started_at, summary)
                         VALUES('sync', 1, '{"error":"anna@example.com is invalid; joanna@example.com"}'))sql");
  const auto dry = erase_person(store, anna, "", true);
  CHECK(dry.dead_letters == 2);  // the SMS one, and crm's "9" once though it names her twice
  erase_person(store, anna, "", false);
  CHECK(count(store, "SELECT count(*) FROM dead_letters") == 2);
  CHECK(count(store, "SELECT count(*) FROM dead_letters WHERE record_id IN ('7', '8')") == 2);
  CHECK(count(store,
              "SELECT count(*) FROM streams WHERE instr(notice || error, '4915112345678') > 0 OR "
              "instr(notice || error, 'anna@') > 0") == 0);
  const auto evidence = store.db().execAndGet("SELECT evidence FROM health_checks").getString();
  CHECK(evidence == R"({"detail":"(erased); joanna@example.com"})");
  CHECK(store.db().execAndGet("SELECT summary FROM runs").getString() ==
        R"({"error":"(erased) is invalid; joanna@example.com"})");
}

TEST_CASE("records pulled since the last reconcile: identities are out of date until it runs", "[erase]") {
  StateStore store(":memory:");
  RecordingSink sink;
  const std::string anna = seed(store, sink);
  CHECK(identities_current(store, k_none, {}));
  // Her CRM record gains a second number, and a WhatsApp conversation comes from it.
  const Handle second{HandleKind::phone, "+4917622223333", true};
  store.records().commit_contacts("crm", "contacts", {Contact{"crm", "1", "Anna", "Weber", {k_phone, k_email, second}}},
                                  {}, "x3");
  commit(store, {conversation("c3", second.value, 2)});
  CHECK_FALSE(identities_current(store, k_none, {}));
  // Erased as it stands, the second number would stay; reconciled first (as `chansync erase` does), it goes.
  reconcile_store(store, k_none, false);
  CHECK(identities_current(store, k_none, {}));
  const auto r = erase_person(store, anna, "", false);
  CHECK(std::find(r.nodes.begin(), r.nodes.end(), second.key()) != r.nodes.end());
  CHECK(count(store, "SELECT count(*) FROM conversations WHERE customer = 'phone:+4917622223333'") == 0);
}

TEST_CASE("erase leaves no copy of the erased rows in the store's file or its log", "[erase]") {
  const auto dir = std::filesystem::temp_directory_path() / ("chansync-erase-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "state.db").string();
  {
    StateStore store(path);
    RecordingSink sink;
    const std::string anna = seed(store, sink);
    erase_person(store, anna, "", false);
    CHECK(std::filesystem::file_size(path + "-wal") == 0);  // copied into the file and emptied
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(bytes.find("anna@example.com") == std::string::npos);
    CHECK(bytes.find("4915112345678") == std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("a reject pulled again after the erase is not stored when it names the erased person", "[erase]") {
  StateStore store(":memory:");
  RecordingSink sink;
  erase_person(store, seed(store, sink), "", false);
  store.records().commit_conversations(
      "wa", "webhooks", {},
      {DeadLetter{"w1", "sent to another number", R"({"wa_id":"4915112345678","text":"hello"})"},
       DeadLetter{"w2", "no date", R"({"from":"Anna <ANNA@Example.com>."})"},
       DeadLetter{"w3", "no date", R"({"from":"joanna@example.com"})"},
       DeadLetter{"w4", "no date", R"({"wa_id":"4915199999999"})"}},
      "w");
  store.records().commit_contacts("crm", "contacts", {},
                                  {DeadLetter{"5", "bad date", R"({"email":"anna@example.com"})"},
                                   DeadLetter{"6", "bad date", R"({"email":"kim@example.com"})"}},
                                  "z");
  CHECK(dead_letter_ids(store) == "6,w3,w4");
}

TEST_CASE("a reject naming an erased Messenger or Instagram user, or a WhatsApp BSUID, is not stored again",
          "[erase]") {
  StateStore store(":memory:");
  const Handle psid{HandleKind::messenger_psid, "1122334455:6001234567890123", true};
  const Handle bsuid{HandleKind::whatsapp_bsuid, "419561257915477:US.13491208655302741918", true};
  for (const auto& [connector, h] : {std::pair{"fb", psid}, std::pair{"wa", bsuid}}) {
    Conversation c{connector,
                   "c-" + std::string(connector),
                   connector == std::string("fb") ? "messenger" : "whatsapp",
                   h,
                   "business",
                   {}};
    c.messages.push_back({connector, "m-" + std::string(connector), c.id, c.channel, Direction::inbound,
                          AuthorKind::customer, h.value, 1000, "hello"});
    store.records().commit_conversations(connector, "conversations", {c}, {}, "x");
  }
  reconcile_store(store, k_none, false);
  erase_person(store, "", psid.key(), false);
  erase_person(store, "", bsuid.key(), false);
  store.records().commit_conversations(
      "fb", "webhooks", {},
      // As the adapters keep rejects: a messaging event (which may name an Instagram account rather
      // than the Page), a WhatsApp message object (which names no account).
      {DeadLetter{"r1", "no text", R"({"recipient":{"id":"17841400000000000"},"sender":{"id":"6001234567890123"}})"},
       DeadLetter{"r2", "no text", R"({"recipient":{"id":"1122334455"},"sender":{"id":"6009999999999999"}})"},
       DeadLetter{"r3", "no text", R"({"user_id":"US.13491208655302741918","type":"unsupported"})"},
       DeadLetter{"r4", "no text", R"({"user_id":"US.99991208655302741918","type":"unsupported"})"}},
      "w");
  CHECK(dead_letter_ids(store) == "r2,r4");
}
