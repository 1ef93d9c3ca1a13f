#include "sync/state_store.hpp"

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "sync/error.hpp"
#include "sync/reconcile.hpp"
#include "sync/state_lock.hpp"
#include "tests/support/temp_dir.hpp"

using namespace chansync;

namespace {

Conversation conversation(const std::string& id, int messages) {
  Conversation c{"sms", id, "sms", {HandleKind::phone, "+4915112345678", true}, "+4930123456", {}};
  for (int i = 0; i < messages; ++i)
    c.messages.push_back({"sms", id + "-m" + std::to_string(i), id, "sms", Direction::inbound, AuthorKind::customer,
                          "+4915112345678", 1000 + i, "hello"});
  return c;
}

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("store") {}
};

}  // namespace

TEST_CASE("migrations bring a new store to the current schema version") {
  StateStore s(":memory:");
  CHECK(s.schema_version() == 21);
  CHECK(s.records().streams().empty());
  // Health's reads of inbound messages (health_check.cpp, health_hourly.cpp) are covered by the
  // partial index of inbound messages.
  for (const char* q : {"SELECT channel, max(sent_at) FROM messages WHERE connector = ? AND direction = 'inbound' "
                        "GROUP BY channel",
                        "SELECT sent_at FROM messages WHERE connector = ? AND channel = ? AND direction = 'inbound' "
                        "AND sent_at >= ? ORDER BY sent_at",
                        "SELECT sent_at FROM messages WHERE connector = ? AND direction = 'inbound' AND sent_at >= ? "
                        "AND sent_at < ?"}) {
    INFO(q);
    SQLite::Statement plan(s.db(), std::string("EXPLAIN QUERY PLAN ") + q);
    REQUIRE(plan.executeStep());
    CHECK_THAT(plan.getColumn(3).getString(), Catch::Contains("COVERING INDEX messages_inbound"));
  }
}

TEST_CASE("an unknown persons revision is the store revision: a push then looks for deletions") {
  StateStore s(":memory:");
  s.set_meta("rev", "41");
  CHECK(s.persons_revision() == 41);
  CHECK(s.identity_input_revision() == 0);
  s.set_persons_revision(7);
  CHECK(s.persons_revision() == 7);
}

TEST_CASE("a page's records and its cursor commit together per stream; re-committing writes nothing") {
  StateStore s(":memory:");
  auto stats = s.records().commit_conversations("sms", "conversations", {conversation("c1", 3)}, {}, "cursor-1");
  CHECK(stats.received == 3);
  CHECK(stats.written == 3);  // messages only: one unit per figure
  CHECK(s.records().cursor("sms", "conversations") == "cursor-1");
  CHECK(s.records().cursor("sms", "other").empty());  // cursors are per stream
  stats =
      s.records().commit_conversations("sms", "conversations", {conversation("c1", 3)},
                                       {{"x", "bad date", R"({"sid": "x",  "date_sent":"yesterday"})"}}, "cursor-2");
  CHECK(stats.written == 0);
  CHECK(stats.rejected == 1);
  CHECK(s.count("messages") == 3);
  const auto dead = s.records().dead_letters("sms");
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].stream == "conversations");
  CHECK(dead[0].raw == R"({"sid": "x",  "date_sent":"yesterday"})");  // the bytes as given, spacing included
  CHECK(dead[0].error == "bad date");
  // The same record read again (Twilio's newest day is re-read every pull) is still one dead letter;
  // another bad record with the same id is a second.
  stats = s.records().commit_conversations("sms", "conversations", {},
                                           {{"x", "bad date", R"({"sid": "x",  "date_sent":"yesterday"})"},
                                            {"x", "bad date", R"({"sid": "x",  "date_sent":"today"})"}},
                                           "cursor-3");
  CHECK(stats.rejected == 2);  // what this pull could not map, as it reports
  CHECK(s.records().dead_letters("sms").size() == 2);
  CHECK(s.records().dead_letter_count("sms", "conversations") == 2);
  CHECK(s.records().dead_letters("sms", "other").empty());
  CHECK(s.records().dead_letters("", "", 1).size() == 1);
}

