// The chatwoot target when Chatwoot refuses or limits it: 5xx and 422 answers, taken phone numbers
// and emails, 401s, deleted contacts and conversations, an agent's token, stop signals, the
// per-conversation flood limit, the content limit and Liquid rendering.
#include <unistd.h>

#include "adapters/stop_waits.hpp"
#include "tests/adapters/chatwoot_support.hpp"
#include "tests/support/fake_chatwoot.hpp"

using namespace chansync;
using namespace chansync::test::chatwoot;

TEST_CASE("a 5xx after Chatwoot stored a message stops the push; the next push posts only what is missing",
          "[chatwoot]") {
  Chatwoot cw;
  std::atomic<int> posts{0};
  cw.fake.fail_after([&](const httplib::Request& req) -> std::optional<Scripted> {
    if (req.method == "POST" && req.path.ends_with("/messages") && ++posts == 5)
      return Scripted{500, R"({"error":"Internal Server Error"})"};
    return std::nullopt;
  });
  StateStore store(":memory:");
  seed(store, 3, 3);
  auto adapter = cw.adapter();

  const auto first = push_target("inbox", *adapter->sink(), store, {});
  REQUIRE(first.error);
  CHECK(first.error->code == Errc::unavailable);
  CHECK_THAT(first.error->message, Catch::Contains("HTTP 500") && Catch::Contains("not retried"));
  CHECK(first.created == 1);
  CHECK(first.failed == 2);
  CHECK(store.ledger().entries("inbox").size() == 1);
  CHECK(cw.count("POST", "/messages") == 5);  // the failed POST was not repeated: Chatwoot may have stored it
  CHECK(message_ids(cw.fake.conversations()).size() == 5);

  const auto second = push_target("inbox", *adapter->sink(), store, {});
  INFO((second.error ? second.error->message : "no error"));
  CHECK_FALSE(second.error);
  CHECK(second.updated == 1);  // the person cut off mid-way, found by identifier
  CHECK(second.created == 1);
  CHECK(cw.count("POST", "/messages") == 5 + 1 + 3);
  CHECK(cw.fake.contacts().size() == 3);
  CHECK(cw.fake.conversations().size() == 3);
  const auto ids = message_ids(cw.fake.conversations());
  CHECK(ids.size() == 9);
  for (const auto& [id, n] : ids) CHECK(n == 1);
  CHECK(store.ledger().mark("inbox"));
}

TEST_CASE("a 422 fails only that person, with Chatwoot's own words; the others are delivered", "[chatwoot]") {
  Chatwoot cw;
  const std::vector<PersonRecord> persons = {sms_person(1), sms_person(2), sms_person(3)};
  const std::string refused_id = persons[1].person_id;
  cw.fake.fail_before([&](const httplib::Request& req) -> std::optional<Scripted> {
    if (req.method == "POST" && req.path.ends_with("/contacts") && req.body.find(refused_id) != std::string::npos)
      return Scripted{422, R"({"message":"Name is too long","attributes":["name"]})"};
    return std::nullopt;
  });

  auto out = cw.adapter()->sink()->push(items(persons));
  REQUIRE(out);
  REQUIRE(out->size() == 3);
  CHECK((*out)[0].status == PushOutcome::Status::created);
  CHECK((*out)[2].status == PushOutcome::Status::created);
  const auto& refused = (*out)[1];
  CHECK(refused.status == PushOutcome::Status::failed);
  REQUIRE(refused.error);
  CHECK(refused.error->code == Errc::remote);
  CHECK(refused.error->http_status == 422);
  CHECK_THAT(refused.error->message, Catch::Contains("Name is too long") && Catch::Contains("HTTP 422"));
  CHECK(cw.fake.contacts().size() == 2);
  CHECK_FALSE(cw.conversation("chansync:" + refused_id + ":sms"));
}

