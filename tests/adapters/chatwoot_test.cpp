// The chatwoot target against a fake Chatwoot: what a push creates and updates, reading back,
// verify, the probe and its token.
#include "tests/adapters/chatwoot_support.hpp"

using namespace chansync;
using namespace chansync::test::chatwoot;

TEST_CASE("chatwoot creates one contact per person, one conversation per channel, and each message with its time",
          "[chatwoot]") {
  Chatwoot cw;
  const auto p = anna();
  auto out = cw.adapter()->sink()->push(items({p}));
  REQUIRE(out);
  REQUIRE(out->size() == 1);
  CHECK((*out)[0].status == PushOutcome::Status::created);

  const auto contacts = cw.fake.contacts();
  REQUIRE(contacts.size() == 1);
  CHECK(contact_of((*out)[0].remote_id) == std::to_string(contacts[0].id));
  CHECK_THAT((*out)[0].remote_id, Catch::Contains(";sms=") && Catch::Contains(";whatsapp="));
  CHECK(contacts[0].identifier == "p_anna");
  CHECK(contacts[0].name == "Anna Müller");
  CHECK(contacts[0].email == "anna@example.com");
  CHECK(contacts[0].phone_number == "+4915112345670");
  const auto created = nlohmann::json::parse(cw.server.requests().at(0).body);  // no search first
  CHECK(cw.count("GET", "/contacts/search") == 0);
  CHECK(created["inbox_id"] == FakeChatwoot::k_inbox);

  CHECK(cw.fake.conversations().size() == 2);
  const auto* sms = cw.conversation("chansync:p_anna:sms");
  REQUIRE(sms);
  CHECK(sms->contact_id == contacts[0].id);
  CHECK(sms->inbox_id == FakeChatwoot::k_inbox);
  REQUIRE(sms->messages.size() == 3);  // two messages and the note
  CHECK(sms->messages[0].message_type == "incoming");
  CHECK(sms->messages[0].content == "Hallo, ist mein Paket unterwegs?");
  CHECK_FALSE(sms->messages[0].is_private);
  CHECK(sms->messages[0].content_attributes["chansync_id"] == "twilio/SM1");
  CHECK(sms->messages[0].content_attributes["external_created_at"] == k_t0 / 1000);
  CHECK(sms->messages[0].content_attributes["chansync_sent_at"] == "2023-11-14T22:13:20.000Z");
  CHECK(sms->messages[1].message_type == "outgoing");
  CHECK(sms->messages[1].content_attributes["chansync_author"] == "agent");
  CHECK(sms->messages[2].is_private);
  CHECK_THAT(sms->messages[2].content, Catch::Contains("whatsapp: +4915112345670") && Catch::Contains("crm 51"));
  const auto* whatsapp = cw.conversation("chansync:p_anna:whatsapp");
  REQUIRE(whatsapp);
  REQUIRE(whatsapp->messages.size() == 2);
  CHECK(whatsapp->messages[0].content == "Danke 👋");
  CHECK_THAT(whatsapp->messages[1].content, Catch::Contains("- sms"));
}

TEST_CASE("chatwoot posts attachments as links in the content, and an attachment-only message without a placeholder",
          "[chatwoot]") {
  Chatwoot cw;
  auto p = anna();
  p.messages[0].attachments = {{"image", "parcel.jpg", "https://cdn.example/parcel.jpg"}};
  p.messages[2].text.clear();
  p.messages[2].attachments = {{"audio", "", "https://cdn.example/voice.ogg"}};
  p.messages[2].status = "read";
  REQUIRE(cw.adapter()->sink()->push(items({p})));
  const auto* sms = cw.conversation("chansync:p_anna:sms");
  REQUIRE(sms);
  CHECK(sms->messages[0].content ==
        "Hallo, ist mein Paket unterwegs?\n[image: parcel.jpg] https://cdn.example/parcel.jpg");
  const auto* whatsapp = cw.conversation("chansync:p_anna:whatsapp");
  REQUIRE(whatsapp);
  CHECK(whatsapp->messages[0].content == "[audio] https://cdn.example/voice.ogg");
  CHECK(whatsapp->messages[0].content_attributes["chansync_status"] == "read");
}

