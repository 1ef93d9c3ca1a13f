#pragma once
// Conformance harness pieces for the Graph adapters: meta-messenger, meta-instagram and
// whatsapp-cloud (harnesses.cpp holds the rows).
#include "tests/contract/harness.hpp"

namespace chansync::test {

EndpointConfig meta_config(const std::string& type, const std::string& base_url);
// Graph replayed from tests/fixtures/meta/ (both platforms; a message with a bad time: a dead letter).
Scripted meta_fixtures(const httplib::Request& req, std::size_t n);
// Generated Graph conversations: 4 pages of 2 conversations, paged by `after` alone.
Scripted meta_pages(const httplib::Request& req, std::size_t n);

EndpointConfig whatsapp_config(const std::string& base_url);
// The phone number object of tests/fixtures/whatsapp/ for the probe; a Graph 404 for anything else.
// whatsapp-cloud pulls nothing (its one stream is the webhook spool), so there are no pages to serve.
Scripted whatsapp_fixtures(const httplib::Request& req, std::size_t n);

}  // namespace chansync::test
