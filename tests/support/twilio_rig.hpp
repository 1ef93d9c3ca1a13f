#pragma once
// A Twilio source adapter (twilio-messaging or twilio-calls) pointed at a fake server, with the
// account, business number and token the fixtures use, recording the back-off sleeps it asks for.
// Built past the URL check, so a test may put credentials in base_url (past_url_check.hpp).
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/past_url_check.hpp"

namespace chansync::test {

constexpr const char* k_twilio_sid = "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";  // Twilio's documentation account

struct TwilioRig {
  std::vector<std::chrono::milliseconds> sleeps;
  std::unique_ptr<Adapter> adapter;
  TwilioRig(const std::string& base_url, const std::string& type, const std::string& name) {
    EndpointConfig cfg{name, type};
    cfg.options = {{"account_sid", k_twilio_sid}, {"own_numbers", {"+4930123456"}}, {"base_url", base_url}};
    cfg.secrets = {{"auth_token", "tok"}};
    adapter = create_past_url_check(cfg, [this](std::chrono::milliseconds d) { sleeps.push_back(d); });
  }
};

}  // namespace chansync::test
