#include "cli/output.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

using chansync::cli::display_width;
using chansync::cli::format_table;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  for (std::size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    lines.push_back(text.substr(start, end - start));
  return lines;
}

// The terminal column at which `cell` starts on `line`.
std::size_t column_of(const std::string& line, const std::string& cell) {
  const auto at = line.find(cell);
  REQUIRE(at != std::string::npos);
  return display_width(std::string_view(line).substr(0, at));
}

}  // namespace

TEST_CASE("display_width counts terminal columns: wide CJK and emoji 2, combining marks 0", "[output]") {
  CHECK(display_width("") == 0);
  CHECK(display_width("Smith") == 5);
  CHECK(display_width("M\u00fcller") == 6);               // precomposed ü
  CHECK(display_width("Mu\u0308ller") == 6);              // u + combining diaeresis
  CHECK(display_width("\u5c71\u7530\u592a\u90ce") == 8);  // 山田太郎
  CHECK(display_width("\U0001F44D") == 2);                // 👍
  CHECK(display_width("\uFF21") == 2);                    // fullwidth A
  CHECK(display_width("a\u200Bb") == 2);                  // zero-width space
  CHECK(display_width("\u2764\uFE0F") == 1);              // variation selector adds nothing
  CHECK(display_width("a\xff\xfe!") == 4);                // ill-formed bytes count 1 each
}

TEST_CASE("format_table starts each column at the same terminal column on every line", "[output]") {
  const std::vector<std::string> header = {"NAME", "CITY", "COUNT"};
  const std::vector<std::vector<std::string>> rows = {
      {"M\u00fcller", "Berlin", "1"},
      {"Mu\u0308ller", "\u6771\u4eac", "2"},  // 東京
      {"\u5c71\u7530\u592a\u90ce", "Osaka", "3"},
      {"\U0001F44D fan", "Z\u00fcrich", "4"},
      {"Bob", "NYC", "5"},
  };
  const auto lines = lines_of(format_table(header, rows));
  REQUIRE(lines.size() == rows.size() + 1);

  CHECK(column_of(lines[0], "CITY") == 10);   // widest name is 山田太郎 (8) plus two spaces
  CHECK(column_of(lines[0], "COUNT") == 18);  // widest city is Berlin/Zürich (6)
  for (std::size_t i = 0; i < rows.size(); ++i) {
    INFO(lines[i + 1]);
    CHECK(column_of(lines[i + 1], rows[i][1]) == 10);
    CHECK(column_of(lines[i + 1], rows[i][2]) == 18);
  }
}

TEST_CASE("format_table prints vendor text as text: one line per row, no escape sequence", "[output]") {
  CHECK(chansync::cli::terminal_text("A\x1b[31mRED\x1b]0;pwned\x07 B") == "A\uFFFD[31mRED\uFFFD]0;pwned\uFFFD B");
  CHECK(chansync::cli::terminal_text("two\nlines\tand\rCR") == "two lines and CR");
  CHECK(chansync::cli::terminal_text("C1 \xC2\x9B"
                                     "2J, but é and ü stay") == "C1 \uFFFD2J, but é and ü stay");
  const auto table = format_table({"NAME", "DETAIL"}, {{"crm", "refused:\n<script>\x1b[2J"}, {"sms", "ok"}});
  CHECK(table.find('\x1b') == std::string::npos);
  CHECK(std::count(table.begin(), table.end(), '\n') == 3);
}
