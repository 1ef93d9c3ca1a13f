#include "tests/contract/harness_meta.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "sync/timestamp.hpp"

namespace chansync::test {
namespace {

constexpr const char* k_page = "1122334455";
constexpr const char* k_instagram = "17841400000000001";
constexpr int k_pages = 4, k_per_page = 2;

std::string with_base(std::string text, const httplib::Request& req) {
  const std::string base = "http://" + req.get_header_value("Host");
  for (auto at = text.find("{{BASE}}"); at != std::string::npos; at = text.find("{{BASE}}", at))
    text.replace(at, 8, base);
  return text;
}

Scripted not_found() {
  return {404, R"({"error":{"message":"Unknown path components","type":"OAuthException","code":2500,)"
               R"("fbtrace_id":"AHarness404"}})"};
}

// The page object, for the probe and (Instagram) the linked account.
std::optional<Scripted> page_object(const httplib::Request& req) {
  if (req.path != std::string("/v23.0/") + k_page) return std::nullopt;
  if (req.get_param_value("fields") == "instagram_business_account")
    return Scripted{200, fixture("meta/page_instagram.json")};
  return Scripted{200, fixture("meta/page.json")};
}

// Conversation i of the generated list: updated a minute apart, newest first.
nlohmann::json conversation(const std::string& platform, int i) {
  const bool ig = platform == "instagram";
  const std::string business = ig ? k_instagram : k_page, customer = std::to_string(8000 + i);
  const std::string time = format_rfc3339(1'790'000'000'000 - Timestamp{i} * 60'000);
  const std::string graph_time = time.substr(0, 19) + "+0000";
  auto who = [&](const std::string& id, const std::string& name) {
    return ig ? nlohmann::json{{"username", name}, {"id", id}} : nlohmann::json{{"name", name}, {"id", id}};
  };
  return {{"id", fmt::format("t_{}", i)},
          {"updated_time", graph_time},
          {"participants", {{"data", {who(customer, fmt::format("customer{}", i)), who(business, "acme")}}}},
          {"messages",
           {{"data",
             {{{"id", fmt::format("m_{}_b", i)},
               {"created_time", graph_time},
               {"from", who(business, "acme")},
               {"message", "reply"}},
              {{"id", fmt::format("m_{}_a", i)},
               {"created_time", graph_time},
               {"from", who(customer, "c")},
               {"message", fmt::format("question {}", i)}}}}}}};
}

}  // namespace

EndpointConfig meta_config(const std::string& type, const std::string& base_url) {
  EndpointConfig cfg{type == "meta-messenger" ? "fb" : "ig", type};
  cfg.options = {{"page_id", k_page}, {"api_version", "v23.0"}, {"base_url", base_url}};
  cfg.secrets = {{"token", "EAAGharness"}, {"app_secret", "harness-app-secret"}};
  return cfg;
}

Scripted meta_fixtures(const httplib::Request& req, std::size_t) {
  if (auto p = page_object(req)) return *p;
  const std::string platform = req.get_param_value("platform");
  if (req.path == std::string("/v23.0/") + k_page + "/conversations" &&
      (platform == "messenger" || platform == "instagram"))
    return {200,
            with_base(fixture("meta/" + platform + (req.has_param("after") ? "_page2.json" : "_page1.json")), req)};
  if (req.path == "/v23.0/t_10/messages") return {200, with_base(fixture("meta/messenger_messages_t10.json"), req)};
  return not_found();
}

Scripted meta_pages(const httplib::Request& req, std::size_t) {
  if (auto p = page_object(req)) return *p;
  if (req.path != std::string("/v23.0/") + k_page + "/conversations") return not_found();
  const std::string platform = req.get_param_value("platform");
  int page = 0;
  if (req.has_param("after")) {
    const auto after = req.get_param_value("after");
    if (!after.starts_with("P")) return not_found();
    page = std::stoi(after.substr(1));
  }
  if (page < 0 || page >= k_pages) return not_found();
  nlohmann::json body = {{"data", nlohmann::json::array()}};
  for (int i = page * k_per_page; i < (page + 1) * k_per_page; ++i) body["data"].push_back(conversation(platform, i));
  body["paging"] = {{"cursors", {{"before", fmt::format("P{}", page)}, {"after", fmt::format("P{}", page + 1)}}}};
  if (page + 1 < k_pages)
    body["paging"]["next"] = fmt::format("http://{}/v23.0/{}/conversations?platform={}&after=P{}",
                                         req.get_header_value("Host"), k_page, platform, page + 1);
  return {200, body.dump()};
}

EndpointConfig whatsapp_config(const std::string& base_url) {
  EndpointConfig cfg{"wa", "whatsapp-cloud"};
  cfg.options = {{"phone_number_id", "106540352242922"}, {"api_version", "v23.0"}, {"base_url", base_url}};
  cfg.secrets = {{"token", "EAAGharness"}, {"app_secret", "harness-app-secret"}, {"verify_token", "harness"}};
  return cfg;
}

Scripted whatsapp_fixtures(const httplib::Request& req, std::size_t) {
  if (req.path == "/v23.0/106540352242922") return {200, fixture("whatsapp/phone_number.json")};
  return not_found();
}

}  // namespace chansync::test
