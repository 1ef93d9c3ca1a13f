#include "sync/model.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <random>

#include "sync/json_text.hpp"
#include "sync/plan.hpp"

using namespace chansync;

namespace {

PersonRecord record() {
  PersonRecord p;
  p.person_id = "p_00000000000000a1";
  p.display_name = "Ada";
  p.handles = {{HandleKind::phone, "+4915112345678", true}};
  p.messages = {{"sms", "SM1", "c1", "sms", Direction::inbound, AuthorKind::customer, "+4915112345678",
                 *parse_rfc3339("2026-10-01T09:00:00Z"), "hello"}};
  p.updated_at = p.messages[0].sent_at;
  return p;
}

}  // namespace

TEST_CASE("a record without kind, status or attachments hashes as it did before they existed", "[model]") {
  // The canonical JSON and hash chansync 0.x (schema 4) produced for this record: an upgrade must not
  // re-push every person.
  const auto p = record();
  nlohmann::json j = p;
  j.erase("updated_at");
  CHECK(j.dump() ==
        R"({"contacts":[],"display_name":"Ada","handles":[{"kind":"phone","value":"+4915112345678","verified":true}],)"
        R"("messages":[{"author":{"handle":"+4915112345678","kind":"customer"},"channel":"sms","connector":"sms",)"
        R"("conversation":"c1","direction":"inbound","id":"SM1","sent_at":"2026-10-01T09:00:00.000Z","text":"hello"}],)"
        R"("person_id":"p_00000000000000a1"})");
  CHECK(content_hash(p) == "6106ab89ba4b26c2");
}

