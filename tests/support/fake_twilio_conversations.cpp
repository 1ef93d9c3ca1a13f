#include "tests/support/fake_twilio_conversations.hpp"

#include <fmt/format.h>

namespace chansync::test {

Scripted conversations_not_found() {
  return {404, R"({"code": 20404, "message": "The requested resource was not found", "status": 404})"};
}

std::string twilio_conversations_fixture(const httplib::Request& req, const std::string& name) {
  std::string body = fixture("twilio/conversations/" + name);
  const std::string from = "https://conversations.twilio.com", to = "http://" + req.get_header_value("Host");
  for (auto at = body.find(from); at != std::string::npos; at = body.find(from, at + to.size()))
    body.replace(at, from.size(), to);
  return body;
}

Scripted twilio_conversations_replay(const httplib::Request& req, const std::string& path) {
  const auto served = [&req](const std::string& name) { return twilio_conversations_fixture(req, name); };
  if (path == "/v1/Configuration") return {200, served("configuration.json")};
  if (path == "/v1/Conversations")
    return {200, served(req.has_param("PageToken") ? "conversations_page2.json" : "conversations_page1.json")};
  for (int n = 1; n <= 4; ++n) {
    const std::string base = fmt::format("/v1/Conversations/CH{:032}", n);
    if (path == base + "/Participants") return {200, served(fmt::format("participants_{}.json", n))};
    if (path == base + "/Messages") {
      if (n != 1) return {200, served(fmt::format("messages_{}.json", n))};
      return {200, served(req.has_param("PageToken") ? "messages_1_page2.json" : "messages_1_page1.json")};
    }
  }
  return conversations_not_found();
}

}  // namespace chansync::test
