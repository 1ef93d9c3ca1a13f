#pragma once
// Private to sync/config*.cpp: a config file's values, read from TOML as the option they belong to
// declares (OptionSpec), and the config error every check throws.
#include <toml++/toml.h>

#include <nlohmann/json.hpp>
#include <string>

#include "sync/config.hpp"

namespace chansync::config_detail {

// Throws Failure(Errc::config) with `message`.
[[noreturn]] void config_error(const std::string& message);

// "FILE:LINE" of a node, for messages.
std::string where(const std::string& file, const toml::node& node);

// `node`'s value as option `spec` (at `key_path`, e.g. "connectors.sms.own_numbers") declares it: a
// string, path or URL (never with credentials in it), an integer, a boolean, a list of strings (one
// string too, `in_table`), or a table of such fields. Throws config_error naming FILE:LINE and what
// was expected.
nlohmann::json option_value(const toml::node& node, const OptionSpec& spec, const std::string& file,
                            const std::string& key_path, bool in_table = false);

}  // namespace chansync::config_detail
