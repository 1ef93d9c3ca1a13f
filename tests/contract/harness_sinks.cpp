#include "tests/contract/harness_sinks.hpp"

#include <fmt/format.h>

#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "tests/support/fake_chatwoot.hpp"
#include "tests/support/fake_hubspot.hpp"
#include "tests/support/pg_server.hpp"

namespace chansync::test {
namespace {

std::shared_ptr<FakeChatwoot> chatwoot_of(const std::string& host, bool fresh) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<FakeChatwoot>> by_host;
  std::lock_guard lock(mu);
  auto& slot = by_host[host];
  if (fresh || !slot) slot = std::make_shared<FakeChatwoot>();
  return slot;
}

std::shared_ptr<FakeHubSpot> hubspot_of(int port, bool fresh) {
  static std::mutex mu;
  static std::map<int, std::shared_ptr<FakeHubSpot>> accounts;
  std::lock_guard lock(mu);
  auto& slot = accounts[port];
  if (fresh || !slot) slot = std::make_shared<FakeHubSpot>();
  return slot;
}

}  // namespace

EndpointConfig ndjson_config(const std::filesystem::path& path) {
  EndpointConfig cfg{"out", "ndjson"};
  cfg.options = {{"path", path.string()}};
  return cfg;
}

// A path under a regular file: no directory can be created there, whoever runs the test (root too).
EndpointConfig ndjson_broken(const std::filesystem::path& dir) {
  const auto file = dir / "a-regular-file";
  std::ofstream(file) << "not a directory\n";
  return ndjson_config(file / "persons.ndjson");
}

std::vector<std::string> ndjson_delivered(const EndpointConfig& cfg, FakeServer*) {
  std::vector<std::string> ids;
  std::ifstream in(cfg.options.at("path").get<std::string>());
  for (std::string line; std::getline(in, line);) ids.push_back(nlohmann::json::parse(line).at("person_id"));
  return ids;
}

// A feed read as its readers are told to: upsert by person_id, drop a person on its deletion line.
std::map<std::string, Harness::Copies> ndjson_held(const EndpointConfig& cfg, FakeServer*) {
  std::map<std::string, Harness::Copies> out;
  std::ifstream in(cfg.options.at("path").get<std::string>());
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.value("deleted", false))
      out.erase(j.at("person_id").get<std::string>());
    else
      out[j.at("person_id").get<std::string>()] = {1, static_cast<int>(j.at("messages").size())};
  }
  return out;
}

// A receiver that accepts every signed batch, like a real one that upserts by person_id.
Scripted webhook_receiver(const httplib::Request& req, std::size_t) {
  if (req.method != "POST" || req.path != "/hooks/chansync" || !req.has_header("Chansync-Signature"))
    return {400, R"({"error":"unexpected request"})"};
  return {200, R"({"ok":true})"};
}

EndpointConfig webhook_config(const std::string& base_url) {
  EndpointConfig cfg{"hook", "webhook"};
  cfg.options = {{"url", base_url + "/hooks/chansync"}, {"batch_size", 2}};
  cfg.secrets = {{"secret", "whsec-conformance"}};
  return cfg;
}

std::vector<std::string> webhook_delivered(const EndpointConfig&, FakeServer* server) {
  std::vector<std::string> ids;
  for (const auto& r : server->requests()) {
    const auto body = nlohmann::json::parse(r.body);  // named: a range over a temporary's member dangles
    for (const auto& p : body.at("persons")) ids.push_back(p.at("person_id"));
  }
  return ids;
}

// What a receiver upserting by person_id holds after every request that reached it.
std::map<std::string, Harness::Copies> webhook_held(const EndpointConfig&, FakeServer* server) {
  std::map<std::string, Harness::Copies> out;
  for (const auto& r : server->requests()) {
    const auto body = nlohmann::json::parse(r.body);
    for (const auto& p : body.at("persons"))
      out[p.at("person_id").get<std::string>()] = {1, static_cast<int>(p.at("messages").size())};
    if (body.contains("deleted"))
      for (const auto& d : body.at("deleted")) out.erase(d.at("person_id").get<std::string>());
  }
  return out;
}

// One FakeChatwoot per fake server, told apart by the Host header clients send, and fresh at each
// server's first request: the row's handler is shared by every server the suite starts, and a
// server's Chatwoot must keep its contacts across the pushes of one check.
Scripted chatwoot_fixtures(const httplib::Request& req, std::size_t n) {
  return chatwoot_of(req.get_header_value("Host"), n == 0)->handle(req);
}

EndpointConfig chatwoot_config(const std::string& base_url) {
  EndpointConfig cfg{"inbox", "chatwoot"};
  cfg.options = {{"base_url", base_url}, {"account_id", FakeChatwoot::k_account}, {"inbox_id", FakeChatwoot::k_inbox}};
  cfg.secrets = {{"token", FakeChatwoot::k_token}};
  return cfg;
}

// The identifiers of the contact creates and updates the fake Chatwoot accepted.
std::vector<std::string> chatwoot_delivered(const EndpointConfig&, FakeServer* server) {
  return chatwoot_of(server->base_url().substr(std::string("http://").size()), false)->arrivals();
}

