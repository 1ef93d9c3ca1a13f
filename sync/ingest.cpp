#include "sync/ingest.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace chansync {

PullStats ingest_payloads(const std::string& connector, const Adapter& adapter, StateStore& store, std::istream& in) {
  const WebhookReceiver* receiver = adapter.webhooks();
  if (!receiver)
    throw Failure(Errc::usage, fmt::format("connector {} does not receive webhooks, so it has no payloads to "
                                           "ingest; ingest is for whatsapp-cloud, meta-messenger and meta-instagram "
                                           "connectors",
                                           connector));
  // The spool stream's name; a Meta connector without an app secret has none yet, but the payloads
  // belong to the stream it gets once webhooks are set up.
  const auto streams = adapter.streams();
  const auto spool = std::find_if(streams.begin(), streams.end(), [](const Stream& s) { return s.spool; });
  const std::string stream = spool == streams.end() ? std::string(k_webhooks_stream) : spool->name;
  PullStats stats{connector, stream};
  const std::string cursor = store.records().cursor(connector, stream);
  Page<Conversation> page;
  std::size_t payloads = 0, line_no = 0;
  auto commit = [&] {
    PageStats ps;
    try {
      ps = store.records().commit_conversations(connector, stream, page.items, page.rejects, cursor);
    } catch (const SQLite::Exception& e) {
      throw storage_failure(e, store.path(),
                            fmt::format("committing ingested payloads up to line {} for {}", line_no, connector));
    }
    for (const auto& n : page.notices) spdlog::warn("{}/{}: the vendor reports: {}", connector, stream, n);
    if (!page.notices.empty()) stats.notice = page.notices.back();
    ++stats.pages;
    stats.received += ps.received;
    stats.written += ps.written;
    stats.rejected += ps.rejected;
    page = {};
    payloads = 0;
  };
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::size_t before = page.rejects.size();
    receiver->map_webhook(line, page);
    for (std::size_t i = before; i < page.rejects.size(); ++i)
      page.rejects[i].error = fmt::format("line {}: {}", line_no, page.rejects[i].error);
    if (++payloads == k_spool_page) commit();
  }
  if (in.bad())
    stats.error = Error{Errc::io,
                        fmt::format("reading the payloads stopped at line {}: an I/O error; the lines "
                                    "before it are committed, run ingest again on the rest",
                                    line_no),
                        connector};
  if (payloads > 0 || !page.rejects.empty()) commit();
  return stats;
}

}  // namespace chansync