TEST_CASE("a contact's attributes are stored, read back, and a change to them alone rewrites it") {
  StateStore s(":memory:");
  Contact c{"crm", "7", "Ada", "Lovelace", {{HandleKind::email, "ada@example.com", true}}};
  c.attributes = {"1815-12-10", "W1J 7NT", "London", "12 St James's Square"};
  REQUIRE(s.records().commit_contacts("crm", "contacts", {c}, {}, "1").written == 1);
  CHECK(s.records().contact("crm", "7")->attributes == c.attributes);
  CHECK(s.identity().contacts().at(0) == c);
  CHECK(s.identity().input({}).contacts == std::vector<IdentityRecord>{c});          // reconcile reads who, not what
  CHECK(s.records().commit_contacts("crm", "contacts", {c}, {}, "2").written == 0);  // unchanged
  const auto rev = s.revision();
  CHECK(s.identity_input_revision() == rev);

  c.attributes.city = "Marylebone";
  CHECK(s.records().commit_contacts("crm", "contacts", {c}, {}, "3").written == 1);
  CHECK(s.records().contact("crm", "7")->attributes.city == "Marylebone");
  CHECK(s.revision() > rev);  // the person is re-merged and re-pushed
  CHECK(s.identity_input_revision() == s.revision());
  c.attributes = {};
  CHECK(s.records().commit_contacts("crm", "contacts", {c}, {}, "4").written == 1);
  CHECK(s.records().contact("crm", "7")->attributes.empty());
  CHECK(s.db().execAndGet("SELECT attributes FROM contacts").getString().empty());  // none: ''
}

TEST_CASE("a re-pulled message with another status, kind or attachments is rewritten in place") {
  StateStore s(":memory:");
  auto c = conversation("c1", 1);
  c.messages[0].status = "delivered";
  REQUIRE(s.records().commit_conversations("sms", "conversations", {c}, {}, "1").written == 1);
  const auto rev = s.revision();

  c.messages[0].status = "read";
  CHECK(s.records().commit_conversations("sms", "conversations", {c}, {}, "2").written == 1);
  CHECK(s.records().message("sms", "c1-m0")->status == "read");
  CHECK(s.revision() > rev);  // the person is re-pushed

  c.messages[0].attachments = {{"image", "cat.jpg", "https://cdn.example/cat.jpg"}};
  c.messages[0].kind = MessageKind::event;
  CHECK(s.records().commit_conversations("sms", "conversations", {c}, {}, "3").written == 1);
  const auto m = s.records().message("sms", "c1-m0");
  REQUIRE(m);
  CHECK(m->kind == MessageKind::event);
  REQUIRE(m->attachments.size() == 1);
  CHECK(m->attachments[0] == Attachment{"image", "cat.jpg", "https://cdn.example/cat.jpg"});
  CHECK(s.count("messages") == 1);
}

TEST_CASE("the richer of two copies of a message stays: an empty event or whole seconds replace nothing") {
  StateStore s(":memory:");
  auto c = conversation("c1", 1);
  // The webhook's copy: a sticker, at a millisecond.
  c.messages[0].text = "";
  c.messages[0].attachments = {{"image", "", "https://scontent.example/sticker.png"}};
  c.messages[0].sent_at = 1'750'000'000'123;
  REQUIRE(s.records().commit_conversations("fb", "webhooks", {c}, {}, "1").written == 1);

  // The history's copy of the same mid, filed under Graph's conversation id: no sticker asked for,
  // created_time in whole seconds.
  auto history = c;
  history.id = "t_1";
  history.messages[0].conversation = "t_1";
  history.messages[0].attachments.clear();
  history.messages[0].kind = MessageKind::event;
  history.messages[0].sent_at = 1'750'000'000'000;
  CHECK(s.records().commit_conversations("fb", "conversations", {history}, {}, "2").written == 0);
  auto m = s.records().message("fb", "c1-m0");
  REQUIRE(m);
  CHECK(m->kind == MessageKind::message);
  REQUIRE(m->attachments.size() == 1);
  CHECK(m->sent_at == 1'750'000'000'123);

  // Content and another second still replace what is stored.
  history.messages[0].text = "edited";
  history.messages[0].kind = MessageKind::message;
  history.messages[0].sent_at = 1'750'000'001'000;
  CHECK(s.records().commit_conversations("fb", "conversations", {history}, {}, "3").written == 1);
  m = s.records().message("fb", "c1-m0");
  CHECK(m->text == "edited");
  CHECK(m->attachments.empty());
  CHECK(m->sent_at == 1'750'000'001'000);

  // Within one conversation a re-pull replaces what is stored, emptied (deleted at the vendor) too.
  auto emptied = c;
  emptied.messages[0].text = "";
  emptied.messages[0].attachments.clear();
  emptied.messages[0].kind = MessageKind::event;
  emptied.messages[0].sent_at = 1'750'000'001'000;
  CHECK(s.records().commit_conversations("fb", "webhooks", {emptied}, {}, "4").written == 1);
  m = s.records().message("fb", "c1-m0");
  CHECK(m->kind == MessageKind::event);
  CHECK(m->text.empty());
}