// Contacts per identifier, and the customer-visible (not private) messages of their conversations.
std::map<std::string, Harness::Copies> chatwoot_held(const EndpointConfig&, FakeServer* server) {
  const auto account = chatwoot_of(server->base_url().substr(std::string("http://").size()), false);
  std::map<std::string, Harness::Copies> out;
  std::map<std::int64_t, std::string> person_of;
  for (const auto& c : account->contacts()) {
    auto& copies = out[c.identifier];
    ++copies.persons;
    copies.messages = 0;
    person_of[c.id] = c.identifier;
  }
  for (const auto& conv : account->conversations())
    for (const auto& m : conv.messages)
      if (!m.is_private && person_of.count(conv.contact_id)) ++out[person_of[conv.contact_id]].messages;
  return out;
}

EndpointConfig hubspot_sink_config(const std::string& base_url) {
  EndpointConfig cfg{"hs", "hubspot"};
  cfg.options = {{"base_url", base_url}};
  cfg.secrets = {{"token", FakeHubSpot::k_token}};
  return cfg;
}

// A stateful HubSpot per fake server: the harness's handler is shared by every server the suite
// starts, so each server's account is found by its port and starts empty with its first request.
Scripted hubspot_account(const httplib::Request& req, std::size_t n) {
  return hubspot_of(req.local_port, n == 0)->handle(req);
}

// Live contacts per person_id, and the messages in the notes associated with them: each message is
// a <p> paragraph of a note, after the note's <p><strong> heading.
std::map<std::string, Harness::Copies> hubspot_held(const EndpointConfig&, FakeServer* server) {
  const auto base = server->base_url();
  const auto account = hubspot_of(std::stoi(base.substr(base.rfind(':') + 1)), false);
  std::map<std::string, Harness::Copies> out;
  std::map<std::string, std::string> person_of;  // contact id → person_id
  for (const auto& c : account->contacts()) {
    if (c.archived) continue;
    const auto it = c.properties.find("chansync_person_id");
    if (it == c.properties.end()) continue;
    auto& copies = out[it->second];
    ++copies.persons;
    copies.messages = 0;
    person_of[c.id] = it->second;
  }
  auto count = [](const std::string& text, const std::string& what) {
    int n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  for (const auto& note : account->notes()) {
    if (note.archived) continue;
    const auto body = note.properties.count("hs_note_body") ? note.properties.at("hs_note_body") : "";
    for (const auto& contact : note.associated)
      if (person_of.count(contact)) out[person_of[contact]].messages += count(body, "<p>") - count(body, "<p><strong>");
  }
  return out;
}

// The person_id of every contact upserted, in order (a re-sent person appears again).
std::vector<std::string> hubspot_delivered(const EndpointConfig&, FakeServer* server) {
  std::vector<std::string> ids;
  for (const auto& r : server->requests()) {
    if (r.method != "POST" || r.path != "/crm/v3/objects/contacts/batch/upsert") continue;
    const auto body = nlohmann::json::parse(r.body);
    for (const auto& input : body.at("inputs")) ids.push_back(input.at("id"));
  }
  return ids;
}

// postgres: a fresh schema per config in one database of the test process's server.
EndpointConfig postgres_config(const std::string& dsn, const std::string& schema) {
  EndpointConfig cfg{"db", "postgres"};
  cfg.options = {{"schema", schema}};
  cfg.secrets = {{"dsn", dsn}};
  return cfg;
}

EndpointConfig postgres_working() {
  static const std::string database = PgServer::shared().create_database("conformance");
  static int schemas = 0;
  return postgres_config(PgServer::shared().dsn(database), "conformance_" + std::to_string(++schemas));
}

// A socket directory no server listens in: connecting fails at once with "No such file or directory".
EndpointConfig postgres_broken(const std::filesystem::path& dir) {
  return postgres_config("host=" + dir.string() + " port=5432 user=chansync password=unused dbname=gone", "chansync");
}

// A database keeps one row per person, not one per arrival. Its persons rows say when each was first
// written (first_pushed_at) and last rewritten (pushed_at, moved only by a write that changed it):
// those two moments, in time order, are the arrivals this target can show. A person rewritten twice
// then appears twice, not three times; the suite's checks need no more.
std::vector<std::string> postgres_delivered(const EndpointConfig& cfg, FakeServer*) {
  const std::string dsn = cfg.secrets.at("dsn"), schema = cfg.options.at("schema");
  if (pg_value(dsn, "SELECT to_regclass('" + schema + ".persons') IS NOT NULL") != "t") return {};
  std::vector<std::string> ids;
  for (const auto& row :
       pg_query(dsn, "SELECT person_id FROM (SELECT person_id, first_pushed_at AS at FROM " + schema +
                         ".persons UNION ALL SELECT person_id, pushed_at FROM " + schema +
                         ".persons WHERE pushed_at > first_pushed_at) arrivals ORDER BY at, person_id"))
    ids.push_back(row.at(0));
  return ids;
}

// The persons rows per person_id and their timeline rows.
std::map<std::string, Harness::Copies> postgres_held(const EndpointConfig& cfg, FakeServer*) {
  const std::string dsn = cfg.secrets.at("dsn"), schema = cfg.options.at("schema");
  std::map<std::string, Harness::Copies> out;
  if (pg_value(dsn, "SELECT to_regclass('" + schema + ".persons') IS NOT NULL") != "t") return out;
  for (const auto& row : pg_query(dsn, "SELECT p.person_id, count(*), (SELECT count(*) FROM " + schema +
                                           ".timeline t WHERE t.person_id = p.person_id) FROM " + schema +
                                           ".persons p GROUP BY p.person_id"))
    out[row.at(0)] = {std::stoi(row.at(1)), std::stoi(row.at(2))};
  return out;
}

}  // namespace chansync::test
