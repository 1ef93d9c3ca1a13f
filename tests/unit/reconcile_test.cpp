#include "sync/reconcile.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>

using namespace chansync;

namespace {

Handle phone(const char* v, bool verified = true) {
  return {HandleKind::phone, v, verified};
}
Handle email(const char* v) {
  return {HandleKind::email, v, true};
}

Contact contact(const char* connector, const char* id, std::vector<Handle> handles) {
  Contact c;
  c.connector = connector;
  c.id = id;
  c.handles = std::move(handles);
  return c;
}

std::function<std::string()> counter() {
  auto n = std::make_shared<int>(0);
  return [n] { return "p" + std::to_string(++*n); };
}

}  // namespace

TEST_CASE("a CRM contact joins the SMS handle with the same number") {
  IdentityInput in;
  in.contacts = {contact("crm", "1", {phone("+4915112345678"), email("a@b.de")})};
  in.conversation_handles = {phone("+4915112345678"), phone("+4915199999999")};
  const auto r = reconcile(in, counter());
  CHECK(r.person_count() == 2);
  CHECK(r.person_of("crm_id:crm/1") == r.person_of("phone:+4915112345678"));
  CHECK(r.person_of("email:a@b.de") == r.person_of("crm_id:crm/1"));
  CHECK(r.person_of("phone:+4915199999999") != r.person_of("crm_id:crm/1"));
}

TEST_CASE("a handle shared by two records of one CRM is a conflict and joins nobody") {
  IdentityInput in;
  in.contacts = {contact("crm", "1", {phone("+4930555000"), email("karl@x.de")}),
                 contact("crm", "2", {phone("+4930555000"), email("erika@x.de")})};
  in.conversation_handles = {phone("+4930555000")};
  const auto r = reconcile(in, counter());
  CHECK(r.person_count() == 3);
  REQUIRE(r.conflicts.size() == 1);
  CHECK(r.conflicts[0].node == "phone:+4930555000");
  CHECK(r.conflicts[0].records == std::vector<std::string>{"crm_id:crm/1", "crm_id:crm/2"});
  CHECK(r.person_of("crm_id:crm/1") != r.person_of("crm_id:crm/2"));
}

TEST_CASE("merge protection refuses a transitive join of two records of one CRM") {
  IdentityInput in;
  // 1 and 2 share no handle directly, but the CRM of another connector links them.
  in.contacts = {contact("crm", "1", {email("a@x.de")}), contact("crm", "2", {phone("+4915112345678")}),
                 contact("other", "9", {email("a@x.de"), phone("+4915112345678")})};
  const auto r = reconcile(in, counter());
  CHECK(r.person_of("crm_id:crm/1") != r.person_of("crm_id:crm/2"));
  REQUIRE(r.conflicts.size() == 1);
  CHECK(r.conflicts[0].node == "phone:+4915112345678");  // email joins first (higher priority), then phone is refused
  CHECK(r.conflicts[0].records == std::vector<std::string>{"crm_id:crm/1", "crm_id:crm/2"});
  CHECK(r.conflicts[0].reason == "would join two records of crm");
}

TEST_CASE("unverified and blocked handles never join") {
  IdentityInput in;
  in.contacts = {contact("crm", "1", {phone("12345", false)}), contact("crm", "2", {phone("+4930123456")})};
  in.conversation_handles = {phone("12345", false), phone("+4930123456")};
  in.blocked = {"phone:+4930123456"};
  const auto r = reconcile(in, counter());
  CHECK(r.person_of("phone:12345") != r.person_of("crm_id:crm/1"));
  CHECK_FALSE(r.contains("phone:+4930123456"));
}

TEST_CASE("person ids survive re-runs, and a merge keeps the oldest id with the other as alias") {
  IdentityInput in;
  in.conversation_handles = {phone("+4915112345678"), email("a@b.de")};
  const auto first = reconcile(in, counter());
  REQUIRE(first.person_count() == 2);
  in.previous = first.assignment();
  in.person_seq = {{std::string(first.person_of("phone:+4915112345678")), 1},
                   {std::string(first.person_of("email:a@b.de")), 2}};
  const auto again = reconcile(in, counter());
  CHECK(again.assignment() == first.assignment());
  CHECK(again.new_persons.empty());
  in.contacts = {contact("crm", "1", {phone("+4915112345678"), email("a@b.de")})};
  const auto merged = reconcile(in, counter());
  const std::string oldest(first.person_of("phone:+4915112345678"));
  CHECK(merged.person_of("email:a@b.de") == oldest);
  CHECK(merged.aliases.at(std::string(first.person_of("email:a@b.de"))) == oldest);
}

