#pragma once
// An RFC 4180 reader over bytes already in memory, and the decoder that turns a declared encoding
// into UTF-8. The reader works on the file's own bytes, so a record's offsets and line are those of
// the file (cursors, dead letters), and the decoder converts only the cells that are used.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct UConverter;

namespace chansync::adapters::csv {

// One record (a row) as it stands in the file.
struct CsvRecord {
  std::vector<std::string> fields;  // cells, quotes removed and doubled quotes undone, bytes unchanged
  std::size_t line = 0;             // 1-based line the record starts on (a quoted line break counts)
  std::size_t begin = 0;            // byte offset of its first byte
  std::size_t end = 0;              // byte offset just past its last byte, before the line break
  std::string error;                // "" when well formed; else what is wrong with it
};

// Reads records one at a time: fields separated by `delimiter`, records by CRLF, LF or a lone CR;
// a field in double quotes may hold delimiters, line breaks and doubled quotes. Lenient where real
// exports are (a quote inside an unquoted field is kept as a character; blank lines are skipped),
// strict where data would be misread: text after a closing quote, and a quote never closed (the
// record then runs to the end of the text), set `error` on the record and reading goes on. Never
// throws; the text must outlive the reader.
class CsvReader {
 public:
  // Starts at byte `offset`, which is on line `line` (a record boundary, as offset() returned it).
  CsvReader(std::string_view text, char delimiter, std::size_t offset = 0, std::size_t line = 1);
  // The next record; nullopt when only blank lines remain.
  std::optional<CsvRecord> next();
  // Where the next record (or the blank lines before it) begins, and its line.
  std::size_t offset() const { return m_pos; }
  std::size_t line() const { return m_line; }
  // True when no record is left: the rest of the text is blank lines.
  bool at_end() const;

 private:
  bool at_break() const;
  void skip_break();

  std::string_view m_text;
  char m_delimiter;
  std::size_t m_pos;
  std::size_t m_line;
};

// Bytes of a UTF-8 byte order mark at the start of `text` (3 or 0).
std::size_t bom_length(std::string_view text);

// The number of line breaks (CRLF, LF, lone CR) in `text`: line arithmetic consistent with CsvReader.
std::size_t count_lines(std::string_view text);

// Text in one declared encoding to UTF-8, with ICU. Only encodings in which every byte below 0x80 is
// ASCII and never part of a longer character are accepted (UTF-8 and the single-byte charsets:
// ISO-8859-*, Windows-125*, KOI8-R, Mac Roman ...), since the reader splits the file's own bytes.
class Decoder {
 public:
  // Throws Failure(Errc::config) naming the encoding when ICU does not know it or it is not accepted.
  explicit Decoder(const std::string& encoding);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  bool is_utf8() const { return m_utf8; }
  // The byte offset of the first byte sequence that is not valid in the encoding; nullopt when all is.
  std::optional<std::size_t> invalid_at(std::string_view text);
  // `text` in UTF-8; nullopt when it holds a sequence that is not valid in the encoding.
  std::optional<std::string> to_utf8(std::string_view text);

 private:
  std::optional<std::size_t> convert(std::string_view text, std::u16string* out);

  UConverter* m_cnv = nullptr;
  bool m_utf8 = false;
};

}  // namespace chansync::adapters::csv
