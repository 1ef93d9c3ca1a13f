#pragma once
// Configuration: TOML file + environment + flags, validated against the adapter registry's option
// specs. Secrets are only ever read through `<key>_env` / `<key>_file`; inline secrets are refused.
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sync/adapter.hpp"
#include "sync/reconcile.hpp"

namespace chansync {

// One option an adapter type accepts (a row of the registry table drives validation, docs and
// redaction). A secret option `auth_token` is set as `auth_token_env` or `auth_token_file`.
// A table option (`columns = { id = "Record ID", email = ["Email", "Work Email"] }`) holds the keys
// its `fields` name and no others; a string_list field of a table may also be written as one string,
// and is loaded as a list either way.
struct OptionSpec {
  // url: a string holding a server's address in `schemes.first` (https), plain `schemes.second`
  // (http) only to a loopback host or with the endpoint's allow_plaintext = true; checked once the
  // endpoint's table is read (url_refusal).
  enum class Kind { string, string_list, integer, path, boolean, table, url };
  std::string key;
  std::string help;
  Kind kind = Kind::string;
  bool required = false;
  bool secret = false;
  nlohmann::json default_value;      // null = no default
  std::vector<std::string> choices;  // the values a string option may take (empty: any)
  std::vector<OptionSpec> fields;    // Kind::table: the keys it may hold (never secret, never a table)
  std::pair<std::string, std::string> schemes = {"https", "http"};  // Kind::url: with TLS, and without
};

// What config validation needs to know about an adapter type.
struct TypeSpec {
  std::string type;
  std::string summary;
  std::vector<Role> roles;  // derived from the adapter class (adapters/registry.hpp), never written by hand
  std::vector<OptionSpec> options;
  bool webhooks = false;  // receives vendor webhooks (`chansync listen`); derived from the class too
};

// One `[connectors.NAME]` or `[targets.NAME]` table, validated, with defaults applied.
struct EndpointConfig {
  std::string name;
  std::string type;
  std::string group = "connectors";                   // the config's table it is in: "connectors" or "targets"
  nlohmann::json options = nlohmann::json::object();  // non-secret options by key
  std::map<std::string, std::string> secrets;         // secret values by key; never logged or stored
  std::map<std::string, std::string> secret_sources;  // "env:TWILIO_AUTH_TOKEN" / "file:/run/x"

  // The resolved secret `key`, "" when it is not set or was not read.
  std::string secret(const std::string& key) const {
    auto it = secrets.find(key);
    return it == secrets.end() ? std::string() : it->second;
  }
};

// A value and where it came from, for `config show --origin`. Secrets appear redacted.
struct Setting {
  std::string key;      // "connectors.sms.account_sid"
  std::string value;    // rendered as TOML would write it
  std::string origin;   // "default", "file:sync.toml:12", "env:CHANSYNC_STATE", "flag:--state"
  nlohmann::json json;  // the value itself, for JSON output
};

// [health]: how `chansync health` judges, keys in chansync.conf(5).
struct HealthSettings {
  // A connector that was failing is reported recovering until it has passed this many checks in a
  // row or has passed for this many minutes, whichever comes first: classes do not flap.
  int recovery_checks = 3;
  int recovery_minutes = 30;
  // A pinned api_version is deprecated this many days before its end of life in the shipped table.
  int eol_warning_days = 90;
  // A credential the vendor says will expire (Graph debug_token) is deprecated this many days ahead.
  int expiry_warning_days = 14;
};

struct Config {
  std::string file;  // the config file read ("" when none)
  std::string state_path;
  std::string default_region;                     // ISO 3166 alpha-2, "" = numbers must carry a country code
  std::string listen_address = "127.0.0.1:8787";  // [listen] address: where `chansync listen` accepts webhooks
  std::string spool_dir;                          // [listen] spool_dir; default: "spool" beside the state store
  IdentityRules identity;                         // [identity] blocked and limits
  HealthSettings health;                          // [health]
  std::vector<EndpointConfig> connectors;         // in file order
  std::vector<EndpointConfig> targets;            // in file order
  std::vector<Setting> settings;                  // every effective value with its origin
};

// Where configuration comes from. `env` is injectable so tests use a fake environment.
struct ConfigInputs {
  std::optional<std::string> config_flag;                             // --config
  std::optional<std::string> state_flag;                              // --state
  std::function<std::optional<std::string>(const std::string&)> env;  // defaults to getenv
  std::span<const TypeSpec> types;                                    // the adapter registry
  bool resolve_secrets = true;                                        // false: only record where each secret comes from
};

// Finds the config file: --config, else $CHANSYNC_CONFIG, else $XDG_CONFIG_HOME/chansync/config.toml
// (~/.config/... when unset). Returns nullopt when none is named and the default does not exist.
std::optional<std::string> locate_config(const ConfigInputs& in);

// The XDG default location ($XDG_CONFIG_HOME/chansync/config.toml, else ~/.config/...); "" when
// neither variable is set.
std::string default_config_path(const ConfigInputs& in);

// Loads and validates the configuration. Throws Failure(Errc::config) with a message naming the file,
// line and key, and what to do (unknown key or type with "did you mean", inline secret, missing
// secret, secret file readable by others, missing required option).
Config load_config(const ConfigInputs& in);

// The first URL option (OptionSpec::Kind::url) of an endpoint of type `spec` that url_refusal refuses,
// given its options and its table's name ("connectors.sms"): the option's key and the reason, which
// names "<table>.<key>". nullopt when every URL option may carry a token and records.
std::optional<std::pair<std::string, std::string>> refused_url(const TypeSpec& spec, const nlohmann::json& options,
                                                               const std::string& table);

// Reads the secrets an endpoint names (env variables, 0600 files) into ep.secrets. Throws
// Failure(Errc::config) naming the key and the fix when one is unset, unreadable or too open.
void resolve_secrets(EndpointConfig& ep, const std::function<std::optional<std::string>(const std::string&)>& env = {});

// HOST:PORT with a port 0–65535 (0: any free port); an IPv6 host in brackets ("[::1]:8787").
bool valid_listen_address(std::string_view address);

}  // namespace chansync
