#include "tests/contract/harness_twilio_conversations.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "sync/timestamp.hpp"
#include "tests/support/fake_twilio_conversations.hpp"

namespace chansync::test {
namespace {

const std::string k_sid = "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";
const std::string k_service = "IS0123456789abcdef0123456789abcdef";
constexpr int k_pages = 4, k_per_page = 2, k_messages = 3;

std::string conversation_sid(int i) {
  return fmt::format("CH{:032}", 500 + i);
}

// The envelope of a v1 list page holding `items` under `key`; `next` is the absolute URL of the next
// page ("" = the last).
std::string list_page(const std::string& key, nlohmann::json items, const std::string& url, const std::string& next) {
  nlohmann::json meta = {{"page", 0},
                         {"page_size", 50},
                         {"first_page_url", url},
                         {"previous_page_url", nullptr},
                         {"url", url},
                         {"next_page_url", next.empty() ? nlohmann::json(nullptr) : nlohmann::json(next)},
                         {"key", key}};
  return nlohmann::json{{key, std::move(items)}, {"meta", std::move(meta)}}.dump(1, ' ', true);
}

// Conversation i: customer i % 3 == 2 is a web chat user, the others text by SMS or (i % 3 == 1)
// WhatsApp; agent.lena answers each. Updated an hour apart, listed in creation order.
struct Generated {
  bool chat, whatsapp;
  std::string customer;
};
Generated customer_of(int i) {
  const bool chat = i % 3 == 2, whatsapp = i % 3 == 1;
  const std::string number = fmt::format("+4915112345{:03}", i);
  return {chat, whatsapp, chat ? fmt::format("visitor-{}", i) : (whatsapp ? "whatsapp:" : "") + number};
}

nlohmann::json conversation(const std::string& base, int i) {
  const std::string sid = conversation_sid(i), url = base + "/v1/Conversations/" + sid;
  return {{"sid", sid},
          {"account_sid", k_sid},
          {"chat_service_sid", k_service},
          {"messaging_service_sid", nullptr},
          {"friendly_name", fmt::format("Conversation {} – Grüße", i)},
          {"unique_name", nullptr},
          {"attributes", "{}"},
          {"date_created", format_rfc3339(1'790'000'000'000 + Timestamp{i} * 3'600'000).substr(0, 19) + "Z"},
          {"date_updated", format_rfc3339(1'790'000'000'000 + Timestamp{i} * 3'600'000 + 600'000).substr(0, 19) + "Z"},
          {"state", "active"},
          {"timers", nlohmann::json::object()},
          {"bindings", nullptr},
          {"url", url},
          {"links", {{"participants", url + "/Participants"}, {"messages", url + "/Messages"}}}};
}

nlohmann::json participants(int i) {
  const auto c = customer_of(i);
  nlohmann::json customer = {{"sid", fmt::format("MB{:032}", i * 10 + 1)}, {"conversation_sid", conversation_sid(i)}};
  if (c.chat) {
    customer["identity"] = c.customer;
    customer["messaging_binding"] = nullptr;
  } else {
    customer["identity"] = nullptr;
    customer["messaging_binding"] = {{"type", c.whatsapp ? "whatsapp" : "sms"},
                                     {"address", c.customer},
                                     {"proxy_address", c.whatsapp ? "whatsapp:+4930123456" : "+4930123456"}};
  }
  nlohmann::json agent = {{"sid", fmt::format("MB{:032}", i * 10 + 2)},
                          {"conversation_sid", conversation_sid(i)},
                          {"identity", "agent.lena"},
                          {"messaging_binding", nullptr}};
  return {customer, agent};
}

// Message k of conversation i: the customer, agent.lena, the customer; the first of conversation 5
// has an unreadable date (a dead letter).
nlohmann::json message(int i, int k) {
  const Timestamp at = 1'790'000'000'000 + Timestamp{i} * 3'600'000 + k * 60'000;
  return {{"sid", fmt::format("IM{:032}", i * 10 + k)},
          {"account_sid", k_sid},
          {"conversation_sid", conversation_sid(i)},
          {"body", fmt::format("Nachricht {} in {} 👋", k, i)},
          {"media", nullptr},
          {"author", k == 1 ? std::string("agent.lena") : customer_of(i).customer},
          {"participant_sid", fmt::format("MB{:032}", i * 10 + (k == 1 ? 2 : 1))},
          {"attributes", "{}"},
          {"date_created", i == 5 && k == 0 ? std::string("soon") : format_rfc3339(at).substr(0, 19) + "Z"},
          {"date_updated", nullptr},
          {"index", k},
          {"delivery", nullptr}};
}

}  // namespace

EndpointConfig twilio_conversations_config(const std::string& base_url) {
  EndpointConfig cfg{"conv", "twilio-conversations"};
  cfg.options = {{"account_sid", k_sid},
                 {"own_numbers", {"+4930123456"}},
                 {"agent_identities", {"agent.lena"}},
                 {"base_url", base_url}};
  cfg.secrets = {{"auth_token", "tok"}};
  return cfg;
}

Scripted twilio_conversations_fixtures(const httplib::Request& req, std::size_t) {
  return twilio_conversations_replay(req, req.path);
}

Scripted twilio_conversations_pages(const httplib::Request& req, std::size_t n) {
  const std::string base = "http://" + req.get_header_value("Host");
  const std::string token = req.get_param_value("PageToken");
  if (req.path == "/v1/Conversations") {
    const int page = token.empty() ? 0 : std::stoi(token.substr(2));
    if (page < 0 || page >= k_pages) return conversations_not_found();
    nlohmann::json items = nlohmann::json::array();
    for (int i = page * k_per_page; i < (page + 1) * k_per_page; ++i) items.push_back(conversation(base, i));
    const std::string url = base + "/v1/Conversations?PageSize=50";
    const std::string next =
        page + 1 < k_pages ? fmt::format("{}&Page={}&PageToken=PT{}", url, page + 1, page + 1) : "";
    return {200, list_page("conversations", std::move(items), fmt::format("{}&Page={}", url, page), next)};
  }
  for (int i = 0; i < k_pages * k_per_page; ++i) {
    const std::string path = "/v1/Conversations/" + conversation_sid(i);
    if (req.path == path + "/Participants")
      return {200, list_page("participants", participants(i), base + path + "/Participants?PageSize=50&Page=0", "")};
    if (req.path == path + "/Messages") {
      // Two messages, then the third on a second page.
      const bool second = token == "PTIM";
      nlohmann::json items = nlohmann::json::array();
      for (int k = second ? 2 : 0; k < (second ? k_messages : 2); ++k) items.push_back(message(i, k));
      const std::string url = base + path + "/Messages?PageSize=50";
      return {200, list_page("messages", std::move(items), url + (second ? "&Page=1" : "&Page=0"),
                             second ? "" : url + "&Page=1&PageToken=PTIM")};
    }
  }
  return twilio_conversations_fixtures(req, n);
}

}  // namespace chansync::test
