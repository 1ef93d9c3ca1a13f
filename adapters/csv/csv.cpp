#include "adapters/csv/csv.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "adapters/csv/csv_reader.hpp"
#include "sync/digest.hpp"
#include "sync/normalize.hpp"

namespace chansync::adapters::csv {
namespace {

constexpr const char* k_type = "csv-contacts";
constexpr int k_page_rows = 1000;

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// CRM exports write dates many ways; these three are unambiguous. A time without a zone is UTC.
std::optional<Timestamp> parse_when(std::string text) {
  if (auto t = parse_rfc3339(text)) return t;
  if (text.size() == 10) return parse_rfc3339(text + "T00:00:00Z");
  if (text.size() >= 19 && (text[10] == ' ' || text[10] == 'T')) {
    text[10] = 'T';
    if (auto t = parse_rfc3339(text)) return t;
    return parse_rfc3339(text + "Z");
  }
  return std::nullopt;
}

// "<sha256>" after a complete pass over that content; "<sha256>:<offset>" inside one, the offset
// being the first byte of the next row. The hash covers the file's content and how it is read
// (delimiter, encoding, columns). Anything else starts over from the top, which costs only a
// re-read: contacts are upserts.
struct Cursor {
  std::string hash;
  std::optional<std::size_t> offset;

  static Cursor parse(std::string_view text) {
    constexpr std::size_t k_hex = 64;
    if (text.size() < k_hex || text.substr(0, k_hex).find_first_not_of("0123456789abcdef") != std::string_view::npos)
      return {};
    Cursor c{std::string(text.substr(0, k_hex)), std::nullopt};
    if (text.size() == k_hex) return c;
    if (text[k_hex] != ':') return {};
    try {
      std::size_t used = 0;
      const std::string digits(text.substr(k_hex + 1));
      c.offset = std::stoull(digits, &used);
      if (used != digits.size()) return {};
    } catch (const std::exception&) {
      return {};
    }
    return c;
  }
};

// The `columns` table: header names by what they hold ("" = not mapped).
struct Columns {
  std::string id, first_name, last_name, updated_at, birth_date, postal_code, city, street;
  std::vector<std::string> emails, phones;

  // load_config makes email and phone lists; a config built in code may give one string.
  static Columns from(const nlohmann::json& j) {
    const auto one = [&](const char* key) { return j.value(key, std::string()); };
    const auto many = [&](const char* key) {
      if (!j.contains(key)) return std::vector<std::string>();
      const auto& v = j.at(key);
      return v.is_string() ? std::vector<std::string>{v.get<std::string>()} : v.get<std::vector<std::string>>();
    };
    return {j.at("id").get<std::string>(),
            one("first_name"),
            one("last_name"),
            one("updated_at"),
            one("birth_date"),
            one("postal_code"),
            one("city"),
            one("street"),
            many("email"),
            many("phone")};
  }
};

// Where the mapped columns are in the header, and where the rows start.
struct Header {
  std::size_t fields = 0;
  std::size_t id = 0;
  std::optional<std::size_t> first_name, last_name, updated_at, birth_date, postal_code, city, street;
  std::vector<std::size_t> emails, phones;
  std::size_t rows_offset = 0, rows_line = 1;
  std::vector<std::string> names;  // the header's cells, as read
};

class CsvAdapter final : public Adapter, public ContactSource {
 public:
  explicit CsvAdapter(const AdapterContext& ctx)
      : m_name(ctx.config.name),
        m_path(ctx.config.options.at("path").get<std::string>()),
        m_encoding(ctx.config.options.value("encoding", std::string("UTF-8"))),
        m_decoder(m_encoding),
        m_phone(ctx.default_region) {
    const auto& o = ctx.config.options;
    const auto delimiter = o.value("delimiter", std::string(","));
    if (delimiter.size() != 1)
      throw Failure(Errc::config, fmt::format("connectors.{}.delimiter must be one character", m_name));
    m_delimiter = delimiter[0];
    m_columns = Columns::from(o.at("columns"));
    // How the file is read is part of the cursor: a new mapping (a column added) reads it again.
    m_reading = nlohmann::json{{"columns", o.at("columns")}, {"delimiter", delimiter}, {"encoding", m_encoding}}.dump();
  }

