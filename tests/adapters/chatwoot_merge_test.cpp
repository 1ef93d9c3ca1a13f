// The chatwoot target when persons merge, split or lose messages: contact merges (chansync's and an
// agent's), the survivor's timeline after them, and what is deleted (only within a mark's cover).
#include "tests/adapters/chatwoot_support.hpp"
#include "tests/support/fake_chatwoot.hpp"

using namespace chansync;
using namespace chansync::test::chatwoot;

TEST_CASE("a person merged away has its contact merged into the survivor's, conversations and all; one gone is deleted",
          "[chatwoot]") {
  Chatwoot cw;
  const auto kept = sms_person(1), gone = sms_person(2);
  auto first = cw.adapter()->sink()->push(items({kept, gone}));
  REQUIRE(first);
  REQUIRE(cw.fake.contacts().size() == 2);
  const auto kept_contact = std::stoll(contact_of((*first)[0].remote_id));
  // A conversation Chatwoot itself opened for the merged-away customer (an email inbox), where
  // agents wrote: a merge must not take it away.
  const auto own = cw.fake.add_conversation(std::stoll(contact_of((*first)[1].remote_id)), 99);

  const PersonRecord removed{gone.person_id};
  const std::vector<PushItem> batch = {
      {&removed, PushLedgerEntry{gone.person_id, "h", (*first)[1].remote_id}, true, kept.person_id}};
  auto out = cw.adapter()->sink()->push(batch);
  REQUIRE(out);
  CHECK((*out)[0].status == PushOutcome::Status::deleted);
  CHECK(cw.count("POST", "/actions/contact_merge") == 1);
  CHECK(cw.count("DELETE", "/contacts/") == 0);
  REQUIRE(cw.fake.contacts().size() == 1);
  CHECK(cw.fake.contacts()[0].identifier == kept.person_id);
  const auto conversations = cw.fake.conversations();
  CHECK(conversations.size() == 3);  // both persons' sms conversations and Chatwoot's own, all kept
  for (const auto& c : conversations) CHECK(c.contact_id == kept_contact);
  CHECK(std::any_of(conversations.begin(), conversations.end(), [&](const auto& c) { return c.id == own; }));

  // A 404 while the contact is still there (a Chatwoot or proxy without the route) is no merge.
  const auto spare = sms_person(4);
  auto spare_pushed = cw.adapter()->sink()->push(items({spare}));
  REQUIRE(spare_pushed);
  cw.fake.fail_before([](const httplib::Request& req) -> std::optional<Scripted> {
    if (req.path.ends_with("/actions/contact_merge"))
      return Scripted{404, R"({"error":"Resource could not be found"})"};
    return std::nullopt;
  });
  const PersonRecord spare_gone{spare.person_id};
  auto refused = cw.adapter()->sink()->push(std::vector<PushItem>{
      {&spare_gone, PushLedgerEntry{spare.person_id, "h", (*spare_pushed)[0].remote_id}, true, kept.person_id}});
  REQUIRE(refused);
  CHECK((*refused)[0].status == PushOutcome::Status::failed);
  cw.fake.fail_before([](const httplib::Request&) -> std::optional<Scripted> { return std::nullopt; });
  REQUIRE(cw.fake.contacts().size() == 2);
  CHECK(cw.adapter()->sink()->push(std::vector<PushItem>{
      {&spare_gone, PushLedgerEntry{spare.person_id, "h", (*spare_pushed)[0].remote_id}, true, kept.person_id}}));
  REQUIRE(cw.fake.contacts().size() == 1);

  auto twice = cw.adapter()->sink()->push(batch);  // the mergee is gone now (404): done all the same
  REQUIRE(twice);
  CHECK((*twice)[0].status == PushOutcome::Status::deleted);
  CHECK(cw.fake.contacts().size() == 1);

  // Merged into a person with no contact yet: the contact becomes that person's (its identifier).
  const auto third = sms_person(3);
  auto pushed = cw.adapter()->sink()->push(items({third}));
  REQUIRE(pushed);
  const PersonRecord third_gone{third.person_id};
  auto renamed = cw.adapter()->sink()->push(std::vector<PushItem>{
      {&third_gone, PushLedgerEntry{third.person_id, "h", (*pushed)[0].remote_id}, true, "p_survivor00000001"}});
  REQUIRE(renamed);
  CHECK((*renamed)[0].status == PushOutcome::Status::deleted);
  const auto contacts = cw.fake.contacts();
  CHECK(std::any_of(contacts.begin(), contacts.end(),
                    [](const auto& c) { return c.identifier == "p_survivor00000001"; }));
  CHECK(contacts.size() == 2);

  // Gone without a survivor (erased, or no record left): deleted, with its conversations.
  const PersonRecord erased{kept.person_id};
  auto deleted = cw.adapter()->sink()->push(
      std::vector<PushItem>{{&erased, PushLedgerEntry{kept.person_id, "h", (*first)[0].remote_id}, true, ""}});
  REQUIRE(deleted);
  CHECK((*deleted)[0].status == PushOutcome::Status::deleted);
  CHECK(cw.count("DELETE", "/contacts/" + std::to_string(kept_contact)) == 1);
  CHECK(cw.fake.contacts().size() == 1);
  const std::vector<PushItem> unknown = {{&removed, PushLedgerEntry{gone.person_id, "h", ""}, true, ""}};
  auto without_id = cw.adapter()->sink()->push(unknown);  // looked up by identifier: none
  REQUIRE(without_id);
  CHECK((*without_id)[0].status == PushOutcome::Status::deleted);
}

