#include "tests/simulator/conversations.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <random>

namespace chansync::sim {
namespace {

using ojson = nlohmann::ordered_json;

constexpr std::int64_t k_day = 86'400'000;
constexpr int k_max_page = 100;

constexpr std::array<const char*, 6> k_questions = {"Hi, is my order on its way?",   "Can I still change the size?",
                                                    "Habt ihr am Samstag geöffnet?", "Thanks, that worked! 🙏",
                                                    "The parcel arrived damaged.",   "Where can I find the invoice?"};
constexpr std::array<const char*, 5> k_answers = {"Let me check that for you.", "Your order shipped today.",
                                                  "Ja, 10–18 Uhr.", "Sorry about that, a replacement is on its way.",
                                                  "It is in your account under Orders."};
constexpr std::array<const char*, 2> k_agents = {"agent.lena", "agent.jonas"};

// Twilio's ISO 8601 dates: whole seconds, "Z".
std::string iso(std::int64_t ms) {
  std::time_t t = ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void twilio_error(httplib::Response& res, int status, int code, const std::string& message) {
  res.status = status;
  res.set_content(ojson{{"code", code},
                        {"message", message},
                        {"more_info", fmt::format("https://www.twilio.com/docs/errors/{}", code)},
                        {"status", status}}
                      .dump(),
                  "application/json");
}

// The window of a list a request asks for: PageSize (1–100, default 50), Page, and the offset its
// PageToken ("PT<offset>") names. nullopt for a token the simulator never issued.
struct Window {
  std::size_t offset = 0;
  int size = 50, page = 0;
};
std::optional<Window> window_of(const httplib::Request& req) {
  Window w;
  try {
    if (req.has_param("PageSize")) w.size = std::clamp(std::stoi(req.get_param_value("PageSize")), 1, k_max_page);
    if (req.has_param("Page")) w.page = std::max(0, std::stoi(req.get_param_value("Page")));
    if (req.has_param("PageToken")) {
      const std::string token = req.get_param_value("PageToken");
      if (!token.starts_with("PT")) return std::nullopt;
      w.offset = std::stoul(token.substr(2));
    }
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return w;
}

// The list envelope: `items` under `key` and meta with absolute URLs (`url`: the list without query).
std::string page_body(const std::string& key, ojson items, const std::string& url, const Window& w, std::size_t total) {
  const std::string self = fmt::format("{}?PageSize={}&Page={}", url, w.size, w.page);
  const std::size_t end = w.offset + static_cast<std::size_t>(w.size);
  ojson meta = {{"page", w.page},
                {"page_size", w.size},
                {"first_page_url", fmt::format("{}?PageSize={}&Page=0", url, w.size)},
                {"previous_page_url", nullptr},
                {"url", self},
                {"next_page_url", nullptr},
                {"key", key}};
  if (end < total)
    meta["next_page_url"] = fmt::format("{}?PageSize={}&Page={}&PageToken=PT{}", url, w.size, w.page + 1, end);
  return ojson{{key, std::move(items)}, {"meta", std::move(meta)}}.dump(-1, ' ', true);
}

}  // namespace

ConversationsSim::ConversationsSim(const Corpus& corpus, ConversationsOptions opts, Admit admit)
    : m_opts(std::move(opts)), m_admit(std::move(admit)), m_seed(corpus.seed) {
  build(corpus);
}

void ConversationsSim::add_message(Conversation& c, const Party& author, std::int64_t ms, const std::string& body) {
  Message m;
  m.sid = fmt::format("IM{:016x}{:016x}", m_seed, m_serial++);
  m.author = author.identity.empty() ? author.address : author.identity;
  m.participant_sid = author.sid;
  m.body = body;
  m.ms = ms;
  m.outbound = &author != &c.parties.front() && !c.parties.front().address.empty();
  c.messages.push_back(std::move(m));
  c.updated_ms = std::max(c.updated_ms, ms);
}

// Customer i (i % 4 == 2) has an SMS conversation, and when i % 8 == 2 a WhatsApp one too; three web
// chat visitors have one each. 2–12 messages, a few minutes to an hour and a half apart, the first the
// customer's, within the last 30 days.
void ConversationsSim::build(const Corpus& corpus) {
  std::mt19937_64 rng(corpus.seed ^ 0x636f6e7665727361ULL);  // its own stream: the other vendors' data stays
  std::uint64_t n = 0;
  const std::string own_sms = corpus.own_numbers.at(0), own_wa = corpus.own_numbers.at(corpus.own_numbers.size() - 1);
  auto make = [&](const std::string& name, Party customer) {
    Conversation c;
    c.sid = fmt::format("CH{:016x}{:016x}", corpus.seed, n);
    c.name = name;
    customer.sid = fmt::format("MB{:016x}{:016x}", corpus.seed, 2 * n);
    c.parties.push_back(std::move(customer));
    c.parties.push_back(
        {fmt::format("MB{:016x}{:016x}", corpus.seed, 2 * n + 1), k_agents[n % k_agents.size()], "", "", ""});
    ++n;
    const int count = 2 + static_cast<int>(rng() % 11);
    std::int64_t at = corpus.now_ms - static_cast<std::int64_t>(rng() % (30 * k_day)) / 1000 * 1000;
    c.created_ms = at - 60'000;
    for (int k = 0; k < count; ++k) {
      const auto roll = rng() % 20;
      if (k == 0 || roll < 11)
        add_message(c, c.parties[0], at, k_questions[rng() % k_questions.size()]);
      else if (roll < 18)
        add_message(c, c.parties[1], at, k_answers[rng() % k_answers.size()]);
      else
        add_message(c, Party{"", "system", "", "", ""}, at, "Your parcel is out for delivery.");
      at += (3 + static_cast<std::int64_t>(rng() % 88)) * 60'000;
    }
    m_conversations.push_back(std::move(c));
  };
  for (std::size_t i = 0; i < corpus.customers.size(); ++i) {
    if (i % 4 != 2) continue;
    const auto& cu = corpus.customers[i];
    make("SMS with " + cu.first, {"", "", "sms", cu.e164, own_sms});
    if (i % 8 == 2)
      make("WhatsApp with " + cu.first, {"", "", "whatsapp", "whatsapp:" + cu.e164, "whatsapp:" + own_wa});
  }
  for (int v = 1; v <= 3; ++v) make(fmt::format("Web chat {}", v), {"", fmt::format("visitor-{}", v), "", "", ""});
  std::stable_sort(m_conversations.begin(), m_conversations.end(),
                   [](const Conversation& a, const Conversation& b) { return a.created_ms < b.created_ms; });
  for (std::size_t k = 0; k < m_conversations.size(); ++k) m_by_sid[m_conversations[k].sid] = k;
}

ojson ConversationsSim::render(const Conversation& c, const std::string& url) const {
  return {
      {"sid", c.sid},
      {"account_sid", m_opts.account_sid},
      {"chat_service_sid", m_opts.service_sid},
      {"messaging_service_sid", nullptr},
      {"friendly_name", c.name},
      {"unique_name", nullptr},
      {"attributes", "{}"},
      {"date_created", iso(c.created_ms)},
      {"date_updated", iso(c.updated_ms)},
      {"state", "active"},
      {"timers", ojson::object()},
      {"bindings", nullptr},
      {"url", url},
      {"links",
       {{"participants", url + "/Participants"}, {"messages", url + "/Messages"}, {"webhooks", url + "/Webhooks"}}}};
}

ojson ConversationsSim::render(const Conversation& c, const Party& p, const std::string& url) const {
  ojson binding = nullptr;
  if (!p.address.empty()) binding = {{"type", p.type}, {"address", p.address}, {"proxy_address", p.proxy}};
  return {{"account_sid", m_opts.account_sid},
          {"conversation_sid", c.sid},
          {"sid", p.sid},
          {"identity", p.identity.empty() ? ojson(nullptr) : ojson(p.identity)},
          {"attributes", "{}"},
          {"messaging_binding", binding},
          {"role_sid", nullptr},
          {"date_created", iso(c.created_ms)},
          {"date_updated", iso(c.created_ms)},
          {"url", url},
          {"last_read_message_index", nullptr},
          {"last_read_timestamp", nullptr}};
}

ojson ConversationsSim::render(const Conversation& c, const Message& m, std::size_t index,
                               const std::string& url) const {
  ojson delivery = nullptr;
  if (m.outbound)
    delivery = {{"total", 1},       {"sent", "all"},        {"delivered", "all"}, {"read", index % 3 ? "all" : "none"},
                {"failed", "none"}, {"undelivered", "none"}};
  return {{"sid", m.sid},
          {"account_sid", m_opts.account_sid},
          {"conversation_sid", c.sid},
          {"body", m.body},
          {"media", nullptr},
          {"author", m.author},
          {"participant_sid", m.participant_sid.empty() ? ojson(nullptr) : ojson(m.participant_sid)},
          {"attributes", "{}"},
          {"date_created", iso(m.ms)},
          {"date_updated", nullptr},
          {"index", index},
          {"delivery", delivery},
          {"content_sid", nullptr},
          {"url", url},
          {"links", {{"delivery_receipts", url + "/Receipts"}, {"channel_metadata", url + "/ChannelMetadata"}}}};
}

bool ConversationsSim::admit(const httplib::Request& req, httplib::Response& res) {
  ++m_requests;
  return !m_admit || m_admit(req, res);
}

std::optional<std::string> ConversationsSim::root_of(const httplib::Request& req, httplib::Response& res) {
  const std::string service = req.matches[1];
  if (service.empty()) return std::string("/v1");
  if (service != m_opts.service_sid) {
    twilio_error(res, 404, 20404, fmt::format("The requested resource {} was not found", req.path));
    return std::nullopt;
  }
  return "/v1/Services/" + service;
}

void ConversationsSim::list_conversations(const httplib::Request& req, httplib::Response& res) {
  if (!admit(req, res)) return;
  const auto root = root_of(req, res);
  if (!root) return;
  const auto w = window_of(req);
  if (!w) return twilio_error(res, 400, 20001, "Invalid PageToken");
  const std::string base = "http://" + req.get_header_value("Host") + *root + "/Conversations";
  std::lock_guard lock(m_mu);
  ojson items = ojson::array();
  for (std::size_t k = w->offset; k < m_conversations.size() && k < w->offset + static_cast<std::size_t>(w->size); ++k)
    items.push_back(render(m_conversations[k], base + "/" + m_conversations[k].sid));
  res.set_content(page_body("conversations", std::move(items), base, *w, m_conversations.size()), "application/json");
}

void ConversationsSim::list_children(const httplib::Request& req, httplib::Response& res, bool messages) {
  if (!admit(req, res)) return;
  const auto root = root_of(req, res);
  if (!root) return;
  const auto w = window_of(req);
  if (!w) return twilio_error(res, 400, 20001, "Invalid PageToken");
  std::lock_guard lock(m_mu);
  const auto it = m_by_sid.find(req.matches[2]);
  if (it == m_by_sid.end())
    return twilio_error(res, 404, 20404, fmt::format("The requested resource {} was not found", req.path));
  const auto& c = m_conversations[it->second];
  const std::string base = "http://" + req.get_header_value("Host") + *root + "/Conversations/" + c.sid +
                           (messages ? "/Messages" : "/Participants");
  ojson items = ojson::array();
  const std::size_t total = messages ? c.messages.size() : c.parties.size();
  for (std::size_t k = w->offset; k < total && k < w->offset + static_cast<std::size_t>(w->size); ++k)
    items.push_back(messages ? render(c, c.messages[k], k, base + "/" + c.messages[k].sid)
                             : render(c, c.parties[k], base + "/" + c.parties[k].sid));
  res.set_content(page_body(messages ? "messages" : "participants", std::move(items), base, *w, total),
                  "application/json");
}

void ConversationsSim::routes(httplib::Server& server) {
  server.Get("/v1/Configuration", [this](const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res)) return;
    const std::string base = "http://" + req.get_header_value("Host") + "/v1";
    res.set_content(ojson{{"account_sid", m_opts.account_sid},
                          {"default_chat_service_sid", m_opts.service_sid},
                          {"default_messaging_service_sid", nullptr},
                          {"default_inactive_timer", nullptr},
                          {"default_closed_timer", nullptr},
                          {"url", base + "/Configuration"},
                          {"links",
                           {{"service", base + "/Services/" + m_opts.service_sid + "/Configuration"},
                            {"webhooks", base + "/Configuration/Webhooks"}}}}
                        .dump(),
                    "application/json");
  });
  server.Get(R"(/v1/Services/([A-Za-z0-9]+))", [this](const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res) || !root_of(req, res)) return;
    const std::string url = "http://" + req.get_header_value("Host") + req.path;
    res.set_content(ojson{{"sid", m_opts.service_sid},
                          {"account_sid", m_opts.account_sid},
                          {"friendly_name", "Sim Shop"},
                          {"date_created", "2026-01-01T00:00:00Z"},
                          {"date_updated", "2026-01-01T00:00:00Z"},
                          {"url", url},
                          {"links", {{"conversations", url + "/Conversations"}}}}
                        .dump(),
                    "application/json");
  });
  server.Get(R"(/v1(?:/Services/([A-Za-z0-9]+))?/Conversations)",
             [this](const httplib::Request& req, httplib::Response& res) { list_conversations(req, res); });
  server.Get(R"(/v1(?:/Services/([A-Za-z0-9]+))?/Conversations/([A-Za-z0-9]+)/Participants)",
             [this](const httplib::Request& req, httplib::Response& res) { list_children(req, res, false); });
  server.Get(R"(/v1(?:/Services/([A-Za-z0-9]+))?/Conversations/([A-Za-z0-9]+)/Messages)",
             [this](const httplib::Request& req, httplib::Response& res) { list_children(req, res, true); });
  server.Post("/_sim/add-conversation-messages", [this](const httplib::Request& req, httplib::Response& res) {
    const int count = req.has_param("n") ? std::stoi(req.get_param_value("n")) : 1;
    std::lock_guard lock(m_mu);
    Conversation* oldest = nullptr;
    std::int64_t newest = 0;
    for (auto& c : m_conversations) {
      newest = std::max(newest, c.updated_ms);
      if (!c.parties.front().address.empty() && (!oldest || c.updated_ms < oldest->updated_ms)) oldest = &c;
    }
    if (!oldest) return twilio_error(res, 404, 20404, "no SMS or WhatsApp conversation");
    for (int k = 1; k <= count; ++k)
      add_message(*oldest, oldest->parties.front(), newest + k * 1000, "One more thing!");
    res.set_content(ojson{{"conversation", oldest->sid}}.dump(), "application/json");
  });
}

void ConversationsSim::stats(nlohmann::json& out) {
  std::lock_guard lock(m_mu);
  std::size_t messages = 0;
  for (const auto& c : m_conversations) messages += c.messages.size();
  out["conversations_requests"] = m_requests.load();
  out["conversations"] = m_conversations.size();
  out["conversation_messages"] = messages;
}

}  // namespace chansync::sim
