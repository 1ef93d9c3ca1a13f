#include "sync/config.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "sync/config_values.hpp"
#include "sync/error.hpp"
#include "sync/normalize.hpp"
#include "sync/similarity.hpp"
#include "sync/url.hpp"

namespace chansync {
namespace fs = std::filesystem;
using config_detail::config_error;
using config_detail::option_value;
using config_detail::where;
namespace {

// "https://user:pw@hooks.example.com/T0/B0/secret?x=y" → "https://hooks.example.com<redacted>":
// where it points, without what may hold a secret.
std::string shown_without_path(const std::string& url) {
  const std::string origin = origin_of(url), rest = path_of(url);
  if (origin.empty()) return "<redacted>";
  return rest.empty() || rest == "/" ? origin : origin + "<redacted>";
}

// "de" and "De" are "DE": libphonenumber knows region codes in capitals only.
std::string upper_region(std::string v) {
  for (char& c : v) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return v;
}

// POSIX's portable form of an environment variable's name.
bool is_env_name(std::string_view s) {
  const auto letter = [](char c) { return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
  return !s.empty() && letter(s.front()) &&
         std::all_of(s.begin(), s.end(), [&](char c) { return letter(c) || (c >= '0' && c <= '9'); });
}

// A value of 16 characters or more with lower-case letters and digits, and nothing between words
// (no _ - / .), is far more likely a token pasted in (a Twilio auth token is 32 hex digits, a Meta
// token "EAAB…") than a variable's or a file's name: when no such variable is set, or no such file
// is there, it is refused without being repeated.
bool looks_like_secret(std::string_view s) {
  const bool lower = std::any_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
  const bool digit = std::any_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  return s.size() >= 16 && lower && digit && s.find_first_of("_-/.") == std::string_view::npos;
}

// Why `path` cannot be the state store's file, "" when it can. SQLite takes "" and ":memory:" for a
// private database gone when the process ends: every run would start from nothing and push everyone
// again.
std::string state_path_refusal(const std::string& path) {
  if (path.empty()) return "is empty; name the state store's file";
  if (path == ":memory:")
    return "\":memory:\" is a database SQLite keeps in memory, gone when the process ends: every run would start "
           "from nothing and push everyone again; name the state store's file";
  return "";
}

// The environment as the inputs see it: their injected env, else the process's.
std::optional<std::string> input_env(const ConfigInputs& in, const std::string& name) {
  if (in.env) return in.env(name);
  const char* v = std::getenv(name.c_str());
  return v ? std::optional<std::string>(v) : std::nullopt;
}

// As TOML writes it: JSON's string escapes, arrays and numbers are valid TOML values; an object is an
// inline table of them.
std::string render(const nlohmann::json& v) {
  if (!v.is_object()) return v.dump();
  std::string out;
  for (const auto& [k, x] : v.items()) out += fmt::format("{}{} = {}", out.empty() ? "{ " : ", ", k, render(x));
  return out.empty() ? "{}" : out + " }";
}

// Relative paths in the file are relative to the file, so cron jobs don't depend on their cwd. A
// leading "~/" is $HOME, as a shell would have it; no variable is expanded, and a path that looks
// like it wants one is refused rather than made into a directory named "$HOME".
std::string resolve_path(const std::string& value, const std::string& config_file) {
  if (value.starts_with('$') || value.find("${") != std::string::npos || value.find("$(") != std::string::npos)
    config_error(
        fmt::format("{}: the path \"{}\" holds a variable; chansync expands none in paths (only a leading "
                    "~/, your home directory): write the path out",
                    config_file, value));
  if (value == "~" || value.starts_with("~/")) {
    const char* home = std::getenv("HOME");
    if (!home || !*home)
      config_error(fmt::format("{}: the path \"{}\" starts with ~/, and HOME is not set; write the path out",
                               config_file, value));
    return (fs::path(home) / value.substr(std::min<std::size_t>(2, value.size()))).lexically_normal().string();
  }
  if (value.starts_with('~'))
    config_error(
        fmt::format("{}: the path \"{}\" names another user's home (~user), which chansync does not "
                    "expand; write the path out",
                    config_file, value));
  if (value == "-" || value.empty() || fs::path(value).is_absolute() || config_file.empty()) return value;
  return (fs::path(config_file).parent_path() / value).lexically_normal().string();
}

}  // namespace

std::optional<std::pair<std::string, std::string>> refused_url(const TypeSpec& spec, const nlohmann::json& options,
                                                               const std::string& table) {
  const bool plaintext_ok = options.value("allow_plaintext", false);
  for (const auto& o : spec.options)
    if (o.kind == OptionSpec::Kind::url && options.contains(o.key))
      if (auto why = url_refusal(table + "." + o.key, options.at(o.key).get<std::string>(), plaintext_ok,
                                 o.schemes.first, o.schemes.second))
        return std::pair{o.key, std::move(*why)};
  return std::nullopt;
}

namespace {

struct Loader {
  const ConfigInputs& in;
  Config cfg;
  std::vector<std::pair<std::string, std::string>> blocked_raw;  // [identity] blocked: (value, where)

