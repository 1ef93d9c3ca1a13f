#include "adapters/whatsapp/whatsapp.hpp"

#include <fmt/format.h>

#include <mutex>

#include "adapters/meta/graph.hpp"
#include "adapters/meta/graph_health.hpp"
#include "adapters/status_page.hpp"
#include "adapters/whatsapp/whatsapp_api.hpp"

namespace chansync::adapters::whatsapp {
namespace {

constexpr const char* k_type = "whatsapp-cloud";

class WhatsAppAdapter final : public Adapter, public ConversationSource, public WebhookReceiver {
 public:
  explicit WhatsAppAdapter(const AdapterContext& ctx)
      : m_receiver{ctx.config.name, ctx.config.options.at("phone_number_id").get<std::string>(), &m_phone},
        m_version(ctx.config.options.at("api_version").get<std::string>()),
        m_base(ctx.config.options.at("base_url").get<std::string>()),
        m_token(ctx.config.secret("token")),
        m_waba(ctx.config.options.value("waba_id", "")),
        m_spec{"whatsapp_business_account", ctx.config.secret("app_secret"), ctx.config.secret("verify_token")},
        m_http(HttpOptions{.connector = ctx.config.name, .bearer_token = m_token, .sleep = ctx.sleep}) {
    while (!m_base.empty() && m_base.back() == '/') m_base.pop_back();
  }

  std::vector<Stream> streams() const override {
    return {{std::string(k_webhooks_stream), Role::conversations, /*acknowledges=*/true, /*spool=*/true}};
  }

  HealthReport probe() override {
    const auto& id = m_receiver.phone_number_id;
    if (m_token.empty()) {
      // The token is optional (webhooks need none): nothing here fails, so what listen recorded and
      // the silence of the channel decide the class (it was a permanent UNKNOWN, exit 3).
      HealthReport r{m_receiver.connector, k_type};
      r.checked_at = now_ms();
      add_finding(r, {HealthClass::ok, "phone number", "no token",
                      "webhooks only: the phone number is not checked without a token (set token_env or token_file "
                      "to a system user access token with whatsapp_business_management to check it)",
                      ""});
      return r;
    }
    std::string body;
    auto report = meta::probe_graph_object(
        m_http, fmt::format("{}/{}/{}?fields=id,display_phone_number,verified_name", m_base, m_version, id), k_type,
        advice(), id, "the WhatsApp phone number " + id, &body);
    if (const auto number = parse_phone_number(body); number && report.cls == HealthClass::ok)
      report.summary = fmt::format("phone number {} ({}) answers", number->display_phone_number,
                                   number->verified_name.empty() ? "no verified name" : number->verified_name);
    if (!meta::object_answered(report)) return for_health_only(std::move(report));  // it says what matters
    const auto token = meta::graph_get(
        m_http, fmt::format("{}/{}/debug_token?input_token={}", m_base, m_version, url_encode(m_token)));
    const std::string needed[] = {"whatsapp_business_management"};
    meta::add_token_findings(report, token.status, token.body, token.error, needed, advice().token_fix);
    report = for_health_only(std::move(report));
    // The WhatsApp Business Account is what sends the webhooks: without waba_id there is no asking.
    if (!m_waba.empty()) {
      const auto subs =
          meta::graph_get(m_http, fmt::format("{}/{}/{}/subscribed_apps", m_base, m_version, url_encode(m_waba)));
      add_signal_finding(report, meta::subscription_finding(subs.status, subs.body, subs.error,
                                                            "the WhatsApp Business Account " + m_waba, ""));
    }
    return report;
  }

  // The token serves this check alone: inbound webhooks need none. One that is refused, expired or
  // without the scope leaves the number unchecked but stops no message, so it is no CRITICAL
  // auth_failed ("messages are not fetched"): each such finding is kept as one that could not run,
  // and the class is what the rest says (listen's record and the channel's silence, beside it).
  static HealthReport for_health_only(HealthReport r) {
    bool demoted = false, token = false;
    std::string action;  // how to mend the token, kept as what to do
    for (auto& f : r.findings) {
      // Graph answering in another version than api_version (it ended): that ends this check alone.
      if (f.cls == HealthClass::gone) {
        f.cls = HealthClass::deprecated;
        f.detail +=
            "; whatsapp-cloud uses api_version only for this check, and webhooks keep arriving in the "
            "version the App Dashboard sets";
        demoted = true;
      }
      if (f.cls == HealthClass::auth_failed) {
        if (action.empty()) action = f.action;
        token = true;
        f.cls = HealthClass::unknown;
        f.beside = true;
        f.detail = "phone number not checked: the health token " + f.detail +
                   " (inbound webhooks need no token, so messages still arrive)";
        demoted = true;
      }
    }
    if (!demoted) return r;
    add_finding(r, {HealthClass::ok, "phone number", token ? "not checked" : "answered",
                    token ? "webhooks only: the phone number could not be checked with the token"
                          : "webhooks only: the phone number answered in another API version",
                    action});
    return r;
  }

  Result<Page<Conversation>> pull_conversations(const PullRequest& req) override {
    return fail(Errc::internal,
                fmt::format("{} has nothing to pull on stream \"{}\": WhatsApp sends its data only as webhooks, "
                            "which the pipeline reads from the spool `chansync listen` fills",
                            k_type, req.stream),
                m_receiver.connector);
  }

  WebhookSpec webhook() const override { return m_spec; }

  void map_webhook(std::string_view payload, Page<Conversation>& page) const override {
    std::lock_guard lock(m_mapping);  // the memo of phone numbers is one
    map_payload(payload, m_receiver, page);
  }

 private:
  meta::GraphAdvice advice() const {
    return {m_receiver.connector, m_version,
            "create a new system user access token in Meta Business Suite (Business settings > System users) "
            "and update token_env/token_file",
            "the probe needs whatsapp_business_management on the WhatsApp Business Account of phone number " +
                m_receiver.phone_number_id + ": assign the account to the system user and create a new token"};
  }

  mutable PhoneNormalizer m_phone{""};
  mutable std::mutex m_mapping;
  Receiver m_receiver;
  std::string m_version, m_base, m_token, m_waba;
  WebhookSpec m_spec;
  HttpClient m_http;
};

}  // namespace

AdapterType type() {
  using K = OptionSpec::Kind;
  return adapter_type<WhatsAppAdapter>(
      k_type,
      "WhatsApp Cloud API phone number (webhooks via chansync listen): one conversation per customer (phone, "
      "else business-scoped user id)",
      with_status_page(
          {
              {"phone_number_id", "the business phone number's id (WhatsApp Manager, or the App Dashboard's API Setup)",
               K::string, true, false, nullptr},
              {"app_secret", "the Meta app's secret (App settings > Basic): checks each webhook's X-Hub-Signature-256",
               K::string, true, true, nullptr},
              {"verify_token",
               "what Meta must present when the webhook subscription is verified (any string you choose)", K::string,
               false, true, nullptr},
              {"token", "system user access token with whatsapp_business_management, for health probes only", K::string,
               false, true, nullptr},
              {"waba_id",
               "the WhatsApp Business Account's id: health checks that it still sends its webhooks to an app "
               "(subscribed_apps); unset: not checked",
               K::string, false, false, nullptr},
              {"api_version", "Graph API version", K::string, false, false, "v23.0"},
              {"base_url", "Graph API root (tests, the simulator)", K::url, false, false, "https://graph.facebook.com"},
          },
          nullptr));
}

}  // namespace chansync::adapters::whatsapp
