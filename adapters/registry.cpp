#include "adapters/registry.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "adapters/chatwoot/chatwoot.hpp"
#include "adapters/csv/csv.hpp"
#include "adapters/hubspot/hubspot.hpp"
#include "adapters/hubspot/hubspot_sink.hpp"
#include "adapters/imap/imap.hpp"
#include "adapters/meta/meta.hpp"
#include "adapters/ndjson/ndjson.hpp"
#include "adapters/postgres/postgres.hpp"
#include "adapters/telegram/telegram.hpp"
#include "adapters/twilio/twilio.hpp"
#include "adapters/twilio/twilio_calls.hpp"
#include "adapters/twilio/twilio_conversations.hpp"
#include "adapters/webhook/webhook.hpp"
#include "adapters/whatsapp/whatsapp.hpp"

namespace chansync::adapters {

std::span<const AdapterType> registry() {
  static const std::vector<AdapterType> k_types = {twilio::type(),
                                                   twilio::calls_type(),
                                                   twilio::conversations_type(),
                                                   telegram::type(),
                                                   whatsapp::type(),
                                                   meta::messenger_type(),
                                                   meta::instagram_type(),
                                                   imap::type(),
                                                   hubspot::type(),
                                                   csv::type(),
                                                   ndjson::type(),
                                                   webhook::type(),
                                                   postgres::type(),
                                                   chatwoot::type(),
                                                   hubspot::sink_type()};
  return k_types;
}

std::vector<TypeSpec> type_specs() {
  std::vector<TypeSpec> out;
  for (const auto& t : registry()) out.push_back(t.spec);
  return out;
}

OptionSpec allow_plaintext_option(const std::vector<OptionSpec>& options) {
  std::vector<std::string> urls;
  for (const auto& o : options)
    if (o.kind == OptionSpec::Kind::url) urls.push_back(o.key);
  return {"allow_plaintext",
          fmt::format("accept plain http:// in {} to a host that is not loopback, on a network you trust (a lab, "
                      "a mock server): credentials and records then cross it unencrypted",
                      fmt::join(urls, " and ")),
          OptionSpec::Kind::boolean,
          false,
          false,
          false};
}

const AdapterType& type_of(const EndpointConfig& cfg) {
  for (const auto& t : registry())
    if (t.spec.type == cfg.type) return t;
  throw Failure(Errc::config, fmt::format("{}: unknown adapter type \"{}\"", cfg.name, cfg.type));
}

void check_endpoint(const EndpointConfig& cfg) {
  const TypeSpec& spec = type_of(cfg).spec;
  const bool sink = std::find(spec.roles.begin(), spec.roles.end(), Role::sink) != spec.roles.end();
  if (const auto refused =
          refused_url(spec, cfg.options, fmt::format("{}.{}", sink ? "targets" : "connectors", cfg.name)))
    throw Failure(Errc::config, refused->second);
}

std::unique_ptr<Adapter> create_adapter(const EndpointConfig& cfg, const std::string& default_region, Sleeper sleep) {
  check_endpoint(cfg);
  try {
    return type_of(cfg).create(AdapterContext{cfg, default_region, std::move(sleep)});
  } catch (const Failure& f) {
    // An adapter's own check of its options may not say whose options they are.
    const std::string& m = f.error().message;
    if (m.starts_with(cfg.name + ":") || m.find("." + cfg.name) != std::string::npos) throw;
    Error e = f.error();
    e.message = fmt::format("{} ({}): {}", cfg.name, cfg.type, e.message);
    throw Failure(std::move(e));
  }
}

}  // namespace chansync::adapters