  std::optional<std::string> env(const std::string& name) const { return input_env(in, name); }

  // [identity] limits = { phone = 5, email = 5 }: the most verified handles of a kind one person may
  // have. Kinds not named keep their default (phone and email 5, the others unlimited).
  void parse_limits(const toml::node& node, const std::string& at) {
    const auto* table = node.as_table();
    const std::string example = "e.g. limits = { phone = 5, email = 5 }";
    if (!table) config_error(fmt::format("{}: identity.limits must be a table of handle kinds, {}", at, example));
    nlohmann::json shown = nlohmann::json::object();
    for (auto&& [kind, value] : *table) {
      const auto k = handle_kind_from(kind.str());
      if (!k || *k == HandleKind::crm_id) {
        std::vector<std::string> kinds;
        for (auto x : handle_kinds())
          if (x != HandleKind::crm_id) kinds.emplace_back(to_string(x));
        const std::string guess = closest(std::string(kind.str()), kinds);
        config_error(fmt::format("{}: identity.limits: \"{}\" is not a handle kind{}; the kinds are {}", at, kind.str(),
                                 guess.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", guess),
                                 fmt::join(kinds, ", ")));
      }
      const auto n = value.value<std::int64_t>();
      if (!n || *n < 1)
        config_error(
            fmt::format("{}: identity.limits.{} must be a whole number of at least 1, {}", at, kind.str(), example));
      cfg.identity.limits[*k] = static_cast<std::size_t>(*n);
      shown[std::string(kind.str())] = *n;
    }
    add("identity.limits", shown, "file:" + at);
  }

  void add(std::string key, nlohmann::json value, std::string origin) {
    std::string text = render(value);
    cfg.settings.push_back({std::move(key), std::move(text), std::move(origin), std::move(value)});
  }