TEST_CASE("a phone or email another Chatwoot contact holds is left off; the person and its timeline arrive",
          "[chatwoot]") {
  // A landline several customers share, an address an agent gave a contact by hand: Chatwoot keeps
  // both unique per account, and used to refuse the whole person (parked after three pushes).
  Chatwoot cw;
  test::LogCapture logs;
  auto shared = sms_person(2);
  shared.handles.push_back({HandleKind::email, "shared@example.com"});
  const std::string phone = shared.handles[0].value;
  cw.fake.add_contact({0, "crm-import-9", "Someone else", "shared@example.com", ""});
  cw.fake.add_contact({0, "crm-import-10", "Front desk", "", phone});
  const std::vector<PersonRecord> persons = {sms_person(1), shared};

  auto adapter = cw.adapter();
  auto out = adapter->sink()->push(items(persons));
  REQUIRE(out);
  REQUIRE(out->size() == 2);
  CHECK((*out)[1].status == PushOutcome::Status::created);
  std::optional<FakeChatwoot::Contact> mine;
  for (const auto& c : cw.fake.contacts())
    if (c.identifier == shared.person_id) mine = c;
  REQUIRE(mine);
  CHECK(mine->email.empty());
  CHECK(mine->phone_number.empty());
  CHECK(mine->name == "Person 2");
  const auto conv = cw.conversation("chansync:" + shared.person_id + ":sms");
  REQUIRE(conv);
  CHECK(conv->messages.size() == 1);
  for (const auto& c : cw.fake.contacts()) {  // the others keep theirs
    if (c.identifier == "crm-import-9") CHECK(c.email == "shared@example.com");
    if (c.identifier == "crm-import-10") CHECK(c.phone_number == phone);
  }
  CHECK_THAT(logs.all(), Catch::Contains("belongs to another Chatwoot contact"));

  // An update meets it too: the first person's record now gives the front desk's number.
  auto first = persons[0];
  const std::string old_phone = first.handles[0].value;
  first.display_name = "Person 1, renamed";
  first.handles = {{HandleKind::phone, phone}};
  auto updated = adapter->sink()->push(std::vector<PushItem>{again(first, (*out)[0])});
  REQUIRE(updated);
  CHECK((*updated)[0].status == PushOutcome::Status::updated);
  for (const auto& c : cw.fake.contacts())
    if (c.identifier == first.person_id) {
      CHECK(c.name == "Person 1, renamed");
      CHECK(c.phone_number == old_phone);  // not the front desk's; an empty value is never sent
    }

  // What was left off is not drift a repair would put back (and be refused again).
  const std::vector<PushItem> confirmed = {again(persons[1], (*out)[1])};
  auto v = adapter->sink()->verify(confirmed);
  REQUIRE(v);
  CHECK((*v)[0].state == VerifyOutcome::State::same);
}

TEST_CASE("an email or phone a person no longer has is cleared where chansync set it, and goes to who has it now",
          "[chatwoot]") {
  Chatwoot cw;
  LogCapture logs;
  const auto contact_of_person = [&](const std::string& id) {
    for (const auto& c : cw.fake.contacts())
      if (c.identifier == id) return c;
    FAIL("no contact for " << id);
    return FakeChatwoot::Contact{};
  };
  const bool later_first = GENERATE(true, false);  // the new owner before or after the one losing it
  auto both = sms_person(1);
  both.handles.push_back({HandleKind::email, "anna@example.com"});
  const std::string phone = both.handles[0].value;
  auto first = cw.adapter()->sink()->push(items({both}));
  REQUIRE(first);
  CHECK(contact_of_person(both.person_id).email == "anna@example.com");

  // Split: the email and the number go to a new person; the old one keeps its messages alone.
  auto kept = both;
  kept.handles.clear();
  PersonRecord split{"p_split", "Anna", {{HandleKind::email, "anna@example.com"}, {HandleKind::phone, phone}}};
  split.messages = {message("SM9", "sms", Direction::inbound, k_t0 + 5000, "neu", phone)};
  std::vector<PushItem> batch = {again(kept, (*first)[0]), {&split, std::nullopt}};
  if (later_first) std::swap(batch[0], batch[1]);
  auto adapter = cw.adapter();
  auto out = adapter->sink()->push(batch);
  REQUIRE(out);
  for (const auto& o : *out) CHECK(o.status != PushOutcome::Status::failed);
  CHECK(contact_of_person(both.person_id).email.empty());
  CHECK(contact_of_person(both.person_id).phone_number.empty());
  CHECK(contact_of_person("p_split").email == "anna@example.com");
  CHECK(contact_of_person("p_split").phone_number == phone);
  if (later_first) CHECK_THAT(logs.all(), Catch::Contains("has anna@example.com now"));
  // The new owner's remote id says chansync set both there, given back or not.
  const auto& split_out = (*out)[later_first ? 0 : 1];
  CHECK_THAT(split_out.remote_id, Catch::Contains(";@email=") && Catch::Contains(";@phone="));

  // An address an agent set since is not chansync's to clear.
  const auto& kept_out = (*out)[later_first ? 1 : 0];
  auto again_kept = kept;
  again_kept.handles = {{HandleKind::email, "new@example.com"}};
  auto third = adapter->sink()->push(std::vector<PushItem>{again(again_kept, kept_out)});
  REQUIRE(third);
  const auto id = contact_of_person(both.person_id).id;
  cw.fake.edit_contact(id, [](FakeChatwoot::Contact& c) { c.email = "agent-set@example.com"; });
  again_kept.handles.clear();
  REQUIRE(adapter->sink()->push(std::vector<PushItem>{again(again_kept, (*third)[0])}));
  CHECK(contact_of_person(both.person_id).email == "agent-set@example.com");
}

