#pragma once
// Shared by the postgres target's tests: adapters over databases of the test process's server,
// person records, and a log capture.
#include <fmt/format.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <vector>

#include "adapters/registry.hpp"
#include "tests/support/pg_server.hpp"

namespace chansync::test {

// A fresh database on the shared server.
struct Db {
  std::string name, dsn;
};
inline Db fresh_db() {
  auto& server = PgServer::shared();
  const auto name = server.create_database("pg");
  return {name, server.dsn(name)};
}

inline std::unique_ptr<Adapter> pg_adapter(const std::string& dsn, const std::string& schema = "chansync") {
  EndpointConfig cfg{"db", "postgres"};
  cfg.options = {{"schema", schema}};
  cfg.secrets = {{"dsn", dsn}};
  return adapters::create_adapter(cfg, "DE");
}

inline std::string pid_of(int i) {
  return fmt::format("p_{:016x}", i);
}

// Person i: two handles, a CRM contact and `messages` messages on two channels.
inline PersonRecord pg_person(int i, int messages = 3, const std::string& text = "hello") {
  const std::string phone = fmt::format("+4915112345{:03}", i);
  PersonRecord p{pid_of(i),
                 fmt::format("Person {}", i),
                 {{HandleKind::email, fmt::format("p{}@example.com", i)}, {HandleKind::phone, phone}}};
  p.contacts = {{"crm",
                 std::to_string(1000 + i),
                 "Kim",
                 fmt::format("Lee {}", i),
                 {{HandleKind::phone, phone}},
                 false,
                 1'700'000'000'000 + i}};
  for (int m = 0; m < messages; ++m)
    p.messages.push_back({m % 2 ? "wa" : "sms", fmt::format("m{}-{}", i, m), fmt::format("c{}", i),
                          m % 2 ? "whatsapp" : "sms", m % 3 == 1 ? Direction::outbound : Direction::inbound,
                          m % 3 == 1 ? AuthorKind::agent : AuthorKind::customer, phone,
                          1'700'000'000'000 + i * 1000 + m * 60'000, fmt::format("{} {}", text, m)});
  p.updated_at = p.messages.empty() ? 1'700'000'000'000 : p.messages.back().sent_at;
  return p;
}

// Items for `persons`; with `delivered`, each carries a ledger entry saying the target has exactly it.
inline std::vector<PushItem> pg_items(const std::vector<PersonRecord>& persons, bool delivered = false) {
  std::vector<PushItem> out;
  for (const auto& p : persons)
    out.push_back({&p, delivered ? std::optional(PushLedgerEntry{p.person_id, content_hash(p), ""}) : std::nullopt});
  return out;
}

// Rows of `table` in schema chansync matching `where`, as text.
inline std::string count(const Db& db, const std::string& table, const std::string& where = "true") {
  return pg_value(db.dsn, "SELECT count(*) FROM chansync." + table + " WHERE " + where);
}

inline std::string person_rows(const Db& db, const std::string& id) {
  const std::string w = "person_id = '" + id + "'";
  return fmt::format("{} {} {} {}", count(db, "persons", w), count(db, "person_handles", w),
                     count(db, "person_contacts", w), count(db, "timeline", w));
}

inline std::vector<PushOutcome::Status> statuses(const std::vector<PushOutcome>& out) {
  std::vector<PushOutcome::Status> s;
  for (const auto& o : out) s.push_back(o.status);
  return s;
}

using S = PushOutcome::Status;

// Captures every log line, at every level, while it lives.
struct PgLogCapture {
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(4096);
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  PgLogCapture() {
    auto logger = std::make_shared<spdlog::logger>("capture", ring);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~PgLogCapture() { spdlog::set_default_logger(previous); }
  std::string all() const {
    std::string out;
    for (const auto& l : ring->last_formatted()) out += l;
    return out;
  }
};

}  // namespace chansync::test