  const TypeSpec& type_spec(const std::string& type, const std::string& at, const std::string& section,
                            const std::string& role_hint) {
    std::vector<std::string> names;
    for (const auto& t : in.types) {
      if (t.type == type) return t;
      names.push_back(t.type);
    }
    const std::string guess = closest(type, names);
    config_error(fmt::format("{}: {}: unknown {} type \"{}\"{}; `chansync connectors types` lists them", at, section,
                             role_hint, type, guess.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", guess)));
  }

  EndpointConfig endpoint(const std::string& group, const std::string& name, const toml::table& tbl) {
    const std::string section = fmt::format("[{}.{}]", group, name);
    const std::string at = where(cfg.file, tbl);
    // Names key cursors, identities and log lines, and are typed on the command line.
    if (name.empty() ||
        !std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; }))
      config_error(fmt::format("{}: {}: a {} name may use only ASCII letters, digits, '_' and '-'; rename it", at,
                               section, group == "targets" ? "target" : "connector"));
    const auto* type_node = tbl.get("type");
    if (!type_node || !type_node->is_string())
      config_error(fmt::format("{}: {} needs type = \"...\"; `chansync connectors types` lists them", at, section));
    EndpointConfig ep{name, **type_node->as_string(), group};
    const TypeSpec& spec =
        type_spec(ep.type, where(cfg.file, *type_node), section, group == "targets" ? "target" : "connector");
    const bool is_target = std::find(spec.roles.begin(), spec.roles.end(), Role::sink) != spec.roles.end();
    if (is_target != (group == "targets"))
      config_error(fmt::format("{}: {}: type \"{}\" is a {}; declare it under [{}.{}]", at, section, ep.type,
                               is_target ? "target" : "connector", is_target ? "targets" : "connectors", name));
    add(fmt::format("{}.{}.type", group, name), ep.type, "file:" + where(cfg.file, *type_node));

    std::vector<std::string> known = {"type"};
    for (const auto& o : spec.options) {
      if (o.secret) {
        known.push_back(o.key + "_env");
        known.push_back(o.key + "_file");
      } else {
        known.push_back(o.key);
      }
    }
    for (auto&& [k, node] : tbl) {
      const std::string key(k.str());
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      const std::string key_at = where(cfg.file, node);
      for (const auto& o : spec.options)
        if (o.secret && o.key == key)
          config_error(fmt::format(
              "{}: {}.{} holds a secret inline, which chansync refuses (config files get copied and committed). "
              "Put it in an environment variable and set {}_env = \"VAR\", or in a file with mode 0600 and set "
              "{}_file = \"/path\"",
              key_at, section, key, key, key));
      // A flat key from before a table option took it in (csv-contacts' id_column, email_columns).
      for (const auto& o : spec.options)
        for (const auto& f : o.fields)
          if (key == f.key + "_column" || key == f.key + "_columns")
            config_error(
                fmt::format("{}: {}: unknown key \"{}\"; it is now written inside a table: {} = {{ {} = ... }}", key_at,
                            section, key, o.key, f.key));
      const std::string guess = closest(key, known);
      config_error(fmt::format("{}: {}: unknown key \"{}\"{}; `chansync connectors types` lists the keys of \"{}\"",
                               key_at, section, key, guess.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", guess),
                               ep.type));
    }

    for (const auto& o : spec.options) {
      const std::string key_path = fmt::format("{}.{}.{}", group, name, o.key);
      if (o.secret) {
        secret(ep, tbl, o, key_path, at, section);
        continue;
      }
      if (const auto* node = tbl.get(o.key)) {
        nlohmann::json v = option_value(*node, o, cfg.file, key_path);
        if (!o.choices.empty() &&
            std::find(o.choices.begin(), o.choices.end(), v.get<std::string>()) == o.choices.end())
          config_error(fmt::format("{}: {} = \"{}\" is not one of \"{}\" ({})", where(cfg.file, *node), key_path,
                                   v.get<std::string>(), fmt::join(o.choices, "\", \""), o.help));
        if (o.kind == OptionSpec::Kind::path) v = resolve_path(v.get<std::string>(), cfg.file);
        // A webhook receiver's URL often carries its secret in the path or query (Slack's and Zapier's
        // hooks): config show prints the scheme and host alone, as the logs do.
        if (ep.type == "webhook" && o.key == "url")
          add(key_path, shown_without_path(v.get<std::string>()), "file:" + where(cfg.file, *node));
        else
          add(key_path, v, "file:" + where(cfg.file, *node));
        ep.options[o.key] = std::move(v);
      } else if (!o.default_value.is_null()) {
        add(key_path, o.default_value, "default");
        ep.options[o.key] = o.default_value;
      } else if (o.required) {
        config_error(fmt::format("{}: {} is missing the required key \"{}\" ({})", at, section, o.key, o.help));
      }
    }
    // URLs are judged once the whole table is read: allow_plaintext may come after them.
    if (const auto refused = refused_url(spec, ep.options, fmt::format("{}.{}", group, name))) {
      const auto* node = tbl.get(refused->first);
      config_error(fmt::format("{}: {}", node ? where(cfg.file, *node) : at, refused->second));
    }
    return ep;
  }

