#pragma once
// Health signals Graph gives beyond a probe's object: whether a Page or a WhatsApp Business Account
// still sends its webhooks to an app (`GET /{id}/subscribed_apps`), and what `GET /debug_token`
// says of the access token (valid, scopes, when it and its data access expire).
#include <span>
#include <string>

#include "adapters/http.hpp"
#include "adapters/meta/graph.hpp"
#include "sync/health.hpp"

namespace chansync::adapters::meta {

// The "webhook subscription" finding from a subscribed_apps answer (`status` 0: none came, `error`
// says why). webhook_broken when `data` is empty (no app receives the object's webhooks) or, with
// `field` non-empty, when no subscribed app has that field ("messages"); ok naming the apps
// otherwise; unknown ("webhook subscription not checked: ...") when the answer is an error or not
// Graph's. `what` names the object ("the Page 1000…"). Pure.
Finding subscription_finding(int status, const std::string& body, const std::string& error, const std::string& what,
                             const std::string& field);

// What a debug_token answer says, added to `report`: is_valid false → auth_failed naming Graph's
// error; a scope in `needed` the token lacks → auth_failed naming it; expires_at and
// data_access_expires_at (when not 0, "never") → report.expiries, judged by check_health against
// [health] expiry_warning_days. An answer that is an error or not Graph's → an unknown finding
// ("token not checked: ...") that leaves the class. `renew` says how to get a new token. Pure.
void add_token_findings(HealthReport& report, int status, const std::string& body, const std::string& error,
                        std::span<const std::string> needed, const std::string& renew);

// GETs `url` (…/debug_token?input_token=…, …/{id}/subscribed_apps) once for one of the above: the
// status, the body and the transport error, with `http`'s secrets redacted from the error (the URL's
// query holds the token and is never logged).
struct GraphAnswer {
  int status = 0;
  std::string body, error;
};
GraphAnswer graph_get(HttpClient& http, const std::string& url);

}  // namespace chansync::adapters::meta
