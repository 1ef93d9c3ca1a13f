#include "adapters/hubspot/hubspot_notes.hpp"

#include <catch2/catch.hpp>

using namespace chansync;
using namespace chansync::adapters::hubspot;

namespace {

Message message(int i, std::string text = "hello") {
  return {"sms",
          "SM" + std::to_string(i),
          "c1",
          "sms",
          Direction::inbound,
          AuthorKind::customer,
          "+4915112345678",
          1'700'000'000'000 + Timestamp{i} * 60'000,
          std::move(text)};
}

PersonRecord person(int messages) {
  PersonRecord p{"p_0000000000000001", "Kim Lee"};
  for (int i = 0; i < messages; ++i) p.messages.push_back(message(i));
  return p;
}

}  // namespace

TEST_CASE("a noted-through mark reads back what it wrote and refuses anything else", "[hubspot]") {
  const auto mark = parse_mark(format_mark({"wa-main", "wamid.HBg: x y", "c", "whatsapp", Direction::inbound,
                                            AuthorKind::customer, "", 1'700'000'000'123, ""}));
  REQUIRE(mark);
  CHECK(mark->sent_at == 1'700'000'000'123);
  CHECK(mark->connector == "wa-main");
  CHECK(mark->id == "wamid.HBg: x y");  // an id may hold spaces: it is the rest of the value
  for (const char* bad : {"", "1700000000123", "1700000000123 sms", "1700000000123 sms ", "soon sms SM1", " sms SM1"})
    CHECK_FALSE(parse_mark(bad));
}

TEST_CASE("timeline notes hold the messages after the mark, escaped, stamped with the newest", "[hubspot]") {
  auto p = person(3);
  p.messages[2].text = "<b>Tom & \"Jerry\"</b>\nsecond line";
  const auto all = timeline_notes(p, std::nullopt);
  REQUIRE(all.size() == 1);
  CHECK(all[0].messages == 3);
  CHECK(all[0].timestamp == p.messages[2].sent_at);
  CHECK(all[0].mark == format_mark(p.messages[2]));
  CHECK(all[0].key.starts_with("p_0000000000000001-"));
  CHECK_THAT(all[0].body, Catch::Contains("&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;<br>second line"));
  CHECK_THAT(all[0].body, !Catch::Contains("<b>Tom"));
  CHECK_THAT(all[0].body,
             Catch::Contains("2023-11-14 22:13:20 UTC \u00b7 sms \u00b7 inbound \u00b7 customer +4915112345678"));

  const auto rest = timeline_notes(p, parse_mark(format_mark(p.messages[0])));
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].messages == 2);
  CHECK_THAT(rest[0].body, !Catch::Contains("22:13:20"));  // message 0 was noted before
  CHECK(rest[0].key != all[0].key);
  CHECK(timeline_notes(p, parse_mark(all[0].mark)).empty());
}

TEST_CASE("a note shows an entry's kind, status and attachments as escaped links", "[hubspot]") {
  auto p = person(1);
  p.messages[0].text.clear();
  p.messages[0].kind = MessageKind::call;
  p.messages[0].direction = Direction::outbound;
  p.messages[0].status = "read";
  p.messages[0].attachments = {{"image", "a&b.jpg", "https://cdn.example/x?a=1&b=2"}, {"audio", "", "https://u/2"}};
  const auto notes = timeline_notes(p, std::nullopt);
  REQUIRE(notes.size() == 1);
  CHECK_THAT(notes[0].body, Catch::Contains("sms call \u00b7 outbound (read)"));
  CHECK_THAT(notes[0].body, Catch::Contains(R"(<a href="https://cdn.example/x?a=1&amp;b=2">image: a&amp;b.jpg</a>)"
                                            R"(<br><a href="https://u/2">audio</a>)"));
}

TEST_CASE("notes are cut at the same places however many messages follow, so keys repeat", "[hubspot]") {
  const auto p = person(250);
  const auto notes = timeline_notes(p, std::nullopt);
  REQUIRE(notes.size() == 3);
  CHECK(notes[0].messages == k_note_max_messages);
  CHECK(notes[1].messages == k_note_max_messages);
  CHECK(notes[2].messages == 50);
  CHECK(notes[0].mark == format_mark(p.messages[99]));
  CHECK(notes[1].key != notes[0].key);
  // A re-run after more messages arrived: the first notes are the same, the last one grows.
  const auto more = timeline_notes(person(260), std::nullopt);
  REQUIRE(more.size() == 3);
  CHECK(more[0].key == notes[0].key);
  CHECK(more[0].body == notes[0].body);
  CHECK(more[2].key == notes[2].key);
  CHECK(more[2].messages == 60);
}

TEST_CASE("a long message is clipped so that every note stays under HubSpot's body limit", "[hubspot]") {
  PersonRecord p = person(0);
  p.messages.push_back(message(0, std::string(50'000, 'a')));
  for (int i = 1; i <= 3; ++i) p.messages.push_back(message(i, std::string(25'000, 'b')));
  const auto notes = timeline_notes(p, std::nullopt);
  REQUIRE(notes.size() == 3);
  for (const auto& n : notes) CHECK(n.body.size() <= k_note_max_bytes + 200);  // + the heading
  CHECK_THAT(notes[0].body, Catch::Contains(std::string(40'000, 'a') + "\u2026"));
  CHECK_THAT(notes[0].body, !Catch::Contains(std::string(40'001, 'a')));
  CHECK(notes[0].messages == 1);
  CHECK(notes[1].messages == 2);
  CHECK(notes[2].messages == 1);
}

TEST_CASE("a message is clipped by its escaped length: quotes and line breaks count as HubSpot stores them",
          "[hubspot]") {
  PersonRecord p = person(0);
  std::string quotes;
  while (quotes.size() < 30'000) quotes += "\"x\"\n";
  p.messages.push_back(message(1, quotes));
  p.messages[0].attachments.assign(5'000, Attachment{"image", "p.jpg", "https://cdn.example/" + std::string(100, 'p')});
  const auto notes = timeline_notes(p, std::nullopt);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].body.size() <= 40'000 + 400);  // the line's budget, the heading and the paragraph
  CHECK_THAT(notes[0].body, Catch::Contains("&quot;x&quot;<br>") && Catch::Contains("\u2026") &&
                                Catch::Contains("(5000 more attachments)"));
}