  void secret(EndpointConfig& ep, const toml::table& tbl, const OptionSpec& o, const std::string& key_path,
              const std::string& at, const std::string& section) {
    const auto* env_node = tbl.get(o.key + "_env");
    const auto* file_node = tbl.get(o.key + "_file");
    if (env_node && file_node)
      config_error(fmt::format("{}: {} sets both {}_env and {}_file; keep one", at, section, o.key, o.key));
    if (!env_node && !file_node) {
      if (!o.required) return;
      config_error(
          fmt::format("{}: {} needs {}_env = \"VAR\" (an environment variable holding it) or {}_file = "
                      "\"/path\" (a 0600 file holding it)",
                      at, section, o.key, o.key));
    }
    const auto* node = env_node ? env_node : file_node;
    const auto name = node->value<std::string>();
    if (!name || name->empty())
      config_error(fmt::format("{}: {}_{} must be a non-empty string", where(cfg.file, *node), key_path,
                               env_node ? "env" : "file"));
    const std::string origin = "file:" + where(cfg.file, *node);
    // Not quoted: a value that is no variable's name is most likely the secret itself, pasted in.
    if (looks_like_secret(*name) && (env_node ? !env(*name).has_value() : !fs::exists(resolve_path(*name, cfg.file))))
      config_error(
          fmt::format("{}: {}_{} holds a value shaped like a token (lower-case letters and digits, {} "
                      "characters), not {}; if it is the secret itself, put it in {} and write {} here",
                      where(cfg.file, *node), key_path, env_node ? "env" : "file", name->size(),
                      env_node ? "an environment variable's name" : "a file's path",
                      env_node ? "the job's environment" : "a file with mode 0600",
                      env_node ? "that variable's name (e.g. TWILIO_AUTH_TOKEN)" : "that file's path"));
    if (env_node && !is_env_name(*name))
      config_error(
          fmt::format("{}: {}_env must be the name of an environment variable (letters, digits and _, "
                      "not starting with a digit), and this value is not one; if it is the secret itself, "
                      "put it in the job's environment and write its name here",
                      where(cfg.file, *node), key_path));
    if (env_node) {
      ep.secret_sources[o.key] = "env:" + *name;
      add(key_path + "_env", *name, origin);
    } else {
      const std::string path = resolve_path(*name, cfg.file);
      ep.secret_sources[o.key] = "file:" + path;
      add(key_path + "_file", path, origin);
    }
  }

