// Decisions people make about identities (merge, split, undo), stored and applied by reconcile, and
// what explain and conflicts say about them.
#include <fmt/format.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <thread>

#include "push_fixtures.hpp"
#include "sync/erase.hpp"
#include "sync/explain.hpp"
#include "sync/run.hpp"
#include "sync/state_store.hpp"

using namespace chansync;
using namespace chansync::test;

namespace {

const Handle k_anna_phone{HandleKind::phone, "+4915112345678", true};
const Handle k_anna_psid{HandleKind::messenger_psid, "page1:777", true};

Conversation messenger(const std::string& id, const Handle& customer) {
  Conversation c{"fb", id, "messenger", customer, "page1", {}};
  c.messages.push_back(
      {"fb", id + "-m", id, "messenger", Direction::inbound, AuthorKind::customer, customer.value, 5000, "hi"});
  return c;
}

// Anna in the CRM (phone, email) with an SMS conversation from that phone, and a Messenger
// conversation nothing links to her.
void seed_anna(StateStore& store) {
  Contact anna{"crm", "1", "Anna", "Weber", {k_anna_phone, Handle{HandleKind::email, "anna@example.com", true}}};
  store.records().commit_contacts("crm", "contacts", {anna}, {}, "x");
  commit(store, {conversation("c1", k_anna_phone.value, 2)});
  store.records().commit_conversations("fb", "conversations", {messenger("m1", k_anna_psid)}, {}, "y");
}

std::string person_of(StateStore& store, const std::string& node) {
  SQLite::Statement q(store.db(), "SELECT person_id FROM person_handles WHERE node = ?");
  q.bind(1, node);
  return q.executeStep() ? q.getColumn(0).getString() : "";
}

const std::vector<Endpoint> k_none;

}  // namespace

TEST_CASE("persons merge joins two persons across re-runs; undo separates them and gives the id back", "[identity]") {
  StateStore store(":memory:");
  seed_anna(store);
  CHECK(reconcile_store(store, k_none, false).persons == 2);
  const std::string anna = person_of(store, "crm_id:crm/1"), fb = person_of(store, k_anna_psid.key());
  REQUIRE(anna != fb);

  const auto d = store.decisions().merge(fb, anna, "same customer: she gave her number in chat");
  CHECK(d.a_id == anna);  // the older person survives whichever is named first
  CHECK(d.b_id == fb);
  const auto merged = reconcile_store(store, k_none, false);
  CHECK_FALSE(merged.skipped);  // a new decision is something to reconcile
  CHECK(merged.persons == 1);
  CHECK(person_of(store, k_anna_psid.key()) == anna);
  CHECK(store.identity().survivor_of(fb) == anna);
  REQUIRE(store.identity().person(fb));  // the retired id still finds her
  CHECK(store.identity().person(fb)->messages.size() == 3);

  // More messages on both channels, a forced reconcile: the decision still holds.
  commit(store, {conversation("c1", k_anna_phone.value, 2, 2)});
  store.records().commit_conversations("fb", "conversations", {messenger("m2", k_anna_psid)}, {}, "z");
  CHECK(reconcile_store(store, k_none, true).persons == 1);
  CHECK(person_of(store, k_anna_psid.key()) == anna);

  CHECK_THROWS_WITH(store.decisions().merge(anna, fb, ""), Catch::Contains("already one person"));
  store.decisions().undo(d.id);
  CHECK(reconcile_store(store, k_none, false).persons == 2);
  CHECK(person_of(store, k_anna_psid.key()) == fb);  // the merged-away id comes back
  CHECK_FALSE(store.identity().survivor_of(fb));
  CHECK(reconcile_store(store, k_none, true).persons == 2);
  CHECK(person_of(store, k_anna_psid.key()) == fb);
  CHECK_THROWS_WITH(store.decisions().undo(d.id), Catch::Contains("no longer applies"));
  CHECK_THROWS_WITH(store.decisions().undo(99), Catch::Contains("no decision #99"));
}