TEST_CASE("a message's status never goes backwards; failed wins over every other") {
  StateStore s(":memory:");
  auto c = conversation("c1", 1);
  c.messages[0].status = "read";
  s.records().commit_conversations("sms", "conversations", {c}, {}, "1");
  c.messages[0].status = "delivered";  // an older webhook arriving late
  CHECK(s.records().commit_conversations("sms", "conversations", {c}, {}, "2").written == 0);
  CHECK(s.records().message("sms", "c1-m0")->status == "read");
  c.messages[0].status = "";  // a re-pull that knows no status keeps the known one
  CHECK(s.records().commit_conversations("sms", "conversations", {c}, {}, "3").written == 0);
  CHECK(s.records().message("sms", "c1-m0")->status == "read");
  c.messages[0].status = "failed";
  CHECK(s.records().commit_conversations("sms", "conversations", {c}, {}, "4").written == 1);
  c.messages[0].status = "read";
  CHECK(s.records().commit_conversations("sms", "conversations", {c}, {}, "5").written == 0);
  CHECK(s.records().message("sms", "c1-m0")->status == "failed");
}

TEST_CASE("a conversation's vendor name names a person no contact names") {
  StateStore s(":memory:");
  auto c = conversation("c1", 1);
  c.customer_name = "Ada Lovelace";
  s.records().commit_conversations("sms", "conversations", {c}, {}, "1");
  s.identity().save(reconcile(s.identity().input({}), [] { return std::string("p_00000000000000a1"); }));
  std::vector<PersonRecord> all;
  s.identity().for_each_person([&](PersonRecord&& p) { all.push_back(std::move(p)); });
  REQUIRE(all.size() == 1);
  CHECK(all[0].display_name == "Ada Lovelace");
  CHECK(s.identity().person(all[0].person_id)->display_name == "Ada Lovelace");  // the by-id read agrees
}

