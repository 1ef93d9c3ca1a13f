#pragma once
// Conformance harness pieces for twilio-conversations (harnesses.cpp holds the row).
#include "tests/contract/harness.hpp"

namespace chansync::test {

EndpointConfig twilio_conversations_config(const std::string& base_url);
// The recorded Conversations API (tests/support/fake_twilio_conversations.hpp): its dead letters
// are an unknown author, an unreadable date and a group conversation.
Scripted twilio_conversations_fixtures(const httplib::Request& req, std::size_t n);
// Generated conversations: 4 list pages of 2, each with its participants and 3 messages on 2 pages,
// paged by PageToken alone through absolute next_page_urls.
Scripted twilio_conversations_pages(const httplib::Request& req, std::size_t n);

}  // namespace chansync::test
