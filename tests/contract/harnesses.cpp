#include <fmt/format.h>

#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "sync/timestamp.hpp"
#include "tests/contract/harness.hpp"
#include "tests/contract/harness_csv.hpp"
#include "tests/contract/harness_imap.hpp"
#include "tests/contract/harness_meta.hpp"
#include "tests/contract/harness_sinks.hpp"
#include "tests/contract/harness_twilio_conversations.hpp"
#include "tests/support/dead_port.hpp"
#include "tests/support/fake_hubspot.hpp"

namespace chansync::test {
namespace {

const std::string k_sid = "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";
const std::string k_account_path = "/2010-04-01/Accounts/" + k_sid;

EndpointConfig twilio_config(const std::string& base_url) {
  EndpointConfig cfg{"sms", "twilio-messaging"};
  cfg.options = {{"account_sid", k_sid}, {"own_numbers", {"+4930123456"}}, {"base_url", base_url}};
  cfg.secrets = {{"auth_token", "tok"}};
  return cfg;
}

Scripted twilio_not_found() {
  return {404, R"({"code": 20404, "message": "The requested resource was not found", "status": 404})"};
}

// The two recorded Messages.json pages (the second holds a message dated "yesterday") and the account
// resource the probe reads.
Scripted twilio_fixtures(const httplib::Request& req, std::size_t) {
  if (req.path == k_account_path + ".json") return {200, fixture("twilio/account.json")};
  if (req.path == k_account_path + "/Messages.json")
    return {200, fixture(req.has_param("PageToken") ? "twilio/messages_page2.json" : "twilio/messages_page1.json")};
  return twilio_not_found();
}

// The scripted lists: 4 pages of 3 records.
constexpr int k_twilio_pages = 4, k_twilio_page_size = 3;

// The envelope of page `page` of a scripted list resource (`file`: "Messages.json") holding `items`
// under `key`, newest first; a relative next_page_uri with a PageToken (prefix `token`) links the next.
std::string twilio_list_page(const char* file, const char* key, const char* token, nlohmann::json items, int page) {
  const auto uri = [file](int p) {
    return fmt::format("{}/{}?PageSize={}&Page={}", k_account_path, file, k_twilio_page_size, p);
  };
  nlohmann::json body = {{"end", (page + 1) * k_twilio_page_size - 1},
                         {"first_page_uri", uri(0)},
                         {key, std::move(items)},
                         {"next_page_uri", nullptr},
                         {"page", page},
                         {"page_size", k_twilio_page_size},
                         {"previous_page_uri", page > 0 ? nlohmann::json(uri(page - 1)) : nlohmann::json(nullptr)},
                         {"start", page * k_twilio_page_size},
                         {"uri", uri(page)}};
  if (page + 1 < k_twilio_pages)
    body["next_page_uri"] = fmt::format("{}&PageToken={}{:032}", uri(page + 1), token, page + 1);
  return body.dump(1, ' ', true);
}

// One Messages.json page of the scripted list: 4 pages of 3 messages, newest first as Twilio lists
// them. Customers are written several ways (national, with spaces, WhatsApp, a short code), one
// customer recurs across pages, and one message has an unparseable date. Pretty-printed with
// \u-escapes, so a dead letter's raw bytes differ from any re-serialisation.
std::string twilio_page(int page) {
  static const char* const k_customers[] = {"+4915112345678", "0151 1234 5679", "+49 (0)170 1234567", "+14155550123",
                                            "12345"};
  nlohmann::json messages = nlohmann::json::array();
  for (int i = page * k_twilio_page_size; i < (page + 1) * k_twilio_page_size; ++i) {
    const bool whatsapp = i % 5 == 2;
    const bool inbound = i % 4 != 1 && i % 4 != 3;
    const std::string customer = std::string(whatsapp ? "whatsapp:" : "") + k_customers[i % 5];
    const std::string business = std::string(whatsapp ? "whatsapp:" : "") + "+4930123456";
    // Seven hours apart from 2015-07-31T20:00:00Z back: the pages span four days.
    const std::string date = i == 7 ? "yesterday" : format_rfc2822(1'438'372'800'000 - Timestamp{i} * 7 * 3'600'000);
    messages.push_back({{"account_sid", k_sid},
                        {"api_version", "2010-04-01"},
                        {"body", fmt::format("Grüße, Nachricht {} 👋", i)},
                        {"date_created", date},
                        {"date_sent", date},
                        {"date_updated", date},
                        {"direction", inbound      ? "inbound"
                                      : i % 4 == 1 ? "outbound-api"
                                                   : "outbound-reply"},
                        {"error_code", nullptr},
                        {"from", inbound ? customer : business},
                        {"num_media", "0"},
                        {"sid", fmt::format("SM{:032}", i + 100)},
                        {"status", inbound ? "received" : "delivered"},
                        {"to", inbound ? business : customer}});
  }
  return twilio_list_page("Messages.json", "messages", "PASM", std::move(messages), page);
}

Scripted twilio_pages(const httplib::Request& req, std::size_t n) {
  if (req.path != k_account_path + "/Messages.json") return twilio_fixtures(req, n);
  int page = 0;
  if (req.has_param("Page")) page = std::stoi(req.get_param_value("Page"));
  if (page < 0 || page >= k_twilio_pages) return twilio_not_found();
  return {200, twilio_page(page)};
}

EndpointConfig twilio_calls_config(const std::string& base_url) {
  auto cfg = twilio_config(base_url);
  cfg.name = "voice";
  cfg.type = "twilio-calls";
  return cfg;
}

// The two recorded Calls.json pages (the second holds a call dated "yesterday") and the account.
Scripted twilio_calls_fixtures(const httplib::Request& req, std::size_t n) {
  if (req.path == k_account_path + "/Calls.json")
    return {200, fixture(req.has_param("PageToken") ? "twilio/calls_page2.json" : "twilio/calls_page1.json")};
  if (req.path == k_account_path + "/Messages.json") return twilio_not_found();
  return twilio_fixtures(req, n);
}

// One Calls.json page of the scripted list: 4 pages of 3 calls, newest first. Customers written
// several ways, anonymous callers (Twilio's words and its pseudo-number), unanswered and busy calls,
// one call with an unparseable start_time.
std::string twilio_calls_page(int page) {
  static const char* const k_customers[] = {"+4915112345678", "0151 1234 5679", "anonymous", "+14155550123",
                                            "+266696687"};
  static const char* const k_status[] = {"completed", "no-answer", "completed", "busy", "canceled", "failed"};
  nlohmann::json calls = nlohmann::json::array();
  for (int i = page * k_twilio_page_size; i < (page + 1) * k_twilio_page_size; ++i) {
    const bool inbound = i % 4 != 1;
    const std::string customer = k_customers[i % 5], business = "+4930123456";
    const Timestamp start = 1'438'372'800'000 - Timestamp{i} * 7 * 3'600'000;
    const std::string date = i == 7 ? "yesterday" : format_rfc2822(start);
    const std::string status = k_status[i % 6];
    const std::string sid = fmt::format("CA{:032}", i + 100);
    calls.push_back(
        {{"account_sid", k_sid},
         {"answered_by", nullptr},
         {"api_version", "2010-04-01"},
         {"caller_name", nullptr},
         {"date_created", date},
         {"date_updated", date},
         {"direction", inbound ? "inbound"
                       : i % 2 ? "outbound-api"
                               : "outbound-dial"},
         {"duration", status == "completed" ? nlohmann::json(std::to_string(30 + i * 17)) : nlohmann::json(nullptr)},
         {"end_time", date},
         {"from", inbound ? customer : business},
         {"from_formatted", inbound ? customer : business},
         {"parent_call_sid", nullptr},
         {"price", nullptr},
         {"price_unit", "USD"},
         {"sid", sid},
         {"start_time", date},
         {"status", status},
         {"to", inbound ? business : customer},
         {"to_formatted", inbound ? business : customer},
         {"uri", fmt::format("{}/Calls/{}.json", k_account_path, sid)}});
  }
  return twilio_list_page("Calls.json", "calls", "PACA", std::move(calls), page);
}

Scripted twilio_calls_pages(const httplib::Request& req, std::size_t n) {
  if (req.path != k_account_path + "/Calls.json") return twilio_calls_fixtures(req, n);
  int page = 0;
  if (req.has_param("Page")) page = std::stoi(req.get_param_value("Page"));
  if (page < 0 || page >= k_twilio_pages) return twilio_not_found();
  return {200, twilio_calls_page(page)};
}

EndpointConfig hubspot_config(const std::string& base_url) {
  EndpointConfig cfg{"crm", "hubspot-contacts"};
  cfg.options = {{"base_url", base_url}};
  cfg.secrets = {{"token", "pat-na1-test"}};
  return cfg;
}

const char* const k_empty_search = R"({"total":0,"results":[]})";

// The recorded list pages, led by a page holding a contact without an id and one with an
// unparseable lastmodifieddate; the archived list; an empty search (incremental pulls).
Scripted hubspot_fixtures(const httplib::Request& req, std::size_t) {
  if (req.path == "/crm/v3/objects/contacts/search" && req.method == "POST") return {200, k_empty_search};
  if (req.path != "/crm/v3/objects/contacts") return {404, fixture("hubspot/error_401.json")};
  if (req.get_param_value("archived") == "true") return {200, fixture("hubspot/contacts_archived.json")};
  const std::string after = req.get_param_value("after");
  if (after.empty()) return {200, fixture("hubspot/contacts_rejects.json")};
  if (after == "50") return {200, fixture("hubspot/contacts_page1.json")};
  return {200, fixture("hubspot/contacts_page2.json")};
}

// 4 list pages of 3 contacts and 2 archived pages of 2, paged by `after`. Handles written several
// ways; contact 1004 has an unparseable lastmodifieddate.
Scripted hubspot_pages(const httplib::Request& req, std::size_t n) {
  if (req.path != "/crm/v3/objects/contacts" || req.method != "GET") return hubspot_fixtures(req, n);
  const bool archived = req.get_param_value("archived") == "true";
  const int pages = archived ? 2 : 4, size = archived ? 2 : 3, first_id = archived ? 2000 : 1000;
  const std::string after = req.get_param_value("after");
  const int page = after.empty() ? 0 : (std::atoi(after.c_str()) - first_id) / size;
  if (page < 0 || page >= pages || (!after.empty() && after != std::to_string(first_id + page * size)))
    return {400, R"({"status":"error","message":"Invalid after","category":"VALIDATION_ERROR"})"};
  nlohmann::json results = nlohmann::json::array();
  for (int id = first_id + page * size; id < first_id + (page + 1) * size; ++id) {
    const std::string modified =
        id == 1004 ? "2024-13-45T99:00:00Z" : fmt::format("2024-05-{:02}T10:00:00.000Z", id % 28 + 1);
    results.push_back(
        {{"id", std::to_string(id)},
         {"properties",
          {{"email", id % 3 == 0 ? fmt::format(" Kim.Lee{}@Example.COM", id) : fmt::format("k{}@bücher.example", id)},
           {"firstname", "Kim"},
           {"lastname", fmt::format("Lee {}", id)},
           {"hs_object_id", std::to_string(id)},
           {"lastmodifieddate", modified},
           {"mobilephone", id % 2 ? nlohmann::json(fmt::format("0170 {:07}", id)) : nlohmann::json(nullptr)},
           {"phone", fmt::format("+49 (30) 555-{:04}", id % 10000)}}},
         {"createdAt", "2024-01-01T10:00:00.000Z"},
         {"updatedAt", modified},
         {"archived", archived}});
  }
  nlohmann::json body = {{"results", results}};
  if (page + 1 < pages) {
    const std::string next = std::to_string(first_id + (page + 1) * size);
    body["paging"] = {
        {"next", {{"after", next}, {"link", "https://api.hubapi.com/crm/v3/objects/contacts?after=" + next}}}};
  }
  return {200, body.dump()};
}

const std::string k_bot_token = "7123456789:AAHconformanceTOKEN_0123456789abcdef";
const std::string k_bot_path = "/bot" + k_bot_token + "/";

EndpointConfig telegram_config(const std::string& base_url) {
  EndpointConfig cfg{"tg", "telegram-bot"};
  cfg.options = {{"base_url", base_url}};
  cfg.secrets = {{"token", k_bot_token}};
  return cfg;
}

// The recorded getUpdates pages (the second holds a supergroup message: a dead letter) by offset,
// then an empty page; getMe for the probe. Served by the request alone, as the suite requires: the
// real Telegram would also delete what each offset confirms, which telegram_test.cpp covers.
Scripted telegram_fixtures(const httplib::Request& req, std::size_t) {
  if (req.path == k_bot_path + "getMe") return {200, fixture("telegram/getme.json")};
  if (req.path != k_bot_path + "getUpdates") return {404, fixture("telegram/error_404.json")};
  const std::string offset = req.get_param_value("offset");
  if (offset.empty()) return {200, fixture("telegram/updates_page1.json")};
  if (offset == "815600004") return {200, fixture("telegram/updates_page2.json")};
  return {200, fixture("telegram/updates_empty.json")};
}

// 4 pages of 3 private-chat updates (ids 1..12) from 5 users, whatever `limit` asks; a page starts
// at the request's offset, so a resumed pull is served what it would have got.
Scripted telegram_pages(const httplib::Request& req, std::size_t n) {
  if (req.path != k_bot_path + "getUpdates") return telegram_fixtures(req, n);
  const std::string offset = req.get_param_value("offset");
  const int first = offset.empty() ? 1 : std::stoi(offset);
  nlohmann::json result = nlohmann::json::array();
  for (int id = std::max(first, 1); id < first + 3 && id <= 12; ++id) {
    const int user = 900000 + id % 5;
    result.push_back({{"update_id", id},
                      {"message",
                       {{"message_id", id},
                        {"from", {{"id", user}, {"is_bot", false}, {"first_name", fmt::format("User {}", user)}}},
                        {"chat", {{"id", user}, {"type", "private"}}},
                        {"date", 1760000000 + id * 60},
                        {"text", fmt::format("message {} \u00e9\u00e8", id)}}}});
  }
  return {200, nlohmann::json{{"ok", true}, {"result", result}}.dump(1, ' ', true)};
}

}  // namespace

std::span<const Harness> harnesses() {
  static const std::vector<Harness> k_harnesses = {
      {.type = "twilio-messaging",
       .config = [](const std::string& base_url, const auto&) { return twilio_config(base_url); },
       .broken = [](const auto&) { return twilio_config(dead_base_url()); },
       .fixtures = twilio_fixtures,
       .fixtures_have_rejects = true,
       .pages = twilio_pages},
      {.type = "twilio-calls",
       .config = [](const std::string& base_url, const auto&) { return twilio_calls_config(base_url); },
       .broken = [](const auto&) { return twilio_calls_config(dead_base_url()); },
       .fixtures = twilio_calls_fixtures,
       .fixtures_have_rejects = true,
       .pages = twilio_calls_pages},
      {.type = "twilio-conversations",
       .config = [](const std::string& base_url, const auto&) { return twilio_conversations_config(base_url); },
       .broken = [](const auto&) { return twilio_conversations_config(dead_base_url()); },
       .fixtures = twilio_conversations_fixtures,
       .fixtures_have_rejects = true,
       .pages = twilio_conversations_pages},
      {.type = "telegram-bot",
       .config = [](const std::string& base_url, const auto&) { return telegram_config(base_url); },
       .broken = [](const auto&) { return telegram_config(dead_base_url()); },
       .fixtures = telegram_fixtures,
       .fixtures_have_rejects = true,
       .pages = telegram_pages},
      {.type = "whatsapp-cloud",
       .config = [](const std::string& base_url, const auto&) { return whatsapp_config(base_url); },
       .broken = [](const auto&) { return whatsapp_config(dead_base_url()); },
       .fixtures = whatsapp_fixtures},
      {.type = "meta-messenger",
       .config = [](const std::string& base_url, const auto&) { return meta_config("meta-messenger", base_url); },
       .broken = [](const auto&) { return meta_config("meta-messenger", dead_base_url()); },
       .fixtures = meta_fixtures,
       .fixtures_have_rejects = true,
       .pages = meta_pages},
      {.type = "meta-instagram",
       .config = [](const std::string& base_url, const auto&) { return meta_config("meta-instagram", base_url); },
       .broken = [](const auto&) { return meta_config("meta-instagram", dead_base_url()); },
       .fixtures = meta_fixtures,
       .fixtures_have_rejects = true,
       .pages = meta_pages},
      {.type = "imap-email",
       .config = [](const std::string& base_url, const auto&) { return imap_config(base_url); },
       .broken = [](const auto&) { return imap_broken(); },
       .fixtures = imap_fixtures,
       .fixtures_have_rejects = true,
       .pages = imap_pages},
      {.type = "hubspot-contacts",
       .config = [](const std::string& base_url, const auto&) { return hubspot_config(base_url); },
       .broken = [](const auto&) { return hubspot_config(dead_base_url()); },
       .fixtures = hubspot_fixtures,
       .fixtures_have_rejects = true,
       .pages = hubspot_pages},
      {.type = "csv-contacts",
       .config = csv_contacts_config,
       .broken = csv_contacts_broken,
       .pages = csv_contacts_pages},
      {.type = "ndjson",
       .config = [](const std::string&,
                    const std::filesystem::path& dir) { return ndjson_config(dir / "persons.ndjson"); },
       .broken = ndjson_broken,
       .delivered = ndjson_delivered,
       .held = ndjson_held},
      {.type = "webhook",
       .config = [](const std::string& base_url, const auto&) { return webhook_config(base_url); },
       .broken = [](const auto&) { return webhook_config(dead_base_url()); },
       .fixtures = webhook_receiver,
       .any_2xx_body = true,
       .delivered = webhook_delivered,
       .held = webhook_held},
      {.type = "chatwoot",
       .config = [](const std::string& base_url, const auto&) { return chatwoot_config(base_url); },
       .broken = [](const auto&) { return chatwoot_config(dead_base_url()); },
       .fixtures = chatwoot_fixtures,
       .delivered = chatwoot_delivered,
       .held = chatwoot_held},
      {.type = "hubspot",
       .config = [](const std::string& base_url, const auto&) { return hubspot_sink_config(base_url); },
       .broken = [](const auto&) { return hubspot_sink_config(dead_base_url()); },
       .fixtures = hubspot_account,
       .delivered = hubspot_delivered,
       .held = hubspot_held},
      {.type = "postgres",
       .config = [](const std::string&, const auto&) { return postgres_working(); },
       .broken = postgres_broken,
       .delivered = postgres_delivered,
       .held = postgres_held},
  };
  return k_harnesses;
}

const Harness* find_harness(const std::string& type) {
  for (const auto& h : harnesses())
    if (h.type == type) return &h;
  return nullptr;
}

}  // namespace chansync::test
