#pragma once
// A Twilio source adapter (twilio-messaging or twilio-calls) pointed at a fake server, with the
// account, business number and token the fixtures use, recording the back-off sleeps it asks for.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "adapters/registry.hpp"

namespace chansync::test {

constexpr const char* k_twilio_sid = "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";  // Twilio's documentation account

struct TwilioRig {
  std::vector<std::chrono::milliseconds> sleeps;
  std::unique_ptr<Adapter> adapter;
  TwilioRig(const std::string& base_url, const std::string& type, const std::string& name) {
    EndpointConfig cfg{name, type};
    cfg.options = {{"account_sid", k_twilio_sid}, {"own_numbers", {"+4930123456"}}, {"base_url", base_url}};
    cfg.secrets = {{"auth_token", "tok"}};
    adapter = adapters::create_adapter(cfg, "DE", [this](std::chrono::milliseconds d) { sleeps.push_back(d); });
  }
};

}  // namespace chansync::test
