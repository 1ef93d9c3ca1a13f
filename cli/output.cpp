#include "cli/output.hpp"

#include <fmt/format.h>

#include <cstdio>

#include "sync/error.hpp"

namespace chansync::cli {
namespace {

std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;  // count code points, not bytes
  return n;
}

}  // namespace

void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) width[i] = display_width(header[i]);
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], display_width(r[i]));
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) out += std::string(width[i] - display_width(cells[i]) + 2, ' ');
    }
    std::fputs((out + "\n").c_str(), stdout);
  };
  line(header);
  for (const auto& r : rows) line(r);
}

void print_json(const nlohmann::json& j) {
  std::fputs((j.dump(2) + "\n").c_str(), stdout);
}

void print_ndjson_line(const nlohmann::json& j) {
  std::fputs((j.dump() + "\n").c_str(), stdout);
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

void print_run_report(const SyncReport& r, const std::string& format) {
  if (format == "json") {
    print_json(r);
    return;
  }
  std::string out;
  for (const auto& p : r.pulls) {
    const std::string name = p.connector + "/" + p.stream;
    out += p.error ? fmt::format("pull  {:<24} FAILED after {} pages: {}\n", name, p.pages, p.error->message)
                   : fmt::format("pull  {:<24} {} pages, {} requests, {} records, {} new or changed, {} rejected\n",
                                 name, p.pages, p.requests, p.received, p.written, p.rejected);
  }
  if (r.reconcile)
    out += fmt::format("reconcile  {:<22} {} persons ({} new, {} merged away), {} conflicts{}\n", "",
                       r.reconcile->persons, r.reconcile->new_persons, r.reconcile->aliases, r.reconcile->conflicts,
                       r.reconcile->skipped ? " (nothing changed: kept)" : "");
  for (const auto& p : r.pushes) {
    const std::string counts =
        fmt::format("{} {}, {} {}, {} unchanged, {} deleted, {} failed", p.created, p.dry_run ? "to create" : "created",
                    p.updated, p.dry_run ? "to update" : "updated", p.unchanged, p.deleted, p.failed);
    out += p.error ? fmt::format("push  {:<24} FAILED: {} ({})\n", p.target, p.error->message, counts)
                   : fmt::format("push  {:<24} {}\n", p.target, counts);
  }
  std::fputs(out.c_str(), stderr);
}

}  // namespace chansync::cli
