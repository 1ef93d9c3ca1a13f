#include "adapters/http.hpp"

#include <curl/curl.h>
#include <fmt/format.h>
#include <libdeflate.h>
#include <openssl/evp.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <strings.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "adapters/http_pacing.hpp"
#include "sync/timestamp.hpp"

namespace chansync::adapters {
namespace {

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// A transfer of a client whose stop ends its waits, as libcurl's progress callback sees it.
struct StopWatch {
  int fd = -1;                                                 // HttpOptions::stop_fd
  std::optional<std::chrono::steady_clock::time_point> since;  // when a stop was first seen
};
// A stop lets the answer under way come for this long (a page that arrives is committed), then ends
// the transfer: a vendor that stalls would hold the process for the whole 60 s timeout.
constexpr auto k_stop_grace = std::chrono::seconds(3);

// Called at least once a second, and as data comes.
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto& w = *static_cast<StopWatch*>(user);
  if (!w.since) {
    if (!stop_asked(w.fd)) return 0;
    w.since = std::chrono::steady_clock::now();
  }
  return std::chrono::steady_clock::now() - *w.since >= k_stop_grace ? 1 : 0;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) headers->clear();  // a new response (after 100-continue or redirect)
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    // List-valued fields a vendor may send more than once (RFC 9110 §5.3: combinable with commas):
    // a Link rel="sunset" next to a Link rel="next" must not be lost. Others: the last value wins.
    auto [it, fresh] = headers->try_emplace(name, value);
    if (!fresh && (name == "link" || name == "warning"))
      it->second += ", " + std::string(value);
    else if (!fresh)
      it->second = std::string(value);
  }
  return size * n;
}

// A gzip body (RFC 1952: one member or several in a row), decoded in one call per member. libdeflate
// decodes an 800 KB Twilio page in 0.14–0.18 ms, where zlib's streaming inflate, libcurl's, took
// 0.42–0.56 ms: a pull's fetch thread spends less CPU, and the next request of an account at its
// concurrency limit goes that much sooner. The output is sized from the trailer (ISIZE, the last
// member's length mod 2^32; at first 64 MiB at most) and grows when that is short, up to what deflate
// can expand to (1032:1): a forged size cannot make it allocate more than the input could hold.
std::optional<std::string> gunzip(libdeflate_decompressor* d, std::string_view in, std::string& why) {
  constexpr std::size_t k_max_ratio = 1032;
  constexpr std::size_t k_first_room_max = std::size_t{64} << 20;  // past it, the room grows as it is used
  const std::size_t bound = in.size() * k_max_ratio;
  std::size_t room = 0;
  if (in.size() >= 18) {  // header (10) + trailer (8)
    const auto* t = reinterpret_cast<const unsigned char*>(in.data() + in.size() - 4);
    room = std::min({bound, k_first_room_max, std::size_t{t[0]} | t[1] << 8 | t[2] << 16 | std::size_t{t[3]} << 24});
  }
  room = std::max<std::size_t>(room, 4096);
  for (;;) {
    std::string out;
    out.reserve(room + simdjson::SIMDJSON_PADDING);  // the parsers' padding fits after it without a copy
    out.resize(room);
    std::string_view rest = in;
    std::size_t pos = 0;
    libdeflate_result r = LIBDEFLATE_SUCCESS;
    while (!rest.empty() && r == LIBDEFLATE_SUCCESS) {
      std::size_t used = 0, got = 0;
      r = libdeflate_gzip_decompress_ex(d, rest.data(), rest.size(), out.data() + pos, room - pos, &used, &got);
      if (r == LIBDEFLATE_SUCCESS) {
        pos += got;
        rest.remove_prefix(used);
      }
    }
    if (r == LIBDEFLATE_SUCCESS) {
      out.resize(pos);
      return out;
    }
    if (r != LIBDEFLATE_INSUFFICIENT_SPACE || room >= bound) {
      why =
          r == LIBDEFLATE_INSUFFICIENT_SPACE ? "it decodes to more than deflate can expand to" : "it is not valid gzip";
      return std::nullopt;
    }
    room = std::min(bound, room * 2);
  }
}