TEST_CASE("persons split takes a handle out for good; the rest of the person keeps its id; undo rejoins",
          "[identity]") {
  StateStore store(":memory:");
  // Her SMS first; the CRM record (with her number and an email) arrives a run later, so the number
  // is the node chansync saw first.
  commit(store, {conversation("c1", k_anna_phone.value, 2)});
  reconcile_store(store, k_none, false);
  const std::string first = person_of(store, k_anna_phone.key());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // `since` is in ms
  Contact anna{"crm", "1", "Anna", "Weber", {k_anna_phone, Handle{HandleKind::email, "anna@example.com", true}}};
  store.records().commit_contacts("crm", "contacts", {anna}, {}, "x");
  CHECK(reconcile_store(store, k_none, false).persons == 1);
  REQUIRE(person_of(store, "crm_id:crm/1") == first);

  CHECK_THROWS_WITH(store.decisions().split(first, "phone:+4915100000000", ""), Catch::Contains("no person has"));
  const auto d = store.decisions().split(first, k_anna_phone.key(), "the CRM has a colleague's number");
  CHECK(reconcile_store(store, k_none, false).persons == 2);
  CHECK(person_of(store, "crm_id:crm/1") == first);  // what is split off leaves; Anna stays herself
  CHECK(person_of(store, "email:anna@example.com") == first);
  const std::string colleague = person_of(store, k_anna_phone.key());
  CHECK(colleague != first);
  CHECK_FALSE(store.identity().survivor_of(first));

  // New messages and a forced reconcile do not undo the split.
  commit(store, {conversation("c1", k_anna_phone.value, 1, 5)});
  CHECK(reconcile_store(store, k_none, true).persons == 2);
  CHECK(person_of(store, "crm_id:crm/1") == first);

  // The split-off node is now all its person has: nothing left to split it from.
  CHECK_THROWS_WITH(store.decisions().split(colleague, k_anna_phone.key(), ""), Catch::Contains("nothing to split"));
  CHECK_THROWS_WITH(store.decisions().split(first, k_anna_phone.key(), ""), Catch::Contains("belongs to " + colleague));

  store.decisions().undo(d.id);
  const auto rejoined = reconcile_store(store, k_none, false);
  CHECK(rejoined.persons == 1);
  CHECK(person_of(store, k_anna_phone.key()) == first);
  CHECK(store.identity().survivor_of(colleague) == first);
}

TEST_CASE("splitting off the CRM record that held a person together leaves the rest one person with its id",
          "[identity]") {
  StateStore store(":memory:");
  seed_anna(store);  // crm/1 lists her phone and email: only the record joins the two
  reconcile_store(store, k_none, false);
  const std::string anna = person_of(store, "crm_id:crm/1");
  REQUIRE(person_of(store, "email:anna@example.com") == anna);
  const auto d = store.decisions().split(anna, "crm_id:crm/1", "a duplicate record");
  CHECK(reconcile_store(store, k_none, false).persons == 3);  // the record, Anna, her Messenger
  const std::string record = person_of(store, "crm_id:crm/1");
  CHECK(record != anna);
  CHECK(person_of(store, k_anna_phone.key()) == person_of(store, "email:anna@example.com"));  // still together
  CHECK(person_of(store, k_anna_phone.key()) != record);
  // A forced reconcile keeps it so, and explain says what keeps them together.
  CHECK(reconcile_store(store, k_none, true).persons == 3);
  const auto x = explain_person(store, k_none, {}, person_of(store, k_anna_phone.key()));
  CHECK(std::any_of(x.links.begin(), x.links.end(), [&](const IdentityEdge& e) { return e.decision == d.id; }));
}

