#include "listen/receiver.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "sync/config.hpp"
#include "sync/digest.hpp"
#include "sync/spool.hpp"
#include "sync/webhook_marks.hpp"

namespace chansync::listen {
namespace {

constexpr std::string_view k_prefix = "/webhooks/";

// One writer thread appends what the request threads hand it and fsyncs once per batch: every request
// that arrived while the previous fsync ran rides on the next one.
class GroupCommit {
 public:
  explicit GroupCommit(bool fsync) : m_fsync(fsync), m_thread([this] { loop(); }) {}
  ~GroupCommit() {
    {
      std::lock_guard lock(m_mu);
      m_stopping = true;
    }
    m_cv.notify_one();
    m_thread.join();
  }

  // Blocks until the body is durable (or could not be written).
  Result<void> submit(SpoolWriter& writer, std::string_view body) {
    Item item{&writer, body, {}};
    auto done = item.result.get_future();
    {
      std::lock_guard lock(m_mu);
      m_queue.push_back(&item);
    }
    m_cv.notify_one();
    return done.get();
  }

  std::uint64_t fsyncs() const { return m_fsyncs.load(); }

 private:
  struct Item {
    SpoolWriter* writer;
    std::string_view body;
    std::promise<Result<void>> result;
  };

  void loop() {
    std::deque<Item*> batch;
    for (;;) {
      {
        std::unique_lock lock(m_mu);
        m_cv.wait(lock, [&] { return m_stopping || !m_queue.empty(); });
        if (m_queue.empty()) return;  // stopping, and everything handed in was answered
        batch.swap(m_queue);
      }
      std::map<SpoolWriter*, std::optional<Error>> touched;
      std::vector<std::pair<Item*, Result<void>>> results;
      for (Item* it : batch) {
        auto r = it->writer->append(it->body);
        touched.try_emplace(it->writer);
        results.emplace_back(it, std::move(r));
      }
      for (auto& [writer, error] : touched) {
        if (m_fsync) {
          if (auto r = writer->sync(); !r) error = r.error();  // fails every frame of the batch in it
          ++m_fsyncs;
        }
        // A full segment is sealed only after the sync that made its last frames durable.
        if (!error && writer->full())
          if (auto r = writer->rotate(); !r) spdlog::error("listen: {}", r.error().message);
      }
      for (auto& [it, r] : results) {
        if (r && touched[it->writer]) r = std::unexpected(*touched[it->writer]);
        it->result.set_value(std::move(r));
      }
      batch.clear();
    }
  }