// A request's place at the account's concurrency gate (none without one), given back however the
// request ends: a slot an exception kept would shrink the account's share for good, and a gate
// halved to 1 would then hold every other client of the account forever.
class GateSlot {
 public:
  explicit GateSlot(ConcurrencyGate* gate) : m_gate(gate), m_ticket(gate ? gate->acquire() : 0) {}
  ~GateSlot() {
    if (m_gate) m_gate->cancel();  // not answered: an early return or an exception
  }
  GateSlot(const GateSlot&) = delete;
  GateSlot& operator=(const GateSlot&) = delete;
  // Gives the place back for an answer; returns ConcurrencyGate::release's level (0 without a gate).
  int release(bool refused) { return m_gate ? std::exchange(m_gate, nullptr)->release(refused, m_ticket) : 0; }
  // Gives it back for a request that got no answer.
  void cancel() {
    if (m_gate) std::exchange(m_gate, nullptr)->cancel();
  }

 private:
  ConcurrencyGate* m_gate;
  std::uint64_t m_ticket;
};

}  // namespace

bool HttpRequest::safe_to_repeat() const {
  if (idempotent) return *idempotent;
  if (method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" || method == "OPTIONS") return true;
  return std::any_of(headers.begin(), headers.end(), [](const auto& h) {
    return h.first.size() == 15 && strncasecmp(h.first.c_str(), "idempotency-key", 15) == 0;
  });
}

std::optional<std::chrono::milliseconds> parse_retry_after(const std::string& value, std::int64_t now) {
  if (!value.empty() && std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    // Over ten years is as good as forever (and * 1000 must not overflow): it is refused all the same.
    constexpr long long k_forever_s = 315'360'000;
    return std::chrono::milliseconds(
        (value.size() > 12 ? k_forever_s : std::min<long long>(std::stoll(value), k_forever_s)) * 1000);
  }
  if (auto when = parse_http_date(value)) return std::chrono::milliseconds(std::max<std::int64_t>(0, *when - now));
  return std::nullopt;
}

void init_curl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

HttpClient::HttpClient(HttpOptions opts) : m_opts(std::move(opts)), m_redact(m_opts.secrets) {
  m_redact.add(m_opts.basic_password);
  m_redact.add(m_opts.bearer_token);
  // What goes on the wire for Basic auth is base64("user:password"): a gateway or debugging proxy
  // that echoes the Authorization header would otherwise hand the password back in plain sight.
  if (!m_opts.basic_user.empty() && !m_opts.basic_password.empty()) {
    const std::string pair = m_opts.basic_user + ":" + m_opts.basic_password;
    std::string encoded(4 * ((pair.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                  reinterpret_cast<const unsigned char*>(pair.data()), static_cast<int>(pair.size()));
    encoded.resize(static_cast<std::size_t>(std::max(n, 0)));
    m_redact.add(encoded);
  }
  m_budgets = budgets_for(m_opts);
  init_curl();
  m_curl = curl_easy_init();
  if (!m_curl) throw Failure(Errc::internal, "libcurl could not create a handle");
  m_gunzip = libdeflate_alloc_decompressor();
  if (!m_gunzip) {
    curl_easy_cleanup(static_cast<CURL*>(m_curl));
    throw Failure(Errc::internal, "libdeflate could not create a decompressor (out of memory)");
  }
}

HttpClient::~HttpClient() {
  curl_easy_cleanup(static_cast<CURL*>(m_curl));
  libdeflate_free_decompressor(static_cast<libdeflate_decompressor*>(m_gunzip));
}

bool HttpClient::sleep_for(std::chrono::milliseconds d) {
  if (d.count() <= 0) return true;
  if (m_opts.sleep) {
    m_opts.sleep(d);
    return true;
  }
  if (!m_opts.stop_ends_waits) {
    std::this_thread::sleep_for(d);
    return true;
  }
  return wait_unless_stopped(d, m_opts.stop_fd);
}

Error HttpClient::interrupted(const HttpRequest& req) const {
  return Error{Errc::interrupted,
               fmt::format("stopped by a signal while waiting to send {} {}; what was committed is kept, and the "
                           "next run resumes after it",
                           req.method, m_redact(where(req.url))),
               m_opts.connector};
}

Result<HttpResponse> HttpClient::perform(const HttpRequest& req) {
  CURL* c = static_cast<CURL*>(m_curl);
  curl_easy_reset(c);  // keeps the connection cache: keep-alive survives
  HttpResponse resp;
  // Room for a body as large as the last one (as it came: gzip is decoded after) and a little more:
  // pages of a list are about the same size. Appended piece by piece into an empty string, an 800 KB
  // page was reallocated 16 times as the string doubled. Up to 8 MiB.
  resp.body.reserve(std::min<std::size_t>(m_last_body + m_last_body / 16 + 64, std::size_t{8} << 20));
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  // gzip, decoded here rather than by libcurl (gunzip above says why); nothing else is asked for.
  curl_easy_setopt(c, CURLOPT_HTTP_CONTENT_DECODING, 0L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, m_opts.timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, m_opts.connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);  // no h2c: curl #10634
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "chansync/0.1");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp.headers);
  StopWatch watch{m_opts.stop_fd, {}};
  if (m_opts.stop_ends_waits) {
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &watch);
  }
  if (!m_opts.basic_user.empty()) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERNAME, m_opts.basic_user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, m_opts.basic_password.c_str());
  }
  curl_slist* headers = curl_slist_append(nullptr, "Accept-Encoding: gzip");
  std::string bearer;
  if (!m_opts.bearer_token.empty()) {
    bearer = "Authorization: Bearer " + m_opts.bearer_token;
    headers = curl_slist_append(headers, bearer.c_str());
  }
  for (const auto& [k, v] : req.headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());
  // Without this, libcurl asks for 100-continue before a body over 1 MiB and then waits a second for
  // a server that never answers it (Python's http.server, many small receivers).
  if (!req.body.empty()) headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  // A body goes with POST, PUT and PATCH (and any method given one); others send none.
  if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH" || !req.body.empty()) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
  }
  if (req.method != "GET" && req.method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  const auto start = std::chrono::steady_clock::now();
  const CURLcode rc = curl_easy_perform(c);
  resp.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  curl_slist_free_all(headers);
  ++m_requests;
  m_last_body = resp.body.size();
  // No byte of the request left this machine when the transfer never got past connecting.
  curl_off_t pretransfer = 0;
  curl_easy_getinfo(c, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
  m_last_sent = rc == CURLE_OK || pretransfer > 0;
  if (rc == CURLE_ABORTED_BY_CALLBACK)  // on_progress: a stop came while the answer was awaited
    return std::unexpected(Error{Errc::interrupted,
                                 fmt::format("stopped by a signal while waiting for the answer to {} {}; what was "
                                             "committed is kept, and the next run resumes after it",
                                             req.method, m_redact(where(req.url))),
                                 m_opts.connector});
  if (rc != CURLE_OK) {
    Error e{Errc::unavailable,
            m_redact(fmt::format("cannot reach {}: {}", where(req.url), errbuf[0] ? errbuf : curl_easy_strerror(rc))),
            m_opts.connector};
    return std::unexpected(std::move(e));
  }
  auto phase_ms = [c](CURLINFO info) {
    curl_off_t us = 0;
    curl_easy_getinfo(c, info, &us);
    return static_cast<double>(us) / 1000.0;
  };
  resp.dns_ms = phase_ms(CURLINFO_NAMELOOKUP_TIME_T);
  resp.connect_ms = phase_ms(CURLINFO_CONNECT_TIME_T);
  resp.tls_ms = phase_ms(CURLINFO_APPCONNECT_TIME_T);
  resp.first_byte_ms = phase_ms(CURLINFO_STARTTRANSFER_TIME_T);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  resp.status = static_cast<int>(status);
  if (const auto it = resp.headers.find("content-encoding");
      it != resp.headers.end() && !resp.body.empty() && strcasecmp(it->second.c_str(), "identity") != 0) {
    std::string why;
    const bool gzip = strcasecmp(it->second.c_str(), "gzip") == 0 || strcasecmp(it->second.c_str(), "x-gzip") == 0;
    auto decoded = gzip ? gunzip(static_cast<libdeflate_decompressor*>(m_gunzip), resp.body, why) : std::nullopt;
    if (!gzip) why = fmt::format("it is in {}, which chansync does not ask for (it asks for gzip)", it->second);
    if (decoded) {
      resp.body = std::move(*decoded);
    } else {
      const std::string what =
          m_redact(fmt::format("the answer of {} (HTTP {}) cannot be decoded: {}; if it persists, a proxy between "
                               "chansync and the vendor may alter it",
                               where(req.url), resp.status, why));
      // A refusal still says what it must by its status and headers (a 429's Retry-After and rate
      // fields): kept, without its body. Otherwise it is as a transfer cut off mid-way, which is what
      // libcurl's own decoding reported: retried when safe.
      if (resp.status < 400) return std::unexpected(Error{Errc::unavailable, what, m_opts.connector});
      spdlog::warn("{}: {}", m_opts.connector, what);
      resp.body.clear();
    }
  }
  spdlog::trace("{} {} {} -> {} ({:.1f} ms)", m_opts.connector, req.method, m_redact(where(req.url)), resp.status,
                resp.latency_ms);
  return resp;
}

Result<HttpResponse> HttpClient::send_once(const HttpRequest& req) {
  return perform(req);
}

Result<HttpResponse> HttpClient::send(const HttpRequest& req) {
  // Refusals for too many in flight retried through the gate alone, which count as no attempt: each
  // halves the gate, so within a few the retry goes alone, and a refusal then backs off and counts.
  constexpr int k_gate_retries = 8;
  int gate_retries = 0;
  for (int attempt = 1;; ++attempt) {
    if (auto paced = pace(req); !paced) return std::unexpected(paced.error());
    GateSlot slot(m_opts.concurrency.get());
    // A stop that came while the gate held the request (or a retry that needed no wait) sends nothing.
    if (m_opts.stop_ends_waits && stop_asked(m_opts.stop_fd)) return std::unexpected(interrupted(req));
    auto resp = perform(req);
    if (!resp && resp.error().code == Errc::interrupted) return resp;
    const bool too_many =
        m_opts.concurrency && resp && m_opts.refused_for_concurrency && m_opts.refused_for_concurrency(*resp);
    if (!resp) slot.cancel();  // before any back-off: other clients of the account may go meanwhile
    const int level = slot.release(too_many);
    if (resp) correct(req, *resp);
    if (resp && m_opts.give_up && m_opts.give_up(*resp)) return resp;
    // Refused while others of the account were out with it: the gate, halved, holds the retry until
    // enough of them have ended, which is when the vendor can take it. A back-off on top would leave
    // this client idle for up to a second while its share of the account goes unused. (Refused alone,
    // another program fills the account, and only a back-off gives it time to finish.)
    const bool through_gate =
        too_many && level > 1 && !resp->headers.contains("retry-after") && gate_retries < k_gate_retries;
    if (through_gate) {
      ++gate_retries;
      spdlog::debug("{}: HTTP {} (too many requests in flight) from {}; retried when fewer are", m_opts.connector,
                    resp->status, m_redact(where(req.url)));
      --attempt;  // not counted
      continue;
    }
    const bool repeatable = !m_last_sent || req.safe_to_repeat();
    const bool retryable =
        resp ? resp->status == 429 || ((resp->status >= 500 || resp->status == 408) && repeatable) : repeatable;
    if (!retryable || attempt >= m_opts.max_attempts) {
      if (!resp && attempt > 1) resp.error().message += fmt::format(" (after {} attempts)", attempt);
      if (!resp && !repeatable)
        resp.error().message += "; not retried: the server may have acted on it, and repeating it could duplicate";
      return resp;
    }
    std::chrono::milliseconds wait{0};
    std::optional<std::chrono::milliseconds> retry_after;
    if (resp)
      if (auto it = resp->headers.find("retry-after"); it != resp->headers.end())
        retry_after = parse_retry_after(it->second, now_ms());
    if (retry_after) {
      if (*retry_after > m_opts.max_retry_after) {
        Error e{Errc::rate_limited,
                fmt::format("{} asked to wait {} s before retrying (Retry-After), longer than chansync waits "
                            "in one run; run again later",
                            m_redact(where(req.url)), retry_after->count() / 1000),
                m_opts.connector, resp->status, *retry_after};
        return std::unexpected(std::move(e));
      }
      wait = *retry_after;
    } else {
      // Full jitter: uniform in [1 ms, min(cap, base · 2^attempt)]. Never 0: a retry at once would hit the
      // server in the very state that refused it (and a wait of 0 is no wait at all to sleep_for).
      const auto ceiling =
          std::max<long long>(1, std::min<long long>(m_opts.backoff_cap.count(),
                                                     m_opts.backoff_base.count() * (1LL << std::min(attempt, 20))));
      wait = std::chrono::milliseconds(std::uniform_int_distribution<long long>(1, ceiling)(m_rng));
    }
    spdlog::warn("{}: {} from {}; retry {}/{} in {} ms", m_opts.connector,
                 resp ? fmt::format("HTTP {}", resp->status) : resp.error().message, m_redact(where(req.url)), attempt,
                 m_opts.max_attempts - 1, wait.count());
    if (!sleep_for(wait)) return std::unexpected(interrupted(req));
  }
}

Error http_error(const HttpRequest& req, const HttpResponse& resp, const std::string& connector,
                 const std::string& what, const std::string& vendor_detail) {
  const std::string detail = fmt::format(" ({} {}){}", req.method, where(req.url),
                                         vendor_detail.empty() ? "" : fmt::format(": {}", vendor_detail));
  Error e{Errc::remote, "", connector, resp.status};
  if (resp.status == 401 || resp.status == 403) {
    e.code = Errc::auth;
    e.message = fmt::format(
        "{} was refused with HTTP {}{}; check the credentials this connector reads "
        "(`chansync config show --origin` shows where from)",
        what, resp.status, detail);
  } else if (resp.status == 429) {
    e.code = Errc::rate_limited;
    e.message = fmt::format("{} is still rate limited (HTTP 429) after retries{}; run again later", what, detail);
    if (auto it = resp.headers.find("retry-after"); it != resp.headers.end())
      e.retry_after = parse_retry_after(it->second, now_ms());
  } else if (resp.status >= 500 || resp.status == 408) {  // 408: the server timed the request out
    e.code = Errc::unavailable;
    e.message = fmt::format(
        "{} failed with HTTP {} after retries{}; the vendor may be having an outage "
        "(`chansync health` checks)",
        what, resp.status, detail);
  } else if (resp.status >= 300 && resp.status < 400) {
    // Often an http:// base_url to an https-only host, or an old regional host. libcurl follows no
    // redirect, so no credential went with it; where it points is said without its path (which may
    // carry a token).
    const auto location = resp.headers.find("location");
    const std::string to = location == resp.headers.end() ? std::string() : origin_of(location->second);
    e.message = fmt::format(
        "{} was redirected with HTTP {}{}{}; chansync follows no redirect (credentials would go with it): set "
        "the connector's base_url to the address the vendor names",
        what, resp.status, detail, to.empty() ? "" : fmt::format(" to {}", to));
  } else {
    const char* check = resp.status == 404 || resp.status == 410
                            ? "check the connector's base_url and the account or object ids in the config; the "
                              "API version may be retired (`chansync health` checks)"
                        : resp.status == 400 || resp.status == 422
                            ? "the vendor refused a request chansync built: report it with the -vv output"
                            : "see the vendor's message; `chansync health` checks the connector";
    e.message = fmt::format("{} was rejected with HTTP {}{}; {}", what, resp.status, detail, check);
  }
  return e;
}

Error HttpClient::error(const HttpRequest& req, const HttpResponse& resp, const std::string& what,
                        const std::string& vendor_detail) const {
  Error e = http_error(req, resp, m_opts.connector, what, vendor_detail);
  e.message = m_redact(e.message);
  return e;
}

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string HttpClient::excerpt(const std::string& body, std::size_t max_bytes) const {
  return body_excerpt(m_redact(body), max_bytes);
}

std::string body_excerpt(const std::string& body, std::size_t max_bytes) {
  std::string out;
  bool space = false;
  for (unsigned char c : body) {
    if (c < 0x20 || c == 0x7f || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(c);
  }
  if (out.empty()) return "(empty body)";
  if (out.size() <= max_bytes) return out;
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xc0) == 0x80) --cut;  // not inside a character
  return out.substr(0, cut) + "\u2026";
}

}  // namespace chansync::adapters

namespace chansync::adapters {

ProbeObservation observe(HttpClient& http, const HttpRequest& req, std::string* body) {
  ProbeObservation obs;
  obs.url = http.redact(where(req.url));
  obs.redact = [redactor = http.redactor()](std::string_view text) { return redactor(text); };
  auto resp = http.send_once(req);
  if (!resp) {
    obs.transport_error = resp.error().message;
    return obs;
  }
  obs.http_status = resp->status;
  obs.headers = resp->headers;
  obs.latency_ms = resp->latency_ms;
  obs.timings = {resp->dns_ms, resp->connect_ms, resp->tls_ms, resp->first_byte_ms};
  // Enough of an error body for the vendor's code (health_signals.hpp); a page of data is not needed.
  // Redacted whole, then cut: a cut inside an echoed secret would keep its start.
  if (resp->status >= 400) obs.body = http.redact(resp->body).substr(0, 4096);
  if (body) *body = std::move(resp->body);
  return obs;
}

}  // namespace chansync::adapters