  void load_file(const std::string& path) {
    cfg.file = path;
    toml::table root;
    if (::access(path.c_str(), R_OK) != 0)
      config_error(fmt::format("cannot read config file {}: {}; check its permissions for the user chansync runs as",
                               path, std::strerror(errno)));
    try {
      root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
      const auto& src = e.source();
      config_error(
          fmt::format("{}:{}:{}: not valid TOML: {}", path, src.begin.line, src.begin.column, e.description()));
    }
    static const std::vector<std::string> k_top = {"state", "identity", "listen", "health", "connectors", "targets"};
    for (auto&& [k, node] : root) {
      const std::string key(k.str());
      const bool known = std::find(k_top.begin(), k_top.end(), key) != k_top.end();
      if (known && node.is_table()) continue;
      if (known)
        config_error(
            fmt::format("{}: \"{}\" must be a table: write [{}] on a line of its own and its keys under it "
                        "(chansync.conf(5))",
                        where(path, node), key, key == "connectors" || key == "targets" ? key + ".NAME" : key));
      const std::string guess = closest(key, k_top);
      config_error(
          fmt::format("{}: unknown top-level {} \"{}\"{}; expected tables [state], [identity], [listen], "
                      "[health], [connectors.NAME], [targets.NAME]",
                      where(path, node), node.is_table() ? "table" : "key", key,
                      guess.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", guess)));
    }
    if (const auto* state = root["state"].as_table()) {
      for (auto&& [k, node] : *state) {
        if (k.str() != "path")
          config_error(
              fmt::format("{}: [state]: unknown key \"{}\"; the only key is \"path\"", where(path, node), k.str()));
        const auto v = node.value<std::string>();
        if (!v) config_error(fmt::format("{}: state.path must be a string", where(path, node)));
        if (const auto why = state_path_refusal(*v); !why.empty())
          config_error(fmt::format("{}: state.path {}", where(path, node), why));
        cfg.state_path = resolve_path(*v, path);
        add("state.path", cfg.state_path, "file:" + where(path, node));
      }
    }
    if (const auto* ident = root["identity"].as_table()) {
      for (auto&& [k, node] : *ident) {
        static const std::vector<std::string> k_keys = {"default_region", "blocked", "limits", "auto_merge_above"};
        if (std::find(k_keys.begin(), k_keys.end(), std::string(k.str())) == k_keys.end()) {
          const std::string guess = closest(std::string(k.str()), k_keys);
          config_error(fmt::format("{}: [identity]: unknown key \"{}\"{}", where(path, node), k.str(),
                                   guess.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", guess)));
        }
        if (k.str() == "blocked") {
          const auto* arr = node.as_array();
          if (!arr)
            config_error(
                fmt::format("{}: identity.blocked must be a list of phone numbers and email addresses, e.g. "
                            "[\"+4930000000\", \"info@example.com\"]",
                            where(path, node)));
          nlohmann::json values = nlohmann::json::array();
          for (const auto& item : *arr) {
            const auto v = item.value<std::string>();
            if (!v) config_error(fmt::format("{}: identity.blocked must hold strings", where(path, node)));
            blocked_raw.push_back({*v, where(path, item)});
            values.push_back(*v);
          }
          add("identity.blocked", values, "file:" + where(path, node));
          continue;
        }
        if (k.str() == "limits") {
          parse_limits(node, where(path, node));
          continue;
        }
        if (k.str() == "auto_merge_above") {
          // A probability: suggestions at or above it merge by themselves (as undoable decisions).
          const auto v = node.value<double>();
          if (!v || !(*v >= 0.5 && *v <= 1.0))
            config_error(
                fmt::format("{}: identity.auto_merge_above must be a match probability between 0.5 and 1, "
                            "e.g. 0.99 (leave it out to only suggest)",
                            where(path, node)));
          cfg.identity.auto_merge_above = *v;
          add("identity.auto_merge_above", *v, "file:" + where(path, node));
          continue;
        }
        auto v = node.value<std::string>();
        if (v) *v = upper_region(*v);
        if (!v || !is_known_region(*v))
          config_error(
              fmt::format("{}: identity.default_region must be a two-letter region code such as \"DE\" or "
                          "\"US\"",
                          where(path, node)));
        cfg.default_region = *v;
        add("identity.default_region", *v, "file:" + where(path, node));
      }
    }
    if (const auto* listen = root["listen"].as_table()) {
      for (auto&& [k, node] : *listen) {
        const std::string key(k.str());
        static const std::vector<std::string> k_keys = {"address", "spool_dir"};
        if (std::find(k_keys.begin(), k_keys.end(), key) == k_keys.end()) {
          const std::string guess = closest(key, k_keys);
          config_error(fmt::format("{}: [listen]: unknown key \"{}\"{}; the keys are \"address\" and \"spool_dir\"",
                                   where(path, node), key,
                                   guess.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", guess)));
        }
        const auto v = node.value<std::string>();
        if (!v || v->empty())
          config_error(fmt::format("{}: listen.{} must be a non-empty string", where(path, node), key));
        if (key == "address") {
          if (!valid_listen_address(*v))
            config_error(
                fmt::format("{}: listen.address \"{}\" is not HOST:PORT (e.g. \"127.0.0.1:8787\", "
                            "\"[::1]:8787\", \"0.0.0.0:443\")",
                            where(path, node), *v));
          cfg.listen_address = *v;
        } else {
          cfg.spool_dir = resolve_path(*v, path);
        }
        add("listen." + key, key == "address" ? *v : cfg.spool_dir, "file:" + where(path, node));
      }
    }
    if (const auto* health = root["health"].as_table()) {
      const std::vector<std::pair<std::string, int*>> keys = {{"recovery_checks", &cfg.health.recovery_checks},
                                                              {"recovery_minutes", &cfg.health.recovery_minutes},
                                                              {"eol_warning_days", &cfg.health.eol_warning_days},
                                                              {"expiry_warning_days", &cfg.health.expiry_warning_days}};
      for (auto&& [k, node] : *health) {
        const std::string key(k.str());
        const auto it = std::find_if(keys.begin(), keys.end(), [&](const auto& e) { return e.first == key; });
        if (it == keys.end()) {
          std::vector<std::string> names;
          for (const auto& e : keys) names.push_back(e.first);
          const std::string guess = closest(key, names);
          config_error(
              fmt::format("{}: [health]: unknown key \"{}\"{}; the keys are recovery_checks, "
                          "recovery_minutes, eol_warning_days and expiry_warning_days",
                          where(path, node), key, guess.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", guess)));
        }
        const auto v = node.value<std::int64_t>();
        if (!v || *v < 0 || *v > 100'000)
          config_error(fmt::format("{}: health.{} must be a whole number from 0 to 100000", where(path, node), key));
        *it->second = static_cast<int>(*v);
        add("health." + key, static_cast<std::int64_t>(*v), "file:" + where(path, node));
      }
    }
    for (const char* group : {"connectors", "targets"}) {
      const auto* tbl = root[group].as_table();
      if (!tbl) continue;
      // In the order the file declares them (toml++ keeps a table's keys sorted): pulls, pushes and
      // their summaries go in that order.
      std::vector<std::pair<std::string, const toml::node*>> declared;
      for (auto&& [k, node] : *tbl) declared.emplace_back(std::string(k.str()), &node);
      std::stable_sort(declared.begin(), declared.end(), [](const auto& a, const auto& b) {
        const auto& x = a.second->source().begin;
        const auto& y = b.second->source().begin;
        return std::pair(x.line, x.column) < std::pair(y.line, y.column);
      });
      for (const auto& [name, at] : declared) {
        const toml::node& node = *at;
        if (!node.is_table())
          config_error(fmt::format("{}: {}.{} must be a table: [{}.{}]", where(path, node), group, name, group, name));
        auto ep = endpoint(group, name, *node.as_table());
        // One name, one thing: health's history, its metrics' labels and erase's output key on it.
        if (std::string_view(group) == "targets")
          for (const auto& c : cfg.connectors)
            if (c.name == name)
              config_error(
                  fmt::format("{}: [targets.{}]: a connector is named {} too; give one of them another "
                              "name (health would report both as one)",
                              where(path, node), name, name));
        (std::string_view(group) == "connectors" ? cfg.connectors : cfg.targets).push_back(std::move(ep));
      }
    }
  }

  std::string default_state_path() const {
    if (auto xdg = env("XDG_STATE_HOME"); xdg && !xdg->empty()) return *xdg + "/chansync/state.db";
    if (auto home = env("HOME"); home && !home->empty()) return *home + "/.local/state/chansync/state.db";
    return "chansync-state.db";
  }
};

}  // namespace

bool valid_listen_address(std::string_view address) {
  const auto colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const auto host = address.substr(0, colon);
  const auto port = address.substr(colon + 1);
  int p = -1;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || p < 0 || p > 65535) return false;
  if (host.front() == '[') return host.size() > 2 && host.back() == ']';
  return host.find(':') == std::string_view::npos;
}

std::string default_config_path(const ConfigInputs& in) {
  if (auto x = input_env(in, "XDG_CONFIG_HOME"); x && !x->empty()) return *x + "/chansync/config.toml";
  if (auto h = input_env(in, "HOME"); h && !h->empty()) return *h + "/.config/chansync/config.toml";
  return {};
}

std::optional<std::string> locate_config(const ConfigInputs& in) {
  // Precedence for the file's location: 1. --config  2. $CHANSYNC_CONFIG  3. XDG default.
  if (in.config_flag) return in.config_flag;
  if (auto v = input_env(in, "CHANSYNC_CONFIG"); v && !v->empty()) return v;
  const std::string def = default_config_path(in);
  return !def.empty() && fs::exists(def) ? std::optional<std::string>(def) : std::nullopt;
}

Config load_config(const ConfigInputs& in) {
  Loader l{in, {}};
  // Precedence for every value, lowest first:
  // 1. built-in defaults
  l.cfg.state_path = l.default_state_path();
  l.add("state.path", l.cfg.state_path, "default");
  // 2. the config file
  if (auto file = locate_config(in)) {
    if (!fs::exists(*file))
      config_error(
          fmt::format("config file {} does not exist; create it (see chansync.conf(5)) or pass --config", *file));
    if (fs::is_directory(*file))
      config_error(fmt::format("config file {} is a directory; name the file in it, e.g. {}", *file,
                               (fs::path(*file) / "config.toml").string()));
    l.load_file(*file);
  }
  // 3. environment (CHANSYNC_*)
  if (auto v = l.env("CHANSYNC_STATE"); v && !v->empty()) {
    if (const auto why = state_path_refusal(*v); !why.empty()) config_error("CHANSYNC_STATE " + why);
    l.cfg.state_path = *v;
    l.add("state.path", *v, "env:CHANSYNC_STATE");
  }
  if (auto v = l.env("CHANSYNC_DEFAULT_REGION"); v && !v->empty()) {
    *v = upper_region(*v);
    if (!is_known_region(*v))
      config_error(fmt::format("CHANSYNC_DEFAULT_REGION=\"{}\" is not a two-letter region code such as \"DE\"", *v));
    l.cfg.default_region = *v;
    l.add("identity.default_region", *v, "env:CHANSYNC_DEFAULT_REGION");
  }
  // 4. flags
  if (in.state_flag) {
    if (const auto why = state_path_refusal(*in.state_flag); !why.empty()) throw Failure(Errc::usage, "--state " + why);
    l.cfg.state_path = *in.state_flag;
    l.add("state.path", *in.state_flag, "flag:--state");
  }
  if (l.cfg.spool_dir.empty()) {
    // Beside the state store, wherever that ended up: the two belong together.
    const auto dir = fs::path(l.cfg.state_path).parent_path();
    l.cfg.spool_dir = (dir.empty() ? fs::path("spool") : dir / "spool").string();
    l.add("listen.spool_dir", l.cfg.spool_dir, "default");
  }
  if (std::none_of(l.cfg.settings.begin(), l.cfg.settings.end(),
                   [](const Setting& st) { return st.key == "listen.address"; }))
    l.add("listen.address", l.cfg.listen_address, "default");
  for (const auto& [key, value] : {std::pair{"health.recovery_checks", l.cfg.health.recovery_checks},
                                   std::pair{"health.recovery_minutes", l.cfg.health.recovery_minutes},
                                   std::pair{"health.eol_warning_days", l.cfg.health.eol_warning_days},
                                   std::pair{"health.expiry_warning_days", l.cfg.health.expiry_warning_days}})
    if (std::none_of(l.cfg.settings.begin(), l.cfg.settings.end(), [&](const Setting& st) { return st.key == key; }))
      l.add(key, static_cast<std::int64_t>(value), "default");
  // Blocked values are normalised once the region is final (the file's or CHANSYNC_DEFAULT_REGION).
  for (const auto& [raw, at] : l.blocked_raw) {
    const auto h =
        raw.find('@') != std::string::npos ? normalize_email(raw) : normalize_phone(raw, l.cfg.default_region);
    if (!h || h->value.empty())
      config_error(fmt::format("{}: identity.blocked: \"{}\" is neither a phone number nor an email address", at, raw));
    l.cfg.identity.blocked.push_back(h->key());
  }
  if (in.resolve_secrets) {
    for (auto& ep : l.cfg.connectors) resolve_secrets(ep, in.env);
    for (auto& ep : l.cfg.targets) resolve_secrets(ep, in.env);
  }
  // Keep only the winning origin of each key (later entries override earlier ones).
  std::vector<Setting> winners;
  for (auto it = l.cfg.settings.rbegin(); it != l.cfg.settings.rend(); ++it)
    if (std::none_of(winners.begin(), winners.end(), [&](const Setting& s) { return s.key == it->key; }))
      winners.push_back(*it);
  std::reverse(winners.begin(), winners.end());
  l.cfg.settings = std::move(winners);
  return std::move(l.cfg);
}

}  // namespace chansync
