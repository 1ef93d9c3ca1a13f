#pragma once
// Conformance harness pieces for the targets (harnesses.cpp holds the rows): ndjson, webhook,
// chatwoot, hubspot and postgres. Each target has a config, a broken config, and two readers of what
// it received: the person_ids delivered in order, and the copies it holds per person.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tests/contract/harness.hpp"

namespace chansync::test {

EndpointConfig ndjson_config(const std::filesystem::path& path);
EndpointConfig ndjson_broken(const std::filesystem::path& dir);
std::vector<std::string> ndjson_delivered(const EndpointConfig& cfg, FakeServer*);
std::map<std::string, Harness::Copies> ndjson_held(const EndpointConfig& cfg, FakeServer*);
Scripted webhook_receiver(const httplib::Request& req, std::size_t);
EndpointConfig webhook_config(const std::string& base_url);
std::vector<std::string> webhook_delivered(const EndpointConfig&, FakeServer* server);
std::map<std::string, Harness::Copies> webhook_held(const EndpointConfig&, FakeServer* server);
Scripted chatwoot_fixtures(const httplib::Request& req, std::size_t n);
EndpointConfig chatwoot_config(const std::string& base_url);
std::vector<std::string> chatwoot_delivered(const EndpointConfig&, FakeServer* server);
std::map<std::string, Harness::Copies> chatwoot_held(const EndpointConfig&, FakeServer* server);
EndpointConfig hubspot_sink_config(const std::string& base_url);
Scripted hubspot_account(const httplib::Request& req, std::size_t n);
std::map<std::string, Harness::Copies> hubspot_held(const EndpointConfig&, FakeServer* server);
std::vector<std::string> hubspot_delivered(const EndpointConfig&, FakeServer* server);
EndpointConfig postgres_config(const std::string& dsn, const std::string& schema);
EndpointConfig postgres_working();
EndpointConfig postgres_broken(const std::filesystem::path& dir);
std::vector<std::string> postgres_delivered(const EndpointConfig& cfg, FakeServer*);
std::map<std::string, Harness::Copies> postgres_held(const EndpointConfig& cfg, FakeServer*);

}  // namespace chansync::test