TEST_CASE("a merge goes to the survivor's contact the ledger knows, without a search", "[chatwoot]") {
  Chatwoot cw;
  const auto kept = sms_person(1), gone = sms_person(2);
  auto first = cw.adapter()->sink()->push(items({kept, gone}));
  REQUIRE(first);
  const PersonRecord removed{gone.person_id};
  PushItem item{&removed, PushLedgerEntry{gone.person_id, "h", (*first)[1].remote_id}, true, kept.person_id};
  item.survivor_remote_id = (*first)[0].remote_id;
  const auto searches = cw.count("GET", "/contacts/search");
  auto out = cw.adapter()->sink()->push(std::vector<PushItem>{item});
  REQUIRE(out);
  CHECK((*out)[0].status == PushOutcome::Status::deleted);
  CHECK(cw.count("GET", "/contacts/search") == searches);
  REQUIRE(cw.fake.contacts().size() == 1);
  CHECK(cw.fake.contacts()[0].identifier == kept.person_id);

  // A survivor's contact deleted in Chatwoot meanwhile: found by its identifier instead (none: the
  // merged-away contact becomes the survivor's).
  const auto third = sms_person(3);
  auto pushed = cw.adapter()->sink()->push(items({third}));
  REQUIRE(pushed);
  cw.fake.delete_contact(std::stoll(contact_of((*first)[0].remote_id)));
  const PersonRecord third_gone{third.person_id};
  PushItem stale{&third_gone, PushLedgerEntry{third.person_id, "h", (*pushed)[0].remote_id}, true, kept.person_id};
  stale.survivor_remote_id = (*first)[0].remote_id;
  auto renamed = cw.adapter()->sink()->push(std::vector<PushItem>{stale});
  REQUIRE(renamed);
  CHECK((*renamed)[0].status == PushOutcome::Status::deleted);
  REQUIRE(cw.fake.contacts().size() == 1);
  CHECK(cw.fake.contacts()[0].identifier == kept.person_id);
}