TEST_CASE("a refusal names the request without the credentials a base_url carries", "[chatwoot]") {
  Chatwoot cw;
  const auto taken = sms_person(2);
  cw.fake.fail_before([](const httplib::Request& req) -> std::optional<Scripted> {
    if (req.method == "POST" && req.path.ends_with("/contacts"))
      return Scripted{422, R"({"message":"Name is too long","attributes":["name"]})"};
    return std::nullopt;
  });
  auto adapter = test::create_past_url_check(Chatwoot::config(cw.server.base_url_with_credentials()), [](auto) {});
  auto out = adapter->sink()->push(items({taken}));
  REQUIRE(out);
  REQUIRE(out->size() == 1);
  REQUIRE((*out)[0].error);
  CHECK((*out)[0].error->http_status == 422);
  CHECK_THAT((*out)[0].error->message,
             Catch::Contains("(POST http://<redacted>@127.0.0.1:") && !Catch::Contains("url-password-17"));
}

TEST_CASE("a Chatwoot answer that echoes the token reaches no error or health report with it", "[chatwoot]") {
  // The token where an excerpt of 200 bytes cuts it: redacted before it is cut, none of it is left.
  std::string padding;  // 185 bytes of words before the token
  while (padding.size() < 185) padding += "padding ";
  padding.resize(185);
  const std::string token_start = std::string(FakeChatwoot::k_token).substr(0, 6);
  for (const int status : {401, 422, 500}) {
    INFO(status);
    FakeServer echo([&](const httplib::Request&, std::size_t) {
      return Scripted{status, fmt::format(R"({{"message":"{} api_access_token {} may not do this"}})", padding,
                                          FakeChatwoot::k_token)};
    });
    auto adapter = adapters::create_adapter(Chatwoot::config(echo.base_url()), "DE", [](auto) {});
    auto out = adapter->sink()->push(items({sms_person(1)}));
    const Error& e = out ? *(*out).at(0).error : out.error();
    CHECK_THAT(e.message, Catch::Contains("padding padding") && !Catch::Contains(token_start));
    const auto report = adapter->probe();
    CHECK_THAT(report.evidence.vendor_message, Catch::Contains("padding padding") && !Catch::Contains(token_start));
    CHECK_THAT(report.summary, !Catch::Contains(token_start));
  }
}

TEST_CASE("a 401 stops the push: the whole call fails as auth, or mid-batch the rest does", "[chatwoot]") {
  Chatwoot wrong_token("a-different-token");
  const std::vector<PersonRecord> persons = {sms_person(1), sms_person(2), sms_person(3)};
  auto refused = wrong_token.adapter()->sink()->push(items(persons));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == Errc::auth);
  CHECK(wrong_token.server.requests().size() == 1);  // not retried, and no other person tried

  Chatwoot revoked;
  revoked.fake.fail_before([](const httplib::Request& req) -> std::optional<Scripted> {
    if (req.method == "POST" && req.body.find("p_1002") != std::string::npos)
      return Scripted{401, R"({"error":"Invalid Access Token"})"};
    return std::nullopt;
  });
  auto out = revoked.adapter()->sink()->push(items(persons));
  REQUIRE(out);
  REQUIRE(out->size() == 3);
  CHECK((*out)[0].status == PushOutcome::Status::created);
  for (std::size_t i : {1, 2}) {
    CHECK((*out)[i].status == PushOutcome::Status::failed);
    REQUIRE((*out)[i].error);
    CHECK((*out)[i].error->code == Errc::auth);
  }
  for (const auto& r : revoked.server.requests()) CHECK(r.body.find("p_1003") == std::string::npos);

  StateStore store(":memory:");
  seed(store, 2, 1);
  const auto stats = push_target("inbox", *wrong_token.adapter()->sink(), store, {});
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::auth);
  CHECK(store.ledger().entries("inbox").empty());
}

