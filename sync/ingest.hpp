#pragma once
// `chansync ingest NAME FILE`: captured webhook payloads (one JSON payload per line, as another
// receiver logged them, or an export for a migration) mapped exactly as pulled spool payloads are
// (WebhookReceiver::map_webhook) and committed page by page to the connector's spool stream: its
// records and dead letters, never its cursor (the spool's position is untouched).
#include <istream>
#include <string>

#include "sync/adapter.hpp"
#include "sync/pull.hpp"
#include "sync/state_store.hpp"

namespace chansync {

// Throws Failure(usage) when `adapter` receives no webhooks, so it has no payloads to ingest.
void require_webhooks(const std::string& connector, const Adapter& adapter);

// Reads `in` to the end. Blank lines are skipped; a line that is not a payload of the connector
// becomes a dead letter with its bytes. Figures count messages, as a pull does; `pages` counts
// commits. Throws Failure when the store cannot be written (every page before is committed).
PullStats ingest_payloads(const std::string& connector, const Adapter& adapter, StateStore& store, std::istream& in);

}  // namespace chansync
