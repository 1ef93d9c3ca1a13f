#include "sync/config.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "adapters/registry.hpp"
#include "sync/error.hpp"

using namespace chansync;
namespace fs = std::filesystem;

namespace {

struct TempConfig {
  fs::path dir =
      fs::temp_directory_path() / ("chansync-cfg-" + std::to_string(::getpid()) + "-" + std::to_string(rand()));
  TempConfig() { fs::create_directories(dir); }
  ~TempConfig() { fs::remove_all(dir); }
  std::string write(const std::string& text) {
    const auto p = dir / "sync.toml";
    std::ofstream(p) << text;
    return p.string();
  }
};

const std::vector<TypeSpec>& specs() {
  static const auto s = adapters::type_specs();
  return s;
}

std::map<std::string, std::string> g_env;

Config load(const std::string& path, bool secrets = true) {
  return load_config(ConfigInputs{path, std::nullopt,
                                  [](const std::string& n) -> std::optional<std::string> {
                                    auto it = g_env.find(n);
                                    return it == g_env.end() ? std::nullopt : std::optional(it->second);
                                  },
                                  specs(), secrets});
}

std::string error_of(const std::string& path) {
  try {
    load(path);
  } catch (const Failure& f) {
    CHECK(f.error().code == Errc::config);
    return f.error().message;
  }
  FAIL("expected a config error");
  return {};
}

const char* k_twilio = R"(
[connectors.sms]
type = "twilio-messaging"
account_sid = "AC0123"
auth_token_env = "TWILIO_AUTH_TOKEN"
)";

}  // namespace

TEST_CASE("a valid config loads with defaults, secrets from env, paths relative to the file") {
  TempConfig t;
  g_env = {{"TWILIO_AUTH_TOKEN", "s3cret"}, {"HUBSPOT_TOKEN", "tok"}};
  const auto path = t.write(std::string(k_twilio) + R"(
[state]
path = "state.db"
[identity]
default_region = "DE"
[connectors.crm]
type = "hubspot-contacts"
token_env = "HUBSPOT_TOKEN"
[targets.out]
type = "ndjson"
path = "out.ndjson"
)");
  const Config c = load(path);
  CHECK(c.state_path == (t.dir / "state.db").string());
  CHECK(c.default_region == "DE");
  REQUIRE(c.connectors.size() == 2);
  CHECK(c.connectors[0].name == "sms");  // in the file's order, not the keys' (crm < sms)
  CHECK(c.connectors[1].name == "crm");
  const auto& sms = c.connectors[0];
  CHECK(sms.secrets.at("auth_token") == "s3cret");
  CHECK(sms.options.at("base_url") == "https://api.twilio.com");
  CHECK(c.targets[0].options.at("path") == (t.dir / "out.ndjson").string());
  for (const auto& s : c.settings) CHECK(s.value.find("s3cret") == std::string::npos);
}