TEST_CASE("a contact deleted in Chatwoot (404 on update) is created again with its conversation", "[chatwoot]") {
  Chatwoot cw;
  const auto p = sms_person(1, 2);
  auto first = cw.adapter()->sink()->push(items({p}));
  REQUIRE(first);
  cw.fake.delete_contact(std::stoll((*first)[0].remote_id));  // an agent deleted it

  const std::vector<PushItem> batch = {again(p, (*first)[0])};
  auto out = cw.adapter()->sink()->push(batch);
  REQUIRE(out);
  CHECK((*out)[0].status == PushOutcome::Status::created);
  CHECK((*out)[0].remote_id != (*first)[0].remote_id);
  REQUIRE(cw.fake.contacts().size() == 1);
  CHECK(std::to_string(cw.fake.contacts()[0].id) == contact_of((*out)[0].remote_id));
  const auto* sms = cw.conversation("chansync:" + p.person_id + ":sms");
  REQUIRE(sms);
  CHECK(sms->messages.size() == 2);
}

TEST_CASE("an agent's token may not delete contacts: that deletion fails, saying so, and the push goes on",
          "[chatwoot]") {
  Chatwoot cw;
  const auto kept = sms_person(1), gone = sms_person(2);
  auto first = cw.adapter()->sink()->push(items({kept, gone}));
  REQUIRE(first);
  // Chatwoot's ContactPolicy#destroy? admits administrators only; Pundit's refusal is a 401.
  cw.fake.fail_before([](const httplib::Request& req) -> std::optional<Scripted> {
    if (req.method == "DELETE") return Scripted{401, R"({"error":"You are not authorized to do this action"})"};
    return std::nullopt;
  });
  const PersonRecord removed{gone.person_id};  // erased: deleted, not merged
  const auto changed = sms_person(1, 2);
  const std::vector<PushItem> batch = {
      {&removed, PushLedgerEntry{gone.person_id, "h", (*first)[1].remote_id}, true, ""}, again(changed, (*first)[0])};
  auto out = cw.adapter()->sink()->push(batch);
  REQUIRE(out);
  REQUIRE(out->size() == 2);
  CHECK((*out)[0].status == PushOutcome::Status::failed);
  REQUIRE((*out)[0].error);
  CHECK((*out)[0].error->code == Errc::remote);  // the deletion's, not the target's: no stop, no exit 77
  CHECK_THAT((*out)[0].error->message, Catch::Contains("administrator") && Catch::Contains("HTTP 401"));
  CHECK((*out)[1].status == PushOutcome::Status::updated);
  CHECK(cw.fake.contacts().size() == 2);
  const auto* sms = cw.conversation("chansync:" + kept.person_id + ":sms");
  REQUIRE(sms);
  CHECK(sms->messages.size() == 2);  // the new message arrived all the same

  // A revoked token's 401 on the same DELETE is the target's, not the person's: the push stops.
  cw.fake.fail_before([](const httplib::Request& req) -> std::optional<Scripted> {
    if (req.method == "DELETE") return Scripted{401, R"({"error":"Invalid Access Token"})"};
    return std::nullopt;
  });
  auto revoked = cw.adapter()->sink()->push(std::vector<PushItem>{batch[0]});
  REQUIRE_FALSE(revoked);
  CHECK(revoked.error().code == Errc::auth);
}

