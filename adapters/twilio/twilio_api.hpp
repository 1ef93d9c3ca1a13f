#pragma once
// Twilio's 2010-04-01 REST API wire format: GET /Accounts/{Sid}/Messages.json and Calls.json pages,
// and error bodies.
#include <string>
#include <string_view>
#include <vector>

#include "adapters/http.hpp"
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
  std::string status;     // queued, sent, delivered, read, undelivered, failed, canceled, received, ...
  std::string num_media;  // "0"; the media themselves are a subresource, not read
  std::string_view raw;   // the message's JSON exactly as received; points into the page body
};

struct WireCall {
  std::string sid;
  std::string from;  // a number, or what Twilio reports for a caller without one ("anonymous", ...)
  std::string to;
  std::string direction;   // inbound | outbound-api | outbound-dial (trunking-originating | -terminating)
  std::string status;      // queued | ringing | in-progress | completed | busy | failed | no-answer | canceled
  std::string start_time;  // RFC 2822; empty (null) when the call was never dialed
  std::string end_time;
  std::string date_created;
  std::string duration;         // seconds, as a string; empty for busy, failed, unanswered or ongoing calls
  std::string parent_call_sid;  // set on a leg a <Dial> (or a conference) made from another call
  std::string_view raw;         // the call's JSON exactly as received; points into the page body
};

// One page of a list resource: its records, the ones lacking the fields every record needs (dead
// letters), and the relative next_page_uri ("" when null: the last page).
template <class W>
struct ListPage {
  std::vector<W> items;
  std::vector<DeadLetter> rejects;
  std::string next_page_uri;
};
using MessagesPage = ListPage<WireMessage>;
using CallsPage = ListPage<WireCall>;

// Parse one Messages.json / Calls.json page with simdjson On-Demand, in place: `body` gets
// simdjson's padding as spare capacity (its contents are unchanged) and must outlive the page,
// whose `raw` views point into it. Errc::protocol when the body is not the documented shape (not
// JSON, no "messages"/"calls" array, non-string next_page_uri). A message lacking sid, from, to or
// direction, a call lacking sid, to or direction, is a reject (a call's `from` may be absent: an
// anonymous caller).
Result<MessagesPage> parse_messages_page(std::string& body);
// The page's next_page_uri read from the raw text without parsing the page, so the next page can be
// requested while this one is parsed: "" when it is null, absent, not a string or not a relative URI
// (none to request); escapes ("\/") decoded. A hint only: the caller uses it when the parsed page
// names the same URI.
std::string peek_next_page_uri(std::string_view body);
Result<CallsPage> parse_calls_page(std::string& body);

// Twilio's error body {"code": 20003, "message": "...", "more_info": ..., "status": 401}.
struct WireError {
  std::string code;
  std::string message;
};
WireError parse_error(const std::string& body);

// Whether Twilio refused a request for the account's concurrency: HTTP 429 with error 20429 ("Too
// Many Requests"). The client's ConcurrencyGate halves its limit on one, and holds it below the level
// refused for a minute.
bool concurrency_refused(const HttpResponse& resp);

// The "sid" of an account resource (GET /2010-04-01/Accounts/{Sid}.json); "" when the body is not one.
std::string account_sid_of(const std::string& body);

}  // namespace chansync::adapters::twilio
