#include "adapters/csv/csv_reader.hpp"

#include <fmt/format.h>
#include <unicode/ucnv.h>
#include <unicode/unistr.h>

#include <array>

#include "sync/error.hpp"

namespace chansync::adapters::csv {

CsvReader::CsvReader(std::string_view text, char delimiter, std::size_t offset, std::size_t line)
    : m_text(text), m_delimiter(delimiter), m_pos(std::min(offset, text.size())), m_line(line) {}

bool CsvReader::at_break() const {
  return m_pos < m_text.size() && (m_text[m_pos] == '\n' || m_text[m_pos] == '\r');
}

void CsvReader::skip_break() {
  if (m_text[m_pos] == '\r' && m_pos + 1 < m_text.size() && m_text[m_pos + 1] == '\n') ++m_pos;
  ++m_pos;
  ++m_line;
}

bool CsvReader::at_end() const {
  return m_text.find_first_not_of("\r\n", m_pos) == std::string_view::npos;
}

std::optional<CsvRecord> CsvReader::next() {
  while (at_break()) skip_break();
  if (m_pos >= m_text.size()) return std::nullopt;
  CsvRecord rec;
  rec.line = m_line;
  rec.begin = m_pos;
  enum class State { field_start, unquoted, quoted, quote_in_quoted };
  State state = State::field_start;
  std::string field;
  std::size_t quote_line = 0;
  const auto fail = [&rec](std::string what) {
    if (rec.error.empty()) rec.error = std::move(what);
  };
  while (m_pos < m_text.size()) {
    const char c = m_text[m_pos];
    if (state != State::quoted && (c == '\n' || c == '\r')) {
      rec.fields.push_back(std::move(field));
      rec.end = m_pos;
      skip_break();
      return rec;
    }
    ++m_pos;
    switch (state) {
      case State::field_start:
        if (c == '"') {
          state = State::quoted;
          quote_line = m_line;
        } else if (c == m_delimiter) {
          rec.fields.emplace_back();
        } else {
          field += c;
          state = State::unquoted;
        }
        break;
      case State::unquoted:
        if (c == m_delimiter) {
          rec.fields.push_back(std::move(field));
          field.clear();
          state = State::field_start;
        } else {
          field += c;  // a stray quote here is kept: "5'11"" tall" exports exist
        }
        break;
      case State::quoted:
        if (c == '"') {
          state = State::quote_in_quoted;
        } else {
          field += c;
          // The line arithmetic of skip_break(): CRLF, LF and a lone CR are one break each.
          if (c == '\n' || (c == '\r' && (m_pos >= m_text.size() || m_text[m_pos] != '\n'))) ++m_line;
        }
        break;
      case State::quote_in_quoted:
        if (c == '"') {
          field += '"';
          state = State::quoted;
        } else if (c == m_delimiter) {
          rec.fields.push_back(std::move(field));
          field.clear();
          state = State::field_start;
        } else {
          fail(fmt::format("text after the closing quote of field {}", rec.fields.size() + 1));
          field += c;
          state = State::unquoted;
        }
        break;
    }
  }
  if (state == State::quoted)
    fail(fmt::format("the quote opened on line {} is never closed (the record runs to the end of the file)",
                     quote_line));
  rec.fields.push_back(std::move(field));
  rec.end = m_pos;
  return rec;
}

std::size_t bom_length(std::string_view text) {
  return text.starts_with("\xEF\xBB\xBF") ? 3 : 0;
}

std::size_t count_lines(std::string_view text) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n' || (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n'))) ++n;
  return n;
}

Decoder::Decoder(const std::string& encoding) {
  UErrorCode err = U_ZERO_ERROR;
  m_cnv = ucnv_open(encoding.c_str(), &err);
  if (U_FAILURE(err) || !m_cnv)
    throw Failure(Errc::config, fmt::format("encoding \"{}\" is not one ICU knows (e.g. \"UTF-8\", \"ISO-8859-1\", "
                                            "\"windows-1252\"; `uconv -l` lists them)",
                                            encoding));
  ucnv_setToUCallBack(m_cnv, UCNV_TO_U_CALLBACK_STOP, nullptr, nullptr, nullptr, &err);
  m_utf8 = ucnv_getType(m_cnv) == UCNV_UTF8;
  // Every ASCII byte must decode to itself on its own, or the reader's split of the raw bytes lies.
  bool ascii = m_utf8 || ucnv_getMaxCharSize(m_cnv) == 1;
  for (int b = 1; ascii && b < 0x80; ++b) {
    const char byte = static_cast<char>(b);
    std::u16string out;
    ascii = !convert({&byte, 1}, &out) && out.size() == 1 && out[0] == static_cast<char16_t>(b);
  }
  if (!ascii) {
    ucnv_close(m_cnv);
    throw Failure(Errc::config,
                  fmt::format("encoding \"{}\" is not supported: csv-contacts reads UTF-8 and single-byte encodings "
                              "that keep ASCII as is (ISO-8859-*, windows-125*); convert the file first, e.g. "
                              "iconv -f {} -t UTF-8",
                              encoding, encoding));
  }
}

Decoder::~Decoder() {
  ucnv_close(m_cnv);
}

std::optional<std::size_t> Decoder::convert(std::string_view text, std::u16string* out) {
  ucnv_reset(m_cnv);
  const char* src = text.data();
  const char* const limit = text.data() + text.size();
  std::array<UChar, 4096> buf{};
  for (;;) {
    UChar* target = buf.data();
    UErrorCode err = U_ZERO_ERROR;
    ucnv_toUnicode(m_cnv, &target, buf.data() + buf.size(), &src, limit, nullptr, true, &err);
    if (out) out->append(reinterpret_cast<const char16_t*>(buf.data()), static_cast<std::size_t>(target - buf.data()));
    if (err == U_BUFFER_OVERFLOW_ERROR) continue;
    if (U_SUCCESS(err)) return std::nullopt;
    // src is past the offending bytes; ICU hands them back so we can step before them.
    std::array<char, 32> bad{};
    auto len = static_cast<int8_t>(bad.size());
    UErrorCode e2 = U_ZERO_ERROR;
    ucnv_getInvalidChars(m_cnv, bad.data(), &len, &e2);
    const auto consumed = static_cast<std::size_t>(src - text.data());
    return U_SUCCESS(e2) && static_cast<std::size_t>(len) <= consumed ? consumed - static_cast<std::size_t>(len)
                                                                      : consumed;
  }
}

std::optional<std::size_t> Decoder::invalid_at(std::string_view text) {
  return convert(text, nullptr);
}

std::optional<std::string> Decoder::to_utf8(std::string_view text) {
  if (m_utf8) {
    if (invalid_at(text)) return std::nullopt;
    return std::string(text);
  }
  std::u16string wide;
  if (convert(text, &wide)) return std::nullopt;
  std::string out;
  icu::UnicodeString(false, reinterpret_cast<const UChar*>(wide.data()), static_cast<int32_t>(wide.size()))
      .toUTF8String(out);
  return out;
}

}  // namespace chansync::adapters::csv
