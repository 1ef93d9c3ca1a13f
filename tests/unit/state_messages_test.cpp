// How the state store folds what a vendor sends again about a message: a re-pulled copy, the richer
// of two copies, receipts naming a message, and watermarks naming none. Status only moves forward.
#include <fmt/format.h>

#include <catch2/catch.hpp>

#include "sync/state_store.hpp"
#include "tests/unit/store_conversation.hpp"

using namespace chansync;
using test::conversation;

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