TEST_CASE("chatwoot updates a changed person in place and posts only its new message", "[chatwoot]") {
  Chatwoot cw;
  const auto p = anna();
  auto first = cw.adapter()->sink()->push(items({p}));
  REQUIRE(first);
  const auto messages_before = cw.count("POST", "/messages");

  auto changed = p;
  changed.display_name = "Anna Schmidt";
  changed.messages.push_back(message("SM3", "sms", Direction::inbound, k_t0 + 600'000, "Noch da?", "+4915112345670"));
  const std::vector<PushItem> batch = {again(changed, (*first)[0])};
  auto second = cw.adapter()->sink()->push(batch);
  REQUIRE(second);
  CHECK((*second)[0].status == PushOutcome::Status::updated);
  CHECK(without_marks((*second)[0].remote_id) == without_marks((*first)[0].remote_id));
  CHECK(without_marks((*first)[0].remote_id).find(";sms=") != std::string::npos);
  CHECK(cw.count("POST", "/contacts") == 1);  // created once, then PUT
  CHECK(cw.count("PUT", "/contacts/" + contact_of((*first)[0].remote_id)) == 1);
  REQUIRE(cw.fake.contacts().size() == 1);
  CHECK(cw.fake.contacts()[0].name == "Anna Schmidt");
  CHECK(cw.fake.conversations().size() == 2);
  CHECK(cw.count("POST", "/messages") == messages_before + 1);  // the new message; the note did not change
  const auto ids = message_ids(cw.fake.conversations());
  CHECK(ids.size() == 4);
  for (const auto& [id, n] : ids) CHECK(n == 1);
}

TEST_CASE("chatwoot re-run without the ledger entry (a crash before it was recorded) posts nothing twice",
          "[chatwoot]") {
  Chatwoot cw;
  const auto p = anna();
  REQUIRE(cw.adapter()->sink()->push(items({p})));
  const auto conversations = cw.fake.conversations();
  const auto posts = cw.count("POST", "");

  auto rerun = cw.adapter()->sink()->push(items({p}));  // a new process, no remote id known
  REQUIRE(rerun);
  CHECK((*rerun)[0].status == PushOutcome::Status::updated);  // found by identifier
  // One contact create, refused for the taken identifier; no conversation or message posted.
  CHECK(cw.count("POST", "") == posts + 1);
  CHECK(cw.count("GET", "/contacts/search") == 1);
  CHECK(cw.fake.contacts().size() == 1);
  const auto now = cw.fake.conversations();
  REQUIRE(now.size() == conversations.size());
  for (std::size_t i = 0; i < now.size(); ++i) CHECK(now[i].messages.size() == conversations[i].messages.size());
}

TEST_CASE("chatwoot reads a long conversation back page by page and posts only what is missing", "[chatwoot]") {
  Chatwoot cw;
  auto p = sms_person(1, 45);
  auto first = cw.adapter()->sink()->push(items({p}));
  REQUIRE(first);
  CHECK(cw.count("POST", "/messages") == 45);

  p.messages.push_back(message("SM-late", "sms", Direction::outbound, k_t0 + 99'000, "late", "+4930123456"));
  const std::vector<PushItem> batch = {again(p, (*first)[0])};
  REQUIRE(cw.adapter()->sink()->push(batch));
  CHECK(cw.count("POST", "/messages") == 46);
  std::vector<std::string> pages;
  for (const auto& r : cw.server.requests())
    if (r.method == "GET" && r.path.ends_with("/messages")) pages.push_back(r.params.count("before") ? "before" : "");
  // The first push's mark says which 45 were there: the newest page alone is read (it was 20 + 20 + 5).
  CHECK(pages == std::vector<std::string>{""});
  const auto ids = message_ids(cw.fake.conversations());
  CHECK(ids.size() == 46);
  for (const auto& [id, n] : ids) CHECK(n == 1);

  // A ledger from before the marks ("contact;sms=conversation") reads the conversation whole, once.
  const auto unmarked = without_marks((*first)[0].remote_id);
  REQUIRE(unmarked.find(";sms=") != std::string::npos);
  p.messages.push_back(message("SM-later", "sms", Direction::inbound, k_t0 + 120'000, "later", "+4915112345601"));
  const std::vector<PushItem> old_ledger = {{&p, PushLedgerEntry{p.person_id, "h", unmarked}}};
  const auto reads = cw.count("GET", "/messages");
  auto third = cw.adapter()->sink()->push(old_ledger);
  REQUIRE(third);
  CHECK(cw.count("GET", "/messages") == reads + 3);  // 47 messages: 20 + 20 + 7
  CHECK(cw.count("POST", "/messages") == 47);
  CHECK((*third)[0].remote_id != unmarked);  // marked again
  CHECK(message_ids(cw.fake.conversations()).size() == 47);
}

TEST_CASE("a Chatwoot that ignores `before` fails the person instead of posting its older messages again",
          "[chatwoot]") {
  Chatwoot cw;
  const auto p = sms_person(1, 45);
  REQUIRE(cw.adapter()->sink()->push(items({p})));
  cw.fake.fail_before([&](const httplib::Request& req) -> std::optional<Scripted> {
    if (req.method != "GET" || !req.has_param("before")) return std::nullopt;
    httplib::Request newest = req;  // a proxy that drops the parameter
    newest.params.clear();
    return cw.fake.handle(newest);
  });
  const auto posts = cw.count("POST", "/messages");
  auto again_run = cw.adapter()->sink()->push(items({p}));  // no ledger: the conversation is read whole
  REQUIRE(again_run);
  CHECK((*again_run)[0].status == PushOutcome::Status::failed);
  REQUIRE((*again_run)[0].error);
  CHECK_THAT((*again_run)[0].error->message, Catch::Contains("`before` parameter"));
  CHECK(cw.count("POST", "/messages") == posts);
}

TEST_CASE("chatwoot reads a conversation whole when the person's messages are not those its mark confirmed",
          "[chatwoot]") {
  Chatwoot cw;
  auto p = sms_person(1, 30);
  auto first = cw.adapter()->sink()->push(items({p}));
  REQUIRE(first);

  // An agent answered 25 times since: the pages newer than the mark are read, and no more.
  const auto conversation = cw.conversation("chansync:" + p.person_id + ":sms");
  REQUIRE(conversation);
  const std::int64_t conversation_id = conversation->id;
  for (int i = 0; i < 25; ++i) cw.agent_reply(conversation_id);
  p.messages.push_back(message("SM-new", "sms", Direction::inbound, k_t0 + 99'000, "new", "+4915112345601"));
  auto reads = cw.count("GET", "/messages");
  auto second = cw.adapter()->sink()->push(std::vector<PushItem>{again(p, (*first)[0])});
  REQUIRE(second);
  CHECK(cw.count("GET", "/messages") == reads + 2);  // 26 newer than the mark: two pages
  CHECK(cw.count("POST", "/messages") == 25 + 31);

  // A backfill brought an older message: the record no longer begins with the confirmed ones.
  p.messages.insert(p.messages.begin(),
                    message("SM-old", "sms", Direction::inbound, k_t0 - 99'000, "old", "+4915112345601"));
  reads = cw.count("GET", "/messages");
  auto third = cw.adapter()->sink()->push(std::vector<PushItem>{again(p, (*second)[0])});
  REQUIRE(third);
  CHECK(cw.count("GET", "/messages") == reads + 4);  // the newest page, then all 56 messages
  const auto ids = message_ids(cw.fake.conversations());
  CHECK(ids.size() == 32);
  for (const auto& [id, n] : ids) CHECK(n == 1);

  // And the mark it left holds: nothing new, one page.
  reads = cw.count("GET", "/messages");
  const auto posts = cw.count("POST", "/messages");
  REQUIRE(cw.adapter()->sink()->push(std::vector<PushItem>{again(p, (*third)[0])}));
  CHECK(cw.count("GET", "/messages") == reads + 1);
  CHECK(cw.count("POST", "/messages") == posts);
}

TEST_CASE("chatwoot deletes chansync's messages a person no longer has (split off, erased); agents' stay",
          "[chatwoot]") {
  Chatwoot cw;
  auto p = sms_person(1, 5);
  auto first = cw.adapter()->sink()->push(items({p}));
  REQUIRE(first);
  const auto conversation = cw.conversation("chansync:" + p.person_id + ":sms");
  REQUIRE(conversation);
  cw.agent_reply(conversation->id);

  // A split took two of the messages to another person.
  auto kept = p;
  kept.messages.erase(kept.messages.begin() + 1, kept.messages.begin() + 3);
  auto second = cw.adapter()->sink()->push(std::vector<PushItem>{again(kept, (*first)[0])});
  REQUIRE(second);
  CHECK(cw.count("DELETE", "/messages/") == 2);
  const auto after = cw.conversation("chansync:" + p.person_id + ":sms");
  REQUIRE(after);
  std::vector<std::string> contents;
  for (const auto& m : after->messages) contents.push_back(m.content);
  CHECK(contents == std::vector<std::string>{"message 0", "This message was deleted", "This message was deleted",
                                             "message 3", "message 4", "agent reply"});
  const auto ids = message_ids(cw.fake.conversations());
  CHECK(ids == std::map<std::string, int>{{"twilio/SM1-0", 1}, {"twilio/SM1-3", 1}, {"twilio/SM1-4", 1}});

  // Nothing is deleted twice: the next push reads the newest page alone.
  const auto deletes = cw.count("DELETE", "");
  REQUIRE(cw.adapter()->sink()->push(std::vector<PushItem>{again(kept, (*second)[0])}));
  CHECK(cw.count("DELETE", "") == deletes);
}

TEST_CASE("a Chatwoot that drops content_attributes is caught at the first message and gets no more", "[chatwoot]") {
  Chatwoot cw;
  cw.fake.drop_content_attributes();
  const std::vector<PersonRecord> persons = {sms_person(1, 3), sms_person(2, 3)};
  auto out = cw.adapter()->sink()->push(items(persons));
  REQUIRE(out);
  REQUIRE(out->size() == 2);
  for (const auto& o : *out) {
    CHECK(o.status == PushOutcome::Status::failed);
    REQUIRE(o.error);
    CHECK_THAT(o.error->message, Catch::Contains("content_attributes") && Catch::Contains("Upgrade Chatwoot"));
  }
  CHECK(cw.count("POST", "/messages") == 1);  // the second message would already be unrecognisable later
  CHECK(cw.count("POST", "/contacts") == 1);  // the second person was not even created
}

TEST_CASE("chatwoot verify reads contacts back: same, missing when deleted, edited naming the field", "[chatwoot]") {
  Chatwoot cw;
  const std::vector<PersonRecord> persons = {anna(), sms_person(2), sms_person(3)};
  auto adapter = cw.adapter();
  CHECK(adapter->sink()->readable());
  auto out = adapter->sink()->push(items(persons));
  REQUIRE(out);
  cw.fake.edit_contact(std::stoll((*out)[1].remote_id), [](auto& c) { c.name = "Renamed by an agent"; });
  cw.fake.delete_contact(std::stoll((*out)[2].remote_id));

  std::vector<PushItem> confirmed;
  for (std::size_t i = 0; i < persons.size(); ++i) confirmed.push_back(again(persons[i], (*out)[i]));
  auto v = adapter->sink()->verify(confirmed);
  REQUIRE(v);
  REQUIRE(v->size() == 3);
  CHECK((*v)[0].state == VerifyOutcome::State::same);
  CHECK((*v)[1].state == VerifyOutcome::State::edited);
  CHECK_THAT((*v)[1].detail, Catch::StartsWith("name"));
  CHECK((*v)[2].state == VerifyOutcome::State::missing);
  CHECK_THAT((*v)[2].detail, Catch::Contains("deleted"));

  const std::vector<PushItem> unknown = {{&persons[2], std::nullopt}};
  auto by_identifier = adapter->sink()->verify(unknown);
  REQUIRE(by_identifier);
  CHECK((*by_identifier)[0].state == VerifyOutcome::State::missing);
}

TEST_CASE("chatwoot never logs its token, nor puts it in an error or a health summary", "[chatwoot]") {
  LogCapture capture;
  Chatwoot cw;
  bool failed_once = false;
  cw.fake.fail_before([&](const httplib::Request& req) -> std::optional<Scripted> {
    if (!failed_once && req.method == "GET") {
      failed_once = true;
      return Scripted{503, R"({"error":"maintenance"})"};
    }
    if (req.method == "POST" && req.path.ends_with("/contacts") && req.body.find("p_1002") != std::string::npos)
      return Scripted{422, R"({"message":"Name is too long","attributes":["name"]})"};
    return std::nullopt;
  });
  const std::vector<PersonRecord> persons = {sms_person(1), sms_person(2)};
  auto out = cw.adapter()->sink()->push(items(persons));
  REQUIRE(out);
  REQUIRE((*out)[1].error);
  CHECK(cw.adapter()->probe().cls == HealthClass::ok);
  Chatwoot wrong("another-token");
  const auto refused = wrong.adapter()->probe();
  CHECK(refused.cls == HealthClass::auth_failed);
  auto auth = wrong.adapter()->sink()->push(items(persons));
  REQUIRE_FALSE(auth);

  std::string all;
  for (const auto& l : capture.ring->last_formatted()) all += l;
  CHECK_THAT(all, Catch::Contains("retry") && Catch::Contains("messages posted"));  // warn and debug were captured
  CHECK_THAT(all, !Catch::Contains(FakeChatwoot::k_token));
  CHECK_THAT((*out)[1].error->message, !Catch::Contains(FakeChatwoot::k_token));
  CHECK_THAT(refused.summary, !Catch::Contains(FakeChatwoot::k_token));
  CHECK_THAT(auth.error().message, !Catch::Contains(FakeChatwoot::k_token));
}

TEST_CASE("chatwoot probe reads the inbox: ok for an API inbox, and says what to fix otherwise", "[chatwoot]") {
  Chatwoot cw;
  const auto ok = cw.adapter()->probe();
  CHECK(ok.cls == HealthClass::ok);
  CHECK(cw.count("GET", "/inboxes/3/") == 1);

  Chatwoot wrong_token("another-token");
  const auto refused = wrong_token.adapter()->probe();
  CHECK(refused.cls == HealthClass::auth_failed);
  CHECK_THAT(refused.summary, Catch::Contains("Invalid Access Token") && Catch::Contains("token_env"));

  const auto missing = cw.adapter(99)->probe();
  CHECK(missing.cls != HealthClass::ok);
  CHECK_THAT(missing.summary, Catch::Contains("no inbox 99") && Catch::Contains("inbox_id"));

  Chatwoot widget(FakeChatwoot::k_token, "Channel::WebWidget");
  const auto not_api = widget.adapter()->probe();
  CHECK(not_api.cls != HealthClass::ok);
  CHECK_THAT(not_api.summary, Catch::Contains("Channel::WebWidget") && Catch::Contains("API channel inbox"));
}

// Its base_url is checked as every URL option is (conformance_test.cpp).
TEST_CASE("chatwoot refuses ids that are not positive", "[chatwoot]") {
  auto refused = [](EndpointConfig cfg) {
    try {
      adapters::create_adapter(cfg, "DE");
    } catch (const Failure& f) {
      CHECK(f.error().code == Errc::config);
      return std::string(f.what());
    }
    return std::string();
  };
  CHECK(refused(Chatwoot::config("https://chat.example.com/")).empty());
  auto zero = Chatwoot::config("https://chat.example.com");
  zero.options["account_id"] = 0;
  CHECK_THAT(refused(zero), Catch::Contains("targets.inbox.account_id"));
  CHECK_THAT(refused(Chatwoot::config("https://chat.example.com", -3)), Catch::Contains("targets.inbox.inbox_id"));
}
