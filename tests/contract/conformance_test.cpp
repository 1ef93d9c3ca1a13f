// The contract every registered adapter passes, like rclone's fstests: each TEST_CASE runs over every
// row of adapters::registry() through its role accessors and skips what a role does not have. An
// adapter type takes part by having a harness (tests/contract/harnesses.cpp).
#include "tests/contract/conformance.hpp"

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <iterator>
#include <set>

#include "adapters/registry.hpp"
#include "sync/normalize.hpp"
#include "sync/pull.hpp"
#include "sync/reconcile.hpp"
#include "tests/support/dead_port.hpp"
#include "tests/support/page_tap.hpp"
#include "tests/support/store_dump.hpp"

using namespace chansync;
using namespace chansync::test;

namespace {

constexpr std::size_t k_page_bound = 100;

bool is_target_type(const adapters::AdapterType& row) {
  return std::find(row.spec.roles.begin(), row.spec.roles.end(), Role::sink) != row.spec.roles.end();
}

bool is_source(const Adapter& a) {
  return a.conversations() || a.contacts();
}

std::set<std::string> stream_names(const Adapter& a) {
  std::set<std::string> out;
  for (const auto& s : a.streams()) out.insert(s.name);
  return out;
}

// Every stream of a pull ended without an error.
void check_complete(const std::vector<PullStats>& stats, const PageTap& tap) {
  for (const auto& s : stats) {
    INFO("stream " << s.stream);
    CHECK_FALSE(s.error);
    if (s.error) UNSCOPED_INFO(s.error->describe());
    CHECK(tap.done(s.stream));
    CHECK(tap.pages(s.stream) >= 1);
  }
}

// Rows of `a` that `b` lacks (both sorted), as multisets: a duplicate counts.
std::vector<std::string> rows_only_in(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

// Normalising a handle again gives it back unchanged: the adapter stored the normal form.
void check_normalised(const Handle& h) {
  INFO("handle " << h.key() << (h.verified ? "" : " (unverified)"));
  std::optional<Handle> again;
  if (is_anonymous_phone(h))
    again = anonymous_phone(h.value.substr(10));  // a caller without a number: nothing to normalise
  else if (is_redacted_phone(h))
    again = redacted_phone(h.value.substr(9));  // a number the vendor masked, likewise
  else if (h.kind == HandleKind::phone)
    again = normalize_phone(h.value, k_region);
  else if (h.kind == HandleKind::email)
    again = normalize_email(h.value);
  else
    again = h;  // opaque vendor ids: only trimmed and non-empty
  REQUIRE(again);
  CHECK(again->kind == h.kind);
  CHECK(again->value == h.value);
  // An adapter may distrust a handle normalisation accepts (imap-email: the sender of an auto-reply
  // identifies no one), never trust one it rejects.
  if (h.verified) CHECK(again->verified);
  CHECK_FALSE(h.value.empty());
  CHECK(h.value.find_first_of(" \t\r\n") == std::string::npos);
}

}  // namespace

TEST_CASE("every registered adapter type has a conformance harness that fits its roles", "[conformance]") {
  for (const auto& row : adapters::registry()) {
    INFO("adapter type " << row.spec.type);
    const Harness* h = find_harness(row.spec.type);
    if (!h) {
      FAIL_CHECK("new adapter " << row.spec.type
                                << " has no conformance harness: add one in tests/contract/harnesses.cpp");
      continue;
    }
    CHECK(h->config);
    CHECK(h->broken);
    const auto& roles = row.spec.roles;
    const bool source = std::count(roles.begin(), roles.end(), Role::conversations) +
                            std::count(roles.begin(), roles.end(), Role::contacts) >
                        0;
    if (source && pulls(row, *h)) CHECK(h->pages);  // sources that pull need a multi-page server
    if (std::count(roles.begin(), roles.end(), Role::sink)) {
      CHECK(h->delivered);
      CHECK(h->held);
    }
  }
  for (const auto& h : harnesses()) {
    INFO("harness " << h.type);
    CHECK(std::any_of(adapters::registry().begin(), adapters::registry().end(),
                      [&](const auto& row) { return row.spec.type == h.type; }));
  }
}

TEST_CASE("an adapter plays exactly the roles its registry row declares and streams only those", "[conformance]") {
  for_each_adapter([](const adapters::AdapterType& row, const Harness& h) {
    Scratch dir;
    const auto adapter = create(row, h.config("http://127.0.0.1:9", dir.path));
    CHECK(role_names(row.spec.roles) == role_names(adapter->roles()));
    CHECK(row.spec.roles.size() >= 1);
    std::set<std::string> names;
    std::set<Role> streamed;
    for (const auto& s : adapter->streams()) {
      INFO("stream \"" << s.name << "\" of role " << to_string(s.role));
      CHECK_FALSE(s.name.empty());
      CHECK(s.name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
            std::string::npos);
      CHECK(names.insert(s.name).second);  // unique
      CHECK(s.role != Role::sink);
      const auto played = adapter->roles();
      CHECK(std::find(played.begin(), played.end(), s.role) != played.end());
      streamed.insert(s.role);
    }
    // Each source role is pulled through at least one stream; a sink-only adapter has none.
    if (adapter->conversations()) CHECK(streamed.count(Role::conversations));
    if (adapter->contacts()) CHECK(streamed.count(Role::contacts));
    if (!is_source(*adapter)) CHECK(adapter->streams().empty());
  });
}

TEST_CASE("every stream's full pull and the incremental pull after it reach done within 100 pages", "[conformance]") {
  for_each_source([](const adapters::AdapterType& row, const Harness& h) {
    for (const auto* server : {&h.fixtures, &h.pages}) {
      INFO((server == &h.fixtures ? "fixture server" : "multi-page server"));
      Scratch dir;
      Endpoint ep(h, *server, dir.path);
      StateStore store(":memory:");
      for (const char* pass : {"full pull", "incremental pull"}) {
        INFO(pass);
        PageTap tap(create(row, ep.cfg), {.bound = k_page_bound});
        const auto stats = pull_connector(ep.cfg.name, tap, store);
        CHECK(stream_names(tap) == [&] {
          std::set<std::string> pulled;
          for (const auto& s : stats) pulled.insert(s.stream);
          return pulled;
        }());
        check_complete(stats, tap);
      }
    }
  });
}

TEST_CASE("a stream that says its messages come in time order brings its pages newest or oldest first",
          "[conformance]") {
  // A first pull keeps the index by time of such streams as rows arrive (Stream::in_time_order): a
  // wrong claim would make it a random insert per row.
  for_each_source([](const adapters::AdapterType& row, const Harness& h) {
    Scratch dir;
    Endpoint ep(h, h.pages, dir.path);
    StateStore store(":memory:");
    PageTap tap(create(row, ep.cfg), {.bound = k_page_bound});
    check_complete(pull_connector(ep.cfg.name, tap, store), tap);
    for (const auto& s : tap.streams()) {
      if (!s.in_time_order) continue;
      INFO("stream " << s.name);
      const auto spans = tap.sent_spans(s.name);
      REQUIRE(spans.size() >= 2);  // not vacuous
      bool newest_first = true, oldest_first = true;
      for (std::size_t i = 1; i < spans.size(); ++i) {
        newest_first = newest_first && spans[i].second <= spans[i - 1].first;
        oldest_first = oldest_first && spans[i].first >= spans[i - 1].second;
      }
      CHECK((newest_first || oldest_first));
    }
  });
}

TEST_CASE("a pull interrupted after any page and resumed stores what an uninterrupted pull stores", "[conformance]") {
  for_each_source([](const adapters::AdapterType& row, const Harness& h) {
    Scratch dir;
    Endpoint ep(h, h.pages, dir.path);
    StateStore whole(":memory:");
    PageTap once(create(row, ep.cfg), {.bound = k_page_bound});
    const auto baseline = pull_connector(ep.cfg.name, once, whole);
    check_complete(baseline, once);
    for (const auto& s : baseline) REQUIRE_FALSE(s.error);  // nothing to compare with
    std::size_t most = 0;
    for (const auto& s : baseline) {
      INFO("stream " << s.stream << ": the harness's multi-page server must serve at least 3 pages");
      CHECK(once.pages(s.stream) >= 3);
      most = std::max(most, once.pages(s.stream));
    }
    const auto expected = pulled_state(whole);
    CHECK_FALSE(expected.at("streams").empty());

    for (std::size_t k = 1; k < most; ++k) {
      INFO("interrupted after " << k << " pages of each stream, then resumed by a fresh adapter");
      StateStore store(":memory:");
      PageTap first(create(row, ep.cfg), {.stop_after = k, .bound = k_page_bound});
      for (const auto& s : pull_connector(ep.cfg.name, first, store)) {
        INFO("stream " << s.stream);
        if (once.pages(s.stream) > k) {
          REQUIRE(s.error);
          CHECK(s.error->message == PageTap::k_interrupted);  // stopped by the test, not by the adapter
        }
      }
      PageTap rest(create(row, ep.cfg), {.bound = k_page_bound});
      check_complete(pull_connector(ep.cfg.name, rest, store), rest);
      const auto got = pulled_state(store);
      for (const auto& [table, rows] : expected) {
        INFO("table " << table);
        const std::vector<std::string> none;
        CHECK(rows_only_in(rows, got.at(table)) == none);  // lost on the way
        CHECK(rows_only_in(got.at(table), rows) == none);  // written twice or differently
      }
    }
  });
}

TEST_CASE("pulled handles are already in normal form; messages name the conversation that carries them",
          "[conformance]") {
  for_each_source([](const adapters::AdapterType& row, const Harness& h) {
    for (const auto* server : {&h.fixtures, &h.pages}) {
      INFO((server == &h.fixtures ? "fixture server" : "multi-page server"));
      Scratch dir;
      Endpoint ep(h, *server, dir.path);
      StateStore store(":memory:");
      PageTap tap(create(row, ep.cfg), {.bound = k_page_bound});
      check_complete(pull_connector(ep.cfg.name, tap, store), tap);
      std::size_t handles = 0;
      for (const auto& c : tap.pulled_conversations()) {
        INFO("conversation " << c.id);
        check_normalised(c.customer);
        ++handles;
        // The store files a message under the conversation that carries it, by that one's key.
        for (const auto* list : {&c.messages, &c.receipts})
          for (const auto& m : *list) {
            INFO("message " << m.id);
            CHECK(m.conversation == c.id);
            CHECK(m.connector == c.connector);
          }
      }
      for (const auto& c : tap.pulled_contacts())
        for (const auto& handle : c.handles) {
          INFO("contact " << c.id);
          check_normalised(handle);
          ++handles;
        }
      CHECK(handles > 0);  // not vacuous
      // And as stored: what reconcile reads back.
      const auto input = store.identity().input({});
      for (const auto& handle : input.conversation_handles) check_normalised(handle);
      for (const auto& c : input.contacts)
        for (const auto& handle : c.handles) check_normalised(handle);
    }
  });
}

TEST_CASE("every URL option is https:// (imaps://), plain only to loopback or with allow_plaintext", "[conformance]") {
  // A server's address carries a token, persons or messages: every option named like one is a URL.
  for (const auto& row : adapters::registry())
    for (const auto& o : row.spec.options)
      if (o.key.ends_with("url")) {
        INFO(row.spec.type << "." << o.key);
        CHECK(o.kind == OptionSpec::Kind::url);
      }
  for_each_adapter([](const adapters::AdapterType& row, const Harness& h) {
    Scratch dir;
    for (const auto& o : row.spec.options) {
      if (o.kind != OptionSpec::Kind::url) continue;
      const auto key = fmt::format("{}.{}.{}", is_target_type(row) ? "targets" : "connectors",
                                   h.config("http://127.0.0.1:9", dir.path).name, o.key);
      const std::string tls = o.schemes.first, plain = o.schemes.second;  // https, http; imaps, imap
      auto refusal = [&](const std::string& url, bool plaintext_ok = false) {
        auto cfg = h.config("http://127.0.0.1:9", dir.path);
        cfg.options[o.key] = url;
        if (plaintext_ok) cfg.options["allow_plaintext"] = true;
        try {
          create(row, cfg);
        } catch (const Failure& f) {
          CHECK(f.error().code == Errc::config);
          return std::string(f.what());
        }
        return std::string();
      };
      INFO(key);
      CHECK(refusal(tls + "://api.example.com").empty());
      CHECK(refusal(plain + "://localhost:9").empty());
      CHECK(refusal(plain + "://127.0.0.2:9").empty());
      CHECK(refusal(plain + "://[::1]:9").empty());
      CHECK_THAT(refusal(plain + "://api.example.com"), Catch::Contains(key) &&
                                                            Catch::Contains(tls + "://api.example.com") &&
                                                            Catch::Contains("allow_plaintext = true"));
      CHECK_THAT(refusal(plain + "://10.0.0.7:8080"), Catch::Contains(key) && Catch::Contains("10.0.0.7"));
      CHECK(refusal(plain + "://10.0.0.7:8080", true).empty());
      CHECK_THAT(refusal("ftp://api.example.com"), Catch::Contains(key) && Catch::Contains("\"ftp\""));
      CHECK_FALSE(refusal("ftp://api.example.com", true).empty());
      // No scheme (libcurl would guess), one or three slashes (libcurl would take them), a user:
      // refused, and never quoted, for what may be a key.
      for (const std::string& bad : std::vector<std::string>{
               "key-123@api.example.com", tls + ":/key-123@api.example.com", tls + ":///key-123@api.example.com",
               plain + "://127.0.0.1@api.example.com", tls + "://key-123@api.example.com"}) {
        INFO(bad);
        const auto why = refusal(bad, true);
        CHECK_THAT(why, Catch::Contains(key) && !Catch::Contains("key-123"));
      }
    }
  });
  // The scheme in any case.
  auto twilio = std::find_if(adapters::registry().begin(), adapters::registry().end(),
                             [](const auto& row) { return row.spec.type == "twilio-messaging"; });
  REQUIRE(twilio != adapters::registry().end());
  Scratch dir;
  auto cfg = find_harness("twilio-messaging")->config("HTTP://LOCALHOST:9", dir.path);
  CHECK_NOTHROW(create(*twilio, cfg));
}

TEST_CASE("probe never throws and reports ok only when its check ran and passed", "[conformance]") {
  for_each_adapter([](const adapters::AdapterType& row, const Harness& h) {
    Scratch dir;
    auto probe = [&](const EndpointConfig& cfg) {
      const auto adapter = create(row, cfg);
      HealthReport report;
      CHECK_NOTHROW(report = adapter->probe());
      CHECK(report.type == row.spec.type);
      CHECK(report.connector == cfg.name);
      return report;
    };
    {
      INFO("working config against the harness");
      Endpoint ep(h, h.fixtures, dir.path);
      const auto r = probe(ep.cfg);
      INFO(r.summary);
      CHECK(r.cls == HealthClass::ok);
    }
    {
      INFO("the harness's broken config");
      const auto r = probe(h.broken(dir.path));
      INFO(r.summary);
      CHECK(r.cls != HealthClass::ok);
    }
    if (!h.fixtures) return;  // speaks no HTTP: no server to misbehave
    {
      INFO("a closed port");
      const auto r = probe(h.config(dead_base_url(), dir.path));
      INFO(r.summary);
      CHECK(r.cls != HealthClass::ok);
    }
    const std::pair<const char*, Scripted> hostile[] = {
        {"a server answering 500", {500, R"({"message":"internal error"})"}},
        {"a server answering 200 with an HTML page",
         {200,
          "<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1>"
          "</body></html>",
          {{"Content-Type", "text/html"}}}},
    };
    for (const auto& [what, answer] : hostile) {
      if (h.any_2xx_body && answer.status == 200) continue;
      INFO(what);
      FakeServer server([&answer](const httplib::Request&, std::size_t) { return answer; });
      const auto r = probe(h.config(server.base_url(), dir.path));
      INFO(r.summary);
      CHECK(r.cls != HealthClass::ok);
    }
  });
}

TEST_CASE("a webhook receiver has a spool stream, takes its secrets from the config and never throws on a payload",
          "[conformance]") {
  for_each_adapter([](const adapters::AdapterType& row, const Harness& h) {
    Scratch dir;
    const auto cfg = h.config("http://127.0.0.1:9", dir.path);
    const auto adapter = create(row, cfg);
    CHECK(row.spec.webhooks == (adapter->webhooks() != nullptr));
    const auto streams = adapter->streams();
    const bool spooled = std::any_of(streams.begin(), streams.end(), [](const Stream& s) { return s.spool; });
    CHECK(spooled == (adapter->webhooks() != nullptr));  // a spool is only ever read by map_webhook
    if (!adapter->webhooks()) return;
    const auto spec = adapter->webhooks()->webhook();
    CHECK_FALSE(spec.object.empty());
    REQUIRE(cfg.secrets.count("app_secret"));  // the harness config must receive webhooks
    CHECK(spec.app_secret == cfg.secrets.at("app_secret"));
    for (const std::string bad : {"not json {", "[]", R"({"object":"someone-else","entry":[]})", "\xff\xfe"}) {
      INFO("payload " << bad);
      Page<Conversation> page;
      CHECK_NOTHROW(adapter->webhooks()->map_webhook(bad, page));
      CHECK(page.items.empty());
      REQUIRE(page.rejects.size() == 1);
      CHECK(page.rejects[0].raw == bad);
    }
  });
}

TEST_CASE("dead letters keep their stream and the rejected record's bytes exactly as sent", "[conformance]") {
  for_each_source([](const adapters::AdapterType& row, const Harness& h) {
    for (const auto* server : {&h.fixtures, &h.pages}) {
      INFO((server == &h.fixtures ? "fixture server" : "multi-page server"));
      Scratch dir;
      SentBodies sent;
      Endpoint ep(h, sent.wrap(*server), dir.path);
      StateStore store(":memory:");
      PageTap tap(create(row, ep.cfg), {.bound = k_page_bound});
      check_complete(pull_connector(ep.cfg.name, tap, store), tap);
      const auto letters = store.records().dead_letters(ep.cfg.name);
      if (server == &h.fixtures && h.fixtures_have_rejects) REQUIRE_FALSE(letters.empty());
      CHECK(letters.size() == tap.pulled_rejects().size());
      const auto streams = stream_names(tap);
      const auto bodies = sent.bodies();
      for (const auto& d : letters) {
        INFO("dead letter " << d.record_id << " (" << d.error << "): " << d.raw);
        CHECK(streams.count(d.stream));
        CHECK_FALSE(d.raw.empty());
        CHECK(std::any_of(bodies.begin(), bodies.end(),
                          [&](const std::string& body) { return body.find(d.raw) != std::string::npos; }));
      }
    }
  });
}