  const bool m_fsync;
  std::mutex m_mu;
  std::condition_variable m_cv;
  std::deque<Item*> m_queue;
  bool m_stopping = false;
  std::atomic<std::uint64_t> m_fsyncs{0};
  std::thread m_thread;  // last: started after everything it uses
};

// The connector's record of accepted and refused requests (sync/webhook_marks.hpp), for health.
// Written at a change of state (the first accepted request after refusals, the first refusal after an
// accepted one, and the refusal that makes the receiver broken for health), else at most once a
// second (accepted requests are the hot path; refusals can come in floods a forger sends, each of
// which would cost an fsync), and at the end of run().
struct Marks {
  std::mutex mu;
  WebhookMarks marks;
  Timestamp written = 0;
  bool dirty = false;
};

struct Endpoint {
  ListenConnector connector;
  std::unique_ptr<SpoolWriter> writer;
  std::unique_ptr<Marks> marks = std::make_unique<Marks>();
};

// The payload's top-level "object" ("" when it has none), or nullopt when the body is not one whole
// JSON object.
std::optional<std::string> object_of(const std::string& body) {
  static thread_local simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(body).get_object().get(obj) != simdjson::SUCCESS) return std::nullopt;
  std::string_view object;
  if (obj["object"].get_string().get(object) != simdjson::SUCCESS) return std::string();
  return std::string(object);
}

constexpr const char* k_meta_objects[] = {"whatsapp_business_account", "page", "instagram"};

// Whether an unauthenticated body reads as Meta's, as Meta writes it (compact JSON): one of its
// webhook objects (any: another app's deliveries sent to this connector's URL are evidence too), and
// an entry. Searched for, not parsed.
bool meta_shaped(std::string_view body) {
  const bool object = std::any_of(std::begin(k_meta_objects), std::end(k_meta_objects), [&](const char* o) {
    return body.find(fmt::format("\"object\":\"{}\"", o)) != std::string_view::npos;
  });
  return object && body.find("\"entry\":[{") != std::string_view::npos;
}

// curl -d without -H 'Content-Type: application/json' sends this; Meta never does.
bool form_encoded(const httplib::Request& req) {
  return req.get_header_value("Content-Type").starts_with("application/x-www-form-urlencoded");
}

// "sha256=" and 64 lower-case hex digits, as Meta signs. Anything else is no one's signature (a
// scanner, a forged request): refused, but no evidence of a wrong app secret.
bool well_formed_signature(std::string_view sig) {
  if (!sig.starts_with("sha256=") || sig.size() != 7 + 64) return false;
  return std::all_of(sig.begin() + 7, sig.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// A request's method or decoded path as one log line: control characters (a %0A in the path) could
// otherwise forge lines of their own.
std::string printable(std::string text) {
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return text;
}

}  // namespace

struct Receiver::Impl {
  ListenOptions opts;
  std::unique_ptr<SpoolLock> lock;
  std::map<std::string, Endpoint> endpoints;
  std::unique_ptr<GroupCommit> commit;
  // Held where run() ends the commit thread and where stats() reads it: stats() may be called from
  // any thread while run() ends (the request threads are done with `commit` by then).
  mutable std::mutex commit_mu;
  httplib::Server server;
  std::atomic<std::uint64_t> accepted{0}, refused{0};
  std::uint64_t fsyncs = 0;  // once the commit thread ended (commit_mu)
  int socket = -1;           // the listening socket, once bound
  std::atomic<bool> running{false}, stop_requested{false};

  // Records one request's outcome in `ep`'s marks; `status` 0 = accepted. Caller holds nothing.
  void mark(Endpoint& ep, int status, const std::string& reason) {
    std::lock_guard lock(ep.marks->mu);
    auto& m = ep.marks->marks;
    const Timestamp now = now_ms();
    const bool accepted_again = status == 0 && (m.last_accepted == 0 || m.refused_since_accepted > 0);
    if (status == 0) {
      m.last_accepted = now;
      ++m.accepted;
      m.refused_since_accepted = 0;
    } else {
      m.last_refused = now;
      m.last_refused_status = status;
      m.last_refused_reason = reason;
      ++m.refused;
      ++m.refused_since_accepted;
    }
    ep.marks->dirty = true;
    const bool turned =
        status != 0 && (m.refused_since_accepted == 1 || m.refused_since_accepted == k_webhook_refusals_broken);
    if (accepted_again || turned || now - ep.marks->written >= 1000) write_marks(ep);
  }

  // Caller holds ep.marks->mu.
  void write_marks(Endpoint& ep) {
    if (!ep.marks->dirty) return;
    ep.marks->written = now_ms();
    ep.marks->dirty = false;
    if (auto r = write_webhook_marks(opts.spool_dir, ep.connector.name, ep.marks->marks); !r)
      spdlog::warn("listen: {}: health record not written: {}", ep.connector.name, r.error().message);
  }

  void refuse(httplib::Response& res, int status, const httplib::Request& req, const std::string& reason,
              Endpoint* ep = nullptr) {
    if (ep) mark(*ep, status, reason);
    ++refused;
    if (const auto quiet = log_refusal())
      spdlog::warn(
          "listen: {} {} from {}: {} ({}){}", printable(req.method), printable(req.path), req.remote_addr, status,
          reason, *quiet ? fmt::format("; {} more refused requests were not logged in the second before", *quiet) : "");
    res.status = status;
    res.set_content(reason + "\n", "text/plain");
  }

  // Whether a refusal gets its log line: at most k_refusal_lines a second, so that a flood of forged
  // requests cannot fill the log's disk (which may be the spool's). nullopt = not logged; else how
  // many went unlogged before this one.
  static constexpr int k_refusal_lines = 20;
  std::mutex log_mu;
  Timestamp log_second = 0;
  int logged_in_second = 0;
  std::uint64_t unlogged = 0;
  std::optional<std::uint64_t> log_refusal() {
    std::lock_guard lock(log_mu);
    const Timestamp second = now_ms() / 1000;
    if (second != log_second) {
      log_second = second;
      logged_in_second = 0;
    }
    if (logged_in_second >= k_refusal_lines) {
      ++unlogged;
      return std::nullopt;
    }
    ++logged_in_second;
    return std::exchange(unlogged, 0);
  }

  Endpoint* find(const httplib::Request& req) {
    const std::string name = req.path.substr(k_prefix.size());
    auto it = endpoints.find(name);
    return it == endpoints.end() ? nullptr : &it->second;
  }

  void handshake(const httplib::Request& req, httplib::Response& res) {
    Endpoint* ep = find(req);
    if (!ep) return refuse(res, 404, req, "no connector of that name receives webhooks here");
    const auto& spec = ep->connector.spec;
    // A request without hub.mode is not Meta's (a browser, a scanner): refused, but it is no
    // evidence about the subscription, so it stays out of the health record.
    if (!req.has_param("hub.mode")) return refuse(res, 400, req, "no hub.mode: not a subscription request");
    // Anyone can send a wrong mode or token, so neither is evidence either: a genuine handshake that
    // fails shows in Meta's dashboard, where it is made.
    if (req.get_param_value("hub.mode") != "subscribe") return refuse(res, 400, req, "hub.mode is not \"subscribe\"");
    // Anyone can send this too: no evidence (health says what the config lacks by itself).
    if (spec.verify_token.empty())
      return refuse(res, 403, req,
                    "the connector has no verify_token configured (set verify_token_env or verify_token_file)");
    if (!equal_constant_time(req.get_param_value("hub.verify_token"), spec.verify_token))
      return refuse(res, 403, req, "hub.verify_token does not match the connector's verify_token");
    if (!req.has_param("hub.challenge")) return refuse(res, 400, req, "no hub.challenge to answer with", ep);
    spdlog::info("listen: {}: subscription verified", ep->connector.name);
    res.set_content(req.get_param_value("hub.challenge"), "text/plain");
  }

  void receive(const httplib::Request& req, httplib::Response& res) {
    Endpoint* ep = find(req);
    if (!ep) return refuse(res, 404, req, "no connector of that name receives webhooks here");
    const auto& spec = ep->connector.spec;
    // The signature first: nothing unauthenticated is parsed, let alone stored.
    if (spec.app_secret.empty())
      return refuse(res, 401, req,
                    "the connector has no app_secret configured to check signatures with (set app_secret_env or "
                    "app_secret_file)",
                    ep);
    if (form_encoded(req))
      return refuse(res, 415, req, "a form-encoded body is not accepted: send Content-Type: application/json");
    // Meta always signs. A request without a well-formed signature is not Meta's (anyone can send
    // one), so it stays out of the health record; a well-formed signature that does not match is
    // evidence only on a body shaped as Meta's (one of its objects, an entry): a scanner's or a
    // forger's random body with 64 hex digits could otherwise page someone at night.
    const std::string sig = req.get_header_value("X-Hub-Signature-256");
    if (sig.empty()) return refuse(res, 401, req, "no X-Hub-Signature-256 header");
    if (!well_formed_signature(sig))
      return refuse(res, 401, req, "X-Hub-Signature-256 is not \"sha256=<64 hex digits>\"");
    if (!equal_constant_time(sig.substr(7), hmac_sha256_hex(spec.app_secret, req.body)))
      return refuse(res, 401, req,
                    "X-Hub-Signature-256 does not match the body (wrong app secret, or the body was altered)",
                    meta_shaped(req.body) ? ep : nullptr);
    auto object = object_of(req.body);
    // Signed, so Meta's, yet not strict JSON (a text cut inside an emoji leaves a lone \ud83d): kept
    // when it names the connector's object as Meta writes it, for pull to keep as a dead letter with
    // its bytes; refused, Meta would retry it until it gives the message up.
    if (!object && req.body.find(fmt::format("\"object\":\"{}\"", spec.object)) != std::string::npos)
      object = spec.object;
    if (!object) return refuse(res, 400, req, "the body is not a JSON object", ep);
    if (*object != spec.object)
      return refuse(res, 400, req, fmt::format("the payload's object is \"{}\", not \"{}\"", *object, spec.object), ep);
    if (auto r = commit->submit(*ep->writer, req.body); !r) {
      ++refused;
      mark(*ep, 503, "spool unavailable: " + r.error().message);
      spdlog::error("listen: {}: {}", ep->connector.name, r.error().message);
      res.status = 503;
      res.set_header("Retry-After", "60");
      res.set_content("spool unavailable; retry\n", "text/plain");
      return;
    }
    ++accepted;
    mark(*ep, 0, "");
    res.set_content("EVENT_RECEIVED", "text/plain");
  }
};

Receiver::Receiver(ListenOptions options) : m(std::make_unique<Impl>()) {
  m->opts = std::move(options);
  if (m->opts.connectors.empty())
    throw Failure(Errc::config,
                  "no configured connector receives webhooks (whatsapp-cloud, meta-messenger, "
                  "meta-instagram); add one to the config, see chansync-adapters(7)");
  if (m->opts.spool_dir.empty()) throw Failure(Errc::config, "no webhook spool directory; set [listen] spool_dir");
  m->lock = std::make_unique<SpoolLock>(m->opts.spool_dir);
  for (const auto& c : m->opts.connectors) {
    auto& ep = m->endpoints.emplace(c.name, Endpoint{c, std::make_unique<SpoolWriter>(m->opts.spool_dir, c.name)})
                   .first->second;
    // The record goes on from where the last run left it: a restart is no evidence that nothing was
    // ever accepted.
    if (auto earlier = read_webhook_marks(m->opts.spool_dir, c.name)) ep.marks->marks = *earlier;
  }
  if (!m->opts.fsync)
    spdlog::warn("listen: fsync is OFF (CHANSYNC_LISTEN_NO_FSYNC): a crash loses acknowledged webhooks");
  m->commit = std::make_unique<GroupCommit>(m->opts.fsync);

  auto& s = m->server;
  const std::size_t threads = m->opts.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_payload_max_length(k_spool_max_body);
  // Meta keeps connections open; without TCP_NODELAY each answer waits out the peer's delayed ACK
  // (40 ms), and httplib's default of 5 requests per connection would reconnect constantly.
  s.set_tcp_nodelay(true);
  s.set_keep_alive_max_count(1000);
  // httplib's default sets SO_REUSEPORT, which would let a second listen share the port and take
  // half the webhooks into another spool: only SO_REUSEADDR (restart while old connections linger).
  s.set_socket_options([this](int fd) {
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    m->socket = fd;
  });
  // Before any body is read: Meta sends uncompressed JSON with a Content-Length. httplib would inflate
  // a compressed body whole (its limit counts the compressed bytes: a 1 MB gzip request unpacked to
  // 1 GB) and read a chunked one without a limit, both before the signature is checked. Neither is a
  // vendor's, so neither is in the health record; the connection is closed, its body unread. Other
  // methods get 405 here (httplib answers 400 to a PUT without a body).
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const std::string encoding = req.get_header_value("Content-Encoding");
    const bool webhook_path = req.path.starts_with(k_prefix);
    if (webhook_path && req.method != "GET" && req.method != "HEAD" && req.method != "POST") {
      res.set_header("Allow", "GET, POST");
      m->refuse(res, 405, req, "only GET (subscribe) and POST (events) are served");
    } else if (!encoding.empty() && encoding != "identity")
      m->refuse(res, 415, req,
                fmt::format("Content-Encoding {} is not accepted: send the body uncompressed",
                            printable(encoding.substr(0, 40))));
    else if (req.has_header("Transfer-Encoding"))
      m->refuse(res, 411, req, "a chunked body is not accepted: send a Content-Length");
    else if (req.method == "POST" && !req.has_header("Content-Length"))
      // httplib would read such a body until the client closes the connection, with no limit.
      m->refuse(res, 411, req, "a POST without Content-Length is not accepted");
    else
      return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("Connection", "close");
    return httplib::Server::HandlerResponse::Handled;
  });
  const std::string pattern = std::string(k_prefix) + R"(([A-Za-z0-9_.-]+))";
  s.Get(pattern, [this](const httplib::Request& req, httplib::Response& res) { m->handshake(req, res); });
  s.Post(pattern, [this](const httplib::Request& req, httplib::Response& res) { m->receive(req, res); });
  // Called for every status >= 400. What the handlers above did not answer: 404 for unknown paths,
  // 413 from the body limit; each gets its log line.
  s.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // refused by a handler above, which said why
    if (res.status == 413) {
      // httplib cuts a form-encoded body (curl -d without a Content-Type) at 8 KiB.
      const bool form = form_encoded(req);
      const std::string why = form ? "a form-encoded body over 8 KiB; send Content-Type: application/json"
                                   : fmt::format("body over {} bytes", k_spool_max_body);
      // A body too large for the spool may be a vendor's that is lost once the vendor gives up
      // retrying it: health is told (a form-encoded one is nobody's).
      Endpoint* ep = !form && req.path.starts_with(k_prefix) ? m->find(req) : nullptr;
      m->refuse(res, 413, req, why, ep);
      res.set_content("payload too large: " + why + "\n", "text/plain");
      return;
    }
    m->refuse(res, res.status, req, "no such path");
  });
}

