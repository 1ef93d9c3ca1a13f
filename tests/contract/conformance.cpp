#include "tests/contract/conformance.hpp"

#include <stdlib.h>

#include <catch2/catch.hpp>

namespace chansync::test {
namespace {

bool plays(const adapters::AdapterType& row, std::initializer_list<Role> any_of) {
  for (Role r : any_of)
    if (std::find(row.spec.roles.begin(), row.spec.roles.end(), r) != row.spec.roles.end()) return true;
  return false;
}

void for_each(const Check& check, std::initializer_list<Role> roles, bool pulling = false) {
  for (const auto& row : adapters::registry()) {
    const Harness* h = find_harness(row.spec.type);
    if (!h || !plays(row, roles) || (pulling && !pulls(row, *h))) continue;
    DYNAMIC_SECTION(row.spec.type) {
      check(row, *h);
    }
  }
}

}  // namespace

void for_each_adapter(const Check& check) {
  for_each(check, {Role::conversations, Role::contacts, Role::sink});
}
void for_each_source(const Check& check) {
  for_each(check, {Role::conversations, Role::contacts}, true);
}
void for_each_sink(const Check& check) {
  for_each(check, {Role::sink});
}

bool pulls(const adapters::AdapterType& row, const Harness& h) {
  Scratch dir;
  const auto streams = create(row, h.config("http://127.0.0.1:9", dir.path))->streams();
  return std::any_of(streams.begin(), streams.end(), [](const Stream& s) { return !s.spool; });
}

std::unique_ptr<Adapter> create(const adapters::AdapterType& row, EndpointConfig cfg) {
  for (const auto& o : row.spec.options)
    if (!o.secret && !o.default_value.is_null() && !cfg.options.contains(o.key)) cfg.options[o.key] = o.default_value;
  return adapters::create_adapter(cfg, k_region, [](std::chrono::milliseconds) {});  // as the CLI does
}

Scratch::Scratch() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "chansync-conformance-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
  path = tmpl;
}

Scratch::~Scratch() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

Endpoint::Endpoint(const Harness& h, const FakeServer::Handler& handler, const std::filesystem::path& dir)
    : server(handler ? std::make_unique<FakeServer>(handler) : nullptr),
      cfg(h.config(server ? server->base_url() : "", dir)) {}

FakeServer::Handler SentBodies::wrap(FakeServer::Handler handler) {
  if (!handler) return {};
  return [this, handler = std::move(handler)](const httplib::Request& req, std::size_t n) {
    Scripted s = handler(req, n);
    std::lock_guard lock(m_mu);
    m_bodies.push_back(s.body);
    return s;
  };
}

std::vector<std::string> SentBodies::bodies() {
  std::lock_guard lock(m_mu);
  return m_bodies;
}

}  // namespace chansync::test