TEST_CASE("after a contact merge the survivor's push finds the merged messages where the merge moved them",
          "[chatwoot]") {
  Chatwoot cw;
  const auto kept = sms_person(1, 3), gone = sms_person(2, 4);
  auto first = cw.adapter()->sink()->push(items({kept, gone}));
  REQUIRE(first);
  const PersonRecord removed{gone.person_id};
  REQUIRE(cw.adapter()->sink()->push(std::vector<PushItem>{
      {&removed, PushLedgerEntry{gone.person_id, "h", (*first)[1].remote_id}, true, kept.person_id}}));

  // The survivor now has both persons' messages, in time order.
  auto merged = kept;
  merged.messages.insert(merged.messages.end(), gone.messages.begin(), gone.messages.end());
  std::stable_sort(merged.messages.begin(), merged.messages.end(),
                   [](const Message& a, const Message& b) { return a.sent_at < b.sent_at; });
  const auto posts = cw.count("POST", "/messages");
  auto second = cw.adapter()->sink()->push(std::vector<PushItem>{again(merged, (*first)[0])});
  REQUIRE(second);
  CHECK(cw.count("POST", "/messages") == posts);  // one channel: no note either
  const auto ids = message_ids(cw.fake.conversations());
  CHECK(ids.size() == 7);
  for (const auto& [id, n] : ids) CHECK(n == 1);

  // Undone: the survivor's own conversation is its record's already. The moved one is left as it is: a
  // person's push deletes only in its own conversations (an agent's merge in Chatwoot moves another
  // person's there too).
  auto undone = cw.adapter()->sink()->push(std::vector<PushItem>{again(kept, (*second)[0])});
  REQUIRE(undone);
  CHECK(cw.count("DELETE", "/messages/") == 0);
  CHECK(message_ids(cw.fake.conversations()).size() == 7);
}

TEST_CASE(
    "after a contact merge the survivor posts none of the moved messages, newer than its own or on a new "
    "channel",
    "[chatwoot]") {
  Chatwoot cw;
  // The usual manual merge: a known customer writes from a new number, later than all it wrote before.
  auto kept = sms_person(1, 3);
  auto later = sms_person(2, 2);
  for (auto& m : later.messages) m.sent_at += 3'600'000;
  // And a customer only on WhatsApp, merged into one only on SMS.
  auto wa = sms_person(3, 2);
  for (auto& m : wa.messages) m.channel = "whatsapp";
  auto first = cw.adapter()->sink()->push(items({kept, later, wa}));
  REQUIRE(first);
  const PersonRecord gone_later{later.person_id}, gone_wa{wa.person_id};
  REQUIRE(cw.adapter()->sink()->push(std::vector<PushItem>{
      {&gone_later, PushLedgerEntry{later.person_id, "h", (*first)[1].remote_id}, true, kept.person_id},
      {&gone_wa, PushLedgerEntry{wa.person_id, "h", (*first)[2].remote_id}, true, kept.person_id}}));

  auto merged = kept;
  for (const auto* other : {&later, &wa})
    merged.messages.insert(merged.messages.end(), other->messages.begin(), other->messages.end());
  const auto posts = cw.count("POST", "/messages");
  const auto conversations = cw.fake.conversations().size();
  auto second = cw.adapter()->sink()->push(std::vector<PushItem>{again(merged, (*first)[0])});
  REQUIRE(second);
  CHECK((*second)[0].status == PushOutcome::Status::updated);
  // Only the private notes naming the other channel: no message again, no conversation opened.
  CHECK(cw.count("POST", "/messages") == posts + 2);
  CHECK(cw.fake.conversations().size() == conversations);
  const auto ids = message_ids(cw.fake.conversations());
  CHECK(ids.size() == 7);
  for (const auto& [id, n] : ids) CHECK(n == 1);
  // The WhatsApp conversation the merge moved is the survivor's on that channel now.
  CHECK(without_marks((*second)[0].remote_id).find(";whatsapp=") != std::string::npos);

  // And the next push has nothing to do.
  const auto posted = cw.count("POST", "");
  REQUIRE(cw.adapter()->sink()->push(std::vector<PushItem>{again(merged, (*second)[0])}));
  CHECK(cw.count("POST", "") == posted);
}

