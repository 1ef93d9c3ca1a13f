#include "adapters/redact.hpp"

#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "adapters/http.hpp"
#include "tests/support/dead_port.hpp"
#include "tests/support/fake_server.hpp"
#include "tests/support/log_capture.hpp"

using namespace chansync;
using chansync::test::LogCapture;
using namespace chansync::adapters;
using chansync::test::FakeServer;
using chansync::test::Scripted;

namespace {

const std::string k_token = "7123456789:AAHsecretTOKENvalue_0123456789abcdefg";

}  // namespace

TEST_CASE("the redactor replaces a connector's secrets, also percent-encoded, wherever they occur", "[redact]") {
  const Redactor r({k_token, "short"});
  CHECK(r("GET https://api.telegram.org/bot" + k_token + "/getUpdates") ==
        "GET https://api.telegram.org/bot<redacted>/getUpdates");
  CHECK(r("token 7123456789%3AAAHsecretTOKENvalue_0123456789abcdefg in a query") == "token <redacted> in a query");
  CHECK(r("a short word stays") == "a short word stays");  // under k_min_secret: not a credential
  CHECK(r(r("/bot" + k_token)) == "/bot<redacted>");       // idempotent
}

TEST_CASE("the redactor removes secret query parameters, userinfo and unknown bot tokens by shape", "[redact]") {
  CHECK(redact("https://graph.facebook.com/v23.0/me?fields=id&access_token=EAAB123&x=1") ==
        "https://graph.facebook.com/v23.0/me?fields=id&access_token=<redacted>&x=1");
  CHECK(redact("http://h/p?API_KEY=abc#frag") == "http://h/p?API_KEY=<redacted>#frag");
  CHECK(redact("see http://h/p?signature=s1&key=k2 now") == "see http://h/p?signature=<redacted>&key=<redacted> now");
  CHECK(redact("https://user:pa55@db.example.com:5432/x") == "https://<redacted>@db.example.com:5432/x");
  CHECK(redact("https://api.telegram.org/bot123:ABC-def_9/getMe") == "https://api.telegram.org/bot<redacted>/getMe");
  CHECK(redact("https://api.telegram.org/bot123%3AABC/getMe") == "https://api.telegram.org/bot<redacted>/getMe");
  // Things that only look similar are left alone.
  CHECK(redact("http://h/robots.txt?monkey=1&tokens=2 user@example.com /bot/x") ==
        "http://h/robots.txt?monkey=1&tokens=2 user@example.com /bot/x");
}

TEST_CASE("HttpClient keeps its secrets out of trace and warning lines, errors and probe evidence", "[redact]") {
  LogCapture logs;
  FakeServer server([](const httplib::Request&, std::size_t n) {
    return n == 0 ? Scripted{503, "down"} : Scripted{404, R"({"ok":false,"error_code":404})"};
  });
  HttpClient http(HttpOptions{.connector = "tg", .secrets = {k_token}, .sleep = [](auto) {}});
  const HttpRequest req{"GET", server.base_url() + "/bot" + k_token + "/getUpdates?offset=5&token=" + k_token};
  auto resp = http.send(req);
  REQUIRE(resp);
  CHECK(resp->status == 404);
  const Error e = http.error(req, *resp, "fetching updates", "Not Found");
  const auto obs = observe(http, req);
  HttpClient dead(HttpOptions{.connector = "tg", .max_attempts = 1, .secrets = {k_token}});
  const auto unreachable = dead.send({"GET", test::dead_base_url() + "/bot" + k_token + "/getMe"});
  REQUIRE_FALSE(unreachable);

  const std::string everything = logs.all() + e.message + obs.url + unreachable.error().message;
  CHECK(logs.all().find("HTTP 503") != std::string::npos);                   // the retry was logged...
  CHECK(logs.all().find("/bot<redacted>/getUpdates") != std::string::npos);  // ...with a redacted URL
  CHECK(e.message.find("/bot<redacted>/getUpdates") != std::string::npos);
  CHECK(obs.url == server.base_url() + "/bot<redacted>/getUpdates");
  CHECK(everything.find("AAHsecretTOKENvalue") == std::string::npos);
  CHECK(everything.find("7123456789%3A") == std::string::npos);
}

TEST_CASE("HttpClient redacts Basic credentials a server echoes back, as they went on the wire", "[redact]") {
  FakeServer server([](const httplib::Request& req, std::size_t) {
    return Scripted{401, R"({"message":"Authenticate: bad header )" + req.get_header_value("Authorization") + "\"}"};
  });
  HttpClient http(HttpOptions{.connector = "sms",
                              .basic_user = "AC00000000000000000000000000000000",
                              .basic_password = "f00dfacecafe1234567890abcdef9999",
                              .sleep = [](auto) {}});
  const HttpRequest req{"GET", server.base_url() + "/2010-04-01/Accounts.json"};
  auto resp = http.send(req);
  REQUIRE(resp);
  REQUIRE(resp->status == 401);
  REQUIRE_THAT(resp->body, Catch::Contains("Basic QUMw"));  // the fake did echo it
  const std::string said = http.excerpt(resp->body);
  const Error e = http.error(req, *resp, "listing accounts", resp->body);
  CHECK_THAT(said, Catch::Contains("Basic <redacted>"));
  CHECK(e.message.find("QUMw") == std::string::npos);
  CHECK(said.find("QUMw") == std::string::npos);
}

TEST_CASE("a redirect is said as one, with where it points and what to set", "[redact]") {
  FakeServer server([](const httplib::Request&, std::size_t) {
    return Scripted{301, "", {{"Location", "https://api.example.net/v2/secret-path?token=abc"}}};
  });
  HttpClient http(HttpOptions{.connector = "crm", .sleep = [](auto) {}});
  const HttpRequest req{"GET", server.base_url() + "/v1/contacts"};
  auto resp = http.send(req);
  REQUIRE(resp);
  REQUIRE(resp->status == 301);
  const Error e = http.error(req, *resp, "listing contacts", "");
  CHECK(e.code == Errc::remote);
  CHECK_THAT(e.message, Catch::Contains("redirected with HTTP 301") && Catch::Contains("to https://api.example.net;") &&
                            Catch::Contains("base_url"));
  CHECK(e.message.find("secret-path") == std::string::npos);
}