TEST_CASE("splitting out what a merge brought in gives it back the id it had before the merge", "[identity]") {
  StateStore store(":memory:");
  seed_anna(store);
  reconcile_store(store, k_none, false);
  const std::string anna = person_of(store, "crm_id:crm/1"), fb = person_of(store, k_anna_psid.key());
  const auto merge = store.decisions().merge(anna, fb, "");
  reconcile_store(store, k_none, false);
  REQUIRE(person_of(store, k_anna_psid.key()) == anna);
  store.decisions().split(anna, k_anna_psid.key(), "wrong merge");
  CHECK(reconcile_store(store, k_none, false).persons == 2);
  CHECK(person_of(store, k_anna_psid.key()) == fb);  // not a new id: the one it had
  CHECK(person_of(store, "crm_id:crm/1") == anna);
  CHECK_FALSE(store.identity().survivor_of(fb));  // fb names itself again, not Anna
  CHECK(reconcile_store(store, k_none, true).persons == 2);
  CHECK(person_of(store, k_anna_psid.key()) == fb);
  store.decisions().undo(merge.id);  // and undoing the merge changes nothing more
  CHECK(reconcile_store(store, k_none, false).persons == 2);
  CHECK(person_of(store, k_anna_psid.key()) == fb);
}

TEST_CASE("undoing a merge that a later merge built on is refused, naming the later one", "[identity]") {
  StateStore store(":memory:");
  seed_anna(store);
  Contact ben{"crm", "2", "Ben", "Roth", {Handle{HandleKind::email, "ben@example.com", true}}};
  store.records().commit_contacts("crm", "contacts", {ben}, {}, "x2");
  reconcile_store(store, k_none, false);
  const std::string anna = person_of(store, "crm_id:crm/1"), fb = person_of(store, k_anna_psid.key()),
                    b = person_of(store, "crm_id:crm/2");
  const auto first = store.decisions().merge(anna, fb, "");
  reconcile_store(store, k_none, false);
  const auto second = store.decisions().merge(anna, b, "");
  CHECK(reconcile_store(store, k_none, false).persons == 1);
  CHECK_THROWS_WITH(store.decisions().undo(first.id), Catch::Contains(fmt::format("undo #{} first", second.id)));
  CHECK_FALSE(store.decisions().get(first.id)->undone_at);  // the journal still says it holds
  store.decisions().undo(second.id);
  store.decisions().undo(first.id);  // in that order, each undo does what it says
  CHECK(reconcile_store(store, k_none, false).persons == 3);
  CHECK(person_of(store, k_anna_psid.key()) == fb);
}

TEST_CASE("while a merge holds, its persons' nodes are all the survivor's: a handle leaving does not undo it",
          "[identity]") {
  StateStore store(":memory:");
  // P: an SMS number alone, the older person. Q: a CRM record with an address and another number.
  commit(store, {conversation("c1", k_anna_phone.value, 1)});
  reconcile_store(store, k_none, false);
  const std::string p = person_of(store, k_anna_phone.key());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const Handle q_phone{HandleKind::phone, "+4915199999999", true}, q_mail{HandleKind::email, "q@example.com", true};
  store.records().commit_contacts("crm", "contacts", {Contact{"crm", "2", "Q", "", {q_phone, q_mail}}}, {}, "x");
  reconcile_store(store, k_none, false);
  const std::string q = person_of(store, "crm_id:crm/2");
  REQUIRE(q != p);
  store.decisions().merge(q, p, "one customer");
  reconcile_store(store, k_none, false);
  REQUIRE(person_of(store, "crm_id:crm/2") == p);

  // The record gains an address while merged (it becomes p's own), then loses it again.
  const Handle added{HandleKind::email, "new@example.com", true};
  store.records().commit_contacts("crm", "contacts", {Contact{"crm", "2", "Q", "", {q_phone, q_mail, added}}}, {}, "y");
  reconcile_store(store, k_none, false);
  REQUIRE(person_of(store, added.key()) == p);
  // The address keeps a conversation of its own, so it stays a node when the record drops it.
  store.records().commit_contacts("crm", "contacts", {Contact{"crm", "2", "Q", "", {q_phone, q_mail}}}, {}, "z");
  store.records().commit_conversations(
      "mail", "conversations", {Conversation{"mail", "e1", "email", added, "support@example.com", {}}}, {}, "m");
  reconcile_store(store, k_none, true);
  CHECK(person_of(store, "crm_id:crm/2") == p);  // the merged person keeps its id
  CHECK(person_of(store, k_anna_phone.key()) == p);
  CHECK(person_of(store, added.key()) != p);  // what left is a person of its own
  CHECK(person_of(store, added.key()) != q);  // and q stays merged into p, not brought back
  CHECK(store.identity().survivor_of(q) == p);
}