  HealthReport probe() override {
    HealthReport r{m_name, k_type};
    r.checked_at = now_ms();
    r.evidence.url = m_path;
    const auto t0 = std::chrono::steady_clock::now();
    auto file = read_file();
    r.evidence.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!file) {
      r.cls = HealthClass::unreachable;
      r.evidence.transport_error = file.error().message;
      r.summary = file.error().message;
      return r;
    }
    auto encoded = check_encoding(*file);
    auto checked = encoded ? header(*file) : Result<Header>(std::unexpected(encoded.error()));
    if (!checked) {
      // The check ran and the file is not what the config describes: not ok, and no transport fault.
      r.cls = HealthClass::unknown;
      r.evidence.vendor_message = checked.error().message;
      r.summary = checked.error().message;
      return r;
    }
    r.cls = HealthClass::ok;
    r.summary = fmt::format("{} is readable ({} bytes) and its header has the mapped columns", m_path, file->size());
    return r;
  }

  Result<Page<Contact>> pull_contacts(const PullRequest& req) override {
    // The file is read, hashed and checked once per pass; its later pages parse on from the cursor.
    auto pass = current_pass();
    if (!pass) return std::unexpected(pass.error());
    Pass& f = **pass;
    Cursor cur = Cursor::parse(req.cursor);
    Page<Contact> page;
    if (cur.hash == f.hash && !cur.offset) {  // unchanged since the last complete pass
      page.done = true;
      page.next_cursor = f.hash;
      return page;
    }
    if (cur.hash != f.hash) cur.offset.reset();  // new or changed content: from the top
    if (!f.head) {
      if (auto ok = check_encoding(f.bytes); !ok) return std::unexpected(ok.error());
      auto head = header(f.bytes);
      if (!head) return std::unexpected(head.error());
      f.head = std::move(*head);
    }
    const Header& head = *f.head;

    // The first row with an id owns it. Continuing this process's pass, the owners it has are those of
    // the rows before the cursor; resumed from a stored cursor, those rows claim theirs again, so a
    // resumed pull judges duplicates exactly as one that never stopped.
    CsvReader reader(f.bytes, m_delimiter, head.rows_offset, head.rows_line);
    if (cur.offset && f.next_offset == cur.offset) {
      reader = CsvReader(f.bytes, m_delimiter, *cur.offset, f.next_line);
    } else {
      f.owners.clear();
      if (cur.offset) {
        while (reader.offset() < *cur.offset)
          if (auto rec = reader.next()) claim(*rec, head, f.owners);
        if (reader.offset() != *cur.offset) {  // not a row boundary of this file (delimiter changed)
          f.owners.clear();
          reader = CsvReader(f.bytes, m_delimiter, head.rows_offset, head.rows_line);
        }
      }
    }
    const int limit = req.page_size > 0 ? req.page_size : k_page_rows;
    for (int n = 0; n < limit; ++n) {
      auto rec = reader.next();
      if (!rec) break;
      map_row(f.bytes, *rec, head, f.owners, page);
    }
    page.done = reader.at_end();
    page.next_cursor = page.done ? f.hash : fmt::format("{}:{}", f.hash, reader.offset());
    f.next_offset = page.done ? std::nullopt : std::optional(reader.offset());
    f.next_line = reader.line();
    // The pass is over: its copy of the file is not held through reconcile and push.
    if (page.done) m_pass.reset();
    return page;
  }

 private:
  // One read of the file, kept while it stays the same (device, inode, size, modification time): a
  // pass pages through it without reading, hashing and checking it again for each page (a 200,000-row
  // export took 38 s that way, quadratic in its rows).
  struct Pass {
    struct stat st {};  // as read
    std::string bytes, hash;
    std::optional<Header> head;                 // once checked
    std::map<std::string, std::size_t> owners;  // ids claimed by the rows before next_offset
    std::optional<std::size_t> next_offset;     // where this process's pass goes on
    std::size_t next_line = 1;
  };

  static bool same_file(const struct stat& a, const struct stat& b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
           a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
  }

  Result<Pass*> current_pass() {
    struct stat st {};
    if (m_pass && ::stat(m_path.c_str(), &st) == 0 && same_file(m_pass->st, st)) return m_pass.get();
    m_pass.reset();
    auto pass = std::make_unique<Pass>();
    auto file = read_file(&pass->st);
    if (!file) return std::unexpected(file.error());
    pass->hash = sha256_hex(sha256_hex(*file) + "\n" + m_reading);
    pass->bytes = std::move(*file);
    m_pass = std::move(pass);
    return m_pass.get();
  }