TEST_CASE("a receipt moves a held message's status and nothing else; for an unknown message it stores one") {
  StateStore s(":memory:");
  auto c = conversation("c1", 1);
  c.messages[0].direction = Direction::outbound;
  c.messages[0].status = "sent";
  s.records().commit_conversations("wa", "webhooks", {c}, {}, "1");
  Conversation receipts = c;
  receipts.messages.clear();
  Message r{"wa", "c1-m0", "c1", "sms", Direction::outbound, AuthorKind::agent, "+4930123456", 99999, ""};
  r.status = "read";
  receipts.receipts = {r};
  CHECK(s.records().commit_conversations("wa", "webhooks", {receipts}, {}, "2").written == 1);
  auto m = s.records().message("wa", "c1-m0");
  REQUIRE(m);
  CHECK(m->status == "read");
  CHECK(m->text == "hello");  // the receipt knows no text and takes none away
  CHECK(m->sent_at == 1000);  // nor the time
  r.status = "delivered";     // late
  receipts.receipts = {r};
  CHECK(s.records().commit_conversations("wa", "webhooks", {receipts}, {}, "3").written == 0);
  CHECK(s.records().message("wa", "c1-m0")->status == "read");
  // WhatsApp never sends the business's own messages: a receipt is all that is known of it.
  r.id = "wamid.unknown";
  r.status = "delivered";
  receipts.receipts = {r};
  CHECK(s.records().commit_conversations("wa", "webhooks", {receipts}, {}, "4").received == 1);
  m = s.records().message("wa", "wamid.unknown");
  REQUIRE(m);
  CHECK(m->status == "delivered");
  CHECK(m->direction == Direction::outbound);
  CHECK(m->text.empty());
  CHECK(m->sent_at == 99999);
  // Its "sent" receipt arriving after "delivered" (Meta keeps no order): the earlier time is taken,
  // the status stays. A later receipt's time does not move it.
  r.status = "sent";
  r.sent_at = 88888;
  receipts.receipts = {r};
  CHECK(s.records().commit_conversations("wa", "webhooks", {receipts}, {}, "5").written == 1);
  m = s.records().message("wa", "wamid.unknown");
  CHECK(m->sent_at == 88888);
  CHECK(m->status == "delivered");
  r.status = "read";
  r.sent_at = 123456;
  receipts.receipts = {r};
  s.records().commit_conversations("wa", "webhooks", {receipts}, {}, "6");
  m = s.records().message("wa", "wamid.unknown");
  CHECK(m->sent_at == 88888);
  CHECK(m->status == "read");
  // A held message's time is its own: an earlier receipt does not move it (checked above with 99999 > 1000).
  r.id = "c1-m0";
  r.sent_at = 1;
  receipts.receipts = {r};
  s.records().commit_conversations("wa", "webhooks", {receipts}, {}, "7");
  CHECK(s.records().message("wa", "c1-m0")->sent_at == 1000);
}

TEST_CASE("a watermark moves the status of the business's messages to the customer sent at or before it") {
  StateStore s(":memory:");
  auto ours = [](Message& m, Timestamp at, const char* status) {
    m.direction = Direction::outbound;
    m.author_kind = AuthorKind::agent;
    m.sent_at = at;
    m.status = status;
  };
  auto c = conversation("c1", 5);
  ours(c.messages[0], 1100, "sent");
  ours(c.messages[1], 1101, "failed");
  c.messages[2].sent_at = 1102;  // the customer's
  ours(c.messages[3], 5100, "sent");
  ours(c.messages[4], 1100, "");
  c.messages[4].kind = MessageKind::event;  // a reaction of the business: no status
  auto history = conversation("t_1", 1);    // the same customer's thread under another id (Graph's)
  ours(history.messages[0], 1103, "");
  auto other = conversation("c2", 1);  // another customer's
  other.customer.value = "+4915199999999";
  ours(other.messages[0], 901, "sent");
  s.records().commit_conversations("sms", "webhooks", {c, history, other}, {}, "1");
  auto status = [&](const std::string& id) { return s.records().message("sms", id)->status; };
  auto rev = [&](const std::string& id) {
    return s.db().execAndGet(fmt::format("SELECT rev FROM messages WHERE id = '{}'", id)).getInt64();
  };
  const auto rev_before = rev("c1-m0");

  Conversation read = c;
  read.messages.clear();
  read.watermarks = {{1103, "read"}};
  const auto stats = s.records().commit_conversations("sms", "webhooks", {read}, {}, "2");
  CHECK(stats.received == 1);
  CHECK(stats.written == 2);
  CHECK(status("c1-m0") == "read");
  CHECK(rev("c1-m0") > rev_before);  // a push sees it changed
  CHECK(status("t_1-m0") == "read");
  CHECK(status("c1-m1") == "failed");  // failed wins
  CHECK(status("c1-m2").empty());      // the customer's own
  CHECK(status("c1-m3") == "sent");    // sent after it
  CHECK(status("c1-m4").empty());      // an event
  CHECK(status("c2-m0") == "sent");    // another customer's
  CHECK(rev("c2-m0") == rev_before);

  read.watermarks = {{6000, "delivered"}};  // later, but "delivered" undoes no "read"
  CHECK(s.records().commit_conversations("sms", "webhooks", {read}, {}, "3").written == 1);
  CHECK(status("c1-m0") == "read");
  CHECK(status("c1-m3") == "delivered");

  // A time in whole seconds (Graph's history) counts as the end of its second.
  auto later = conversation("t_1", 1);
  later.messages[0].id = "t_1-m1";
  ours(later.messages[0], 7000, "");
  s.records().commit_conversations("sms", "history", {later}, {}, "1");
  read.watermarks = {{7300, "read"}};
  CHECK(s.records().commit_conversations("sms", "webhooks", {read}, {}, "4").written == 1);  // c1-m3
  CHECK(status("t_1-m1").empty());
  read.watermarks = {{7999, "read"}};
  CHECK(s.records().commit_conversations("sms", "webhooks", {read}, {}, "5").written == 1);
  CHECK(status("t_1-m1") == "read");
  // A read of a customer of no conversation stored makes none.
  const auto conversations = s.count("conversations");
  read.id = "c9";
  read.customer.value = "+4915188888888";
  CHECK(s.records().commit_conversations("sms", "webhooks", {read}, {}, "6").received == 1);
  CHECK(s.count("conversations") == conversations);
}

