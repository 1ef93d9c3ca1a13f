#include "adapters/meta/meta_api.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "adapters/meta/graph.hpp"
#include "adapters/ondemand_text.hpp"
#include "sync/health_signals.hpp"

namespace chansync::adapters::meta {
namespace {

using nlohmann::json;
namespace od = simdjson::ondemand;

// One pass of simdjson On-Demand per page: the pages are a pull's hot path (a conversation page is
// 25 conversations with up to 100 messages each), and a record's dead letter keeps its bytes exactly
// as Graph sent them, which On-Demand gives back (raw_json) and a parsed DOM cannot.

// The text of member `key` of `v` when `v` is an object ("" otherwise or when absent).
std::string member_text(od::value v, std::string_view key) {
  if (v.type() != od::json_type::object) return {};
  std::string out;
  for (auto f : v.get_object())
    if (f.unescaped_key().value() == key) out = text_of(f.value());
  return out;
}

// The JSON text of a record (an array element); `obj` is set to it when it is an object.
std::string raw_text(od::value& v, std::optional<od::object>& obj) {
  if (v.type() != od::json_type::object) return std::string(simdjson::to_json_string(v).value());
  obj = v.get_object().value();
  std::string raw(std::string_view(obj->raw_json()));
  obj->reset();
  return raw;
}

// The elements of `v`'s member "data" when `v` is an object and that member an array, to `each`.
template <class Each>
void each_in_data(od::value v, Each each) {
  if (v.type() != od::json_type::object) return;
  for (auto f : v.get_object()) {
    if (f.unescaped_key().value() != "data") continue;
    od::value list = f.value();
    if (list.type() != od::json_type::array) continue;
    for (auto item : list.get_array()) each(item.value());
  }
}

// A Graph attachment: {"id", "mime_type", "name", "size", "image_data": {"url", ...},
// "video_data": {"url", ...}, "file_url"}. Instagram sends the same shape.
Attachment attachment(od::object a) {
  Attachment out;
  std::string mime, image_url, video_url, file_url, payload_url;
  bool image = false, video = false;
  for (auto f : a) {
    const std::string_view k = f.unescaped_key();
    if (k == "name") {
      out.name = text_of(f.value());
    } else if (k == "mime_type") {
      mime = text_of(f.value());
    } else if (k == "image_data") {
      image = true;
      image_url = member_text(f.value(), "url");
    } else if (k == "video_data") {
      video = true;
      video_url = member_text(f.value(), "url");
    } else if (k == "file_url") {
      file_url = text_of(f.value());
    } else if (k == "payload") {
      payload_url = member_text(f.value(), "url");
    }
  }
  if (image) {
    out.type = mime == "image/gif" ? "gif" : "image";
    out.url = image_url;
  } else if (video) {
    out.type = "video";
    out.url = video_url;
  } else if (mime.starts_with("image/")) {
    out.type = "image";
  } else if (mime.starts_with("video/")) {
    out.type = "video";
  } else if (mime.starts_with("audio/")) {
    out.type = "audio";
  } else {
    out.type = "file";
  }
  if (out.url.empty()) out.url = file_url;
  if (out.url.empty()) out.url = payload_url;
  return out;
}

// The elements of a messages array ("data" of a conversation's messages, or of a nested page).
void read_messages(od::array data, std::vector<WireMessage>& out, std::vector<DeadLetter>& rejects) {
  for (auto item : data) {
    od::value v = item.value();
    std::optional<od::object> m;
    WireMessage w;
    w.raw = raw_text(v, m);
    if (!m) {
      rejects.push_back({"", "message is not a JSON object", w.raw});
      continue;
    }
    for (auto f : *m) {
      const std::string_view k = f.unescaped_key();
      if (k == "id") {
        w.id = text_of(f.value());
      } else if (k == "created_time") {
        w.created_time = text_of(f.value());
      } else if (k == "from") {
        w.from_id = member_text(f.value(), "id");
      } else if (k == "message") {
        w.text = text_of(f.value());
      } else if (k == "sticker") {  // the sticker's image URL; the webhook sends it as an image attachment
        if (auto url = text_of(f.value()); !url.empty()) w.attachments.push_back(Attachment{"image", "", url});
      } else if (k == "attachments") {
        each_in_data(f.value(), [&](od::value a) {
          if (a.type() == od::json_type::object) w.attachments.push_back(attachment(a.get_object()));
        });
      }
    }
    if (w.id.empty() || w.from_id.empty()) {
      rejects.push_back({w.id, "message lacks id or from.id", w.raw});
      continue;
    }
    out.push_back(std::move(w));
  }
}

// A conversation's messages: {"data": [...], "paging": {"next": ...}}.
void read_nested_messages(od::value v, WireConversation& w, std::vector<DeadLetter>& rejects) {
  if (v.type() != od::json_type::object) return;
  for (auto f : v.get_object()) {
    const std::string_view k = f.unescaped_key();
    od::value x = f.value();
    if (k == "data" && x.type() == od::json_type::array)
      read_messages(x.get_array(), w.messages, rejects);
    else if (k == "paging")
      w.messages_next = member_text(x, "next");
  }
}

void read_participants(od::value v, std::vector<WireParticipant>& out) {
  each_in_data(v, [&](od::value p) {
    if (p.type() != od::json_type::object) return;
    WireParticipant w;
    std::string username;
    for (auto f : p.get_object()) {
      const std::string_view k = f.unescaped_key();
      if (k == "id")
        w.id = text_of(f.value());
      else if (k == "name")
        w.name = text_of(f.value());
      else if (k == "username")
        username = text_of(f.value());
    }
    if (w.name.empty()) w.name = std::move(username);
    out.push_back(std::move(w));
  });
}

// Parses `body` and hands each member of its top-level object to `member`; Errc::protocol naming
// `what` when it is not an object with a "data" array, or not JSON.
template <class Member>
Result<void> read_page(const std::string& body, std::string_view what, Member member) {
  try {
    thread_local od::parser parser;
    const simdjson::padded_string padded(body);
    auto doc = parser.iterate(padded);
    bool saw_data = false;
    if (doc.type() == od::json_type::object)
      for (auto f : doc.get_object()) {
        const std::string_view k = f.unescaped_key();
        od::value v = f.value();
        if (k == "data") {
          if (v.type() != od::json_type::array) break;
          saw_data = true;
        }
        member(k, v);
      }
    if (!saw_data) return fail(Errc::protocol, fmt::format("Graph {} page has no \"data\" array", what));
  } catch (const simdjson::simdjson_error& e) {
    return fail(Errc::protocol, fmt::format("Graph {} page is not valid JSON ({})", what, e.what()));
  }
  return {};
}

}  // namespace

Result<ConversationsPage> parse_conversations_page(const std::string& body) {
  ConversationsPage page;
  auto read = read_page(body, "conversations", [&](std::string_view key, od::value v) {
    if (key == "data") {
      for (auto item : v.get_array()) {
        od::value c = item.value();
        std::optional<od::object> obj;
        WireConversation w;
        w.raw = raw_text(c, obj);
        std::vector<DeadLetter> rejects;
        if (obj)
          for (auto f : *obj) {
            const std::string_view k = f.unescaped_key();
            if (k == "id")
              w.id = text_of(f.value());
            else if (k == "updated_time")
              w.updated_time = text_of(f.value());
            else if (k == "participants")
              read_participants(f.value(), w.participants);
            else if (k == "messages")
              read_nested_messages(f.value(), w, rejects);
          }
        if (w.id.empty()) {
          page.rejects.push_back({"", "conversation lacks an id", w.raw});
          continue;
        }
        page.rejects.insert(page.rejects.end(), rejects.begin(), rejects.end());
        page.conversations.push_back(std::move(w));
      }
    } else if (key == "paging" && v.type() == od::json_type::object) {
      for (auto f : v.get_object()) {
        const std::string_view k = f.unescaped_key();
        if (k == "cursors")
          page.after = member_text(f.value(), "after");
        else if (k == "next")
          page.has_next = !text_of(f.value()).empty();
      }
    }
  });
  if (!read) return std::unexpected(read.error());
  if (page.has_next && page.after.empty())
    return fail(Errc::protocol, "Graph conversations page has paging.next but no paging.cursors.after");
  return page;
}

Result<std::vector<WireMessage>> parse_messages_page(const std::string& body, std::string& next,
                                                     std::vector<DeadLetter>& rejects) {
  std::vector<WireMessage> out;
  next.clear();
  auto read = read_page(body, "messages", [&](std::string_view key, od::value v) {
    if (key == "data")
      read_messages(v.get_array(), out, rejects);
    else if (key == "paging")
      next = member_text(v, "next");
  });
  if (!read) return std::unexpected(read.error());
  return out;
}

Usage parse_usage(const std::map<std::string, std::string>& headers) {
  const auto u = meta_usage(headers);  // read in one place, for pulls and health alike
  return {u.percent, u.regain_minutes, u.which};
}

std::string instagram_account_of(const std::string& body) {
  try {
    const auto doc = json::parse(body);
    if (doc.is_object() && doc.contains("instagram_business_account"))
      return field(doc["instagram_business_account"], "id");
  } catch (const json::exception&) {
  }
  return {};
}

}  // namespace chansync::adapters::meta
