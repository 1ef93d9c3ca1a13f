#pragma once
// The Twilio Conversations API replayed from tests/fixtures/twilio/conversations/, for the adapter's
// unit tests and its conformance harness.
#include <string>

#include "tests/support/fake_server.hpp"

namespace chansync::test {

// Answers `path` (a /v1/... path of the account's default service) from the recorded fixtures, with
// Twilio's absolute URLs pointing at the server the request reached; Twilio's 404 for anything else.
// Two pages of conversations: (1) SMS with +4915112345678 and the agent agent.lena, its messages on
// two pages; (2) WhatsApp with the same number, an unknown phone author and an unreadable date; (3) a
// web chat of the chat user anna.web with agent.lena and an unknown identity; (4) a group of two SMS
// customers. GET /v1/Configuration is the account ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX's.
Scripted twilio_conversations_replay(const httplib::Request& req, const std::string& path);

// Twilio's 404 body (error 20404).
Scripted conversations_not_found();

// The fixture `name` under twilio/conversations/ with https://conversations.twilio.com replaced by
// the address the request reached.
std::string twilio_conversations_fixture(const httplib::Request& req, const std::string& name);

}  // namespace chansync::test