TEST_CASE("a payload that knows no name keeps the stored one; a message stays in its first conversation") {
  StateStore s(":memory:");
  auto c = conversation("c1", 1);
  c.customer_name = "Sheena Nelson";
  s.records().commit_conversations("wa", "webhooks", {c}, {}, "1");
  const auto rev = s.revision();
  c.customer_name = "";  // a status webhook carries no contacts
  c.messages.clear();
  CHECK(s.records().commit_conversations("wa", "webhooks", {c}, {}, "2").written == 0);
  CHECK(s.revision() == rev);  // nothing changed: no reconcile, no push
  SQLite::Statement q(s.db(), "SELECT customer_name FROM conversations WHERE id = 'c1'");
  REQUIRE(q.executeStep());
  CHECK(q.getColumn(0).getString() == "Sheena Nelson");
  // The same message (one mid) from Messenger's history, filed there under another conversation id.
  auto history = conversation("t_1", 0);
  history.messages = conversation("c1", 1).messages;
  history.messages[0].conversation = "t_1";
  CHECK(s.records().commit_conversations("wa", "conversations", {history}, {}, "3").written == 0);
  CHECK(s.records().message("wa", "c1-m0")->conversation == "c1");
}

TEST_CASE("a conversation's customer links accumulate and join the linked handles into one person") {
  StateStore s(":memory:");
  auto c = conversation("c1", 1);
  const Handle bsuid{HandleKind::whatsapp_bsuid, "1029384756:US.13491208655302741918", true};
  c.customer_links = {bsuid};
  s.records().commit_conversations("wa", "webhooks", {c}, {}, "1");
  c.customer_links.clear();  // a later payload that names only the number takes the link away from no one
  s.records().commit_conversations("wa", "webhooks", {c}, {}, "2");
  // A BSUID-only thread: the customer hid the number.
  Conversation hidden{"wa", "c2", "whatsapp", bsuid, "+4930123456", {}};
  hidden.messages.push_back(
      {"wa", "m-hidden", "c2", "whatsapp", Direction::inbound, AuthorKind::customer, bsuid.value, 5000, "still me"});
  s.records().commit_conversations("wa", "webhooks", {hidden}, {}, "3");
  const auto in = s.identity().input({});
  REQUIRE(in.links.size() == 1);
  CHECK(in.links[0].second == bsuid);
  int n = 0;
  s.identity().save(reconcile(in, [&] { return "p_" + std::string(15, '0') + std::to_string(++n); }));
  std::vector<PersonRecord> all;
  s.identity().for_each_person([&](PersonRecord&& p) { all.push_back(std::move(p)); });
  REQUIRE(all.size() == 1);
  CHECK(all[0].messages.size() == 2);
  CHECK(std::count(all[0].handles.begin(), all[0].handles.end(), bsuid) == 1);
}