TEST_CASE("an agent's contact merge in Chatwoot: the conversation taken over keeps the other person's messages",
          "[chatwoot]") {
  Chatwoot cw;
  const auto a = sms_person(1, 1);
  auto b = sms_person(2, 3);
  for (auto& m : b.messages) m.channel = "whatsapp";
  auto first = cw.adapter()->sink()->push(items({a, b}));
  REQUIRE(first);
  // An agent merges B's contact into A's (Chatwoot's own merge, not chansync's).
  httplib::Client client(cw.server.base_url());
  REQUIRE(client.Post(fmt::format("/api/v1/accounts/{}/actions/contact_merge", FakeChatwoot::k_account),
                      httplib::Headers{{"api_access_token", FakeChatwoot::k_token}},
                      fmt::format(R"({{"base_contact_id":{},"mergee_contact_id":{}}})",
                                  contact_of((*first)[0].remote_id), contact_of((*first)[1].remote_id)),
                      "application/json"));
  // A writes on WhatsApp: A takes over B's conversation, the one WhatsApp conversation on its contact.
  auto a2 = a;
  a2.messages.push_back(message("WA-a1", "whatsapp", Direction::inbound, k_t0 + 50'000, "hi", "+4915112345601"));
  auto second = cw.adapter()->sink()->push(std::vector<PushItem>{again(a2, (*first)[0])});
  REQUIRE(second);
  // An older WhatsApp message of A's comes later: the conversation is read whole, and B's stay.
  auto a3 = a2;
  a3.messages.insert(a3.messages.begin() + 1,
                     message("WA-a0", "whatsapp", Direction::inbound, k_t0 + 10, "earlier", "+4915112345601"));
  REQUIRE(cw.adapter()->sink()->push(std::vector<PushItem>{again(a3, (*second)[0])}));
  CHECK(cw.count("DELETE", "/messages/") == 0);
  const auto ids = message_ids(cw.fake.conversations());
  for (const auto* key : {"twilio/SM2-0", "twilio/SM2-1", "twilio/SM2-2", "twilio/WA-a0", "twilio/WA-a1"})
    CHECK(ids.count(key) == 1);
}

TEST_CASE("chatwoot deletes only what its mark covers: a channel split off whole, not a message it never confirmed",
          "[chatwoot]") {
  Chatwoot cw;
  auto p = anna();  // SMS and WhatsApp
  auto first = cw.adapter()->sink()->push(items({p}));
  REQUIRE(first);

  // The whole WhatsApp handle split off: its conversation loses chansync's message, the SMS one its note.
  auto sms_only = p;
  std::erase_if(sms_only.messages, [](const Message& m) { return m.channel == "whatsapp"; });
  auto second = cw.adapter()->sink()->push(std::vector<PushItem>{again(sms_only, (*first)[0])});
  REQUIRE(second);
  CHECK(cw.count("DELETE", "/messages/") == 3);  // the WhatsApp message and both notes
  CHECK(message_ids(cw.fake.conversations()) == std::map<std::string, int>{{"twilio/SM1", 1}, {"twilio/SM2", 1}});
  CHECK(without_marks((*second)[0].remote_id).find("whatsapp") == std::string::npos);

  // A store restored from a backup: its ledger's mark is older than what chansync posted since, and
  // its record lacks those messages. They are Chatwoot's only copy now: not deleted.
  auto newer = sms_only;
  newer.messages.push_back(message("SM3", "sms", Direction::inbound, k_t0 + 600'000, "später", "+4915112345670"));
  REQUIRE(cw.adapter()->sink()->push(std::vector<PushItem>{again(newer, (*second)[0])}));
  auto restored = sms_only;
  restored.display_name = "Anna M.";  // something to push
  REQUIRE(cw.adapter()->sink()->push(std::vector<PushItem>{again(restored, (*second)[0])}));
  CHECK(cw.count("DELETE", "/messages/") == 3);
  CHECK(message_ids(cw.fake.conversations()).count("twilio/SM3") == 1);
  // Nor without a mark (a ledger from before them).
  REQUIRE(cw.adapter()->sink()->push(
      std::vector<PushItem>{{&restored, PushLedgerEntry{p.person_id, "h", without_marks((*second)[0].remote_id)}}}));
  CHECK(cw.count("DELETE", "/messages/") == 3);
}