TEST_CASE("reconcile does not depend on input order") {
  IdentityInput in;
  in.contacts = {contact("crm", "1", {phone("+4915112345678"), email("a@b.de")}),
                 contact("crm", "2", {email("a@b.de")}), contact("crm", "3", {phone("+4915112345679")})};
  in.conversation_handles = {phone("+4915112345678"), phone("+4915112345679"), phone("+4915112345670")};
  const auto base = reconcile(in, counter());
  std::mt19937 rng(7);
  for (int i = 0; i < 5; ++i) {
    std::shuffle(in.contacts.begin(), in.contacts.end(), rng);
    std::shuffle(in.conversation_handles.begin(), in.conversation_handles.end(), rng);
    const auto r = reconcile(in, counter());
    CHECK(r.assignment() == base.assignment());
    CHECK(r.conflicts == base.conflicts);
  }
}

TEST_CASE("a person split in two keeps its id on the side holding most of its old handles") {
  IdentityInput in;
  in.contacts = {contact("crm", "1", {phone("+4915112345670")}),
                 contact("crm", "2", {phone("+4915112345678"), phone("+4915112345679")})};
  in.previous = {
      {"phone:+4915112345670", "p_old"}, {"phone:+4915112345678", "p_old"}, {"phone:+4915112345679", "p_old"}};
  in.person_seq = {{"p_old", 1}};
  const auto r = reconcile(in, counter());
  CHECK(r.person_of("crm_id:crm/2") == "p_old");  // two old handles, though it sorts second
  CHECK(r.person_of("phone:+4915112345678") == "p_old");
  CHECK(r.person_of("crm_id:crm/1") == "p1");
  REQUIRE(r.new_persons.size() == 1);
  CHECK(r.person_ids[r.new_persons[0]] == "p1");
  CHECK(r.aliases.empty());
}

TEST_CASE("a vendor's link joins two handles; it never overrides merge protection or a shared handle") {
  const Handle bsuid{HandleKind::whatsapp_bsuid, "waba1:US.1", true};
  IdentityInput in;
  in.conversation_handles = {phone("+4915112345678"), bsuid};
  in.links = {{phone("+4915112345678"), bsuid}};
  auto r = reconcile(in, counter());
  CHECK(r.person_count() == 1);
  CHECK(r.person_of(bsuid.key()) == r.person_of("phone:+4915112345678"));

  // The phone is on two records of one CRM (shared): the link does not make it join anything.
  in.contacts = {contact("crm", "1", {phone("+4915112345678")}), contact("crm", "2", {phone("+4915112345678")})};
  r = reconcile(in, counter());
  CHECK(r.person_of(bsuid.key()) != r.person_of("phone:+4915112345678"));

  // An unverified handle never joins, linked or not.
  in.contacts.clear();
  in.links = {{phone("+12", false), bsuid}};
  in.conversation_handles = {phone("+12", false), bsuid};
  r = reconcile(in, counter());
  CHECK(r.person_of(bsuid.key()) != r.person_of("phone:+12"));
}

TEST_CASE("a per-kind limit refuses the union that would exceed it, and the limit is configurable") {
  IdentityInput in;
  std::vector<Handle> phones;
  for (int i = 0; i < 6; ++i) phones.push_back({HandleKind::phone, "+491511234560" + std::to_string(i), true});
  in.contacts = {contact("crm", "1", phones)};
  auto r = reconcile(in, counter());
  CHECK(r.person_count() == 2);  // the sixth number (the last in rank order) stays apart
  CHECK(r.person_of("phone:+4915112345605") != r.person_of("crm_id:crm/1"));
  REQUIRE(r.conflicts.size() == 1);
  CHECK(r.conflicts[0].node == "phone:+4915112345605");
  CHECK(r.conflicts[0].reason == "would give one person 6 phone handles (limit 5)");

  in.limits[HandleKind::phone] = 6;
  r = reconcile(in, counter());
  CHECK(r.person_count() == 1);
  CHECK(r.conflicts.empty());
  in.limits[HandleKind::phone] = 2;
  CHECK(reconcile(in, counter()).person_count() == 5);
}