Receiver::~Receiver() = default;

std::string Receiver::bind() {
  const auto& address = m->opts.address;
  if (!valid_listen_address(address))
    throw Failure(Errc::usage, fmt::format("listen address \"{}\" is not HOST:PORT (e.g. 127.0.0.1:8787)", address));
  const auto colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  if (host.starts_with('[')) host = host.substr(1, host.size() - 2);
  const int port = std::stoi(address.substr(colon + 1));
  int bound = port;
  if (port == 0)
    bound = m->server.bind_to_any_port(host);
  else if (!m->server.bind_to_port(host, port))
    bound = -1;
  // httplib listens with a backlog of 5: a burst of new connections (Meta opens several at once)
  // overflows it and waits out a 1 s SYN retransmit, or fails. Listening again raises it.
  if (bound > 0 && m->socket >= 0) ::listen(m->socket, SOMAXCONN);
  if (bound <= 0)
    throw Failure(Errc::unavailable,
                  fmt::format("cannot listen on {}: the port is in use or the address is not one of this machine's; "
                              "choose another with --address or [listen] address",
                              address));
  return fmt::format("{}:{}", host.find(':') != std::string::npos ? "[" + host + "]" : host, bound);
}

bool Receiver::run() {
  m->running = true;
  bool ok = true;
  if (!m->stop_requested) ok = m->server.listen_after_bind();
  // listen_after_bind returns once stop() closed the socket and the workers finished what they had.
  m->running = false;
  for (auto& [name, ep] : m->endpoints) {
    std::lock_guard lock(ep.marks->mu);
    m->write_marks(ep);
  }
  std::lock_guard lock(m->commit_mu);
  m->fsyncs = m->commit->fsyncs();  // every request was answered: the commit thread is idle
  m->commit.reset();
  return ok || m->stop_requested;
}

void Receiver::stop() {
  m->stop_requested = true;
  // httplib ignores a stop() before its accept loop runs: wait for it (or for run() to end).
  while (m->running && !m->server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  m->server.stop();
}

ListenStats Receiver::stats() const {
  std::lock_guard lock(m->commit_mu);
  return {m->accepted.load(), m->refused.load(), m->commit ? m->commit->fsyncs() : m->fsyncs};
}

}  // namespace chansync::listen