TEST_CASE("a stop signal is seen between messages and persons; nobody it held back counts as refused", "[chatwoot]") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  adapters::interrupt_waits_on(fds[0]);
  Chatwoot cw;
  std::atomic<int> posts{0};
  cw.fake.fail_before([&](const httplib::Request& req) -> std::optional<Scripted> {
    if (req.method == "POST" && req.path.ends_with("/messages") && ++posts == 2) (void)!::write(fds[1], "s", 1);
    return std::nullopt;
  });
  const std::vector<PersonRecord> persons = {sms_person(1, 5), sms_person(2, 5), sms_person(3, 5)};
  auto out = cw.adapter()->sink()->push(items(persons));
  adapters::interrupt_waits_on(-1);
  ::close(fds[0]);
  ::close(fds[1]);
  REQUIRE_FALSE(out);  // nothing was confirmed: the whole call says it was stopped
  CHECK(out.error().code == Errc::interrupted);
  CHECK(posts == 2);  // the message in flight went; the other three of person 1 wait for the next push
  CHECK(cw.fake.contacts().size() == 1);

  // Through the push: a stop while the last batch goes still ends the run as stopped, and nobody is
  // counted towards parking.
  REQUIRE(::pipe(fds) == 0);
  adapters::interrupt_waits_on(fds[0]);
  StateStore store(":memory:");
  seed(store, 3, 4);
  std::atomic<bool> stop{false};
  posts = 0;
  cw.fake.fail_before([&](const httplib::Request& req) -> std::optional<Scripted> {
    if (req.method == "POST" && req.path.ends_with("/messages") && ++posts == 6) {
      (void)!::write(fds[1], "s", 1);
      stop = true;
    }
    return std::nullopt;
  });
  PushOptions opts;
  opts.stop = &stop;
  const auto stats = push_target("inbox", *cw.adapter()->sink(), store, opts);
  adapters::interrupt_waits_on(-1);
  ::close(fds[0]);
  ::close(fds[1]);
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::interrupted);
  CHECK(stats.created == 1);  // p1's four messages, then p2's first two: p2 and p3 wait
  CHECK(store.ledger().failures("inbox").empty());
}