TEST_CASE("a merge decision joins what nothing links and outranks merge protection; a split keeps sides apart") {
  const Handle psid{HandleKind::messenger_psid, "page1:777", true};
  IdentityInput in;
  in.contacts = {contact("crm", "1", {phone("+4915112345678"), email("a@b.de")}),
                 contact("crm", "2", {email("anna.w@b.de")})};
  in.conversation_handles = {phone("+4915112345678"), psid};
  auto r = reconcile(in, counter());
  CHECK(r.person_count() == 3);

  // Messenger's Anna is the CRM's Anna: a merge decision says so.
  in.decisions = {{1, IdentityDecision::Kind::merge, {psid.key()}, {"crm_id:crm/1", "phone:+4915112345678"}}};
  r = reconcile(in, counter());
  CHECK(r.person_count() == 2);
  CHECK(r.person_of(psid.key()) == r.person_of("crm_id:crm/1"));

  // Two records of one CRM are one person when a person says so (the CRM holds a duplicate).
  in.decisions.push_back({2, IdentityDecision::Kind::merge, {"crm_id:crm/2"}, {"crm_id:crm/1"}});
  r = reconcile(in, counter());
  CHECK(r.person_count() == 1);
  CHECK(r.conflicts.empty());

  // A later split of the phone takes it (and what only it brings) out; the merges still hold the rest.
  in.decisions.push_back({3,
                          IdentityDecision::Kind::split,
                          {"phone:+4915112345678"},
                          {"crm_id:crm/1", "crm_id:crm/2", "email:a@b.de", "email:anna.w@b.de", psid.key()}});
  in.trace = true;
  r = reconcile(in, counter());
  CHECK(r.person_count() == 2);
  CHECK(r.person_of("phone:+4915112345678") != r.person_of("crm_id:crm/1"));
  CHECK(r.person_of(psid.key()) == r.person_of("crm_id:crm/1"));
  CHECK(r.person_of("crm_id:crm/2") == r.person_of("crm_id:crm/1"));
  CHECK(r.conflicts.empty());  // a split is a decision, not a conflict
  const auto refused = std::count_if(r.trace.begin(), r.trace.end(), [](const IdentityEdge& e) {
    return e.outcome == IdentityEdge::Outcome::refused && e.why == "kept apart by split decision #3";
  });
  CHECK(refused == 2);  // crm/1 lists the phone; decision #1 merges the psid with the phone
}

TEST_CASE("decisions and limits do not depend on input order") {
  const Handle psid{HandleKind::messenger_psid, "page1:777", true};
  IdentityInput in;
  std::vector<Handle> phones;
  for (int i = 0; i < 7; ++i) phones.push_back({HandleKind::phone, "+491511234560" + std::to_string(i), true});
  in.contacts = {contact("crm", "1", phones), contact("crm", "2", {email("a@b.de"), phones[0]}),
                 contact("other", "9", {email("a@b.de"), phone("+4915199999999")})};
  in.conversation_handles = {phones[1], phones[6], psid, phone("+4915199999999")};
  in.decisions = {{4, IdentityDecision::Kind::merge, {psid.key()}, {"crm_id:other/9"}},
                  {5, IdentityDecision::Kind::split, {"phone:+4915199999999"}, {"crm_id:other/9"}}};
  const auto base = reconcile(in, counter());
  std::mt19937 rng(11);
  for (int i = 0; i < 8; ++i) {
    for (auto& c : in.contacts) std::shuffle(c.handles.begin(), c.handles.end(), rng);
    std::shuffle(in.contacts.begin(), in.contacts.end(), rng);
    std::shuffle(in.conversation_handles.begin(), in.conversation_handles.end(), rng);
    const auto r = reconcile(in, counter());
    CHECK(r.assignment() == base.assignment());
    CHECK(r.conflicts == base.conflicts);
  }
}

