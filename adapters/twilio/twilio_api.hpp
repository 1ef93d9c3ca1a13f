#pragma once
// Twilio Messaging (2010-04-01) wire format: GET /Accounts/{Sid}/Messages.json pages and error bodies.
#include <string>
#include <string_view>
#include <vector>

#include "sync/error.hpp"
#include "sync/model.hpp"

namespace chansync::adapters::twilio {

struct WireMessage {
  std::string sid;
  std::string from;
  std::string to;
  std::string body;
  std::string direction;  // inbound | outbound-api | outbound-call | outbound-reply
  std::string date_sent;  // RFC 2822; may be empty (null) for queued messages
  std::string date_created;
  std::string_view raw;  // the message's JSON exactly as received; points into the page body
};

struct MessagesPage {
  std::vector<WireMessage> messages;
  std::vector<DeadLetter> rejects;  // entries without sid/from/to/direction
  std::string next_page_uri;        // relative; "" when null (last page)
};

// Parses one Messages.json page with simdjson On-Demand, in place: `body` gets simdjson's padding
// as spare capacity (its contents are unchanged) and must outlive the page, whose `raw` views point
// into it. Errc::protocol when the body is not the documented shape (not JSON, no "messages" array,
// non-string next_page_uri).
Result<MessagesPage> parse_messages_page(std::string& body);

// Twilio's error body {"code": 20003, "message": "...", "more_info": ..., "status": 401}.
struct WireError {
  std::string code;
  std::string message;
};
WireError parse_error(const std::string& body);

// The "sid" of an account resource (GET /2010-04-01/Accounts/{Sid}.json); "" when the body is not one.
std::string account_sid_of(const std::string& body);

}  // namespace chansync::adapters::twilio