TEST_CASE("a merge supersedes the split that kept the two apart", "[identity]") {
  StateStore store(":memory:");
  seed_anna(store);
  reconcile_store(store, k_none, false);
  const std::string anna = person_of(store, "crm_id:crm/1");
  const auto split = store.decisions().split(anna, k_anna_phone.key(), "");
  reconcile_store(store, k_none, false);
  const std::string phone = person_of(store, k_anna_phone.key());
  REQUIRE(phone != anna);
  const auto merge = store.decisions().merge(anna, phone, "it was her number after all");
  CHECK(reconcile_store(store, k_none, false).persons == 2);  // Anna (with her phone) and Messenger
  CHECK(person_of(store, k_anna_phone.key()) == person_of(store, "crm_id:crm/1"));
  const auto row = store.decisions().get(split.id);
  REQUIRE(row);
  CHECK(row->undone_at);
  CHECK(row->undo_note == "superseded by merge #" + std::to_string(merge.id));
  CHECK(store.decisions().active().size() == 1);

  // Undoing the merge puts the split back: the two are apart again, and the split can be undone.
  store.decisions().undo(merge.id);
  const auto again = store.decisions().get(split.id);
  REQUIRE(again);
  CHECK_FALSE(again->undone_at);
  CHECK(again->undo_note.empty());
  CHECK(reconcile_store(store, k_none, false).persons == 3);
  CHECK(person_of(store, k_anna_phone.key()) != person_of(store, "crm_id:crm/1"));
  store.decisions().undo(split.id);
  CHECK(reconcile_store(store, k_none, false).persons == 2);
  CHECK(person_of(store, k_anna_phone.key()) == person_of(store, "crm_id:crm/1"));
}

TEST_CASE("erasing a handle keeps the decisions about the rest of the person; one left with an empty side goes",
          "[identity][erase]") {
  StateStore store(":memory:");
  seed_anna(store);
  reconcile_store(store, k_none, false);
  const std::string anna = person_of(store, "crm_id:crm/1"), fb = person_of(store, k_anna_psid.key());
  REQUIRE(anna != fb);
  const auto merge = store.decisions().merge(anna, fb, "the same customer: Anna@Example.com wrote on Messenger");
  reconcile_store(store, k_none, false);
  const std::string email = Handle{HandleKind::email, "anna@example.com", true}.key();
  const auto split = store.decisions().split(person_of(store, email), email, "a shared inbox");
  reconcile_store(store, k_none, false);
  REQUIRE(person_of(store, email) != person_of(store, "crm_id:crm/1"));

  const auto erased = erase_person(store, "", email, false);  // the person split off: the address alone
  CHECK(erased.nodes == std::vector<std::string>{email});
  CHECK(erased.decisions == 2);
  reconcile_store(store, k_none, false);
  CHECK(person_of(store, k_anna_psid.key()) == person_of(store, "crm_id:crm/1"));  // the merge still holds
  const auto m = store.decisions().get(merge.id);
  REQUIRE(m);
  CHECK_FALSE(m->undone_at);
  CHECK(m->reason == "(erased)");  // it named the erased address
  for (const auto* side : {&m->a_nodes, &m->b_nodes}) {
    CHECK_FALSE(side->empty());
    CHECK(std::find(side->begin(), side->end(), email) == side->end());
  }
  CHECK_FALSE(store.decisions().get(split.id));  // all it split off was erased
}