TEST_CASE("a stream keeps the last notice the vendor reported") {
  StateStore s(":memory:");
  s.records().record_pull("wa", "webhooks", {1, 0, 1, 1, 0, "", "", "131047: Re-engagement message"});
  s.records().record_pull("wa", "webhooks", {1, 0, 1, 1, 0, "", "", ""});  // a quiet pull keeps it
  const auto rows = s.records().streams();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].last_pull.notice == "131047: Re-engagement message");
}

TEST_CASE("state reset forgets one stream's cursor or every stream's of a connector") {
  StateStore s(":memory:");
  s.records().commit_conversations("mail", "INBOX", {}, {}, "i-1");
  s.records().commit_conversations("mail", "Sent", {}, {}, "s-1");
  s.records().commit_conversations("sms", "conversations", {}, {}, "x");
  CHECK(s.records().reset("mail", "INBOX") == 1);
  CHECK(s.records().cursor("mail", "INBOX").empty());
  CHECK(s.records().cursor("mail", "Sent") == "s-1");
  CHECK(s.records().reset("mail", "INBOX") == 0);  // already reset
  CHECK(s.records().reset("mail") == 1);
  CHECK(s.records().cursor("mail", "Sent").empty());
  CHECK(s.records().cursor("sms", "conversations") == "x");
}

TEST_CASE("a stream's last pull is recorded with its figures and error") {
  StateStore s(":memory:");
  s.records().record_pull("crm", "contacts", {2, 3, 150, 20, 1, ""});
  s.records().record_pull("sms", "conversations", {0, 5, 0, 0, 0, "HTTP 500 after retries", "unavailable"});
  const auto rows = s.records().streams();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].connector == "crm");
  CHECK(rows[0].last_pull.received == 150);
  CHECK(rows[0].last_pull.requests == 3);
  CHECK(rows[0].last_pull_at > 0);
  CHECK(rows[1].last_pull.error == "HTTP 500 after retries");
  CHECK(rows[1].last_pull.error_code == "unavailable");
  CHECK(rows[1].cursor.empty());
}

TEST_CASE("the records of a stream's last 64 completed pulls are kept, newest first") {
  StateStore s(":memory:");
  for (std::size_t i = 0; i < 70; ++i) s.records().record_pull("sms", "conversations", {1, 1, i, i, 0, ""});
  s.records().record_pull("sms", "conversations", {0, 5, 0, 0, 0, "HTTP 500 after retries", "unavailable"});
  s.records().record_pull("crm", "contacts", {1, 1, 7, 7, 0, ""});
  const auto sms = s.records().pull_history("sms", "conversations");
  REQUIRE(sms.size() == 64);  // within one millisecond too: each pull is a row; the failed one is none
  CHECK(sms.front().received == 69);
  CHECK(sms.back().received == 6);
  CHECK(sms.front().ended_at > sms.back().ended_at);
  const auto crm = s.records().pull_history("crm", "contacts");
  REQUIRE(crm.size() == 1);
  CHECK(crm[0].received == 7);
  CHECK(crm[0].ended_at > 0);
  CHECK(s.records().pull_history("crm", "other").empty());
}

TEST_CASE("a failing page commit leaves neither records nor cursor behind") {
  StateStore s(":memory:");
  s.records().commit_conversations("sms", "conversations", {conversation("c1", 1)}, {}, "before");
  s.db().exec(
      "CREATE TRIGGER boom BEFORE INSERT ON messages WHEN NEW.id = 'c2-m1' BEGIN SELECT RAISE(ABORT, 'disk full'); "
      "END");
  CHECK_THROWS(s.records().commit_conversations("sms", "conversations", {conversation("c2", 2)}, {}, "after"));
  CHECK(s.records().cursor("sms", "conversations") == "before");
  CHECK(s.count("messages") == 1);
}