TEST_CASE("config errors name the key and line and suggest the fix") {
  TempConfig t;
  g_env = {};
  CHECK_THAT(error_of(t.write(std::string(k_twilio) + "acount_sid = \"x\"\n")),
             Catch::Contains("unknown key \"acount_sid\"") && Catch::Contains("did you mean \"account_sid\"") &&
                 Catch::Contains("sync.toml:6"));
  CHECK_THAT(error_of(t.write("[connectors.x]\ntype = \"twilio-messagin\"\n")),
             Catch::Contains("did you mean \"twilio-messaging\""));
  CHECK_THAT(
      error_of(t.write("[connectors.x]\ntype = \"twilio-messaging\"\naccount_sid = \"AC1\"\nauth_token = \"abc\"\n")),
      Catch::Contains("inline") && Catch::Contains("auth_token_env"));
  CHECK_THAT(error_of(t.write(k_twilio)), Catch::Contains("TWILIO_AUTH_TOKEN") && Catch::Contains("not set"));
  // The key as written in the file; a variable set to "" is not "not set".
  g_env = {{"TWILIO_AUTH_TOKEN", ""}};
  CHECK_THAT(error_of(t.write(k_twilio)),
             Catch::Contains("connectors.sms.auth_token_env") && Catch::Contains("set but empty"));
  g_env = {};
  // A connector and a target of one name would be one in health's history and metrics.
  g_env = {{"TWILIO_AUTH_TOKEN", "t"}};
  CHECK_THAT(error_of(t.write(std::string(k_twilio) + "[targets.sms]\ntype = \"ndjson\"\n")),
             Catch::Contains("[targets.sms]: a connector is named sms too"));
  g_env = {};
  // Credentials in a URL are a secret inline too (an API key is often the user); the message does not
  // repeat them. An @ in the path or query is not one.
  g_env = {{"TWILIO_AUTH_TOKEN", "t"}};
  for (const std::string value :
       {"https://me:pw-17@api.example/x", "https://pw-17@api.example", "http://pw-17@[::1]:8080"}) {
    for (const char* key : {"base_url", "status_page"}) {
      INFO(key << " = " << value);
      const auto message = error_of(t.write(std::string(k_twilio) + key + " = \"" + value + "\"\n"));
      CHECK_THAT(message, Catch::Contains(std::string("connectors.sms.") + key + " holds credentials in its URL") &&
                              Catch::Contains("sync.toml:6") && !Catch::Contains("pw-17"));
    }
  }
  // A URL option (base_url) is https://, plain http only to loopback or with allow_plaintext, which may
  // come after it; a malformed value is refused without being quoted.
  auto with = [&](const std::string& lines) { return t.write(std::string(k_twilio) + lines); };
  CHECK_THAT(error_of(with("base_url = \"http://api.example:8080\"\n")),
             Catch::Contains("sync.toml:6") &&
                 Catch::Contains("connectors.sms.base_url is plain http to api.example") &&
                 Catch::Contains("allow_plaintext = true in [connectors.sms]"));
  CHECK(load(with("base_url = \"http://api.example:8080\"\nallow_plaintext = true\n"))
            .connectors.at(0)
            .options.at("allow_plaintext") == true);
  CHECK_NOTHROW(load(with("base_url = \"http://localhost:8080\"\n")));
  CHECK_NOTHROW(load(with("base_url = \"HTTPS://api.example\"\n")));
  for (const std::string value : {"pw-17@api.example", "api.example", "https:/pw-17@api.example",
                                  "https:///pw-17@api.example", "https://", "ftp://api.example", "https://:443/x"}) {
    INFO(value);
    CHECK_THAT(error_of(with("base_url = \"" + value + "\"\nallow_plaintext = true\n")),
               Catch::Contains("sync.toml:6: connectors.sms.base_url ") && !Catch::Contains("pw-17"));
  }
  CHECK(load(t.write(std::string(k_twilio) + "base_url = \"https://api.example/x@y?a=b:c@d\"\n"))
            .connectors.at(0)
            .options.at("base_url") == "https://api.example/x@y?a=b:c@d");
  g_env = {};
  CHECK_THAT(error_of(t.write("[connectors.x]\ntype = \"ndjson\"\n")), Catch::Contains("[targets.x]"));
  CHECK_THAT(error_of(t.write("[identity]\ndefault_region = \"Germany\"\n")), Catch::Contains("two-letter"));
  CHECK(load(t.write("[identity]\ndefault_region = \"de\"\n")).default_region == "DE");  // as written is fine
  CHECK_THAT(error_of(t.write("[connectors.x]\ntype = \"twilio-messaging\"\nauth_token_env = \"T\"\n")),
             Catch::Contains("required key \"account_sid\""));
  CHECK_THAT(error_of(t.write("[connectors\n")), Catch::Contains("not valid TOML"));
  g_env = {{"IMAP_PASSWORD", "pw"}};
  const std::string imap =
      "[connectors.mail]\ntype = \"imap-email\"\nurl = \"imaps://imap.example.com\"\n"
      "username = \"support\"\npassword_env = \"IMAP_PASSWORD\"\n"
      "own_addresses = [\"@example.com\"]\n";
  CHECK_THAT(error_of(t.write(imap + "allow_plaintext = \"true\"\n")),
             Catch::Contains("allow_plaintext must be true or false"));
  CHECK(load(t.write(imap + "allow_plaintext = true\n")).connectors.at(0).options.at("allow_plaintext") == true);
  // IMAP's url is a URL too, with its own schemes: imaps://, plain imap:// only to loopback or allowed.
  std::string plain_imap = imap;
  plain_imap.replace(plain_imap.find("imaps://"), 8, "imap://");
  CHECK_THAT(error_of(t.write(plain_imap)), Catch::Contains("sync.toml:3: connectors.mail.url is plain imap to "
                                                            "imap.example.com") &&
                                                Catch::Contains("use imaps://imap.example.com"));
  CHECK_NOTHROW(load(t.write(plain_imap + "allow_plaintext = true\n")));
  CHECK_THAT(error_of(t.write(std::string(imap).replace(imap.find("imaps://"), 8, "https://"))),
             Catch::Contains("uses the scheme \"https\"; write imaps://host"));
  const auto blocked =
      load(t.write("[identity]\ndefault_region = \"DE\"\nblocked = [\"030 90182-0\", \"Info@Example.COM\"]\n"));
  CHECK(blocked.identity.blocked == std::vector<std::string>{"phone:+4930901820", "email:info@example.com"});
  CHECK_THAT(
      error_of(t.write("[identity]\nblocked = [\"n/a\"]\n")),
      Catch::Contains("\"n/a\" is neither a phone number nor an email address") && Catch::Contains("sync.toml:2"));
  CHECK_THAT(error_of(t.write("[identity]\nblockd = []\n")), Catch::Contains("did you mean \"blocked\""));
  // [identity] limits: named kinds change, the others keep their default; bad kinds and values say so.
  const auto limits = load(t.write("[identity]\nlimits = { phone = 2, telegram_id = 1 }\n"));
  CHECK(limits.identity.limits ==
        IdentityLimits{{HandleKind::phone, 2}, {HandleKind::email, 5}, {HandleKind::telegram_id, 1}});
  CHECK(load(t.write("")).identity.limits == default_identity_limits());
  CHECK_THAT(error_of(t.write("[identity]\nlimits = { phone = 0 }\n")),
             Catch::Contains("identity.limits.phone must be a whole number of at least 1"));
  CHECK_THAT(
      error_of(t.write("[identity]\nlimits = { phones = 3 }\n")),
      Catch::Contains("\"phones\" is not a handle kind (did you mean \"phone\"?)") && Catch::Contains("sync.toml:2"));
  CHECK_THAT(error_of(t.write("[identity]\nlimits = { crm_id = 3 }\n")), Catch::Contains("not a handle kind"));
  CHECK_THAT(error_of(t.write("[identity]\nlimits = 5\n")), Catch::Contains("must be a table of handle kinds"));
  g_env = {};
  CHECK_THAT(error_of(t.write("[connectors.\"eu/sms\"]\ntype = \"twilio-messaging\"\n")),
             Catch::Contains("[connectors.eu/sms]") && Catch::Contains("letters, digits"));
}