TEST_CASE("kind, status and attachments appear in JSON and the hash only when set", "[model]") {
  auto p = record();
  const auto before = content_hash(p);
  auto& m = p.messages[0];
  m.kind = MessageKind::call;
  m.status = "read";
  m.attachments = {{"image", "cat.jpg", "https://cdn.example/cat.jpg"}};
  const nlohmann::json j = m;
  CHECK(j.at("kind") == "call");
  CHECK(j.at("status") == "read");
  CHECK(j.at("attachments") ==
        nlohmann::json::parse(R"([{"type":"image","name":"cat.jpg","url":"https://cdn.example/cat.jpg"}])"));
  CHECK(content_hash(p) != before);
  m.kind = MessageKind::message;
  m.status.clear();
  m.attachments.clear();
  CHECK_FALSE(nlohmann::json(m).contains("kind"));
  CHECK(content_hash(p) == before);
}

TEST_CASE("a status only moves forward and failed wins", "[model]") {
  CHECK(later_status("", "sent") == "sent");
  CHECK(later_status("sent", "delivered") == "delivered");
  CHECK(later_status("read", "delivered") == "read");
  CHECK(later_status("read", "") == "read");
  CHECK(later_status("read", "failed") == "failed");
  CHECK(later_status("failed", "read") == "failed");
  CHECK(later_status("sent", "seen") == "sent");  // an unknown status never replaces a known one
  CHECK_FALSE(valid_status("seen"));
}

TEST_CASE("attachments round-trip through their stored text", "[model]") {
  const std::vector<Attachment> a = {{"file", "invoice.pdf", "https://cdn.example/i.pdf"}, {"image", "", "u"}};
  CHECK(attachments_from_json(attachments_to_json(a)) == a);
  CHECK(attachments_to_json({}).empty());
  CHECK(attachments_from_json("").empty());
  CHECK(message_kind_from("handoff") == MessageKind::handoff);
  CHECK_FALSE(message_kind_from("sms"));
}

TEST_CASE("handles round-trip through their stored text, in any field order", "[model]") {
  const std::vector<Handle> h = {{HandleKind::phone, "+4915112345678", true},
                                 {HandleKind::email, "ada@example.com", false},
                                 {HandleKind::chat_identity, "matrix/@ada:ex\"ample.org", true}};
  CHECK(handles_from_json(nlohmann::json(h).dump()) == h);  // as the store writes them
  CHECK(handles_from_json("[]").empty());
  // Another writer's order and spacing; a kind this version does not know is left out.
  CHECK(handles_from_json(R"([ {"verified": true, "value": "+4915112345678", "kind": "phone"},
                                {"kind": "fax", "value": "1", "verified": true} ])") ==
        std::vector<Handle>{{HandleKind::phone, "+4915112345678", true}});
  CHECK_THROWS(handles_from_json("[{\"kind\": \"phone\""));  // a damaged store's text
  CHECK_THROWS(handles_from_json("{}"));
}

TEST_CASE("a chat_identity handle keeps its namespace through its key", "[model]") {
  const Handle h{HandleKind::chat_identity, "IS00000000000000000000000000000001:anna%20m"};
  CHECK(h.key() == "chat_identity:IS00000000000000000000000000000001:anna%20m");
  const auto back = Handle::from_key(h.key());
  REQUIRE(back);
  CHECK(*back == h);
  CHECK(nlohmann::json(h).at("kind") == "chat_identity");
}

TEST_CASE("contact attributes appear in JSON and the hash only when set, with only the fields set", "[model]") {
  auto p = record();
  Contact c{"crm", "1", "Ada", "Lovelace", {{HandleKind::email, "ada@example.com", true}}};
  p.contacts = {c};
  const auto before = content_hash(p);
  CHECK_FALSE(nlohmann::json(c).contains("attributes"));
  c.attributes.postal_code = "SW1A 1AA";
  c.attributes.birth_date = "1815-12-10";
  CHECK_FALSE(c.attributes.empty());
  CHECK(nlohmann::json(c).at("attributes") ==
        nlohmann::json::parse(R"({"birth_date":"1815-12-10","postal_code":"SW1A 1AA"})"));
  p.contacts = {c};
  CHECK(content_hash(p) != before);
  CHECK(attributes_from_json(attributes_to_json(c.attributes)) == c.attributes);
  c.attributes = {};
  CHECK(attributes_to_json(c.attributes).empty());
  CHECK(attributes_from_json("").empty());
  p.contacts = {c};
  CHECK(content_hash(p) == before);
}

TEST_CASE("digest() gives content_hash() and field_fingerprint() from one serialisation", "[model]") {
  auto p = record();
  CHECK(digest(p).hash == "6106ab89ba4b26c2");
  CHECK(digest(p).fields == field_fingerprint(p));
  // Text that JSON escapes, a contact, another name: still the same as the two computed apart.
  p.display_name = "Zoë \"Z\" Ødegård\n";
  p.messages[0].text = "tab\there, emoji 🙂, quote \", backslash \\";
  p.contacts.push_back(Contact{"crm", "7", "Zoë", "Ødegård", {{HandleKind::email, "zoe@example.com", true}}});
  CHECK(digest(p).hash == content_hash(p));
  CHECK(digest(p).fields == field_fingerprint(p));
  CHECK(digest(p).hash != "6106ab89ba4b26c2");
}

TEST_CASE("digest() writes the record's JSON itself, byte for byte what nlohmann::json prints", "[model]") {
  // content_hash() and field_fingerprint() go through nlohmann::json; digest() writes the text
  // directly. Records with every optional member present or not, and text JSON escapes.
  std::mt19937 rng(12);
  const std::vector<std::string> pieces = {"a",  "Zoë",  "🙂", "\"",   "\\", "\n",     "\t", "\r", "\b",
                                           "\f", "\x01", "\x1f", "\x7f", "/",  "\u2028", "",   " ",  "Ødegård"};
  auto text = [&] {
    std::string out;
    for (int n = static_cast<int>(rng() % 5); n > 0; --n) out += pieces[rng() % pieces.size()];
    return out;
  };
  auto handle = [&] { return Handle{static_cast<HandleKind>(rng() % 4), text(), rng() % 2 == 0}; };
  std::vector<PersonRecord> all;
  for (int round = 0; round < 300; ++round) {
    PersonRecord& p = all.emplace_back();
    p.person_id = text();
    p.display_name = text();
    p.updated_at = static_cast<Timestamp>(rng());
    for (int n = static_cast<int>(rng() % 3); n > 0; --n) p.handles.push_back(handle());
    for (int n = static_cast<int>(rng() % 3); n > 0; --n) {
      Contact c{text(), text(), text(), text(), {}, rng() % 2 == 0, static_cast<Timestamp>(rng())};
      for (int k = static_cast<int>(rng() % 3); k > 0; --k) c.handles.push_back(handle());
      if (rng() % 2) c.attributes = {text(), text(), text(), text()};
      p.contacts.push_back(std::move(c));
    }
    for (int n = static_cast<int>(rng() % 4); n > 0; --n) {
      Message m{text(),
                text(),
                text(),
                text(),
                static_cast<Direction>(rng() % 2),
                static_cast<AuthorKind>(rng() % 4),
                text(),
                static_cast<Timestamp>(rng()) * 1000,
                text(),
                static_cast<MessageKind>(rng() % 4),
                rng() % 2 ? std::string() : text()};
      for (int k = static_cast<int>(rng() % 3); k > 0; --k)
        m.attachments.push_back({text(), text(), text(), rng() % 2 ? 0 : static_cast<std::int64_t>(rng())});
      p.messages.push_back(std::move(m));
    }
    INFO(nlohmann::json(p).dump());
    const auto d = digest(p);
    REQUIRE(d.hash == content_hash(p));
    REQUIRE(d.fields == field_fingerprint(p));
    REQUIRE(person_json(p) == nlohmann::json(p).dump());
    REQUIRE(d.json == nlohmann::json(p).dump());  // the line a push hands its sink
  }
  // digests() hashes two records side by side, each lane taking the next record when its own is
  // done: records of every length, a long one among them, give what digest() gives each alone.
  all[7].messages.push_back(all[8].messages.empty() ? Message{} : all[8].messages.front());
  all[7].messages.back().text = std::string(100'000, 'x') + "🙂";
  std::vector<const PersonRecord*> records;
  for (const auto& p : all) records.push_back(&p);
  const auto side_by_side = digests(records);
  REQUIRE(side_by_side.size() == all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    INFO(i);
    const auto alone = digest(all[i]);
    REQUIRE(side_by_side[i].hash == alone.hash);
    REQUIRE(side_by_side[i].fields == alone.fields);
    REQUIRE(side_by_side[i].json == alone.json);
  }
  CHECK(side_by_side[7].hash == content_hash(all[7]));
  CHECK(digests({}).empty());
  // Text that is not UTF-8 (an older chansync stored some from mail): each invalid byte is written
  // as U+FFFD, so the person is pushed and printed as if it had been, not refused with the whole push.
  PersonRecord bad = record(), replaced = record();
  bad.messages[0].text = "caf\xe9";
  replaced.messages[0].text = "caf\xef\xbf\xbd";
  CHECK(content_hash(bad) == content_hash(replaced));
  CHECK(digest(bad).hash == digest(replaced).hash);
  CHECK(digest(bad).fields == digest(replaced).fields);
  CHECK(person_json(bad) == person_json(replaced));
  bad.messages[0].text = "\xed\xa0\x80";  // a UTF-16 surrogate, encoded
  const auto three = digests({&all[0], &bad, &all[1]});
  CHECK(three[0].hash == content_hash(all[0]));
  CHECK(three[2].hash == content_hash(all[1]));
  CHECK(nlohmann::json::parse(person_json(bad))["messages"][0]["text"] == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}