TEST_CASE(
    "chatwoot paces a long history per conversation, cuts a text longer than it keeps, and its flood "
    "refusal is a rate limit, not the person's fault",
    "[chatwoot]") {
  using namespace std::chrono_literals;
  Chatwoot cw;
  std::vector<std::chrono::milliseconds> waits;
  auto adapter = adapters::create_adapter(Chatwoot::config(cw.server.base_url()), "DE",
                                          [&](std::chrono::milliseconds d) { waits.push_back(d); });
  const int n = static_cast<int>(adapters::chatwoot::k_conversation_per_minute) + 5;
  auto p = sms_person(1, n);
  p.messages[0].text = std::string(150'010, 'x');
  auto out = adapter->sink()->push(items({p}));
  REQUIRE(out);
  CHECK((*out)[0].status == PushOutcome::Status::created);
  // Each post past the minute's worth waits for the oldest of the minute to age out (about a minute on
  // this test's stopped clock; HTTP pacing waits are short).
  CHECK(std::count_if(waits.begin(), waits.end(), [](auto d) { return d >= 50s; }) == 5);
  const auto* sms = cw.conversation("chansync:" + p.person_id + ":sms");
  REQUIRE(sms);
  CHECK(message_ids(cw.fake.conversations()).size() == static_cast<std::size_t>(n));
  const auto& first = sms->messages.at(0);
  CHECK(first.content.size() < 150'100);
  CHECK(first.content.starts_with(std::string(149'900, 'x') + "\n[cut: 110 more characters"));

  cw.fake.fail_before([](const httplib::Request& req) -> std::optional<Scripted> {
    if (req.method == "POST" && req.path.ends_with("/messages"))
      return Scripted{422, R"({"message":"Validation failed: Too many messages"})"};
    return std::nullopt;
  });
  auto flooded = cw.adapter()->sink()->push(items({sms_person(2, 2), sms_person(3)}));
  REQUIRE_FALSE(flooded);  // nobody confirmed: the push stops as rate limited (exit 75), nobody is refused
  CHECK(flooded.error().code == Errc::rate_limited);
  CHECK_THAT(flooded.error().message, Catch::Contains("CONVERSATION_MESSAGE_PER_MINUTE_LIMIT"));
}

TEST_CASE(
    "chatwoot keeps each channel's conversation id: a contact Chatwoot lists 20 newer conversations of gets "
    "no second one",
    "[chatwoot]") {
  Chatwoot cw;
  auto first = cw.adapter()->sink()->push(items({sms_person(1, 2)}));
  REQUIRE(first);
  const std::string remote = (*first)[0].remote_id;
  const auto conversation_id = [&](const std::string& source) {
    for (const auto& c : cw.fake.conversations())
      if (c.source_id == source) return c.id;
    return std::int64_t{0};
  };
  const std::string source = "chansync:p_1001:sms";
  CHECK(without_marks(remote) == fmt::format("{};sms={}", cw.fake.contacts().at(0).id, conversation_id(source)));
  // Chatwoot's own inboxes (email, the web widget) open conversations with the same contact; it lists
  // a contact's newest 20 only.
  for (int i = 0; i < 25; ++i) cw.fake.add_conversation(cw.fake.contacts().at(0).id, FakeChatwoot::k_inbox + 1);
  const auto changed = sms_person(1, 3);
  const auto gets = cw.count("GET", "/conversations");
  auto out = cw.adapter()->sink()->push(std::vector<PushItem>{again(changed, (*first)[0])});
  REQUIRE(out);
  CHECK((*out)[0].status == PushOutcome::Status::updated);
  CHECK(without_marks((*out)[0].remote_id) == without_marks(remote));
  // Its messages, asked by id, and the contact's conversations (for those a merge moved there, before
  // posting): its own is not among the newest 20 listed, and is found all the same.
  CHECK(cw.count("GET", "/conversations") == gets + 2);
  auto ids = message_ids(cw.fake.conversations());
  CHECK(ids.size() == 3);
  for (const auto& [id, n] : ids) CHECK(n == 1);
  std::size_t ours = 0;
  for (const auto& c : cw.fake.conversations()) ours += c.source_id == source;
  CHECK(ours == 1);

  // A conversation deleted in Chatwoot is looked for, then opened again, with the whole channel.
  cw.fake.delete_conversation(conversation_id(source));
  auto reopened = cw.adapter()->sink()->push(std::vector<PushItem>{again(changed, (*out)[0])});
  REQUIRE(reopened);
  CHECK((*reopened)[0].status == PushOutcome::Status::updated);
  CHECK((*reopened)[0].remote_id != remote);
  const auto* sms = cw.conversation(source);
  REQUIRE(sms);
  CHECK(message_ids({*sms}).size() == 3);
}

TEST_CASE("chatwoot stores a business message's braces as they were sent, not rendered as Liquid", "[chatwoot]") {
  Chatwoot cw;
  auto p = sms_person(1, 3);
  const std::vector<std::string> texts = {"Hi {{first_name}}, your code is `{{code}}`",
                                          "{% if vip %}Gold{% endif %} {{ contact.email }} {%",
                                          "a `lone backtick and {{x}}"};
  for (std::size_t i = 0; i < texts.size(); ++i) {
    p.messages[i].direction = Direction::outbound;
    p.messages[i].author_kind = AuthorKind::agent;
    p.messages[i].text = texts[i];
  }
  REQUIRE(cw.adapter()->sink()->push(items({p})));
  const auto* sms = cw.conversation("chansync:" + p.person_id + ":sms");
  REQUIRE(sms);
  std::vector<std::string> stored;
  for (const auto& m : sms->messages)
    if (!m.is_private) stored.push_back(m.content);
  CHECK(stored == texts);
  using adapters::chatwoot::liquid_literal;
  CHECK(liquid_literal("plain text") == "plain text");
  CHECK(liquid_literal("{{x}} {%y%} `{{z}}`") == "{{ '{' }}{x}} {{ '{' }}%y%} `{{z}}`");
  CHECK(liquid_literal("{{{") == "{{ '{' }}{{ '{' }}{");
  // The cut is made on what is sent: a text near the limit whose braces the escaping lengthens
  // still fits, so Chatwoot does not refuse it for good.
  const std::string braces = std::string(149'000, 'x') + std::string(400, '{') + "}";
  const auto sent = adapters::chatwoot::message_content(braces, true);
  std::size_t chars = 0;
  for (const char c : sent) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  CHECK(chars <= adapters::chatwoot::k_max_content);
  CHECK_THAT(sent, Catch::Contains("[cut: "));
  CHECK(adapters::chatwoot::message_content(braces, false) == braces);  // incoming, not escaped: it fits
}
