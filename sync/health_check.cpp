#include "sync/health_check.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "sync/api_versions.hpp"
#include "sync/health_baseline.hpp"
#include "sync/health_signals.hpp"
#include "sync/health_silence.hpp"
#include "sync/spool.hpp"
#include "sync/state_records.hpp"
#include "sync/state_store.hpp"
#include "sync/webhook_marks.hpp"

namespace chansync {
namespace {

// What a webhooks stream has waiting in the spool: accepted by listen, not yet pulled.
std::string spool_note(const std::string& spool_dir, const std::string& connector, const std::string& cursor) {
  const auto backlog = spool_backlog(spool_dir, connector, cursor);
  if (backlog.bytes == 0) return "; nothing waiting in the spool";
  return fmt::format("; {} KiB of webhooks wait in the spool ({}) for the next pull", (backlog.bytes + 1023) / 1024,
                     spool_dir);
}

// The shipped table's word on a pinned api_version: needs no network, so it counts even when the
// probe could not run.
void check_api_version(HealthReport& r, const EndpointConfig& e, const HealthSettings& s) {
  const auto it = e.options.find("api_version");
  if (it == e.options.end() || !it->is_string()) return;
  auto f =
      version_finding(shipped_versions(), vendor_of(e.type), it->get<std::string>(), r.checked_at, s.eol_warning_days);
  if (!f) return;
  // whatsapp-cloud calls Graph only for this check (webhooks come in the version the App Dashboard
  // sets): an ended api_version ends the check, not the messages.
  if (e.type == "whatsapp-cloud" && f->cls == HealthClass::gone) {
    f->cls = HealthClass::deprecated;
    f->detail +=
        "; whatsapp-cloud uses it only for health's phone number check, and webhooks keep arriving in the "
        "version the App Dashboard sets";
  }
  // A dated end of life is the sunset whatever its class: ahead (ok, deprecated) so that alerts can
  // plan, or past (gone).
  if (f->at && (!r.sunset || *f->at < *r.sunset)) r.sunset = f->at;
  // An ok from the table must not turn a probe that could not run into ok.
  if (f->cls == HealthClass::ok && r.cls == HealthClass::unknown) {
    r.findings.push_back(std::move(*f));
    return;
  }
  add_finding(r, std::move(*f));
}

// The status page an endpoint names and the components it watches; nullopt when none is set, or when
// the page is the type's default while base_url is not (a proxy or a simulator is not what the
// vendor's page describes, and a test must never reach the internet).
std::optional<std::pair<std::string, std::vector<std::string>>> status_page_of(const Config& cfg,
                                                                               const EndpointConfig& e) {
  const auto it = e.options.find("status_page");
  if (it == e.options.end() || !it->is_string() || it->get<std::string>().empty()) return std::nullopt;
  auto origin = [&](const std::string& key) {
    for (const auto& s : cfg.settings)
      if (s.key == "connectors." + e.name + "." + key || s.key == "targets." + e.name + "." + key) return s.origin;
    return std::string("default");
  };
  if (origin("status_page") == "default" && e.options.contains("base_url") && origin("base_url") != "default")
    return std::nullopt;
  std::vector<std::string> components;
  if (const auto c = e.options.find("status_components"); c != e.options.end() && c->is_array())
    for (const auto& name : *c)
      if (name.is_string()) components.push_back(name.get<std::string>());
  return std::pair{it->get<std::string>(), std::move(components)};
}

// The vendor's status page, fetched once per URL per run however many endpoints name it.
void check_status_page(HealthReport& r, const Config& cfg, const EndpointConfig& e, const HealthCheckOptions& opts,
                       std::map<std::string, StatusPageFetch>& fetched) {
  if (!opts.fetch_status_page) return;
  const auto page = status_page_of(cfg, e);
  if (!page) return;
  const std::string url = status_summary_url(page->first);
  auto it = fetched.find(url);
  if (it == fetched.end()) it = fetched.emplace(url, opts.fetch_status_page(url)).first;
  const std::string& shown = it->second.shown_url.empty() ? url : it->second.shown_url;
  for (auto& f : status_page_findings(it->second, shown, page->second)) add_signal_finding(r, std::move(f));
}

// The times of a connector's inbound messages per channel, from four weeks before each channel's last
// one (what silence_finding reads).
std::map<std::string, std::vector<Timestamp>> inbound_history(StateStore& store, const std::string& connector) {
  std::map<std::string, std::vector<Timestamp>> out;
  SQLite::Statement last(store.db(),
                         "SELECT channel, max(sent_at) FROM messages WHERE connector = ? AND direction = 'inbound' "
                         "GROUP BY channel");
  last.bind(1, connector);
  std::vector<std::pair<std::string, Timestamp>> channels;
  while (last.executeStep()) channels.emplace_back(last.getColumn(0).getString(), last.getColumn(1).getInt64());
  // During a bulk load a message pulled twice is two rows until the load ends: one counts.
  const bool bulk = store.records().bulk_loading();
  for (const auto& [channel, at] : channels) {
    SQLite::Statement q(store.db(), bulk ? "SELECT min(sent_at) AS t FROM messages WHERE connector = ? AND channel = "
                                           "? AND direction = 'inbound' AND sent_at >= ? GROUP BY id ORDER BY t"
                                         : "SELECT sent_at FROM messages WHERE connector = ? AND channel = ? AND "
                                           "direction = 'inbound' AND sent_at >= ? ORDER BY sent_at");
    q.bind(1, connector);
    q.bind(2, channel);
    q.bind(3, static_cast<std::int64_t>(at - 28LL * 24 * 3'600'000));
    auto& times = out[channel];
    while (q.executeStep()) times.push_back(q.getColumn(0).getInt64());
  }
  return out;
}

// Silence per channel: needs no vendor call, so it counts offline too. A channel that stopped is a
// finding that decides the class; an ok or a history too thin to judge is kept as evidence without
// turning a working probe unknown.
// The gap ends at the connector's last completed pull, not now: messages sent since cannot be in the
// store yet (a busy channel pulled every 15 minutes would look silent just before each pull), and a
// pull that stopped completing is its stream's own finding.
void check_silence(HealthReport& r, StateStore* store, const std::string& connector, Timestamp pulled_until,
                   std::vector<InboundMark>& marks) {
  if (!store || pulled_until == 0) return;
  try {
    for (const auto& [channel, times] : inbound_history(*store, connector)) {
      if (!times.empty()) marks.push_back({connector, channel, times.back()});
      auto f =
          silence_finding(connector, channel, times, std::min(pulled_until, r.checked_at ? r.checked_at : now_ms()));
      if (f.cls == HealthClass::silent)
        add_finding(r, std::move(f));
      else
        r.findings.push_back(std::move(f));
    }
  } catch (const SQLite::Exception& e) {
    spdlog::warn("silence of {} not checked: the state store could not be read: {}", connector, e.what());
  }
}

// --offline: only what needs no vendor call. A pulled connector is judged by its streams' rows, so
// its own report exists only for what the versions table and its silence say; one never pulled is
// unknown.
std::optional<HealthReport> offline_probe(const EndpointConfig& e, bool pulled, const Config& cfg, StateStore* store,
                                          Timestamp pulled_until, std::vector<InboundMark>& marks) {
  const auto& s = cfg.health;
  // A target is never pulled: nothing about it is in the store to check without calling it.
  if (std::any_of(cfg.targets.begin(), cfg.targets.end(), [&](const EndpointConfig& t) { return t.name == e.name; }))
    return std::nullopt;
  HealthReport r{e.name, e.type, "", pulled ? HealthClass::ok : HealthClass::unknown};
  r.checked_at = now_ms();
  if (!pulled)
    add_finding(r, {HealthClass::unknown, "offline", "no recorded pull",
                    "not checked (--offline) and no pull of it is recorded in the state store",
                    "run `chansync pull " + e.name + "`, or health without --offline"});
  check_api_version(r, e, s);
  if (pulled) check_silence(r, store, e.name, pulled_until, marks);
  // listen's record is local: it counts offline too, for a connector listen has recorded.
  if (const auto hooks = read_webhook_marks(cfg.spool_dir, e.name))
    add_signal_finding(r, webhook_marks_finding(hooks, e.name, r.checked_at));
  if (r.findings.empty()) return std::nullopt;
  return r;
}

// The end of the connector's last completed pull, of any stream; 0 when none completed. With
// `from_vendor`, only streams read from the vendor (not the webhook spool listen fills).
Timestamp pulled_until_of(const std::vector<StreamRow>& streams, const std::string& connector,
                          bool from_vendor = false) {
  Timestamp out = 0;
  for (const auto& row : streams)
    if (row.connector == connector && !(from_vendor && row.stream == k_webhooks_stream))
      out = std::max(out, row.last_ok_at);
  return out;
}

// What probing one endpoint gave: its report, the streams the webhook spool feeds, and why no
// adapter could be made ("" when one was).
struct Probed {
  HealthReport probe;
  std::set<std::string> spooled;
  std::string setup_failure;
};

Probed probe_endpoint(EndpointConfig& e, const HealthCheckOptions& opts) {
  Probed out;
  try {
    // A missing secret is a finding about this connector, not a reason to skip the others.
    const auto adapter = opts.make_adapter(e);
    for (const auto& st : adapter->streams())
      if (st.spool) out.spooled.insert(st.name);
    out.probe = adapter->probe();
    if (!out.probe.checked_at) out.probe.checked_at = now_ms();  // a probe that made no call still checked now
    settle(out.probe);
  } catch (const Failure& f) {
    auto& probe = out.probe;
    probe = HealthReport{e.name, e.type, "", HealthClass::unknown, "cannot check: " + f.error().message};
    probe.checked_at = now_ms();
    probe.findings.push_back({HealthClass::unknown, "setup", to_string(f.error().code), probe.summary,
                              "fix the configuration the message names"});
    probe.action = probe.findings.back().action;
    out.setup_failure = f.error().message;
  }
  return out;
}

}  // namespace

HealthCheckResult check_health(const Config& cfg, StateStore* store, const HealthCheckOptions& opts) {
  HealthCheckResult out;
  out.checked_at = now_ms();
  const auto streams = store ? store->records().streams() : std::vector<StreamRow>{};
  std::map<std::string, StatusPageFetch> status_pages;  // by summary URL, for this run
  // Every endpoint is probed at once, each on a thread of its own, so that a vendor that answers
  // slowly (a probe may wait 60 s per call) holds the run for its own time, not added to the others'.
  // The rest (the store, status pages, the history) is read on this thread, in order.
  std::vector<std::future<Probed>> probing;
  if (!opts.offline)
    for (auto* e : opts.endpoints)
      probing.push_back(std::async(std::launch::async, [e, &opts] { return probe_endpoint(*e, opts); }));
  for (std::size_t i = 0; i < opts.endpoints.size(); ++i) {
    auto* e = opts.endpoints[i];
    std::set<std::string> spooled;  // streams read from the webhook spool
    HealthReport probe;
    const bool pulled = std::any_of(streams.begin(), streams.end(), [&](const StreamRow& row) {
      return row.connector == e->name && row.last_pull_at != 0;
    });
    const Timestamp pulled_until = pulled_until_of(streams, e->name);
    if (opts.offline) {
      if (auto r = offline_probe(*e, pulled, cfg, store, pulled_until, out.inbound))
        out.reports.push_back(std::move(*r));
    } else {
      auto probed = probing[i].get();
      probe = std::move(probed.probe);
      spooled = std::move(probed.spooled);
      const std::string setup_failure = std::move(probed.setup_failure);  // why the probe could not be made
      for (const auto& x : probe.expiries)
        add_signal_finding(
            probe, expiry_finding(x, probe.checked_at ? probe.checked_at : now_ms(), cfg.health.expiry_warning_days));
      if (!spooled.empty())
        add_signal_finding(probe, webhook_marks_finding(read_webhook_marks(cfg.spool_dir, e->name), e->name,
                                                        probe.checked_at ? probe.checked_at : now_ms()));
      check_status_page(probe, cfg, *e, opts, status_pages);
      check_api_version(probe, *e, cfg.health);
      check_silence(probe, store, e->name, pulled_until, out.inbound);
      // A signal beside the probe (silence, a status page, the API version) that outranks unknown
      // decides the class; the broken configuration still leads the one line a person reads (the
      // table puts the deciding signal's evidence after it), and what to do: with it fixed, the next
      // check sees the connector itself.
      if (!setup_failure.empty() && probe.cls != HealthClass::unknown) {
        probe.summary = "cannot check the connector itself (" + setup_failure + "); " + probe.summary;
        probe.action =
            "fix the configuration the message names" + (probe.action.empty() ? "" : ", then " + probe.action);
      }
      out.reports.push_back(std::move(probe));
    }
    for (const auto& row : streams) {
      if (row.connector != e->name || row.last_pull_at == 0) continue;
      auto r = stream_health(e->name, e->type, row.stream, row.last_pull_at, row.last_pull.error,
                             row.last_pull.error_code, row.last_pull.received);
      if (!row.last_pull.notice.empty()) r.summary += "; the vendor last reported: " + row.last_pull.notice;
      if (spooled.count(row.stream)) r.summary += spool_note(cfg.spool_dir, e->name, row.cursor);
      if (row.last_ok_at) r.last_ok_pull = row.last_ok_at;
      try {
        const auto pulls = store->records().pull_history(e->name, row.stream);
        // Pulls that stopped being run leave every stream looking fine as of its last pull.
        if (auto f = stale_pulls_finding(pulls, out.checked_at, e->name, row.stream)) add_finding(r, std::move(*f));
        if (row.last_pull.error.empty())
          if (auto f = empty_pulls_finding(pulls, out.checked_at, e->name)) add_finding(r, std::move(*f));
      } catch (const SQLite::Exception& ex) {
        spdlog::warn("pull history of {}/{} unreadable: {}", e->name, row.stream, ex.what());
      }
      out.reports.push_back(std::move(r));
    }
  }
  if (store) {
    for (auto& r : out.reports) {
      try {
        // Enough rows to count a whole streak, and to reach the failure before it.
        const auto rows = static_cast<std::size_t>(std::max(cfg.health.recovery_checks, 0)) + 64;
        const auto history = store->runs().health_of(r.connector, r.stream, rows);
        if (r.stream.empty() && !opts.offline) apply_baseline(r, history);
        // An offline report of a connector called no vendor: neither a pass nor a failure of it.
        if (r.stream.empty() && opts.offline)
          carry_online_class(r, history, pulled_until_of(streams, r.connector, true));
        else
          apply_recovery(r, history, cfg.health);
      } catch (const std::exception& ex) {
        spdlog::warn("health history of {} unreadable: {}", r.connector, ex.what());
      }
    }
  }
  out.status = overall(out.reports, opts.warn_only);
  // History for trends and recovery; a store that cannot be written must not hide the check's result.
  if (store && !(opts.stopped && opts.stopped())) try {
      std::vector<HealthRow> rows;
      for (const auto& r : out.reports)
        // A connector's offline report is not a check of it: kept out of the history it would flap.
        if (!(opts.offline && r.stream.empty()))
          rows.push_back({r.connector, r.stream, r.checked_at, to_string(r.cls), nlohmann::json(r).dump(),
                          r.observed ? to_string(*r.observed) : ""});
      store->runs().record_health_run(
          {out.checked_at, to_string(out.status), static_cast<int>(out.status), opts.offline}, std::move(rows));
    } catch (const std::exception& ex) {
      spdlog::warn("health history not recorded: {}", ex.what());
    }
  return out;
}

std::vector<HealthTransition> health_history(StateStore& store, Timestamp from) {
  return transitions(store.runs().health_since(from), from);
}

}  // namespace chansync
