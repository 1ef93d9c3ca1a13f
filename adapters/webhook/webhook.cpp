#include "adapters/webhook/webhook.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "adapters/pieces.hpp"
#include "sync/digest.hpp"

namespace chansync::adapters::webhook {
namespace {

constexpr const char* k_type = "webhook";
constexpr long long k_max_batch = 1000;

long long configured_batch(const EndpointConfig& cfg) {
  const long long n = cfg.options.value("batch_size", 100LL);
  if (n < 1 || n > k_max_batch)
    throw Failure(Errc::config, fmt::format("targets.{}.batch_size = {} is out of range; use 1 to {} persons per "
                                            "request",
                                            cfg.name, n, k_max_batch));
  return n;
}

// What of the receiver's URL may be a secret: its path (Slack's incoming webhooks, Zapier's catch
// hooks), its path with the query, and each query value (Azure Functions' ?code=). The client redacts
// them like the signing secret wherever it names the URL: logs and errors show the scheme and host.
std::vector<std::string> url_secrets(const std::string& url) {
  const auto scheme = url.find("://");
  const auto slash = url.find_first_of("/?", scheme == std::string::npos ? 0 : scheme + 3);
  if (slash == std::string::npos) return {};
  const std::string target = url.substr(slash, url.find('#', slash) - slash);
  const auto q = target.find('?');
  std::vector<std::string> out = {target, target.substr(0, q)};
  if (q == std::string::npos) return out;
  for (std::size_t pos = q + 1; pos <= target.size();) {
    auto end = target.find('&', pos);
    if (end == std::string::npos) end = target.size();
    const auto eq = target.find('=', pos);
    if (eq != std::string::npos && eq < end) out.push_back(target.substr(eq + 1, end - eq - 1));
    pos = end + 1;
  }
  return out;
}

std::vector<std::string> secrets_of(const std::string& secret, const std::string& url) {
  auto out = url_secrets(url);
  out.push_back(secret);
  return out;
}

// The receiver confirms or refuses each request as a whole; push() splits what push_target hands it
// into requests of at most batch_size persons.
class WebhookSink final : public Adapter, public Sink {
 public:
  explicit WebhookSink(const AdapterContext& ctx)
      : m_name(ctx.config.name),
        m_url(ctx.config.options.at("url").get<std::string>()),
        m_secret(ctx.config.secrets.count("secret") ? ctx.config.secrets.at("secret") : ""),
        m_batch(static_cast<std::size_t>(configured_batch(ctx.config))),
        // Retries resend the same signed request, so its t ages: with at most 30 s per attempt and
        // per wait, the fifth attempt leaves within 4 minutes of t, inside the 5 minutes receivers
        // are told to accept (chansync-adapters(7)). A longer Retry-After ends the push as rate limited.
        m_http(HttpOptions{.connector = ctx.config.name,
                           .max_retry_after = std::chrono::seconds(30),
                           .timeout_ms = 30'000,
                           .secrets = secrets_of(m_secret, m_url),  // a receiver echoing them is redacted
                           .sleep = ctx.sleep}) {}

  // A signed POST of an empty batch: it exercises what a push needs (reachable, TLS, the receiver
  // accepts our signature) without delivering anyone. The receiver must answer 2xx to it.
  HealthReport probe() override {
    if (m_secret.empty()) {
      HealthReport r{m_name, k_type};
      r.checked_at = now_ms();
      r.summary = fmt::format("not checked: no secret was read (targets.{}.secret_env or secret_file)", m_name);
      return r;
    }
    const std::string body = R"({"persons":[]})";
    // A fresh key per probe: a receiver answering a known key from its cache would hide a broken one.
    auto req = request(body, sha256_hex(fmt::format("probe.{}.{}", now_ms(), body)));
    std::string answer;
    auto obs = observe(m_http, req, &answer);
    if (obs.http_status >= 300) obs.vendor_message = m_http.excerpt(answer);
    const int st = obs.http_status;
    auto r = classify(m_name, k_type, std::move(obs));
    if (r.cls == HealthClass::auth_failed)
      r.summary = fmt::format(
          "the receiver rejected the signed request (HTTP {}: {}); it must verify Chansync-Signature with the "
          "secret targets.{} reads",
          st, r.evidence.vendor_message, m_name);
    else if (r.cls == HealthClass::unknown && st >= 300)
      r.summary = fmt::format("the receiver answered an empty signed batch with HTTP {}: {}; it must answer 2xx", st,
                              r.evidence.vendor_message);
    return r;
  }

  std::size_t batch_size() const override { return m_batch; }