TEST_CASE("a store that cannot be written or whose disk is full says so, with the exit code's class") {
  StateStore s(":memory:");
  SECTION("read-only") {
    s.db().exec("PRAGMA query_only = 1");
    try {
      s.records().commit_conversations("sms", "conversations", {conversation("c1", 1)}, {}, "x");
      FAIL("no exception");
    } catch (const SQLite::Exception& e) {
      const Failure f = storage_failure(e, "/var/lib/x.db", "committing page 1 of sms/conversations");
      CHECK(f.error().code == Errc::cant_write);
      CHECK_THAT(f.error().message, Catch::Contains("/var/lib/x.db") && Catch::Contains("writable"));
    }
  }
  SECTION("full") {
    // max_page_count caps the database: the next page that needs space fails with SQLITE_FULL.
    const auto pages = s.db().execAndGet("PRAGMA page_count").getInt();
    s.db().exec("PRAGMA max_page_count = " + std::to_string(pages + 1));
    std::vector<Conversation> big;
    for (int i = 0; i < 50; ++i) big.push_back(conversation("c" + std::to_string(i), 20));
    try {
      s.records().commit_conversations("sms", "conversations", big, {}, "x");
      FAIL("no exception");
    } catch (const SQLite::Exception& e) {
      const Failure f = storage_failure(e, "/var/lib/x.db", "committing page 1 of sms/conversations");
      CHECK(f.error().code == Errc::io);
      CHECK_THAT(f.error().message, Catch::Contains("disk is full") && Catch::Contains("Free space"));
    }
    CHECK(s.records().cursor("sms", "conversations").empty());
  }
}

TEST_CASE("a state path whose directory cannot be created is a cant_write failure naming it") {
  TempDir dir;
  const auto file = dir.path / "file";
  std::ofstream(file) << "x";
  try {
    StateStore s((file / "sub" / "state.db").string());  // a directory under a regular file
    FAIL("no exception");
  } catch (const Failure& f) {
    CHECK(f.error().code == Errc::cant_write);
    CHECK_THAT(f.error().message, Catch::Contains(file.string()));
  }
}

TEST_CASE("a second lock on the same state fails with a message naming the holder") {
  const std::string path = "/tmp/chansync-lock-test-" + std::to_string(::getpid()) + ".db";
  // The lock file stays beside a state store by design; this test's goes with it.
  struct Remove {
    std::string file;
    ~Remove() {
      std::filesystem::remove(file + ".lock");
      std::filesystem::remove(file);
    }
  } remove{path};
  std::ofstream(path) << "";  // the store the symlink below points at
  auto first = StateLock::acquire(path, "sync");
  REQUIRE(first);
  auto second = StateLock::acquire(path, "pull");
  REQUIRE_FALSE(second);
  CHECK(second.error().code == Errc::locked);
  CHECK_THAT(second.error().message, Catch::Contains("pid " + std::to_string(::getpid())) && Catch::Contains("sync"));
  // The same store by another path (a symlink to it) is the same lock.
  const std::string link = path + "-link";
  std::filesystem::remove(link);
  std::filesystem::create_symlink(path, link);
  auto by_link = StateLock::acquire(link, "pull");
  std::filesystem::remove(link);
  REQUIRE_FALSE(by_link);
  CHECK(by_link.error().code == Errc::locked);
  // A symlink to a store not made yet (its first run): the lock is beside the target all the same.
  const std::string fresh = path + "-fresh";
  std::filesystem::create_symlink(fresh, link);
  {
    auto through_link = StateLock::acquire(link, "sync");
    REQUIRE(through_link);
    auto direct = StateLock::acquire(fresh, "pull");
    CHECK_FALSE(direct);
  }
  std::filesystem::remove(link);
  std::filesystem::remove(fresh + ".lock");
  CHECK_FALSE(std::filesystem::exists(link + ".lock"));
}