TEST_CASE("persons explain shows each link with its record, refused unions with the rule, and decisions",
          "[identity]") {
  StateStore store(":memory:");
  seed_anna(store);
  // A second record of the same CRM with her email: the protection refuses joining them.
  Contact dup{"crm", "2", "A.", "Weber", {Handle{HandleKind::email, "anna@example.com", true}}};
  Contact other{"other", "9", "Anna", "W", {k_anna_phone, Handle{HandleKind::email, "aw@example.org", true}}};
  store.records().commit_contacts("crm", "contacts", {dup}, {}, "x2");
  store.records().commit_contacts("other", "contacts", {other}, {}, "x3");
  reconcile_store(store, k_none, false);
  const std::string anna = person_of(store, "crm_id:crm/1");
  const auto d = store.decisions().merge(anna, person_of(store, k_anna_psid.key()), "chat");
  reconcile_store(store, k_none, false);

  const auto x = explain_person(store, k_none, {}, anna);
  CHECK(x.person_id == anna);
  CHECK_FALSE(x.stale);
  std::set<std::string> nodes;
  for (const auto& n : x.nodes) nodes.insert(n.node);
  CHECK(nodes == std::set<std::string>{"crm_id:crm/1", "crm_id:other/9", "email:aw@example.org", k_anna_phone.key(),
                                       k_anna_psid.key()});
  const auto phone = std::find_if(x.nodes.begin(), x.nodes.end(), [](auto& n) { return n.node == k_anna_phone.key(); });
  REQUIRE(phone != x.nodes.end());
  CHECK(phone->conversations == std::vector<std::pair<std::string, std::int64_t>>{{"sms", 1}});
  CHECK(phone->listed_on == std::vector<std::string>{"crm_id:crm/1", "crm_id:other/9"});
  const auto rec = std::find_if(x.nodes.begin(), x.nodes.end(), [](auto& n) { return n.node == "crm_id:crm/1"; });
  CHECK(rec->name == "Anna Weber");

  const auto has_link = [&](const std::string& a, const std::string& b) {
    return std::any_of(x.links.begin(), x.links.end(), [&](const IdentityEdge& e) { return e.a == a && e.b == b; });
  };
  CHECK(has_link("crm_id:crm/1", k_anna_phone.key()));
  CHECK(has_link("crm_id:other/9", k_anna_phone.key()));
  // The email is on crm/1 and crm/2: shared, so it joins no one and is reported as such.
  CHECK_FALSE(nodes.count("email:anna@example.com"));
  REQUIRE(x.decisions.size() == 1);
  CHECK(x.decisions[0].id == d.id);
  const bool decided = std::any_of(x.links.begin(), x.links.end(), [&](const IdentityEdge& e) {
    return e.decision == d.id && e.outcome == IdentityEdge::Outcome::joined;
  });
  CHECK(decided);
  CHECK(x.aliases.size() == 1);

  // Now the refusal: crm/2 also gets her phone. The phone joins crm/1 first; crm/2 is refused.
  dup.handles.push_back({HandleKind::phone, "+4915112345699", true});
  other.handles.push_back({HandleKind::phone, "+4915112345699", true});
  store.records().commit_contacts("crm", "contacts", {dup}, {}, "x4");
  store.records().commit_contacts("other", "contacts", {other}, {}, "x5");
  reconcile_store(store, k_none, false);
  const auto y = explain_person(store, k_none, {}, anna);
  REQUIRE(y.refused.size() == 1);
  CHECK(y.refused[0].why == "would join two records of crm");
  CHECK(y.refused[0].handle == "phone:+4915112345699");
  REQUIRE(y.elsewhere.size() == 1);
  CHECK(y.elsewhere[0].second == person_of(store, "crm_id:crm/2"));

  // Both conflicts involve two persons (Anna and the duplicate record's); equal counts list by handle.
  const auto conflicts = list_conflicts(store);
  REQUIRE(conflicts.size() == 2);
  CHECK(conflicts[0].node == "email:anna@example.com");
  CHECK(conflicts[0].kind == "shared");
  CHECK(conflicts[0].persons.size() == 2);
  CHECK(conflicts[1].node == "phone:+4915112345699");
  CHECK(conflicts[1].kind == "refused");
  CHECK(conflicts[1].persons ==
        std::vector<std::string>{std::min(anna, y.elsewhere[0].second), std::max(anna, y.elsewhere[0].second)});
  CHECK_THROWS_WITH(explain_person(store, k_none, {}, "p_nobody"), Catch::Contains("no person \"p_nobody\""));
}
