#pragma once
// HttpClient: one libcurl easy handle per connector (keep-alive), gzip, timeouts, proxy env honoured,
// TLS verification always on. Retries only what is safe to repeat, with capped exponential backoff
// and full jitter; Retry-After (seconds or HTTP-date) is obeyed exactly. A token bucket per budget
// paces requests (adapters/rate_limit.hpp), corrected after every response by the adapter's reading
// of its vendor's rate-limit headers, else by the generic IETF RateLimit / X-RateLimit-* reading; an
// optional AIMD gate bounds requests in flight. Credentials never reach a log.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "adapters/rate_limit.hpp"
#include "adapters/redact.hpp"
#include "adapters/stop_waits.hpp"
#include "sync/error.hpp"
#include "sync/url.hpp"  // origin_of, path_of: adapters compare and print URLs with them

namespace chansync::adapters {

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Whether sending it twice has the effect of sending it once. nullopt: GET, HEAD, PUT, DELETE and
  // OPTIONS are; POST and PATCH are only with an Idempotency-Key header. An adapter sets true for a
  // read-only POST (a search) and false for a PUT that appends.
  std::optional<bool> idempotent;

  bool safe_to_repeat() const;
};

struct HttpResponse {
  int status = 0;
  // Names lower-cased; a field sent twice keeps the last value, except Link and Warning, whose
  // values are joined with ", " (a rel="sunset" link must not hide behind a rel="next" one).
  std::map<std::string, std::string> headers;
  std::string body;
  double latency_ms = 0;
  // libcurl's phases, each in ms from the start of the transfer (cumulative): name resolved, TCP
  // connected, TLS done (0 for plain http), first byte of the answer. A reused connection has ~0 for
  // the first three.
  double dns_ms = 0, connect_ms = 0, tls_ms = 0, first_byte_ms = 0;
};

using Sleeper = std::function<void(std::chrono::milliseconds)>;

// A vendor's rate-limit reading: what a response to a request says about pacing (an empty reading
// keeps the current pace). Each adapter supplies its vendor's (HubSpot's X-HubSpot-RateLimit-*, Meta's
// X-App-Usage, ...); the client knows no vendor.
using RatePolicy = std::function<RateReading(const HttpRequest&, const HttpResponse&)>;

// A narrower budget some requests draw from as well as the main one (HubSpot's search: 4/s).
struct SubBudget {
  std::string name;
  double requests_per_second = 0;
  std::function<bool(const HttpRequest&)> applies;
};

