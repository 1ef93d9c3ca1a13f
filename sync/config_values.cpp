#include "sync/config_values.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "sync/error.hpp"
#include "sync/similarity.hpp"
#include "sync/url.hpp"

namespace chansync::config_detail {

[[noreturn]] void config_error(const std::string& message) {
  throw Failure(Errc::config, message);
}

std::string where(const std::string& file, const toml::node& node) {
  return fmt::format("{}:{}", file, node.source().begin.line);
}

namespace {

// A table option: only the keys its fields name, each of its kind; the required ones present.
nlohmann::json table_value(const toml::node& node, const OptionSpec& spec, const std::string& file,
                           const std::string& key_path) {
  std::vector<std::string> keys;
  for (const auto& f : spec.fields) keys.push_back(f.key);
  const auto* tbl = node.as_table();
  if (!tbl)
    config_error(fmt::format("{}: {} must be a table, e.g. {} = {{ {} = \"...\" }}; its keys are {}", where(file, node),
                             key_path, spec.key, keys.empty() ? "key" : keys[0], fmt::join(keys, ", ")));
  nlohmann::json out = nlohmann::json::object();
  for (auto&& [k, value] : *tbl) {
    const std::string key(k.str());
    const auto field =
        std::find_if(spec.fields.begin(), spec.fields.end(), [&](const auto& f) { return f.key == key; });
    if (field == spec.fields.end()) {
      const std::string guess = closest(key, keys);
      config_error(fmt::format("{}: {}: unknown key \"{}\"{}; the keys are {}", where(file, value), key_path, key,
                               guess.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", guess),
                               fmt::join(keys, ", ")));
    }
    out[key] = option_value(value, *field, file, key_path + "." + key, true);
  }
  for (const auto& f : spec.fields)
    if (f.required && !out.contains(f.key))
      config_error(
          fmt::format("{}: {} is missing the required key \"{}\" ({})", where(file, node), key_path, f.key, f.help));
  return out;
}

}  // namespace

nlohmann::json option_value(const toml::node& node, const OptionSpec& spec, const std::string& file,
                            const std::string& key_path, bool in_table) {
  const std::string at = where(file, node);
  switch (spec.kind) {
    case OptionSpec::Kind::string:
    case OptionSpec::Kind::path:
    case OptionSpec::Kind::url:
      if (auto s = node.value<std::string>()) {
        // A URL's user@ or user:password@ (an API key is often the user) is a secret inline: it would
        // be in a file that gets copied, in `config show`, and in every message that names the URL.
        if (url_authority(*s).find('@') != std::string_view::npos)
          config_error(fmt::format(
              "{}: {} holds credentials in its URL (user@ or user:password@), which chansync refuses: like every "
              "secret they would be in a file that gets copied, in `chansync config show`, and in the messages that "
              "name the URL. Remove them from the URL. A vendor's credentials have keys of their own, read from an "
              "environment variable (KEY_env) or a file (KEY_file): `chansync connectors types` lists them; a "
              "webhook receiver knows chansync by the signature made with secret_env; a status page takes none",
              at, key_path));
        return *s;
      }
      config_error(fmt::format("{}: {} must be a string", at, key_path));
    case OptionSpec::Kind::integer:
      if (auto i = node.value<int64_t>()) return *i;
      config_error(fmt::format("{}: {} must be an integer", at, key_path));
    case OptionSpec::Kind::boolean:
      if (node.is_boolean()) return *node.value<bool>();
      config_error(fmt::format("{}: {} must be true or false (without quotes)", at, key_path));
    case OptionSpec::Kind::table:
      return table_value(node, spec, file, key_path);
    case OptionSpec::Kind::string_list: {
      const auto* arr = node.as_array();
      nlohmann::json out = nlohmann::json::array();
      if (auto one = node.value<std::string>(); one && in_table) return nlohmann::json::array({*one});
      if (arr)
        for (const auto& item : *arr) {
          if (auto s = item.value<std::string>())
            out.push_back(*s);
          else
            config_error(fmt::format("{}: {} must be a list of strings", at, key_path));
        }
      else
        config_error(fmt::format("{}: {} must be a {}list of strings, e.g. [\"a\", \"b\"]", at, key_path,
                                 in_table ? "string or a " : ""));
      return out;
    }
  }
  config_error("unreachable option kind");
}

}  // namespace chansync::config_detail
