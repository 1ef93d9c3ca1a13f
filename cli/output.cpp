#include "cli/output.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "sync/error.hpp"

namespace chansync::cli {
namespace {

// Columns a terminal advances for one code point, as wcwidth() does: most terminals position the
// cursor per code point, not per grapheme cluster, so this is what keeps columns aligned.
std::size_t code_point_width(UChar32 c) {
  const auto zero_width = U_GC_MN_MASK | U_GC_ME_MASK | U_GC_CF_MASK;
  if (u_getCombiningClass(c) > 0 || (U_GET_GC_MASK(c) & zero_width) != 0 || (c >= 0x200B && c <= 0x200F) ||
      u_hasBinaryProperty(c, UCHAR_VARIATION_SELECTOR))
    return 0;
  const auto east_asian = u_getIntPropertyValue(c, UCHAR_EAST_ASIAN_WIDTH);
  if (east_asian == U_EA_WIDE || east_asian == U_EA_FULLWIDTH || u_hasBinaryProperty(c, UCHAR_EMOJI_PRESENTATION))
    return 2;
  return 1;
}

}  // namespace

std::size_t display_width(std::string_view text) {
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(text.data());
  const auto length = static_cast<std::int32_t>(text.size());
  std::size_t width = 0;
  for (std::int32_t i = 0; i < length;) {
    const std::int32_t start = i;
    UChar32 c = 0;
    U8_NEXT(bytes, i, length, c);
    // Each byte of an ill-formed sequence counts as one replacement glyph.
    width += c < 0 ? static_cast<std::size_t>(i - start) : code_point_width(c);
  }
  return width;
}

std::string terminal_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f')
      out += ' ';
    else if (c < 0x20 || c == 0x7F)
      out += "\uFFFD";
    else if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
             static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      out += "\uFFFD";  // a C1 control such as U+009B, the one-byte CSI
      ++i;
    } else
      out += static_cast<char>(c);
  }
  return out;
}

std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& raw_rows) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(raw_rows.size());
  for (const auto& r : raw_rows) {
    auto& safe = rows.emplace_back();
    for (const auto& cell : r) safe.push_back(terminal_text(cell));
  }
  std::vector<std::size_t> width(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) width[i] = display_width(header[i]);
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], display_width(r[i]));
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      out += cells[i];
      // Cells past the header's columns have no width to pad to; they are just separated.
      const std::size_t column = i < width.size() ? width[i] : display_width(cells[i]);
      if (i + 1 < cells.size()) out += std::string(column - display_width(cells[i]) + 2, ' ');
    }
    out += '\n';
  };
  line(header);
  for (const auto& r : rows) line(r);
  return out;
}

void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::fputs(format_table(header, rows).c_str(), stdout);
}

// Text that is not UTF-8 (however it got into the store) is printed with U+FFFD, not refused.
void print_json(const nlohmann::json& j) {
  std::fputs((j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n").c_str(), stdout);
}

void print_ndjson_line(const nlohmann::json& j) {
  std::fputs((j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n").c_str(), stdout);
}

void require_format(const std::string& format, std::initializer_list<const char*> allowed, const char* command) {
  for (const char* a : allowed)
    if (format == a) return;
  std::string list;
  for (const char* a : allowed) list += list.empty() ? a : std::string("|") + a;
  throw Failure(Errc::usage, fmt::format("{} does not support -o {}; use -o {}", command, format, list));
}

}  // namespace chansync::cli

namespace chansync::cli {

namespace {
// A stream or target a signal stopped did not fail: what it did is kept and the next run goes on.
const char* failed_or_stopped(const Error& e) {
  return e.code == Errc::interrupted ? "STOPPED" : "FAILED";
}
}  // namespace

void print_run_report(const SyncReport& r, const GlobalOptions& g, bool force_table) {
  if (g.output == "json" && !force_table) {
    print_json(r);
    return;
  }
  if (g.quiet) return;  // -q: errors only; failures were logged as errors already
  std::string out;
  for (const auto& p : r.pulls) {
    const std::string name = p.connector + "/" + p.stream;
    out += p.error ? fmt::format("pull  {:<24} {} after {} pages: {}\n", name, failed_or_stopped(*p.error), p.pages,
                                 p.error->message)
                   : fmt::format("pull  {:<24} {} pages, {} requests, {} records, {} new or changed, {} rejected\n",
                                 name, p.pages, p.requests, p.received, p.written, p.rejected);
  }
  if (r.reconcile)
    out += fmt::format("reconcile  {:<22} {} persons ({} new, {} merged away), {} conflicts{}\n", "",
                       r.reconcile->persons, r.reconcile->new_persons, r.reconcile->aliases, r.reconcile->conflicts,
                       r.reconcile->skipped ? " (nothing changed: kept)"
                       : r.reconcile->auto_merged
                           ? fmt::format(", {} suggestions merged (auto_merge_above)", r.reconcile->auto_merged)
                           : "");
  for (const auto& p : r.pushes) {
    const std::string counts =
        fmt::format("{} {}, {} {}, {} unchanged, {} {}, {} failed", p.created, p.dry_run ? "to create" : "created",
                    p.updated, p.dry_run ? "to update" : "updated", p.unchanged, p.deleted,
                    p.dry_run ? "to delete" : "deleted", p.failed) +
        (p.parked ? fmt::format(", {} parked", p.parked) : "");
    out += p.error ? fmt::format("push  {:<24} {}: {} ({})\n", p.target, failed_or_stopped(*p.error), p.error->message,
                                 counts)
                   : fmt::format("push  {:<24} {}\n", p.target, counts);
  }
  print_summary(out, g);
}

void print_summary(const std::string& text, const GlobalOptions& g) {
  if (g.log_format == "json") {
    // One log record per line, so a JSON log stream stays parseable line by line.
    for (std::size_t start = 0, end; start < text.size(); start = end + 1) {
      end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      spdlog::info("{}", text.substr(start, end - start));
    }
    return;
  }
  std::fputs(text.c_str(), stderr);
}

}  // namespace chansync::cli
