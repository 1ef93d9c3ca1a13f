#include "adapters/registry.hpp"

#include <fmt/format.h>

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

std::unique_ptr<Adapter> create_adapter(const EndpointConfig& cfg, const std::string& default_region, Sleeper sleep) {
  for (const auto& t : registry())
    if (t.spec.type == cfg.type) return t.create(AdapterContext{cfg, default_region, std::move(sleep)});
  throw Failure(Errc::config, fmt::format("{}: unknown adapter type \"{}\"", cfg.name, cfg.type));
}

}  // namespace chansync::adapters