  Result<std::vector<PushOutcome>> push(std::span<const PushItem> batch) override {
    if (m_secret.empty())
      return fail(Errc::config, fmt::format("no secret was read for targets.{}; set secret_env or secret_file", m_name),
                  m_name);
    std::vector<PushOutcome> out;
    out.reserve(batch.size());
    // When the receiver goes away mid-call, the requests it confirmed are reported delivered and the
    // rest failed with the error, which tells push_target to stop (see Sink::push).
    auto stop = [&](Error e) -> Result<std::vector<PushOutcome>> {
      if (e.connector.empty()) e.connector = m_name;
      if (out.empty()) return std::unexpected(std::move(e));
      for (std::size_t i = out.size(); i < batch.size(); ++i)
        out.push_back({batch[i].record->person_id, PushOutcome::Status::failed, "", e});
      return out;
    };
    for (std::size_t at = 0; at < batch.size(); at += m_batch)
      if (auto e = deliver(batch.subspan(at, std::min(m_batch, batch.size() - at)), out)) return stop(std::move(*e));
    return out;
  }

 private:
  // A refusal of a request's content (400, 409, 413, 422, ...): its status and the receiver's words.
  struct Refusal {
    int status = 0;
    std::string text;
    bool operator==(const Refusal&) const = default;
  };

  // POSTs `part` as one request and adds its persons' outcomes to `out`. A refusal of the content
  // is narrowed down to the persons it is about (narrow()). Returns the error that ends the push:
  // the receiver is unreachable, rejects the signature, asks to slow down, is not at that URL, or
  // refuses every part of the request alike.
  std::optional<Error> deliver(std::span<const PushItem> part, std::vector<PushOutcome>& out) {
    auto answer = post(part);
    if (!answer) return std::move(answer.error());
    if (!*answer) {
      delivered(part, out);
      return std::nullopt;
    }
    return narrow(part, **answer, out, true);
  }

  // `part` was refused as `refusal`: its pieces go again, down to single persons, so that one bad
  // record fails alone rather than park the persons it shared a request with. The first split is in
  // quarters. When all four are refused just as the whole was, the first quarter is narrowed down to
  // single persons: if each of them is refused alike too, the refusal is about the request, not about
  // a person (a receiver that expects another format or a field it lacks), and it ends the push,
  // where narrowing every quarter would send 2N-1 requests for each batch. A receiver with one text
  // for every bad person tells otherwise: someone in that quarter goes through.
  // Outcomes are added in the batch's order (push() relies on it when the receiver goes away).
  std::optional<Error> narrow(std::span<const PushItem> part, const Refusal& refusal, std::vector<PushOutcome>& out,
                              bool first) {
    if (part.size() == 1) {
      out.push_back({part.front().record->person_id, PushOutcome::Status::failed, "", refused_alone(refusal)});
      return std::nullopt;
    }
    const std::size_t pieces = first && part.size() >= 4 ? 4 : 2;
    const auto spans = pieces_of(part, pieces);
    std::vector<std::optional<Refusal>> answers;
    for (const auto piece : spans) {
      auto answer = post(piece);
      if (!answer) {  // what was delivered before the first refused piece keeps the order; the rest fails
        for (std::size_t i = 0; i < answers.size() && !answers[i]; ++i) delivered(spans[i], out);
        return std::move(answer.error());
      }
      answers.push_back(std::move(*answer));
    }
    std::size_t i = 0;
    if (pieces == 4 && std::all_of(answers.begin(), answers.end(), [&](const auto& a) { return a == refusal; })) {
      std::vector<PushOutcome> probe;
      auto e = narrow(spans[0], *answers[0], probe, false);
      const std::string alone = refused_alone(refusal).message;
      if (!e && std::all_of(probe.begin(), probe.end(), [&](const PushOutcome& o) {
            return o.status == PushOutcome::Status::failed && o.error && o.error->message == alone;
          }))
        return Error{Errc::config,
                     fmt::format("the receiver refused a request of {} persons, each quarter of it and each person "
                                 "of the first quarter alike (HTTP {}: {}): that is about the requests, not about a "
                                 "person in them; check that targets.{}.url expects chansync's webhook body "
                                 "(chansync-adapters(7))",
                                 part.size(), refusal.status, refusal.text, m_name),
                     m_name, refusal.status};
      out.insert(out.end(), probe.begin(), probe.end());
      if (e) return e;
      i = 1;
    }
    for (; i < spans.size(); ++i) {
      if (!answers[i])
        delivered(spans[i], out);
      else if (auto e = narrow(spans[i], *answers[i], out, false))
        return e;
    }
    return std::nullopt;
  }