TEST_CASE("saving identities writes only the rows that changed and marks only the persons they touch") {
  StateStore s(":memory:");
  const Handle a{HandleKind::phone, "+4915112345601", true}, b{HandleKind::phone, "+4915112345602", true},
      c{HandleKind::phone, "+4915112345603", true}, d{HandleKind::phone, "+4915112345604", true};
  IdentityInput in;
  in.conversation_handles = {a, b, c, d};
  int n = 0;
  const auto mint = [&] { return "p" + std::to_string(++n); };
  const auto first = reconcile(in, mint);
  s.identity().save(first);
  const auto rev = s.revision();
  in.previous = first.assignment();
  for (std::size_t p = 0; p < first.person_count(); ++p)
    in.person_seq[std::string(first.person_ids[p])] = static_cast<std::int64_t>(p);
  const auto same = reconcile(in, mint);
  REQUIRE(same.assignment() == first.assignment());
  s.identity().save(same);
  CHECK(s.revision() == rev);  // nothing changed: nothing written

  // A record lists a and b (one person now); c's conversations are gone; d is as it was.
  Contact record;
  record.connector = "crm";
  record.id = "1";
  record.handles = {a, b};
  in.contacts = {record};
  in.conversation_handles = {a, b, d};
  const auto second = reconcile(in, mint);
  s.identity().save(second);
  CHECK(s.revision() == rev + 1);

  std::map<std::string, std::string> rows;
  SQLite::Statement q(s.db(), "SELECT node, person_id FROM person_handles");
  while (q.executeStep()) rows[q.getColumn(0).getString()] = q.getColumn(1).getString();
  CHECK(rows == second.assignment());
  std::set<std::string> marked;
  SQLite::Statement m(s.db(), "SELECT person_id FROM persons WHERE rev > ?");
  m.bind(1, rev);
  while (m.executeStep()) marked.insert(m.getColumn(0).getString());
  const std::string pa(first.person_of(a.key())), pb(first.person_of(b.key())), pc(first.person_of(c.key()));
  CHECK(marked == std::set<std::string>{pa, pb, pc});  // gained nodes, lost b, lost c; d's person untouched
}

TEST_CASE("a first save of thousands of identities builds the person index again and numbers persons in order") {
  StateStore s(":memory:");
  const auto index_sql = [&] {
    return s.db()
        .execAndGet("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'person_handles_by_person'")
        .getString();
  };
  const std::string made = index_sql();
  IdentityInput in;
  for (int i = 0; i < 3000; ++i) in.conversation_handles.push_back({HandleKind::phone, fmt::format("+49151{:08}", i)});
  int n = 0;
  // Ids that do not sort as they are minted, so the insert order (by id) differs from the numbering.
  const auto mint = [&] { return fmt::format("p_{:016x}", (++n * 2654435761u) % 1000003u); };
  const auto first = reconcile(in, mint);
  REQUIRE(first.new_persons.size() == 3000);
  s.identity().save(first);
  CHECK(index_sql() == made);  // dropped for the inserts and made again, the same
  std::map<std::string, std::string> rows;
  SQLite::Statement q(s.db(), "SELECT node, person_id FROM person_handles");
  while (q.executeStep()) rows[q.getColumn(0).getString()] = q.getColumn(1).getString();
  CHECK(rows == first.assignment());
  // seq follows the result's order of new persons, whatever order the rows were inserted in.
  SQLite::Statement seq(s.db(), "SELECT seq FROM persons WHERE person_id = ?");
  for (std::size_t k : {std::size_t{0}, std::size_t{1}, std::size_t{1500}, std::size_t{2999}}) {
    seq.bind(1, std::string(first.person_ids[first.new_persons[k]]));
    REQUIRE(seq.executeStep());
    CHECK(seq.getColumn(0).getInt64() == static_cast<std::int64_t>(k) + 1);
    seq.reset();
  }
  CHECK(s.db().execAndGet("PRAGMA integrity_check").getString() == "ok");

  // A few more (no rebuild): found by person through the index.
  in.previous = first.assignment();
  for (int i = 3000; i < 3010; ++i)
    in.conversation_handles.push_back({HandleKind::phone, fmt::format("+49151{:08}", i)});
  const auto second = reconcile(in, mint);
  s.identity().save(second);
  CHECK(s.db().execAndGet("SELECT count(*) FROM person_handles").getInt() == 3010);
  CHECK(s.db().execAndGet("SELECT max(seq) FROM persons").getInt() == 3010);
  const std::string last(second.person_of(fmt::format("phone:+49151{:08}", 3009)));
  CHECK(s.identity().nodes_of(last) == std::vector<std::string>{fmt::format("phone:+49151{:08}", 3009)});
  CHECK(s.db().execAndGet("PRAGMA integrity_check").getString() == "ok");
}