TEST_CASE("secret files must be 0600") {
  TempConfig t;
  const auto secret = t.dir / "token";
  std::ofstream(secret) << "from-file\n";
  fs::permissions(secret, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  const auto path =
      t.write("[connectors.sms]\ntype = \"twilio-messaging\"\naccount_sid = \"AC1\"\nauth_token_file = \"token\"\n");
  CHECK_THAT(error_of(path), Catch::Contains("chmod 600"));
  fs::permissions(secret, fs::perms::owner_read | fs::perms::owner_write);
  CHECK(load(path).connectors[0].secrets.at("auth_token") == "from-file");
  // Only a regular file: a directory is no secret, and a FIFO would block the read for good.
  fs::remove(secret);
  fs::create_directory(secret);
  CHECK_THAT(error_of(path), Catch::Contains("is not a regular file"));
  fs::remove(secret);
  REQUIRE(::mkfifo(secret.c_str(), 0600) == 0);
  CHECK_THAT(error_of(path), Catch::Contains("is not a regular file"));
  fs::remove(secret);
  CHECK_THAT(error_of(path), Catch::Contains("cannot be opened") && Catch::Contains("create it with mode 0600"));
}

TEST_CASE("a *_env value that is no variable's name is refused without being repeated") {
  TempConfig t;
  const std::string pasted = "pat-na1-0b2c9e7f-pasted";
  const auto path = t.write("[connectors.crm]\ntype = \"hubspot-contacts\"\ntoken_env = \"" + pasted + "\"\n");
  CHECK_THAT(error_of(path), Catch::Contains("sync.toml:3: connectors.crm.token_env must be the name of an "
                                             "environment variable") &&
                                 !Catch::Contains(pasted));
  g_env = {{"HUBSPOT_TOKEN", "x"}};
  CHECK_NOTHROW(load(t.write("[connectors.crm]\ntype = \"hubspot-contacts\"\ntoken_env = \"HUBSPOT_TOKEN\"\n")));
  g_env = {};
}

TEST_CASE("a token pasted where a variable's or a file's name goes is refused without being repeated") {
  TempConfig t;
  for (const std::string pasted : {"f3a9c2e1b4d5a6978c0e1f2a3b4c5d6e", "EAABwzLixnjYBAO7ZCZCsecretPasted123"}) {
    for (const char* suffix : {"_env", "_file"}) {
      const auto path = t.write(std::string(k_twilio).replace(std::string(k_twilio).find("_env = \"TWILIO_AUTH_TOKEN"),
                                                              std::strlen("_env = \"TWILIO_AUTH_TOKEN"),
                                                              std::string(suffix) + " = \"" + pasted));
      const auto message = error_of(path);
      CHECK_THAT(message, Catch::Contains("shaped like a token") && !Catch::Contains(pasted));
    }
  }
  // Names people use pass: upper case with digits, lower case with words and digits, and a
  // token-shaped name of a variable that is set.
  for (const std::string name : {"TWILIO_AUTH_TOKEN_2", "imap_password_prod2024", "f3a9c2e1b4d5a6978c0e1f2a3b4c5d6e"}) {
    g_env = {{name, "x"}};
    auto ok = std::string(k_twilio);
    ok.replace(ok.find("TWILIO_AUTH_TOKEN"), 17, name);
    CHECK_NOTHROW(load(t.write(ok)));
  }
  g_env = {};
}

TEST_CASE("secret values are one line: a control character is refused, a trailing line break dropped") {
  TempConfig t;
  const auto path = t.write(k_twilio);
  g_env = {{"TWILIO_AUTH_TOKEN", "tok-env\n"}};
  CHECK(load(path).connectors[0].secrets.at("auth_token") == "tok-env");
  g_env = {{"TWILIO_AUTH_TOKEN", "tok\r\nX-Injected: yes"}};
  CHECK_THAT(error_of(path), Catch::Contains("connectors.sms.auth_token_env") && Catch::Contains("a line break") &&
                                 Catch::Contains("TWILIO_AUTH_TOKEN") && !Catch::Contains("X-Injected"));
  g_env = {{"TWILIO_AUTH_TOKEN", "\n"}};
  CHECK_THAT(error_of(path), Catch::Contains("set but empty"));
  g_env = {};
  const auto secret = t.dir / "token";
  std::ofstream(secret) << "\xef\xbb\xbftok-line1\r\nX-Injected: yes\n";
  fs::permissions(secret, fs::perms::owner_read | fs::perms::owner_write);
  const auto file_path =
      t.write("[connectors.sms]\ntype = \"twilio-messaging\"\naccount_sid = \"AC1\"\nauth_token_file = \"token\"\n");
  CHECK_THAT(error_of(file_path),
             Catch::Contains("auth_token_file") && Catch::Contains("a line break") && !Catch::Contains("X-Injected"));
  std::ofstream(secret) << "\xef\xbb\xbftok-bom\n";  // a byte-order mark is no part of a secret
  CHECK(load(file_path).connectors[0].secrets.at("auth_token") == "tok-bom");
}

TEST_CASE("a state path SQLite would keep in memory is refused; ~/ is the home directory; no variables") {
  TempConfig t;
  CHECK_THAT(error_of(t.write("[state]\npath = \":memory:\"\n")), Catch::Contains("in memory"));
  g_env = {{"CHANSYNC_STATE", ":memory:"}};
  CHECK_THAT(error_of(t.write("")), Catch::Contains("CHANSYNC_STATE") && Catch::Contains("in memory"));
  g_env = {};
  try {
    load_config(ConfigInputs{t.write(""), std::string(":memory:"), [](const std::string&) { return std::nullopt; },
                             specs(), false});
    FAIL("--state :memory: was taken");
  } catch (const Failure& f) {
    CHECK(f.error().code == Errc::usage);
    CHECK_THAT(f.error().message, Catch::Contains("--state"));
  }
  const char* home = std::getenv("HOME");
  REQUIRE(home);
  CHECK(load(t.write("[state]\npath = \"~/chansync/state.db\"\n")).state_path ==
        (fs::path(home) / "chansync/state.db").lexically_normal().string());
  CHECK_THAT(error_of(t.write("[state]\npath = \"${HOME}/s.db\"\n")), Catch::Contains("expands none"));
  CHECK_THAT(error_of(t.write("[state]\npath = \"$HOME/s.db\"\n")), Catch::Contains("expands none"));
  CHECK_THAT(error_of(t.write("[state]\npath = \"~bob/s.db\"\n")), Catch::Contains("another user's home"));
}

TEST_CASE("precedence: defaults < file < env < flags, with origins") {
  TempConfig t;
  g_env = {{"CHANSYNC_STATE", "/env/state.db"}};
  const auto path = t.write("[state]\npath = \"/file/state.db\"\n");
  auto c = load(path);
  CHECK(c.state_path == "/env/state.db");
  auto origin = [&](const Config& cfg) {
    for (const auto& s : cfg.settings)
      if (s.key == "state.path") return s.origin;
    return std::string();
  };
  CHECK(origin(c) == "env:CHANSYNC_STATE");
  c = load_config(ConfigInputs{path, std::string("/flag.db"),
                               [](const std::string& n) -> std::optional<std::string> {
                                 return n == "CHANSYNC_STATE" ? std::optional<std::string>("/env.db") : std::nullopt;
                               },
                               specs(), true});
  CHECK(c.state_path == "/flag.db");
  CHECK(origin(c) == "flag:--state");
  g_env = {};
  CHECK(origin(load(path)).starts_with("file:"));
}

TEST_CASE("the config examples in README and chansync.conf(5) load") {
  auto read = [](const char* relative) {
    std::ifstream in(std::string(CHANSYNC_SOURCE_DIR) + "/" + relative);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  auto between = [](const std::string& text, const std::string& open, const std::string& close) {
    const auto start = text.find(open);
    REQUIRE(start != std::string::npos);
    const auto body = start + open.size();
    return text.substr(body, text.find(close, body) - body);
  };
  g_env = {{"TWILIO_AUTH_TOKEN", "t"}, {"HUBSPOT_TOKEN", "h"}, {"IMAP_PASSWORD", "i"}};
  TempConfig t;
  for (const std::string& example : {between(read("README.md"), "```toml\n", "```"),
                                     between(read("man/chansync.conf.5"), ".SH EXAMPLE\n.nf\n", ".fi")}) {
    const Config cfg = load(t.write(example));
    CHECK(cfg.connectors.size() >= 2);  // SMS and CRM (and, in chansync.conf(5), a mailbox)
    CHECK(cfg.targets.size() == 1);
  }
}

TEST_CASE("[health] sets the recovery streak and the end-of-life warning, with origins; typos are refused",
          "[health]") {
  TempConfig t;
  const auto defaults = load(t.write(k_twilio), false);
  CHECK(defaults.health.recovery_checks == 3);
  CHECK(defaults.health.recovery_minutes == 30);
  CHECK(defaults.health.eol_warning_days == 90);
  CHECK(defaults.health.expiry_warning_days == 14);
  const auto cfg =
      load(t.write(std::string("[health]\nrecovery_checks = 5\neol_warning_days = 30\nexpiry_warning_days = 7\n") +
                   k_twilio),
           false);
  CHECK(cfg.health.recovery_checks == 5);
  CHECK(cfg.health.recovery_minutes == 30);
  CHECK(cfg.health.eol_warning_days == 30);
  CHECK(cfg.health.expiry_warning_days == 7);
  const auto origin = [&](const std::string& key) {
    for (const auto& s : cfg.settings)
      if (s.key == key) return s.origin;
    return std::string();
  };
  CHECK_THAT(origin("health.recovery_checks"), Catch::StartsWith("file:"));
  CHECK(origin("health.recovery_minutes") == "default");
  CHECK_THAT(error_of(t.write("[health]\nrecovery_check = 5\n")), Catch::Contains("did you mean \"recovery_checks\""));
  CHECK_THAT(error_of(t.write("[health]\nrecovery_minutes = \"30m\"\n")),
             Catch::Contains("health.recovery_minutes must be a whole number"));
}

TEST_CASE("config show never prints a webhook URL's path or query, which often hold its secret") {
  TempConfig t;
  g_env = {{"HOOK_SECRET", "s3cret"}};
  const auto path = t.write(
      "[targets.hook]\ntype = \"webhook\"\nurl = \"https://hooks.example.com/T0/B0/XYZsecret?token=abc\"\n"
      "secret_env = \"HOOK_SECRET\"\n");
  const auto c = load(path);
  bool seen = false;
  for (const auto& s : c.settings) {
    CHECK(s.value.find("XYZsecret") == std::string::npos);
    CHECK(s.value.find("token=abc") == std::string::npos);
    if (s.key == "targets.hook.url") {
      seen = true;
      CHECK(s.value == "\"https://hooks.example.com<redacted>\"");
    }
  }
  CHECK(seen);
  REQUIRE(c.targets.size() == 1);
  CHECK(c.targets[0].options.at("url") == "https://hooks.example.com/T0/B0/XYZsecret?token=abc");  // used as given
  g_env = {};
}
