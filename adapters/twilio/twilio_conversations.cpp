#include "adapters/twilio/twilio_conversations.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>

#include "adapters/status_page.hpp"
#include "adapters/twilio/twilio_api.hpp"
#include "adapters/twilio/twilio_conversations_api.hpp"
#include "adapters/twilio/twilio_conversations_map.hpp"
#include "adapters/twilio/twilio_source.hpp"

namespace chansync::adapters::twilio {
namespace {

constexpr const char* k_type = "twilio-conversations";
constexpr int k_max_page = 100;  // PageSize ceiling of the Conversations, Participants and Messages lists

// The Conversations list has no date_updated filter and no documented order (StartDate filters and
// sorts by creation), so every pass lists all conversations and reads the participants and messages
// of those updated after `since`; their messages are deduplicated by sid when stored.
struct Cursor {
  std::string next;     // path and query of the next conversations page while a pass is under way
  Timestamp since = 0;  // conversations updated at or before it were read by an earlier pass
  Timestamp high = 0;   // newest date_updated seen in this pass
  Timestamp start = 0;  // the server's Date when this pass began (0: it sent none)

  static Result<Cursor> parse(const std::string& text) {
    if (text.empty()) return Cursor{};
    try {
      const auto j = nlohmann::json::parse(text);
      return Cursor{j.value("next", ""), j.value("since", Timestamp{0}), j.value("high", Timestamp{0}),
                    j.value("start", Timestamp{0})};
    } catch (const std::exception&) {
      return fail(Errc::state,
                  "saved Twilio Conversations cursor is unreadable; run `chansync state reset` for this connector");
    }
  }
  std::string dump() const {
    nlohmann::json j = {{"since", since}};
    if (!next.empty()) j["next"] = next;
    if (high) j["high"] = high;
    if (start) j["start"] = start;
    return j.dump();
  }
};

bool valid_service_sid(const std::string& sid) {
  return sid.size() == 34 && sid.starts_with("IS") &&
         std::all_of(sid.begin() + 2, sid.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

class ConversationsAdapter final : public TwilioSource {
 public:
  explicit ConversationsAdapter(const AdapterContext& ctx)
      : TwilioSource(ctx, k_type), m_service(ctx.config.options.value("service_sid", std::string())) {
    if (!m_service.empty() && !valid_service_sid(m_service))
      throw Failure(Errc::config, fmt::format("connectors.{}.service_sid = \"{}\" is not a Conversations service SID; "
                                              "use the IS… SID from the Twilio Console (Conversations > Manage > "
                                              "Services), or leave it out for the account's default service",
                                              m_name, m_service));
    m_server = m_base.substr(0, m_base.size() - path_of(m_base).size());
    m_origin = origin_of(m_base);
    m_root = path_of(m_base) + (m_service.empty() ? "/v1" : "/v1/Services/" + m_service);
    m_map.connector = m_name;
    m_map.default_scope = m_service.empty() ? m_sid : m_service;
    m_map.own = m_own;
    m_map.phone = &m_phone;
    for (const auto& a : ctx.config.options.value("agent_identities", nlohmann::json::array()))
      m_map.agents.push_back(a.get<std::string>());
  }

  // GET /v1/Configuration (the account's Conversations defaults), or the configured service.
  HealthReport probe() override {
    std::string body;
    const std::string path = m_service.empty() ? path_of(m_base) + "/v1/Configuration" : m_root;
    auto obs = observe(http(), {"GET", m_server + path}, &body);
    if (obs.http_status >= 400) {
      const auto err = parse_error(body);
      obs.vendor_code = err.code;
      obs.vendor_message = err.message;
    }
    auto report = classify(m_name, k_type, std::move(obs));
    if (report.evidence.http_status == 404 && !m_service.empty())
      report.summary = fmt::format(
          "service_sid {} is not a Conversations service of account {} (404): check it in the Twilio Console "
          "(Conversations > Manage > Services)",
          m_service, m_sid);
    const auto sids = resource_sids_of(body);
    require_vendor_body(report, sids.account_sid == m_sid && (m_service.empty() || sids.sid == m_service),
                        m_service.empty() ? "the Twilio Conversations configuration of account " + m_sid
                                          : "the Twilio Conversations service " + m_service);
    return report;
  }

  Result<Page<Conversation>> pull_conversations(const PullRequest& req) override {
    auto cursor = Cursor::parse(req.cursor);
    if (!cursor) return std::unexpected(cursor.error());
    const int size = req.page_size > 0 ? std::min(req.page_size, k_max_page) : k_max_page;
    const bool first = cursor->next.empty();
    const std::string path = first ? fmt::format("{}/Conversations?PageSize={}", m_root, size) : cursor->next;
    const std::size_t before = http().requests();
    auto resp = get(path, "conversations");
    if (!resp) return std::unexpected(resp.error());
    if (first) {
      cursor->high = 0;
      cursor->start = server_time(*resp);
    }
    auto wire = parse_conversations_page(resp->body);
    if (!wire) return std::unexpected(not_advanced(std::move(wire.error()), path));
    Page<Conversation> page;
    page.rejects = std::move(wire->rejects);
    for (const auto& c : wire->items) {
      // A conversation without a readable date is read every pass: re-reading costs requests, skipping loses data.
      if (const auto updated = parse_rfc3339(c.date_updated.empty() ? c.date_created : c.date_updated)) {
        cursor->high = std::max(cursor->high, *updated);
        if (*updated <= cursor->since) continue;
      }
      if (auto r = read_conversation(c, size, page); !r) return std::unexpected(not_advanced(std::move(r.error()), {}));
    }
    page.requests = http().requests() - before;
    if (wire->next_page_url.empty()) {
      // Next pass: what was updated after the newest date seen. A conversation updated while this
      // pass was listing may carry a date before that newest one, so the mark never passes the
      // second before the pass began (by Twilio's clock, as both dates are).
      Timestamp since = cursor->since;
      if (cursor->high)
        since = std::max(since, cursor->start ? std::min(cursor->high, cursor->start - 1000) : cursor->high);
      page.done = true;
      page.next_cursor = Cursor{"", since, 0, 0}.dump();
    } else {
      auto next = follow(wire->next_page_url, path, "conversations");
      if (!next) return std::unexpected(not_advanced(std::move(next.error()), {}));
      cursor->next = *next;
      page.next_cursor = cursor->dump();
    }
    return page;
  }

 private:
  // GET a path below base_url's origin; any status but 200 (and 404 when `gone_ok`) is the error.
  Result<HttpResponse> get(const std::string& path, const std::string& what, bool gone_ok = false) {
    const HttpRequest req{"GET", m_server + path};
    auto resp = http().send(req);
    if (!resp) return std::unexpected(resp.error());
    if (resp->status == 200 || (gone_ok && resp->status == 404)) return resp;
    const auto err = parse_error(resp->body);
    std::string detail = err.code.empty() ? err.message : fmt::format("Twilio error {}: {}", err.code, err.message);
    if (resp->status == 404 && !m_service.empty())
      detail += fmt::format(" (service_sid {} may not be a Conversations service of account {})", m_service, m_sid);
    return std::unexpected(http().error(req, *resp, "listing Twilio " + what, detail));
  }

  // The path and query of an absolute next_page_url, which must point at base_url's origin: the
  // Basic auth credentials go nowhere else.
  Result<std::string> follow(const std::string& url, const std::string& from, const std::string& what) {
    if (origin_of(url) != m_origin)
      return fail(Errc::protocol,
                  fmt::format("meta.next_page_url of the {} list points at {}, not at base_url {}; not followed", what,
                              http().redact(origin_of(url).empty() ? url : origin_of(url)), m_origin),
                  m_name);
    std::string path = path_of(url);
    if (!path.starts_with("/"))
      return fail(Errc::protocol,
                  fmt::format("meta.next_page_url of the {} list names no path ({}); not followed", what,
                              http().redact(url.substr(0, url.find('?')))),
                  m_name);
    if (path == from)
      return fail(Errc::protocol,
                  fmt::format("meta.next_page_url of the {} list repeats the page it is on ({}); not followed", what,
                              http().redact(path.substr(0, path.find('?')))),
                  m_name);
    return path;
  }

  Error not_advanced(Error e, const std::string& path) {
    e.connector = m_name;
    if (!path.empty())
      e.message += fmt::format(" (from {}{})", m_origin, http().redact(path.substr(0, path.find('?'))));
    e.message += "; the cursor was not advanced";
    return e;
  }

  static Timestamp server_time(const HttpResponse& resp) {
    const auto it = resp.headers.find("date");
    if (it == resp.headers.end()) return 0;
    return parse_http_date(it->second).value_or(0);
  }

  // Every page of one of a conversation's lists (`path`: its first page); nullopt when the
  // conversation is gone (404: deleted since it was listed). `bodies` keeps the pages the records'
  // raw views point into.
  template <class W>
  Result<std::optional<std::vector<W>>> read_all(std::string path, Result<V1Page<W>> (*parse)(std::string&),
                                                 const std::string& what, std::deque<std::string>& bodies,
                                                 std::vector<DeadLetter>& rejects) {
    std::vector<W> out;
    while (true) {
      auto resp = get(path, what, true);
      if (!resp) return std::unexpected(resp.error());
      if (resp->status == 404) return std::nullopt;
      bodies.push_back(std::move(resp->body));
      auto wire = parse(bodies.back());
      if (!wire) {
        wire.error().message += fmt::format(" (from {}{})", m_origin, http().redact(path.substr(0, path.find('?'))));
        return std::unexpected(wire.error());
      }
      std::move(wire->rejects.begin(), wire->rejects.end(), std::back_inserter(rejects));
      std::move(wire->items.begin(), wire->items.end(), std::back_inserter(out));
      if (wire->next_page_url.empty()) return out;
      auto next = follow(wire->next_page_url, path, what);
      if (!next) return std::unexpected(next.error());
      path = std::move(*next);
    }
  }

  Result<void> read_conversation(const WireConversation& c, int size, Page<Conversation>& page) {
    const std::string base = fmt::format("{}/Conversations/{}", m_root, url_encode(c.sid));
    std::deque<std::string> bodies;
    auto participants =
        read_all<WireParticipant>(fmt::format("{}/Participants?PageSize={}", base, size), parse_participants_page,
                                  "participants of conversation " + c.sid, bodies, page.rejects);
    if (!participants) return std::unexpected(participants.error());
    std::optional<std::vector<WireConversationMessage>> messages;
    if (*participants) {
      auto read = read_all<WireConversationMessage>(fmt::format("{}/Messages?PageSize={}", base, size),
                                                    parse_conversation_messages_page,
                                                    "messages of conversation " + c.sid, bodies, page.rejects);
      if (!read) return std::unexpected(read.error());
      messages = std::move(*read);
    }
    if (!*participants || !messages) {
      page.notices.push_back(fmt::format("conversation {} was deleted while it was read; skipped", c.sid));
      return {};
    }
    m_map.map(c, **participants, *messages, page);
    return {};
  }

  std::string m_service;  // IS…, "" = the account's default service
  std::string m_server;   // base_url up to its path, as written: where every request goes
  std::string m_origin;   // scheme://host[:port] of base_url: where a next_page_url must point
  std::string m_root;     // path of the service's API root: "/v1" or "/v1/Services/IS…"
  ConversationMapper m_map;
};

}  // namespace

AdapterType conversations_type() {
  using K = OptionSpec::Kind;
  auto options = source_options("https://conversations.twilio.com");
  options.insert(options.end() - 1,
                 {{"service_sid", "Conversations service (IS…) to read; the account's default service when unset",
                   K::string, false, false, nullptr},
                  {"agent_identities",
                   "chat identities of the business's people (agents, bots): their messages are the business's",
                   K::string_list, false, false, nlohmann::json::array()}});
  return adapter_type<ConversationsAdapter>(
      k_type,
      "Twilio Conversations (SMS, WhatsApp and chat participants): one conversation per Twilio Conversation, "
      "incremental by date_updated",
      with_status_page(std::move(options), k_twilio_status_page));
}

}  // namespace chansync::adapters::twilio