  Error refused_alone(const Refusal& refusal) const {
    return Error{Errc::remote, fmt::format("the receiver refused it with HTTP {}: {}", refusal.status, refusal.text),
                 m_name, refusal.status};
  }

  void delivered(std::span<const PushItem> part, std::vector<PushOutcome>& out) const {
    for (const auto& item : part)
      out.push_back({item.record->person_id, item.remove     ? PushOutcome::Status::deleted
                                             : item.previous ? PushOutcome::Status::updated
                                                             : PushOutcome::Status::created});
  }

  // POSTs `part` as one request: nullopt when the receiver took it, the refusal of its content, or
  // the error that ends the push.
  Result<std::optional<Refusal>> post(std::span<const PushItem> part) {
    // Persons to upsert in "persons"; persons merged away (or gone) in "deleted", only when there are any.
    std::string body = R"({"persons":[)", deleted;
    bool first = true;
    for (const auto& item : part) {
      if (item.remove) {
        nlohmann::json gone = {{"person_id", item.record->person_id}};
        gone["merged_into"] = item.merged_into.empty() ? nlohmann::json(nullptr) : nlohmann::json(item.merged_into);
        if (item.erased()) gone["erased"] = true;
        deleted += (deleted.empty() ? "" : ",") + gone.dump();
        continue;
      }
      if (!first) body += ',';
      first = false;
      append_person_json(body, item);
    }
    body += deleted.empty() ? "]}" : R"(],"deleted":[)" + deleted + "]}";
    // The key is the same on a retry and on a re-send after a crash (nothing was recorded, so the
    // ledger is as it was), and differs when the same body is a new delivery: a person changed back
    // to what it was, or deleted again after an undone merge brought it back. The target's name is in
    // it: two targets posting the same persons to one receiver are two deliveries.
    std::string basis = m_name + '\n' + body;
    for (const auto& item : part)
      basis += fmt::format("\n{} {} {}", item.record->person_id, item.previous ? item.previous->hash : "-",
                           item.previous ? item.previous->pushed_at : 0);
    std::string key = sha256_hex(basis);
    spdlog::debug("{}: POST of {} persons, {} bytes, Idempotency-Key {}", m_name, part.size(), body.size(), key);
    const HttpRequest req = request(std::move(body), std::move(key));
    auto resp = m_http.send(req);
    if (!resp) return std::unexpected(std::move(resp.error()));
    const int st = resp->status;
    if (st >= 200 && st < 300) return std::nullopt;
    // Not the persons: no such address (every request would get it), a timeout, the signature
    // (401/403), slow down (429), the server (5xx).
    if (st == 404 || st == 405 || st == 410)
      return std::unexpected(
          Error{Errc::config,
                fmt::format("the receiver answered HTTP {} ({}): nothing receives webhooks at that address; check "
                            "targets.{}.url",
                            st, m_http.excerpt(resp->body, 120), m_name),
                m_name, st});
    if (st < 400 || st >= 500 || st == 401 || st == 403 || st == 408 || st == 429)
      return std::unexpected(
          m_http.error(req, *resp, fmt::format("delivering {} persons", part.size()), m_http.excerpt(resp->body)));
    return Refusal{st, m_http.excerpt(resp->body)};
  }

  HttpRequest request(std::string body, std::string key) const {
    const std::string t = std::to_string(now_ms() / 1000);
    const std::string signature = "t=" + t + ",v1=" + hmac_sha256_hex(m_secret, t + "." + body);
    HttpRequest req{"POST", m_url};
    // The key makes the POST safe to repeat for HttpClient, which then retries 5xx and timeouts.
    req.headers = {{"Content-Type", "application/json"}, {"Chansync-Signature", signature}, {"Idempotency-Key", key}};
    req.body = std::move(body);
    return req;
  }

  std::string m_name, m_url, m_secret;
  std::size_t m_batch;
  HttpClient m_http;
};

}  // namespace

AdapterType type() {
  return adapter_type<WebhookSink>(
      k_type,
      "person records POSTed as JSON batches to a URL, signed with HMAC-SHA256 (Chansync-Signature) and "
      "carrying an Idempotency-Key",
      {{"url", "the receiver's address", OptionSpec::Kind::url, true, false, nullptr},
       {"secret", "shared secret the Chansync-Signature HMAC-SHA256 is keyed with", OptionSpec::Kind::string, true,
        true, nullptr},
       {"batch_size", "persons per request, 1 to 1000", OptionSpec::Kind::integer, false, false, 100}});
}

}  // namespace chansync::adapters::webhook
