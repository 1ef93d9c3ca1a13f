#pragma once
// Output on stdout: aligned tables for people, JSON / NDJSON for programs.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace chansync::cli {

// Columns `text` occupies in a terminal: 2 per wide/fullwidth (CJK) or emoji-presentation code point,
// 0 per combining mark, format character or variation selector, 1 otherwise; each byte of
// ill-formed UTF-8 counts 1. Never fails.
std::size_t display_width(std::string_view text);

// Vendor text made safe for a terminal: line breaks and tabs become spaces, and any other control
// character (C0, DEL, C1: escape sequences that would recolour or retitle the terminal) becomes
// U+FFFD, so one cell stays on one line and prints as text.
std::string terminal_text(std::string_view text);

// Rows under a header, one line each, cells passed through terminal_text, columns padded to the widest cell by
// display_width so they line up in a terminal; cells are separated by at least two spaces and the last cell is not
// padded.
std::string format_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

// Writes format_table(header, rows) to stdout.
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

// Pretty JSON (2-space indent) followed by a newline.
void print_json(const nlohmann::json& j);

// One compact JSON document per line.
void print_ndjson_line(const nlohmann::json& j);

// Throws Failure(usage) if `format` is not one of `allowed`.
void require_format(const std::string& format, std::initializer_list<const char*> allowed, const char* command);

}  // namespace chansync::cli

#include "cli/app.hpp"
#include "sync/run.hpp"

namespace chansync::cli {

// The summary of a pull/reconcile/push/sync run: with -o json (unless force_table), the report as
// JSON on stdout; otherwise a short human summary on stderr (stdout may carry person records from an
// ndjson target), one JSON log record per line with --log-format json, nothing with -q.
void print_run_report(const SyncReport& report, const GlobalOptions& g, bool force_table = false);

// Prints a summary meant for people, one line or several, on stderr; with --log-format json each
// line is an info record instead, so every stderr line parses.
void print_summary(const std::string& text, const GlobalOptions& g);

}  // namespace chansync::cli
