#include "sync/ingest.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "sync/spool.hpp"

namespace chansync {
namespace {

// The next line of `in`, without its line break, into `line`: at most `cap` bytes of it, with `size`
// its whole length. A line longer than that is read past, never held whole. False at the end of the
// input or on an I/O error (in.bad()).
bool read_line(std::istream& in, std::string& line, std::size_t cap, std::size_t& size) {
  line.clear();
  size = 0;
  char chunk[1 << 16];
  for (bool any = false;;) {
    in.getline(chunk, sizeof chunk);
    if (in.bad()) return false;
    const auto n = static_cast<std::size_t>(in.gcount());
    const bool full = in.fail() && !in.eof() && n == sizeof chunk - 1;  // the line goes on
    const bool ended = !in.fail() && !in.eof();                         // its line break was read
    const std::size_t got = ended ? n - 1 : n;
    any = any || n > 0;
    size += got;
    if (line.size() < cap) line.append(chunk, std::min(got, cap - line.size()));
    if (!full) return any;
    in.clear(in.rdstate() & ~std::ios::failbit);
  }
}

}  // namespace

void require_webhooks(const std::string& connector, const Adapter& adapter) {
  if (!adapter.webhooks())
    throw Failure(Errc::usage, fmt::format("connector {} does not receive webhooks, so it has no payloads to "
                                           "ingest; ingest is for whatsapp-cloud, meta-messenger and meta-instagram "
                                           "connectors",
                                           connector));
}

PullStats ingest_payloads(const std::string& connector, const Adapter& adapter, StateStore& store, std::istream& in) {
  require_webhooks(connector, adapter);
  const WebhookReceiver* receiver = adapter.webhooks();
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
  std::string line, first_reason;
  std::size_t payload_lines = 0;  // not blank
  for (std::size_t size = 0; read_line(in, line, k_spool_max_body + 1, size);) {
    ++line_no;
    if (line_no == 1 && line.starts_with("\x1f\x8b")) {
      stats.error = Error{
          Errc::usage,
          "the payloads are gzip-compressed; decompress them first: zcat FILE | chansync ingest " + connector + " -",
          connector};
      return stats;
    }
    // A CRLF line's CR is no part of its payload.
    const bool cr = size == line.size() && !line.empty() && line.back() == '\r';
    if (size - (cr ? 1 : 0) > k_spool_max_body) {
      // Not a webhook (listen refuses a body this long): a capture without line breaks, a binary file.
      // A dead letter with its beginning; the lines after it go on.
      line.resize(std::min<std::size_t>(line.size(), 4096));
      page.rejects.push_back({"",
                              fmt::format("line {}: {} bytes, over the {} a webhook payload may have (listen refuses "
                                          "the same); is the file one JSON payload per line?",
                                          line_no, size, k_spool_max_body),
                              line});
      if (++payloads == k_spool_page) commit();
      continue;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    // A payload is one JSON object on one line: a first line that opens an array, or a "{" alone (a
    // document spread over lines, as jq or an editor prints it), says the file is not that. Each of
    // its lines would be a dead letter for good; nothing is stored.
    if (payload_lines == 0 && (line[start] == '[' || line.find_first_not_of(" \t", start + 1) == std::string::npos)) {
      const bool array = line[start] == '[';
      stats.error =
          Error{Errc::usage,
                fmt::format("line {} {}: the file is {}, not one payload per line; make it one line per payload "
                            "first: jq -c '{}' FILE | chansync ingest {} -",
                            line_no, array ? "opens a JSON array" : "is \"" + line.substr(start) + "\" alone",
                            array ? "an array of payloads" : "a JSON document printed over several lines",
                            array ? ".[]" : ".", connector),
                connector};
      return stats;
    }
    ++payload_lines;
    const std::size_t before = page.rejects.size();
    receiver->map_webhook(line, page);
    for (std::size_t i = before; i < page.rejects.size(); ++i) {
      page.rejects[i].error = fmt::format("line {}: {}", line_no, page.rejects[i].error);
      if (first_reason.empty()) first_reason = page.rejects[i].error;
    }
    if (++payloads == k_spool_page) commit();
  }
  if (in.bad())
    stats.error = Error{Errc::io,
                        fmt::format("reading the payloads stopped at line {}: an I/O error; the lines "
                                    "before it are committed, run ingest again on the rest",
                                    line_no),
                        connector};
  if (payloads > 0 || !page.rejects.empty()) commit();
  // Every line refused: the wrong file, or the wrong connector, not a few odd payloads. The dead
  // letters are kept; the exit code says it (65).
  if (!stats.error && stats.received == 0 && stats.rejected > 0)
    stats.error = Error{
        Errc::protocol,
        fmt::format("none of the {} lines was a payload {} stores ({}{}); check that the file holds "
                    "this connector's webhooks, one JSON per line (payloads it keeps as dead letters by design, "
                    "such as group chats, end here too)",
                    payload_lines, connector, first_reason.empty() ? "see the dead letters" : "first: ", first_reason),
        connector};
  return stats;
}

}  // namespace chansync