struct HttpOptions {
  std::string connector;  // for messages
  int max_attempts = 5;
  std::chrono::milliseconds backoff_base{250};
  std::chrono::milliseconds backoff_cap{20'000};
  // A Retry-After, or a rate-limit pause a response set, longer than this is not slept through: the
  // call fails with Errc::rate_limited and the wait in Error::retry_after, so a cron run exits 75
  // instead of hanging.
  std::chrono::milliseconds max_retry_after{120'000};
  long timeout_ms = 60'000;
  long connect_timeout_ms = 10'000;
  double requests_per_second = 0;  // the main budget's seed rate; 0 = unpaced
  double burst = 1;                // requests back to back at that rate
  // Corrects the budgets from every response; empty = generic_reading() (IETF RateLimit,
  // X-RateLimit-*). A policy may return generic_reading() itself for what it does not know.
  RatePolicy rate_policy;
  std::vector<SubBudget> sub_budgets;
  // Clients of this process with the same non-empty key share their budgets (the main one and the
  // sub-budgets by name): a vendor's limit per token (HubSpot's, per private app) stays one limit
  // however many connectors use the token at once. The first client's seed rates stand. Empty: the
  // client's own.
  std::string shared_budgets;
  // Bounds requests in flight (may be shared by the clients of one account); `refused_for_concurrency`
  // names the responses that mean "too many in flight". Empty = unbounded.
  std::shared_ptr<ConcurrencyGate> concurrency;
  std::function<bool(const HttpResponse&)> refused_for_concurrency;
  // A response that retrying cannot help (a 429 for a spent daily quota, which lasts until the
  // vendor's reset): send() returns it at once instead of spending attempts on it. Empty = none.
  std::function<bool(const HttpResponse&)> give_up;
  std::string basic_user;  // Basic auth (Twilio)
  std::string basic_password;
  std::string bearer_token;  // Bearer auth (HubSpot)
  // Secret values that may appear in URLs or vendor text (Telegram's bot token is in the path):
  // replaced by <redacted> in every log line, error and health evidence the client produces.
  // basic_password and bearer_token are added to it by the constructor.
  std::vector<std::string> secrets;
  // A stop ends this client's waits (interrupt_waits_on): for the clients of a pull, whose stop keeps
  // every committed page. Off for a push, which goes on to its end when asked to stop: a wait cut
  // short there would count as the person's failure.
  bool stop_ends_waits = false;
  // With stop_ends_waits, a descriptor whose readability ends the waits as a stop does (a
  // WindowFetcher's own stop, for its threads). -1 = none.
  int stop_fd = -1;
  Sleeper sleep;                           // injectable for tests; defaults to std::this_thread::sleep_for
  std::function<Clock::time_point()> now;  // injectable for tests (with `sleep` advancing it); steady_clock
};

// Parses Retry-After: delta-seconds or an HTTP-date (relative to `now_ms`). nullopt if malformed.
std::optional<std::chrono::milliseconds> parse_retry_after(const std::string& value, std::int64_t now_ms);

// libcurl's global initialisation, once per process, before the first easy handle of any client
// (HTTP here, IMAP in imap_session.cpp). Thread-safe.
void init_curl();

struct SharedBudgets;  // a client's budgets, under a lock: HttpOptions::shared_budgets

class HttpClient {
 public:
  explicit HttpClient(HttpOptions opts);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends, retrying what is safe: a connection that never reached the server and a 429 (the server
  // did not act on it) always; a 5xx and a timeout or broken connection only when
  // req.safe_to_repeat(), since the server may have acted on the first attempt. Returns the final
  // response whatever its status (callers map 4xx themselves), or an error when no response came
  // (Errc::unavailable; so is an answer whose encoding cannot be decoded, but for a status of 400 or
  // more, which is kept without its body), or when a Retry-After or a budget's pause exceeds max_retry_after
  // (Errc::rate_limited). Paced first: waits for a token of every budget the request draws from. A
  // refusal for too many in flight while others of the account were out with it, and without a
  // Retry-After, is retried through the gate without a back-off and counts as no attempt (up to 8).
  Result<HttpResponse> send(const HttpRequest& req);
  // One attempt, no retries, no pacing: for health probes.
  Result<HttpResponse> send_once(const HttpRequest& req);

  // Requests sent so far (every attempt counts).
  std::size_t requests() const { return m_requests; }
  const HttpOptions& options() const { return m_opts; }
  // The budget `name` ("" = main) as it stands: its rate and burst after every correction so far.
  // Read without the lock shared budgets take: for tests, with no request under way.
  const TokenBucket& budget(const std::string& name = "") const;
  // `text` with this connector's secrets and the generic secret shapes redacted (see Redactor).
  std::string redact(std::string_view text) const { return m_redact(text); }
  const Redactor& redactor() const { return m_redact; }
  // body_excerpt of the body redacted first: an excerpt cut inside an echoed secret would keep its
  // start, which no rule recognises any more.
  std::string excerpt(const std::string& body, std::size_t max_bytes = 200) const;
  // http_error() with this connector's secrets redacted from the message.
  Error error(const HttpRequest& req, const HttpResponse& resp, const std::string& what,
              const std::string& vendor_detail) const;

 private:
  Result<HttpResponse> perform(const HttpRequest& req);
  // Waits for a token of every budget `req` draws from; Errc::rate_limited instead when the wait is
  // a pause longer than max_retry_after.
  Result<void> pace(const HttpRequest& req);
  void correct(const HttpRequest& req, const HttpResponse& resp);
  // The rate budget `budget` ("" = main) was seeded with.
  double seed_rate(const std::string& budget) const;
  // Waits `d`; false when a stop cut the wait short (interrupt_waits_on, HttpOptions::stop_fd).
  bool sleep_for(std::chrono::milliseconds d);
  // The error of a call whose wait before `req` a stop cut short.
  Error interrupted(const HttpRequest& req) const;
  Clock::time_point now() const { return m_opts.now ? m_opts.now() : Clock::now(); }

  HttpOptions m_opts;
  Redactor m_redact;
  void* m_curl = nullptr;
  void* m_gunzip = nullptr;  // a libdeflate decompressor
  std::size_t m_requests = 0;
  std::size_t m_last_body = 0;  // bytes of the last response's body as it came (gzip: encoded)
  bool m_last_sent = false;     // the last attempt's request reached the network
  std::mt19937_64 m_rng{std::random_device{}()};
  std::shared_ptr<SharedBudgets> m_budgets;  // "" = main, then the sub-budgets by name; maybe shared
};

// Maps a non-2xx final response to an Error that says which request (method and URL without its
// query, generic secret shapes redacted; HttpClient::error also knows the connector's secrets) failed
// and what to check. `vendor_detail` is the vendor's own error text/code, appended
// when non-empty. Adapters call HttpClient::error, whose redaction also covers `vendor_detail`.
Error http_error(const HttpRequest& req, const HttpResponse& resp, const std::string& connector,
                 const std::string& what, const std::string& vendor_detail);

// Percent-encodes a query component (RFC 3986 unreserved kept).
std::string url_encode(const std::string& s);

// A vendor's or receiver's answer as one line of at most `max_bytes` (cut on a UTF-8 boundary, control
// characters and runs of spaces folded), for error messages; "(empty body)" when there is nothing.
std::string body_excerpt(const std::string& body, std::size_t max_bytes = 200);

}  // namespace chansync::adapters

#include "sync/health.hpp"

namespace chansync::adapters {

// Sends one request (no retries) and records what a health check needs: status, headers, latency,
// or the transport error. The URL recorded has no query string and the client's secrets redacted. The body goes to
// `body` if given.
ProbeObservation observe(HttpClient& http, const HttpRequest& req, std::string* body = nullptr);

}  // namespace chansync::adapters
