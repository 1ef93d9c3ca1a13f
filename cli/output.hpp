#pragma once
// Output on stdout: aligned tables for people, JSON / NDJSON for programs.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace chansync::cli {

// Prints rows under a header, columns padded to the widest cell (UTF-8 aware).
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

// Pretty JSON (2-space indent) followed by a newline.
void print_json(const nlohmann::json& j);

// One compact JSON document per line.
void print_ndjson_line(const nlohmann::json& j);

// Throws Failure(usage) if `format` is not one of `allowed`.
void require_format(const std::string& format, std::initializer_list<const char*> allowed, const char* command);

}  // namespace chansync::cli

#include "sync/run.hpp"

namespace chansync::cli {

// The summary of a pull/reconcile/push/sync run: with -o json, the report as JSON on stdout;
// otherwise a short human summary on stderr (stdout may carry person records from an ndjson target).
void print_run_report(const SyncReport& report, const std::string& format);

}  // namespace chansync::cli
