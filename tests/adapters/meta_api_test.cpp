// The Graph wire parser on its own: the records it keeps, the dead letters it makes (with the bytes
// Graph sent, spacing included), the attachment kinds, and the pages it refuses.
#include "adapters/meta/meta_api.hpp"

#include <catch2/catch.hpp>

using namespace chansync;
using namespace chansync::adapters::meta;

namespace {

// A conversations page with one good conversation (every attachment kind, an Instagram username, a
// numeric id, nulls), one without an id, and bad messages; spacing as a pretty-printer would leave it.
const std::string k_page = R"({
  "data": [
    {"id": "t_1", "updated_time": "2026-10-02T10:00:00+0000",
     "participants": {"data": [{"id": "111", "name": "Anna"}, {"id": 222, "username": "anna.ig"}, "junk"]},
     "messages": {
       "data": [
         {"id": "m_1", "created_time": "2026-10-02T10:00:00+0000", "from": {"id": "111"}, "message": "hi \"there\"",
          "attachments": {"data": [
            {"name": "a.png", "mime_type": "image/png", "image_data": {"url": "https://cdn/a.png"}},
            {"mime_type": "image/gif", "image_data": {"url": "https://cdn/b.gif"}},
            {"mime_type": "video/mp4", "video_data": {"url": "https://cdn/c.mp4"}},
            {"name": "d.ogg", "mime_type": "audio/ogg", "file_url": "https://cdn/d.ogg"},
            {"mime_type": "application/pdf", "payload": {"url": "https://cdn/e.pdf"}},
            {"name": "f.bin"}
          ]}},
         {"id": "m_2", "created_time": "2026-10-02T09:00:00+0000", "from": {"id": "222"}, "message": null},
         {  "id": "m_3",   "message": "no sender" },
         42
       ],
       "paging": {"cursors": {"after": "x"}, "next": "https://graph.facebook.com/v23.0/t_1/messages?after=x"}
     }},
    {  "updated_time": "2026-10-01T00:00:00+0000", "messages": {"data": [{"id": "m_9", "from": "not an object"}]}  },
    "not a conversation"
  ],
  "paging": {"cursors": {"before": "b", "after": "QVFI"}, "next": "https://graph.facebook.com/v23.0/p/conversations?after=QVFI"}
})";

}  // namespace

TEST_CASE("meta wire: a conversations page's records, dead letters with Graph's own bytes, and attachment kinds",
          "[meta][meta_api]") {
  const auto page = parse_conversations_page(k_page);
  REQUIRE(page);
  CHECK(page->after == "QVFI");
  CHECK(page->has_next);
  REQUIRE(page->conversations.size() == 1);
  const auto& c = page->conversations[0];
  CHECK(c.id == "t_1");
  CHECK(c.updated_time == "2026-10-02T10:00:00+0000");
  REQUIRE(c.participants.size() == 2);
  CHECK(c.participants[0].id == "111");
  CHECK(c.participants[0].name == "Anna");
  CHECK(c.participants[1].id == "222");  // a number, read as its text
  CHECK(c.participants[1].name == "anna.ig");
  CHECK(c.messages_next == "https://graph.facebook.com/v23.0/t_1/messages?after=x");
  CHECK(c.raw.starts_with(R"({"id": "t_1", "updated_time")"));
  CHECK(c.raw.ends_with("}\n     }}"));

  REQUIRE(c.messages.size() == 2);
  const auto& m = c.messages[0];
  CHECK(m.id == "m_1");
  CHECK(m.from_id == "111");
  CHECK(m.text == "hi \"there\"");
  const std::vector<Attachment> want = {
      {"image", "a.png", "https://cdn/a.png"}, {"gif", "", "https://cdn/b.gif"},  {"video", "", "https://cdn/c.mp4"},
      {"audio", "d.ogg", "https://cdn/d.ogg"}, {"file", "", "https://cdn/e.pdf"}, {"file", "f.bin", ""},
  };
  CHECK(m.attachments == want);
  CHECK(c.messages[1].text.empty());  // null
  CHECK(c.messages[1].attachments.empty());

  // The kept conversation's bad messages, then the conversation without an id (its own bad message
  // is not reported apart) and an element that is not an object.
  REQUIRE(page->rejects.size() == 4);
  CHECK(page->rejects[0].record_id == "m_3");
  CHECK(page->rejects[0].error == "message lacks id or from.id");
  CHECK(page->rejects[0].raw == R"({  "id": "m_3",   "message": "no sender" })");
  CHECK(page->rejects[1].error == "message is not a JSON object");
  CHECK(page->rejects[1].raw == "42");
  CHECK(page->rejects[2].error == "conversation lacks an id");
  CHECK(
      page->rejects[2].raw ==
      R"({  "updated_time": "2026-10-01T00:00:00+0000", "messages": {"data": [{"id": "m_9", "from": "not an object"}]}  })");
  CHECK(page->rejects[3].error == "conversation lacks an id");
  CHECK(page->rejects[3].raw == R"("not a conversation")");
}

TEST_CASE("meta wire: a nested messages page, and the pages refused as not Graph's shape", "[meta][meta_api]") {
  std::string next = "stale";
  std::vector<DeadLetter> rejects;
  const auto msgs =
      parse_messages_page(R"({"data": [{"id": "m_5", "from": {"id": "1"}, "created_time": "2026-10-01T00:00:00+0000"},)"
                          R"( {"id": "m_6", "from": {"id": "1"}, "created_time": "2026-10-01T00:00:01+0000",)"
                          R"(  "sticker": "https://scontent.xx.fbcdn.net/v/sticker.png"}], "paging": {}})",
                          next, rejects);
  REQUIRE(msgs);
  REQUIRE(msgs->size() == 2);
  CHECK((*msgs)[0].id == "m_5");
  // A sticker is Graph's `sticker` field, not an attachment: an image, as the webhook sends it.
  REQUIRE((*msgs)[1].attachments.size() == 1);
  CHECK((*msgs)[1].attachments[0] == Attachment{"image", "", "https://scontent.xx.fbcdn.net/v/sticker.png"});
  CHECK(next.empty());  // no paging.next: the last page
  CHECK(rejects.empty());

  const auto refused = [](const std::string& body) {
    const auto p = parse_conversations_page(body);
    REQUIRE_FALSE(p);
    CHECK(p.error().code == Errc::protocol);
    return p.error().message;
  };
  CHECK_THAT(refused(R"({"data": {"id": "t_1"}})"), Catch::Contains("no \"data\" array"));
  CHECK_THAT(refused(R"([{"id": "t_1"}])"), Catch::Contains("no \"data\" array"));
  CHECK_THAT(refused(R"({"paging": {}})"), Catch::Contains("no \"data\" array"));
  CHECK_THAT(refused(R"({"data": [{"id": "t_1"})"), Catch::Contains("not valid JSON"));
  CHECK_THAT(refused("<html>502 Bad Gateway</html>"), Catch::Contains("not valid JSON"));
  CHECK_THAT(refused(R"({"data": [], "paging": {"next": "https://graph.facebook.com/x"}})"),
             Catch::Contains("no paging.cursors.after"));
  std::vector<DeadLetter> none;
  const auto bad = parse_messages_page("{\"data\": [", next, none);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("Graph messages page is not valid JSON"));
}