TEST_CASE("a split leaves the id with the rest of the person; an undone merge gives the old id back") {
  IdentityInput in;
  in.contacts = {contact("crm", "1", {phone("+4915112345678"), email("a@b.de"), email("x@b.de")})};
  in.previous = {{"phone:+4915112345678", "p_old"},
                 {"crm_id:crm/1", "p_old"},
                 {"email:a@b.de", "p_old"},
                 {"email:x@b.de", "p_old"}};
  in.since = {{"phone:+4915112345678", 100}, {"crm_id:crm/1", 500}, {"email:a@b.de", 500}, {"email:x@b.de", 500}};
  in.person_seq = {{"p_old", 1}};
  in.decisions = {
      {1, IdentityDecision::Kind::split, {"phone:+4915112345678"}, {"crm_id:crm/1", "email:a@b.de", "email:x@b.de"}}};
  auto r = reconcile(in, counter());
  CHECK(r.person_of("crm_id:crm/1") == "p_old");
  CHECK(r.person_of("phone:+4915112345678") == "p1");  // split off, though it is the oldest node
  CHECK(r.aliases.empty());

  // A split of a person with no CRM record: the rest keeps the id, though the split-off side is bigger.
  in.contacts.clear();
  in.conversation_handles = {phone("+4915112345678"), email("a@b.de")};
  in.decisions = {{1, IdentityDecision::Kind::split, {"phone:+4915112345678"}, {"email:a@b.de"}}};
  r = reconcile(in, counter());
  CHECK(r.person_of("email:a@b.de") == "p_old");
  CHECK(r.person_of("phone:+4915112345678") == "p1");

  // p_msg was merged into p_old by a decision that is now undone: its nodes take p_msg back.
  in.contacts = {contact("crm", "1", {phone("+4915112345678"), email("a@b.de"), email("x@b.de")})};
  const Handle psid{HandleKind::messenger_psid, "page1:777", true};
  in.decisions.clear();
  in.conversation_handles = {psid};
  in.previous[psid.key()] = "p_old";
  in.since[psid.key()] = 900;
  in.former = {{psid.key(), "p_msg"}};
  r = reconcile(in, counter());
  CHECK(r.person_of(psid.key()) == "p_msg");
  CHECK(r.revived == std::vector<std::string>{"p_msg"});
  CHECK(r.new_persons.empty());
  CHECK(r.person_of("crm_id:crm/1") == "p_old");
}

TEST_CASE("undoing a merge gives each side its id, though the merged-in side holds the oldest node and grew") {
  // p_chat (a number seen first, linked to a Messenger id) was merged into the older p_mail (an
  // address) by a decision, now undone. While they were merged, a new address joined the chat side.
  const Handle psid{HandleKind::messenger_psid, "page1:777", true};
  IdentityInput in;
  in.conversation_handles = {email("a@b.de"), phone("+4915112345678"), psid, email("new@b.de")};
  in.links = {{phone("+4915112345678"), psid}, {psid, email("new@b.de")}};
  for (const auto& node :
       {std::string("email:a@b.de"), std::string("phone:+4915112345678"), psid.key(), std::string("email:new@b.de")})
    in.previous[node] = "p_mail";
  in.since = {{"phone:+4915112345678", 100}, {psid.key(), 100}, {"email:a@b.de", 500}, {"email:new@b.de", 900}};
  in.former = {{"phone:+4915112345678", "p_chat"}, {psid.key(), "p_chat"}};
  in.person_seq = {{"p_mail", 1}};
  const auto r = reconcile(in, counter());
  CHECK(r.person_of("email:a@b.de") == "p_mail");
  CHECK(r.person_of("phone:+4915112345678") == "p_chat");
  CHECK(r.person_of("email:new@b.de") == "p_chat");
  CHECK(r.revived == std::vector<std::string>{"p_chat"});
  CHECK(r.new_persons.empty());
  CHECK(r.aliases.empty());
}

TEST_CASE("a number moving from one CRM record to another leaves each person id with its record") {
  // p_one had crm/1, a number (seen first, in an SMS) and an address; p_two crm/2 and an address.
  // Both of p_one's handles move to crm/2: p_one stays with its record, though most of its handles
  // and its oldest node left, and neither id is retired, whichever person is older.
  for (const bool one_older : {true, false}) {
    IdentityInput in;
    in.contacts = {contact("crm", "1", {}),
                   contact("crm", "2", {phone("+4915112345678"), email("a@b.de"), email("b@b.de")})};
    in.previous = {{"crm_id:crm/1", "p_one"},
                   {"email:a@b.de", "p_one"},
                   {"phone:+4915112345678", "p_one"},
                   {"crm_id:crm/2", "p_two"},
                   {"email:b@b.de", "p_two"}};
    in.since = {{"phone:+4915112345678", 100},
                {"crm_id:crm/1", 500},
                {"email:a@b.de", 500},
                {"crm_id:crm/2", 600},
                {"email:b@b.de", 600}};
    in.person_seq = {{"p_one", one_older ? 1 : 2}, {"p_two", one_older ? 2 : 1}};
    const auto r = reconcile(in, counter());
    CHECK(r.person_of("crm_id:crm/1") == "p_one");
    CHECK(r.person_of("crm_id:crm/2") == "p_two");
    CHECK(r.person_of("phone:+4915112345678") == "p_two");
    CHECK(r.person_of("email:a@b.de") == "p_two");
    CHECK(r.aliases.empty());
    CHECK(r.new_persons.empty());
  }
}