  // The whole file; `at`, when given, gets its status as read. A file written to while it is read (an
  // export still being copied in place) is refused: its last row may be cut inside a value, which would
  // be stored as if whole.
  Result<std::string> read_file(struct stat* at = nullptr) const {
    const auto problem = [&](const char* what) {
      return fail(Errc::unavailable, fmt::format("cannot read {}: {}; check connectors.{}.path", m_path, what, m_name),
                  m_name);
    };
    const int fd = ::open(m_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return problem(std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return problem("not a regular file");
    }
    // One byte more than its size: reading an unchanged file to its end never grows the buffer.
    std::string bytes(static_cast<std::size_t>(st.st_size) + 1, '\0');
    std::size_t got = 0;
    for (;;) {
      if (got == bytes.size()) bytes.resize(bytes.size() + 65536);  // grew while we read
      const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        ::close(fd);
        return problem(std::strerror(err));
      }
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    struct stat after {};
    const bool changed =
        ::fstat(fd, &after) != 0 || !same_file(st, after) || got != static_cast<std::size_t>(st.st_size);
    ::close(fd);
    if (changed)
      return fail(
          Errc::unavailable,
          fmt::format("{} changed while it was read (it is still being written); nothing of this read was stored: "
                      "run again once it is complete (write the export elsewhere and rename it into place "
                      "to avoid this)",
                      m_path),
          m_name);
    bytes.resize(got);
    if (at) *at = st;
    return bytes;
  }

  // The whole file before any of it is stored: a wrong `encoding` stops the pull, naming the line.
  Result<void> check_encoding(std::string_view text) {
    const auto bad = m_decoder.invalid_at(text);
    if (!bad) return {};
    return fail(Errc::protocol,
                fmt::format("{}: line {} is not valid {} (byte offset {}); fix the file or set connectors.{}.encoding "
                            "to the file's encoding",
                            m_path, count_lines(text.substr(0, *bad)) + 1, m_encoding, *bad, m_name),
                m_name);
  }

  std::string cell(const CsvRecord& rec, std::size_t i) {
    return std::string(trim(m_decoder.to_utf8(rec.fields.at(i)).value_or("")));
  }

  Result<Header> header(std::string_view text) {
    CsvReader reader(text, m_delimiter, m_decoder.is_utf8() ? bom_length(text) : 0);
    auto rec = reader.next();
    if (!rec)  // a failed export more often than a wrong config: bad data (65)
      return fail(Errc::protocol,
                  fmt::format("{} is empty; its first line must name the columns (did the export that writes it "
                              "fail?)",
                              m_path),
                  m_name);
    if (!rec->error.empty())
      return fail(Errc::config,
                  fmt::format("{}: the header on line {} is malformed: {}", m_path, rec->line, rec->error), m_name);
    std::vector<std::string> names;
    for (std::size_t i = 0; i < rec->fields.size(); ++i) names.push_back(cell(*rec, i));
    Header h{.fields = names.size(), .rows_offset = reader.offset(), .rows_line = reader.line()};
    std::optional<Error> missing;
    // What a header the mapping does not find probably means.
    std::string hint;
    if (!m_decoder.is_utf8() && bom_length(text) > 0)
      hint =
          fmt::format("; the file starts with a UTF-8 byte order mark: set connectors.{}.encoding = \"UTF-8\"", m_name);
    else if (names.size() == 1)
      for (const char d : {';', '\t', '|', ','})
        if (d != m_delimiter && names[0].find(d) != std::string::npos) {
          hint =
              fmt::format("; its columns seem separated by {}: set connectors.{}.delimiter = \"{}\"",
                          d == '\t' ? "tabs" : fmt::format("\"{}\"", d), m_name, d == '\t' ? "\\t" : std::string(1, d));
          break;
        }
    const auto find = [&](const std::string& column, const char* key) -> std::size_t {
      const auto it = std::find(names.begin(), names.end(), column);
      if (it != names.end()) return static_cast<std::size_t>(it - names.begin());
      if (!missing)
        missing = Error{Errc::config,
                        fmt::format("{}: column \"{}\" (connectors.{}.columns.{}) is not in the header on line {}, "
                                    "which has \"{}\"{}",
                                    m_path, column, m_name, key, rec->line, fmt::join(names, "\", \""), hint),
                        m_name};
      return 0;
    };
    const auto& m = m_columns;
    h.id = find(m.id, "id");
    const auto mapped = [&](const std::string& column, const char* key, std::optional<std::size_t>& at) {
      if (!column.empty()) at = find(column, key);
    };
    mapped(m.first_name, "first_name", h.first_name);
    mapped(m.last_name, "last_name", h.last_name);
    mapped(m.updated_at, "updated_at", h.updated_at);
    mapped(m.birth_date, "birth_date", h.birth_date);
    mapped(m.postal_code, "postal_code", h.postal_code);
    mapped(m.city, "city", h.city);
    mapped(m.street, "street", h.street);
    // Exports repeat "Email" or "Phone" for a second one: every column of a mapped name is read.
    const auto every = [&](const std::vector<std::string>& columns, const char* key, std::vector<std::size_t>& at) {
      for (const auto& c : columns) {
        at.push_back(find(c, key));
        for (std::size_t i = at.back() + 1; i < names.size(); ++i)
          if (names[i] == c) at.push_back(i);
      }
    };
    every(m.emails, "email", h.emails);
    every(m.phones, "phone", h.phones);
    if (missing) return std::unexpected(*missing);
    h.names = std::move(names);
    return h;
  }

  // As many fields as the header, or more whose extra ones are empty: a delimiter ending every row
  // (what some exporters write) adds nothing.
  bool fits(const CsvRecord& rec, const Header& h) {
    if (rec.fields.size() < h.fields) return false;
    for (std::size_t i = h.fields; i < rec.fields.size(); ++i)
      if (!cell(rec, i).empty()) return false;
    return true;
  }

  bool well_formed(const CsvRecord& rec, const Header& h) { return rec.error.empty() && fits(rec, h); }

  // A row of empty cells: what spreadsheets write for formatted rows below the data (";;;;"). Skipped
  // like a blank line.
  bool empty_row(const CsvRecord& rec) {
    for (std::size_t i = 0; i < rec.fields.size(); ++i)
      if (!cell(rec, i).empty()) return false;
    return true;
  }

  // The header line again: two exports joined into one file.
  bool header_again(const CsvRecord& rec, const Header& h) {
    if (rec.fields.size() != h.names.size()) return false;
    for (std::size_t i = 0; i < rec.fields.size(); ++i)
      if (cell(rec, i) != h.names[i]) return false;
    return true;
  }

  void claim(const CsvRecord& rec, const Header& h, std::map<std::string, std::size_t>& owners) {
    if (!well_formed(rec, h) || header_again(rec, h)) return;
    if (auto id = cell(rec, h.id); !id.empty()) owners.try_emplace(std::move(id), rec.line);
  }

  void map_row(std::string_view text, const CsvRecord& rec, const Header& h, std::map<std::string, std::size_t>& owners,
               Page<Contact>& page) {
    const auto reject = [&](std::string id, std::string why) {
      page.rejects.push_back({std::move(id), fmt::format("line {}: {}", rec.line, why),
                              std::string(text.substr(rec.begin, rec.end - rec.begin))});
    };
    if (rec.error.empty() && empty_row(rec)) return;
    if (!rec.error.empty()) return reject("", rec.error);
    if (header_again(rec, h)) return reject("", "the header line again (two exports joined into one file?); skipped");
    if (!fits(rec, h))
      return reject("", fmt::format("{} fields where the header has {} (a delimiter or quote too many or too few)",
                                    rec.fields.size(), h.fields));
    Contact c;
    c.connector = m_name;
    c.id = cell(rec, h.id);
    if (c.id.empty()) return reject("", fmt::format("no id in column \"{}\"", m_columns.id));
    if (const auto [it, fresh] = owners.try_emplace(c.id, rec.line); !fresh)
      return reject(c.id, fmt::format("id \"{}\" is already on line {}", c.id, it->second));
    if (h.updated_at) {
      // Like a birth date below: a time that cannot be read costs itself (0, as an empty one), not the
      // contact, and is reported like a rejected row.
      const auto when = cell(rec, *h.updated_at);
      const auto ts = when.empty() ? std::optional<Timestamp>(0) : parse_when(when);
      if (!ts)
        reject(c.id, fmt::format("updated_at \"{}\" in column \"{}\" is not a date (RFC 3339 such as "
                                 "2024-05-01T10:00:00Z, or 2024-05-01); the contact is stored without it",
                                 when, m_columns.updated_at));
      c.updated_at = ts.value_or(0);
    }
    if (h.first_name) c.first_name = cell(rec, *h.first_name);
    if (h.last_name) c.last_name = cell(rec, *h.last_name);
    const auto add = [&c](std::optional<Handle> handle) {
      if (handle && std::find(c.handles.begin(), c.handles.end(), *handle) == c.handles.end())
        c.handles.push_back(std::move(*handle));
    };
    // A cell may hold several addresses ("a@example.com, b@example.com"): no address has a comma,
    // a semicolon or a space outside quotes.
    for (auto i : h.emails) {
      const std::string text = cell(rec, i);
      for (std::size_t at = 0; at < text.size();) {
        const auto end = std::min(text.find_first_of(",; ", at), text.size());
        if (end > at) add(normalize_email(std::string_view(text).substr(at, end - at)));
        at = end + 1;
      }
    }
    for (auto i : h.phones) add(m_phone(cell(rec, i)));
    auto& a = c.attributes;
    if (h.birth_date) {
      // The attributes only suggest: a date that cannot be read costs itself, not the contact and its
      // handles, and is reported like a rejected row.
      const auto when = cell(rec, *h.birth_date);
      if (auto date = normalize_birth_date(when))
        a.birth_date = *date;
      else if (!when.empty())
        reject(c.id, fmt::format("birth_date \"{}\" in column \"{}\" is not a date (YYYY-MM-DD such as 1990-05-17); "
                                 "the contact is stored without it",
                                 when, m_columns.birth_date));
    }
    if (h.postal_code) a.postal_code = normalize_postal_code(cell(rec, *h.postal_code));
    if (h.city) a.city = normalize_place(cell(rec, *h.city));
    if (h.street) a.street = normalize_place(cell(rec, *h.street));
    page.items.push_back(std::move(c));
  }

  std::string m_name, m_path, m_encoding;
  Decoder m_decoder;
  PhoneNormalizer m_phone;
  char m_delimiter = ',';
  Columns m_columns;
  std::string m_reading;  // delimiter, encoding and columns as JSON: part of the cursor's hash
  std::unique_ptr<Pass> m_pass;
};

}  // namespace

AdapterType type() {
  using K = OptionSpec::Kind;
  return adapter_type<CsvAdapter>(
      k_type, "contacts from a CSV file (a CRM export, any list of people), columns mapped in the config",
      {
          {"path", "the CSV file; its first line names the columns", K::path, true, false, nullptr},
          {"delimiter", "the field separator", K::string, false, false, ",", {",", ";", "\t", "|"}},
          {"encoding", "the file's character encoding, as ICU names it (\"ISO-8859-1\", \"windows-1252\")", K::string,
           false, false, "UTF-8"},
          {"columns",
           "which header column holds what, e.g. { id = \"Record ID\", first_name = \"First Name\", email = "
           "[\"Email\", \"Work Email\"], phone = \"Phone\" }",
           K::table,
           true,
           false,
           nullptr,
           {},
           {
               {"id", "the column holding each contact's unique id", K::string, true},
               {"first_name", "the column holding the first name", K::string},
               {"last_name", "the column holding the last name", K::string},
               {"email", "the column, or list of columns, holding email addresses", K::string_list},
               {"phone",
                "the column, or list of columns, holding phone numbers in any format; numbers without a country "
                "code are read in [identity] default_region",
                K::string_list},
               {"updated_at", "the column holding when the contact last changed (RFC 3339, or YYYY-MM-DD)", K::string},
               {"birth_date", "the column holding the date of birth (YYYY-MM-DD); only ever suggests, never joins",
                K::string},
               {"postal_code", "the column holding the postal code; only ever suggests, never joins", K::string},
               {"city", "the column holding the city; only ever suggests, never joins", K::string},
               {"street", "the column holding the street and number; only ever suggests, never joins", K::string},
           }},
      });
}

}  // namespace chansync::adapters::csv
