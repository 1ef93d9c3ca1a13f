#pragma once
// Conformance harness pieces for meta-messenger and meta-instagram (harnesses.cpp holds the rows).
#include "tests/contract/harness.hpp"

namespace chansync::test {

EndpointConfig meta_config(const std::string& type, const std::string& base_url);
// Graph replayed from tests/fixtures/meta/ (both platforms; a message with a bad time: a dead letter).
Scripted meta_fixtures(const httplib::Request& req, std::size_t n);
// Generated Graph conversations: 4 pages of 2 conversations, paged by `after` alone.
Scripted meta_pages(const httplib::Request& req, std::size_t n);

}  // namespace chansync::test
