#pragma once
// The vendor API versions table shipped with chansync (data/api_versions.toml, compiled in): when
// each version of a vendor's API stops being served, so a connector pinned to an api_version is
// warned ahead of the date and reported gone after it.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/error.hpp"
#include "sync/health.hpp"

namespace chansync {

struct ApiVersion {
  std::string version;  // "v18.0"
  Timestamp released = 0;
  std::optional<Timestamp> end_of_life;  // first day not served (UTC midnight); nullopt = not announced
};

struct VersionTable {
  std::map<std::string, std::vector<ApiVersion>> vendors;  // by vendor_of() name, oldest first
  std::map<std::string, std::string> sources;              // where each vendor's dates were read
};

// Parses the table's TOML (format: the comment at the top of data/api_versions.toml). Errc::config
// naming the line when it is not TOML, an entry lacks a field or has one of the wrong type, a
// version repeats, releases do not strictly increase or ends of life decrease.
Result<VersionTable> parse_version_table(std::string_view toml_text);

// The table compiled into this binary (data/api_versions.toml at build time), and its text.
std::string_view shipped_versions_text();
const VersionTable& shipped_versions();

// What the table says of `version` of `vendor` at `now`: gone on or after its end of life,
// deprecated within `warning_days` before it (with the date and days left), else ok (with the date,
// or that none is announced); ok saying so when the table does not list the version. nullopt when
// the table knows nothing of the vendor. Pure.
std::optional<Finding> version_finding(const VersionTable& table, const std::string& vendor, const std::string& version,
                                       Timestamp now, int warning_days);

}  // namespace chansync
