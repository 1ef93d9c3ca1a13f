#pragma once
// What the Meta Graph adapters (meta-messenger, meta-instagram, whatsapp-cloud) share: Graph's error
// body, its classification, and what it means as an Error or as a probe's HealthReport (each adapter
// brings its own words for the fix, GraphAdvice); and reading Graph bodies and webhook payloads.
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/http.hpp"
#include "sync/adapter.hpp"
#include "sync/error.hpp"
#include "sync/health.hpp"

namespace chansync::adapters::meta {

// Graph's error body {"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}.
struct GraphError {
  int code = 0;
  int subcode = 0;
  std::string type;
  std::string message;
  std::string fbtrace_id;
};
// nullopt when the body is not a Graph error (a proxy's HTML page).
std::optional<GraphError> parse_graph_error(const std::string& body);

enum class GraphErrorClass { auth, permission, rate_limited, restricted, deprecated, other };
// 190 → auth (token invalid or expired); 10 and 200–299 → permission; 4, 17, 32, 613, the Business
// Use Case limits 80001–80014 and WhatsApp's 130429 → rate limited; 368 and WhatsApp's 131031 → restricted (Meta
// blocked or locked the account); 12 → deprecated (API version too old).
GraphErrorClass classify_graph_error(int code);

// An adapter's words for what the operator should do.
struct GraphAdvice {
  std::string connector;
  std::string api_version;
  std::string token_fix;       // after "the access token was rejected: …; " — how to get a new one
  std::string permission_fix;  // after "the access token lacks a permission (…); " — which one, where
};

// The Error a Graph error body means: auth, permission and restricted → Errc::auth, rate limited →
// Errc::rate_limited (retry after an hour: usage is a rolling one-hour window), deprecated →
// Errc::config (raise api_version), anything else → Errc::remote. The message names the code,
// subcode, Graph's message and the fbtrace_id (what Meta support asks for).
Error graph_error(const GraphError& e, int http_status, const GraphAdvice& advice);
// "Graph error CODE[/SUBCODE]: MESSAGE (fbtrace_id ID)": what a message quotes of a Graph error.
std::string graph_trace(const GraphError& e);

// A probe of one Graph object: GET `url` with `http`, classified by HTTP status and refined by the
// Graph error code (the evidence keeps code/subcode and the fbtrace_id). Ok only when the body is an
// object whose id is `object_id` (else unknown: something other than Graph answered); `what` names
// the object in that summary. `body` (optional) gets the response body. Never throws.
HealthReport probe_graph_object(HttpClient& http, const std::string& url, const std::string& type,
                                const GraphAdvice& advice, const std::string& object_id, const std::string& what,
                                std::string* body = nullptr);

// Whether a probe_graph_object() report leaves the token and webhook-subscription checks worth
// making: the object answered (ok, or answered with a warning such as usage near its limit or a
// deprecation). A lost subscription loses messages for good, so a busy app still gets asked; an
// object that did not answer (unreachable, refused, gone) says what matters already.
inline bool object_answered(const HealthReport& r) {
  const bool answered = r.evidence.http_status >= 200 && r.evidence.http_status < 300;
  return r.cls == HealthClass::ok || (answered && (r.cls == HealthClass::rate_limited ||
                                                   r.cls == HealthClass::deprecated || r.cls == HealthClass::degraded));
}

// The "id" of a Graph object body; "" when the body is not one.
std::string object_id_of(const std::string& body);

// Member `key` of a JSON object: a string as it is, any other value as its JSON text ("" when absent
// or null, or when `j` is not an object). Graph sends ids as strings, but not everywhere.
std::string field(const nlohmann::json& j, const char* key);

// Member `key` of a JSON object (a null value when absent or `j` is not an object), and the array at
// `key` (an empty one when absent or not an array: iterating a JSON string or object would visit it
// or its members). Payloads are read without trusting their shape.
const nlohmann::json& member(const nlohmann::json& j, const std::string& key);
const nlohmann::json& array_at(const nlohmann::json& j, const std::string& key);

// The bytes of the value at JSON pointer `pointer` ("/entry/0/changes/1") of `text`, exactly as
// sent, for a dead letter (nlohmann cannot give them back); "" when there is none or `text` is not JSON.
std::string raw_at(std::string_view text, const std::string& pointer);

// The conversation of `page` whose id is `blank.id`, appended as `blank` when the page has none yet:
// what one payload says of one customer lands in one conversation.
Conversation& conversation_in(Page<Conversation>& page, const Conversation& blank);

// The parsed webhook payload when it is JSON of `object` with an "entry" array; otherwise the whole
// payload becomes one dead letter on `page` saying why, and nullopt.
std::optional<nlohmann::json> webhook_document(std::string_view payload, std::string_view object,
                                               Page<Conversation>& page);

}  // namespace chansync::adapters::meta
