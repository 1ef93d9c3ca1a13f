// csv-contacts: the RFC 4180 reader, the column mapping, encodings, dead letters with their lines and
// bytes, the content hash as cursor, and the probe.
#include <fmt/format.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "adapters/csv/csv_reader.hpp"
#include "adapters/registry.hpp"
#include "sync/pull.hpp"
#include "sync/reconcile.hpp"
#include "tests/contract/conformance.hpp"
#include "tests/contract/harness_csv.hpp"
#include "tests/support/fake_server.hpp"
#include "tests/support/pull_one.hpp"

using namespace chansync;
using namespace chansync::test;
using adapters::csv::CsvReader;
using adapters::csv::CsvRecord;

namespace {

std::vector<CsvRecord> read_all(std::string_view text, char delimiter = ',') {
  CsvReader reader(text, delimiter);
  std::vector<CsvRecord> out;
  while (auto rec = reader.next()) out.push_back(std::move(*rec));
  return out;
}

using Fields = std::vector<std::string>;

EndpointConfig csv_config(const std::filesystem::path& path, nlohmann::json extra = nlohmann::json::object()) {
  EndpointConfig cfg = csv_export_config(path);
  cfg.options.merge_patch(extra);
  return cfg;
}

EndpointConfig simple_config(const std::filesystem::path& path) {
  EndpointConfig cfg{"people", "csv-contacts"};
  cfg.options = {{"path", path.string()},
                 {"columns", {{"id", "id"}, {"first_name", "name"}, {"email", {"email"}}, {"updated_at", "updated"}}}};
  return cfg;
}

std::filesystem::path fixture_path(const std::string& name) {
  return std::filesystem::path(CHANSYNC_SOURCE_DIR) / "tests/fixtures/csv" / name;
}

void write(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string rows(int first, int last) {
  std::string out = "id,name,email,updated\n";
  for (int i = first; i <= last; ++i) out += fmt::format("r{},Person {},p{}@example.com,2024-01-01\n", i, i, i);
  return out;
}

std::vector<std::string> keys(const Contact& c) {
  std::vector<std::string> out;
  for (const auto& h : c.handles) out.push_back(h.key() + (h.verified ? "" : " (unverified)"));
  return out;
}

}  // namespace

TEST_CASE("csv reader splits plain fields and records ending in LF, CRLF or a lone CR", "[csv]") {
  const auto recs = read_all("a,b,c\r\n1,2,3\n4,5,6\r7,8,9");
  REQUIRE(recs.size() == 4);
  CHECK(recs[0].fields == Fields{"a", "b", "c"});
  CHECK(recs[1].fields == Fields{"1", "2", "3"});
  CHECK(recs[2].fields == Fields{"4", "5", "6"});
  CHECK(recs[3].fields == Fields{"7", "8", "9"});  // no final line break
  CHECK(recs[3].line == 4);
  for (const auto& r : recs) CHECK(r.error.empty());
}

TEST_CASE("csv reader undoes quoting: delimiters, doubled quotes and line breaks inside quotes", "[csv]") {
  const std::string text = "\"a,b\",\"say \"\"hi\"\"\",\"two\r\nlines\",\"\"\nnext,\"x\ny\nz\",end\nlast,\"\",\n";
  const auto recs = read_all(text);
  REQUIRE(recs.size() == 3);
  CHECK(recs[0].fields == Fields{"a,b", "say \"hi\"", "two\r\nlines", ""});
  CHECK(recs[0].line == 1);
  CHECK(recs[1].fields == Fields{"next", "x\ny\nz", "end"});
  CHECK(recs[1].line == 3);                         // the CRLF inside quotes was a line
  CHECK(recs[2].fields == Fields{"last", "", ""});  // a trailing delimiter is an empty last field
  CHECK(recs[2].line == 6);
  // Offsets are the record's bytes in the text, without the line break.
  CHECK(text.substr(recs[1].begin, recs[1].end - recs[1].begin) == "next,\"x\ny\nz\",end");
}

TEST_CASE("csv reader skips blank lines but counts them", "[csv]") {
  const auto recs = read_all("\n\na\r\n\r\n\nb\n\n");
  REQUIRE(recs.size() == 2);
  CHECK(recs[0].line == 3);
  CHECK(recs[1].line == 6);
  CHECK(read_all("").empty());
  CHECK(read_all("\r\n\n").empty());
}

TEST_CASE("csv reader keeps a stray quote in an unquoted field and flags text after a closing quote", "[csv]") {
  auto recs = read_all("5'11\",x\n\"ok\"tail,y\nnext,z\n");
  REQUIRE(recs.size() == 3);
  CHECK(recs[0].fields == Fields{"5'11\"", "x"});
  CHECK(recs[0].error.empty());
  CHECK(recs[1].error == "text after the closing quote of field 1");
  CHECK(recs[1].fields.size() == 2);  // the record still ends where it should
  CHECK(recs[2].fields == Fields{"next", "z"});
  CHECK(recs[2].line == 3);
}

TEST_CASE("csv reader reports a quote never closed and takes the rest of the text as that record", "[csv]") {
  const std::string text = "a,b\nc,\"open\nd,e\n";
  const auto recs = read_all(text);
  REQUIRE(recs.size() == 2);
  CHECK(recs[1].line == 2);
  CHECK(recs[1].error.find("opened on line 2 is never closed") != std::string::npos);
  CHECK(recs[1].end == text.size());
}

TEST_CASE("csv reader honours the delimiter and resumes at a saved offset and line", "[csv]") {
  const std::string text = "a;\"b;c\"\tx\n1;2\n3;4\n";
  CsvReader reader(text, ';');
  auto first = reader.next();
  REQUIRE(first);
  CHECK(first->error == "text after the closing quote of field 2");
  const auto offset = reader.offset(), line = reader.line();
  CHECK(reader.next()->fields == Fields{"1", "2"});
  CsvReader resumed(text, ';', offset, line);
  auto again = resumed.next();
  REQUIRE(again);
  CHECK(again->fields == Fields{"1", "2"});
  CHECK(again->line == 2);
  CHECK(resumed.next()->fields == Fields{"3", "4"});
  CHECK(resumed.at_end());
  CHECK_FALSE(resumed.next());
  CHECK(read_all("a\tb\n", '\t')[0].fields == Fields{"a", "b"});
}

TEST_CASE("csv BOM and line arithmetic helpers", "[csv]") {
  CHECK(adapters::csv::bom_length("\xEF\xBB\xBFid") == 3);
  CHECK(adapters::csv::bom_length("id") == 0);
  CHECK(adapters::csv::count_lines("a\r\nb\rc\nd") == 3);
}

TEST_CASE("csv decoder converts single-byte encodings, finds invalid bytes and refuses UTF-16", "[csv]") {
  adapters::csv::Decoder latin1("ISO-8859-1");
  CHECK(latin1.to_utf8("Wei\xDF") == "Wei\xC3\x9F");
  adapters::csv::Decoder utf8("utf8");
  CHECK(utf8.is_utf8());
  CHECK(utf8.invalid_at("ok \xC3\xA9 \xE9 x") == 6u);
  CHECK(utf8.invalid_at("\xED\xA0\x80") == 0u);  // an encoded surrogate is not UTF-8
  CHECK_FALSE(utf8.invalid_at("M\xC3\xBCller"));
  CHECK_THROWS_AS(adapters::csv::Decoder("UTF-16"), Failure);
  CHECK_THROWS_AS(adapters::csv::Decoder("no-such-encoding"), Failure);
}

TEST_CASE("csv-contacts maps a CRM export: BOM, CRLF, quoting, several email and phone columns", "[csv]") {
  auto adapter = adapters::create_adapter(csv_config(fixture_path("contacts.csv")), "DE");
  auto page = adapter->contacts()->pull_contacts({"contacts", "", 0});
  REQUIRE(page);
  CHECK(page->done);
  CHECK(page->rejects.empty());
  REQUIRE(page->items.size() == 5);
  const auto& anna = page->items[0];
  CHECK(anna.connector == "people");
  CHECK(anna.id == "1001");  // the BOM is not part of the first header name
  CHECK(anna.display_name() == "Anna Müller");
  CHECK(keys(anna) ==
        std::vector<std::string>{"email:anna.mueller@example.de", "phone:+49301234567", "phone:+4915112345670"});
  CHECK(anna.updated_at == *parse_rfc3339("2024-05-01T10:00:00Z"));
  const auto& jl = page->items[1];
  CHECK(jl.first_name == "Jean-Luc");
  CHECK(jl.last_name == "O'Brien, Jr.");
  CHECK(keys(jl) ==
        std::vector<std::string>{"email:jl@example.com", "email:jl@work.example.com", "phone:+4915122345671"});
  CHECK(jl.updated_at == *parse_rfc3339("2024-05-02T08:30:00Z"));  // no zone: UTC
  const auto& zoe = page->items[2];
  CHECK(zoe.first_name == "Zoë");
  CHECK(keys(zoe) == std::vector<std::string>{"email:zoe@example.org", "phone:+14155552671"});
  CHECK(zoe.updated_at == *parse_rfc3339("2024-05-03T00:00:00Z"));
  const auto& shared = page->items[3];
  CHECK(shared.display_name().empty());
  CHECK(shared.updated_at == 0);  // an empty date is no date, not an error
  const auto& ole = page->items[4];
  CHECK(ole.id == "1005");  // cells are trimmed
  CHECK(ole.display_name() == "Ole Hansen");
  CHECK(keys(ole) == std::vector<std::string>{"email:ole@example.no", "phone:+4741234567"});
  CHECK(ole.updated_at == *parse_rfc3339("2024-05-05T10:00:00Z"));
}

TEST_CASE("csv-contacts reads a Latin-1 file with semicolons when told its encoding", "[csv]") {
  EndpointConfig cfg{"de", "csv-contacts"};
  cfg.options = {{"path", fixture_path("contacts_latin1.csv").string()},
                 {"encoding", "ISO-8859-1"},
                 {"delimiter", ";"},
                 {"columns",
                  {{"id", "Kundennr"},
                   {"first_name", "Vorname"},
                   {"last_name", "Nachname"},
                   {"email", "E-Mail"},  // one column: a string will do
                   {"phone", {"Telefon"}},
                   {"updated_at", "Geändert"}}}};  // a UTF-8 name matches the decoded header
  auto page = adapters::create_adapter(cfg, "DE")->contacts()->pull_contacts({"contacts", "", 0});
  REQUIRE(page);
  REQUIRE(page->items.size() == 2);
  CHECK(page->items[0].display_name() == "Jürgen Weiß");
  CHECK(keys(page->items[0]) == std::vector<std::string>{"email:juergen@example.de", "phone:+49307654321"});
  CHECK(page->items[1].display_name() == "Renée Façade");
  CHECK(page->items[1].updated_at == *parse_rfc3339("2024-06-02T00:00:00Z"));
}

TEST_CASE("csv-contacts stops on bytes that are not valid in the declared encoding, naming the line", "[csv]") {
  EndpointConfig cfg = simple_config(fixture_path("invalid_utf8.csv"));
  cfg.options = {{"path", fixture_path("invalid_utf8.csv").string()}, {"columns", {{"id", "id"}}}};
  auto adapter = adapters::create_adapter(cfg, "DE");
  StateStore store(":memory:");
  const auto stats = pull_one("people", *adapter, store);
  REQUIRE(stats.error);
  CHECK(stats.error->code == Errc::protocol);
  CHECK(stats.error->message.find("line 5 is not valid UTF-8") != std::string::npos);
  CHECK(stats.received == 0);  // nothing of the file is stored
  CHECK(adapter->probe().cls != HealthClass::ok);
}

TEST_CASE("csv-contacts rows that cannot be mapped are dead letters with their line and bytes", "[csv]") {
  auto adapter = adapters::create_adapter(simple_config(fixture_path("rejects.csv")), "DE");
  StateStore store(":memory:");
  const auto stats = pull_one("people", *adapter, store);
  REQUIRE_FALSE(stats.error);
  CHECK(stats.received == 3);
  CHECK(stats.rejected == 5);
  CHECK(store.records().contact("people", "a1")->first_name == "Multi\nline\nname");
  CHECK(store.records().contact("people", "a6"));
  // An unreadable update time costs itself, not the contact (as a birth date does).
  REQUIRE(store.records().contact("people", "a3"));
  CHECK(store.records().contact("people", "a3")->updated_at == 0);
  auto letters = store.records().dead_letters("people");
  std::reverse(letters.begin(), letters.end());  // oldest first
  REQUIRE(letters.size() == 5);
  CHECK(letters[0].record_id == "");
  CHECK(letters[0].error == "line 5: no id in column \"id\"");
  CHECK(letters[0].raw == ",No Id,noid@example.com,2024-01-01");
  CHECK(letters[1].record_id == "a1");
  CHECK(letters[1].error == "line 6: id \"a1\" is already on line 2");
  CHECK(letters[1].raw == "a1,Dup,dup@example.com,2024-01-01");
  CHECK(letters[2].record_id == "a3");
  CHECK(letters[2].error.starts_with("line 7: updated_at \"yesterday\" in column \"updated\" is not a date"));
  CHECK(letters[3].error.starts_with("line 8: 5 fields where the header has 4"));
  CHECK(letters[3].raw == "a4,Too,Many,Fields,Here");
  CHECK(letters[4].error == "line 9: text after the closing quote of field 2");
  CHECK(letters[4].raw == "a5,\"Quoted\"tail,q@example.com,2024-01-01");
  for (const auto& d : letters) CHECK(d.stream == "contacts");
}

TEST_CASE("csv-contacts judges duplicate ids the same when the pull is split into pages", "[csv]") {
  auto adapter = adapters::create_adapter(simple_config(fixture_path("rejects.csv")), "DE");
  StateStore store(":memory:");
  const auto stats = pull_one("people", *adapter, store, 1);  // one row a page: the duplicate is on page 3
  REQUIRE_FALSE(stats.error);
  CHECK(stats.pages == 7);
  CHECK(stats.received == 3);
  CHECK(stats.rejected == 5);
  bool dup = false;
  for (const auto& d : store.records().dead_letters("people"))
    dup = dup || d.error == "line 6: id \"a1\" is already on line 2";
  CHECK(dup);
}

TEST_CASE("csv-contacts resumed from a stored cursor by a new process judges duplicates as one pass does", "[csv]") {
  Scratch dir;
  const auto file = dir.path / "people.csv";
  std::string text = rows(1, 1500);
  text += "r7,Again,again@example.com,2024-01-01\n";  // on page 2, claimed on page 1
  write(file, text);
  auto first = adapters::create_adapter(simple_config(file), "DE");
  auto p1 = first->contacts()->pull_contacts({"contacts", "", 0});
  REQUIRE(p1);
  auto resumed = adapters::create_adapter(simple_config(file), "DE");  // what a run after a crash builds
  auto p2 = resumed->contacts()->pull_contacts({"contacts", p1->next_cursor, 0});
  auto same = first->contacts()->pull_contacts({"contacts", p1->next_cursor, 0});
  REQUIRE(p2);
  REQUIRE(same);
  CHECK(p2->items.size() == 500);
  REQUIRE(p2->rejects.size() == 1);
  CHECK(p2->rejects[0].error == "line 1502: id \"r7\" is already on line 8");
  REQUIRE(same->rejects.size() == 1);
  CHECK(same->rejects[0].error == p2->rejects[0].error);
  CHECK(same->next_cursor == p2->next_cursor);
}

TEST_CASE("csv-contacts reads every column of a mapped email or phone name an export repeats", "[csv]") {
  Scratch dir;
  const auto file = dir.path / "people.csv";
  write(file,
        "id,name,email,updated,email\nr1,Ann,,2024-01-01,ann@example.com\nr2,Bo,bo@example.com,2024-01-01,"
        "bo2@example.com\n");
  auto adapter = adapters::create_adapter(simple_config(file), "DE");
  StateStore store(":memory:");
  REQUIRE_FALSE(pull_one("people", *adapter, store).error);
  CHECK(keys(*store.records().contact("people", "r1")) == std::vector<std::string>{"email:ann@example.com"});
  CHECK(keys(*store.records().contact("people", "r2")) ==
        std::vector<std::string>{"email:bo@example.com", "email:bo2@example.com"});
}

TEST_CASE("csv-contacts skips spreadsheets' empty rows, reports a repeated header, reads several addresses a cell",
          "[csv]") {
  Scratch dir;
  const auto file = dir.path / "people.csv";
  write(file,
        "id,name,email,updated\nr1,Ann,\"ann@example.com, ann.b@example.com\",2024-01-01\n,,,\n ,, ,\n"
        "id,name,email,updated\nr2,Bo,bo@example.com;bo2@example.com,2024-01-01,,\n");  // a trailing delimiter
  auto adapter = adapters::create_adapter(simple_config(file), "DE");
  StateStore store(":memory:");
  const auto stats = pull_one("people", *adapter, store);
  REQUIRE_FALSE(stats.error);
  CHECK(stats.received == 2);
  CHECK(stats.rejected == 1);
  const auto letters = store.records().dead_letters("people");
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].error == "line 5: the header line again (two exports joined into one file?); skipped");
  CHECK(keys(*store.records().contact("people", "r1")) ==
        std::vector<std::string>{"email:ann@example.com", "email:ann.b@example.com"});
  CHECK(keys(*store.records().contact("people", "r2")) ==
        std::vector<std::string>{"email:bo@example.com", "email:bo2@example.com"});
}

TEST_CASE("a contacts-only pull into an empty store loads no messages in bulk", "[csv]") {
  Scratch dir;
  const auto file = dir.path / "people.csv";
  write(file, rows(1, 5));
  auto adapter = adapters::create_adapter(simple_config(file), "DE");
  StateStore store((dir.path / "state.db").string());
  std::optional<bool> loading;  // seen while the stream's pages are committed
  PullOptions opts;
  opts.stream_committed = [&](const std::string&, const std::string&) { loading = store.records().bulk_loading(); };
  const auto stats = pull_connectors({{"people", adapter.get(), ""}}, store, opts);
  REQUIRE(stats.size() == 1);
  REQUIRE_FALSE(stats[0].error);
  REQUIRE(loading.has_value());
  CHECK_FALSE(*loading);  // the messages' indexes stayed: nothing said "a first pull is loading messages"
}

TEST_CASE("csv-contacts says what a header it cannot read probably means", "[csv]") {
  Scratch dir;
  const auto file = dir.path / "people.csv";
  const auto error_of = [&](const EndpointConfig& cfg) {
    auto page = adapters::create_adapter(cfg, "DE")->contacts()->pull_contacts({"contacts", "", 0});
    REQUIRE_FALSE(page);
    return page.error();
  };
  write(file, "id;name;email;updated\nr1;Ann;ann@example.com;2024-01-01\n");
  CHECK_THAT(error_of(simple_config(file)).message, Catch::Contains("set connectors.people.delimiter = \";\""));
  write(file, "\xEF\xBB\xBFid,name,email,updated\nr1,Ann,ann@example.com,2024-01-01\n");
  auto latin = simple_config(file);
  latin.options["encoding"] = "windows-1252";
  CHECK_THAT(error_of(latin).message, Catch::Contains("UTF-8 byte order mark: set connectors.people.encoding"));
  write(file, "");
  const auto empty = error_of(simple_config(file));
  CHECK(empty.code == Errc::protocol);  // a failed export, not a wrong config
  CHECK_THAT(empty.message, Catch::Contains("is empty"));
}

TEST_CASE("csv-contacts does nothing when the file is unchanged since the last complete pull", "[csv]") {
  Scratch dir;
  const auto file = dir.path / "people.csv";
  write(file, rows(1, 5));
  auto adapter = adapters::create_adapter(simple_config(file), "DE");
  StateStore store(":memory:");
  auto first = pull_one("people", *adapter, store);
  REQUIRE_FALSE(first.error);
  CHECK(first.received == 5);
  auto again = pull_one("people", *adapter, store);
  REQUIRE_FALSE(again.error);
  CHECK(again.pages == 1);
  CHECK(again.received == 0);
  CHECK(again.written == 0);
}

TEST_CASE("csv-contacts re-reads a changed file without duplicating anyone", "[csv]") {
  Scratch dir;
  const auto file = dir.path / "people.csv";
  write(file, rows(1, 5));
  auto adapter = adapters::create_adapter(simple_config(file), "DE");
  StateStore store(":memory:");
  REQUIRE_FALSE(pull_one("people", *adapter, store).error);
  std::string changed = rows(1, 6);
  changed.replace(changed.find("Person 2"), 8, "Renamed");
  write(file, changed);
  const auto stats = pull_one("people", *adapter, store);
  REQUIRE_FALSE(stats.error);
  CHECK(stats.received == 6);
  CHECK(stats.written == 2);  // the renamed one and the new one
  CHECK(store.records().contact("people", "r2")->first_name == "Renamed");
  CHECK(store.identity().input({}).contacts.size() == 6);
  CHECK(store.records().dead_letters("people").empty());
}

TEST_CASE("csv-contacts pages by rows and restarts from the top when the file changes mid-pull", "[csv]") {
  Scratch dir;
  const auto file = dir.path / "people.csv";
  write(file, rows(1, 2500));
  auto adapter = adapters::create_adapter(simple_config(file), "DE");
  auto* source = adapter->contacts();
  auto p1 = source->pull_contacts({"contacts", "", 0});
  REQUIRE(p1);
  CHECK(p1->items.size() == 1000);
  CHECK_FALSE(p1->done);
  CHECK(p1->next_cursor.find(':') == 64);
  auto p2 = source->pull_contacts({"contacts", p1->next_cursor, 0});
  REQUIRE(p2);
  CHECK(p2->items.front().id == "r1001");
  auto p3 = source->pull_contacts({"contacts", p2->next_cursor, 0});
  REQUIRE(p3);
  CHECK(p3->items.size() == 500);
  CHECK(p3->done);
  CHECK(p3->next_cursor == p1->next_cursor.substr(0, 64));  // a finished pass: the hash alone

  write(file, rows(1, 2501));
  auto restarted = source->pull_contacts({"contacts", p1->next_cursor, 0});
  REQUIRE(restarted);
  CHECK(restarted->items.front().id == "r1");
  CHECK(restarted->next_cursor.substr(0, 64) != p1->next_cursor.substr(0, 64));
}

TEST_CASE("csv-contacts probe: ok for a readable file with the mapped columns, else says what is wrong", "[csv]") {
  Scratch dir;
  {
    auto ok = adapters::create_adapter(csv_config(fixture_path("contacts.csv")), "DE")->probe();
    INFO(ok.summary);
    CHECK(ok.cls == HealthClass::ok);
    CHECK(ok.type == "csv-contacts");
  }
  {
    auto missing = adapters::create_adapter(csv_config(dir.path / "nope.csv"), "DE")->probe();
    CHECK(missing.cls == HealthClass::unreachable);
    CHECK(missing.summary.find("No such file or directory") != std::string::npos);
  }
  {
    auto cfg = csv_config(fixture_path("contacts.csv"), {{"columns", {{"phone", {"Phone Number", "Fax"}}}}});
    auto adapter = adapters::create_adapter(cfg, "DE");
    auto r = adapter->probe();
    CHECK(r.cls != HealthClass::ok);
    CHECK(r.summary.find("column \"Fax\" (connectors.people.columns.phone) is not in the header on line 1") !=
          std::string::npos);
    CHECK(r.summary.find("\"Record ID\", \"First Name\"") != std::string::npos);
    auto page = adapter->contacts()->pull_contacts({"contacts", "", 0});
    REQUIRE_FALSE(page);
    CHECK(page.error().code == Errc::config);
  }
}

TEST_CASE("csv-contacts refuses an encoding it cannot split safely at setup", "[csv]") {
  CHECK_THROWS_AS(adapters::create_adapter(csv_config(fixture_path("contacts.csv"), {{"encoding", "UTF-16LE"}}), "DE"),
                  Failure);
}

TEST_CASE("csv-contacts config: a relative path, a tab delimiter, the defaults and the columns table", "[csv]") {
  Scratch dir;
  write(dir.path / "people.tsv", "id\tname\tmail\n7\tIda\tida@example.com\n");
  const auto toml = dir.path / "sync.toml";
  auto load = [&](const std::string& text) {
    write(toml, text);
    const auto types = adapters::type_specs();
    return load_config(ConfigInputs{toml.string(), std::nullopt,
                                    [](const std::string&) -> std::optional<std::string> { return std::nullopt; },
                                    types, true});
  };
  const auto cfg = load(
      "[connectors.people]\ntype = \"csv-contacts\"\npath = \"people.tsv\"\ndelimiter = \"\\t\"\n"
      "columns = { id = \"id\", first_name = \"name\", email = \"mail\" }\n");
  REQUIRE(cfg.connectors.size() == 1);
  const auto& ep = cfg.connectors[0];
  CHECK(ep.options.at("path") == (dir.path / "people.tsv").string());
  CHECK(ep.options.at("encoding") == "UTF-8");
  CHECK(ep.options.at("columns") == nlohmann::json{{"id", "id"}, {"first_name", "name"}, {"email", {"mail"}}});
  auto page = adapters::create_adapter(ep, "DE")->contacts()->pull_contacts({"contacts", "", 0});
  REQUIRE(page);
  REQUIRE(page->items.size() == 1);
  CHECK(page->items[0].first_name == "Ida");
  CHECK(keys(page->items[0]) == std::vector<std::string>{"email:ida@example.com"});
  // Each mistake is a config error (exit 78) that names the key and what would be right.
  const auto refused = [&](const std::string& body) {
    try {
      load("[connectors.people]\ntype = \"csv-contacts\"\npath = \"people.tsv\"\n" + body);
    } catch (const Failure& e) {
      CHECK(e.error().code == Errc::config);
      return std::string(e.what());
    }
    FAIL("loaded: " << body);
    return std::string();
  };
  CHECK_THAT(refused(""), Catch::Contains("missing the required key \"columns\""));
  CHECK_THAT(refused("columns = { first_name = \"name\" }\n"),
             Catch::Contains("sync.toml:4: connectors.people.columns is missing the required key \"id\""));
  CHECK_THAT(refused("columns = { id = \"id\", emial = \"mail\" }\n"),
             Catch::Contains("connectors.people.columns: unknown key \"emial\" (did you mean \"email\"?); the keys are "
                             "id, first_name, last_name, email, phone, updated_at, birth_date, postal_code, city, "
                             "street"));
  CHECK_THAT(refused("columns = \"id\"\n"), Catch::Contains("connectors.people.columns must be a table"));
  CHECK_THAT(refused("columns = { id = [\"a\", \"b\"] }\n"),
             Catch::Contains("connectors.people.columns.id must be a string"));
  CHECK_THAT(refused("columns = { id = \"id\", phone = [\"a\", 5] }\n"),
             Catch::Contains("connectors.people.columns.phone must be a list of strings"));
  CHECK_THAT(
      refused("email_columns = [\"mail\"]\ncolumns = { id = \"id\" }\n"),
      Catch::Contains("unknown key \"email_columns\"; it is now written inside a table: columns = { email = ... }"));
  // As `config show` prints it: an inline table.
  const auto shown = std::find_if(cfg.settings.begin(), cfg.settings.end(),
                                  [](const Setting& s) { return s.key == "connectors.people.columns"; });
  REQUIRE(shown != cfg.settings.end());
  CHECK(shown->value == R"({ email = ["mail"], first_name = "name", id = "id" })");
  CHECK(shown->origin == "file:" + toml.string() + ":5");
}

TEST_CASE(
    "csv-contacts reads the attribute columns, normalised; a birth date that is not one is reported and left "
    "out, the contact stored",
    "[csv]") {
  EndpointConfig cfg{"people", "csv-contacts"};
  cfg.options = {{"path", fixture_path("attributes.csv").string()},
                 {"columns",
                  {{"id", "id"},
                   {"first_name", "name"},
                   {"email", "email"},
                   {"birth_date", "Date of Birth"},
                   {"postal_code", "ZIP"},
                   {"city", "City"},
                   {"street", "Street"}}}};
  auto adapter = adapters::create_adapter(cfg, "DE");
  StateStore store(":memory:");
  const auto stats = pull_one("people", *adapter, store);
  REQUIRE_FALSE(stats.error);
  CHECK(stats.received == 3);
  CHECK(stats.rejected == 1);
  CHECK(store.records().contact("people", "a1")->attributes ==
        ContactAttributes{"1815-12-10", "W1J 7NT", "London", "12 St James's Square"});
  const auto bob = store.records().contact("people", "a2");
  REQUIRE(bob);
  CHECK(keys(*bob) == std::vector<std::string>{"email:bob@example.com"});
  CHECK(bob->attributes == ContactAttributes{"", "10115", "Berlin", "Invalidenstraße 1"});
  CHECK(store.records().contact("people", "a3")->attributes.empty());
  const auto letters = store.records().dead_letters("people");
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].record_id == "a2");
  CHECK(letters[0].error ==
        "line 3: birth_date \"10.12.1815\" in column \"Date of Birth\" is not a date (YYYY-MM-DD such as 1990-05-17); "
        "the contact is stored without it");
  CHECK(letters[0].raw == "a2,Bob,bob@example.com,10.12.1815,10115,Berlin,Invalidenstraße 1");
}

TEST_CASE("csv-contacts reads an unchanged file again when its column mapping changes", "[csv]") {
  Scratch dir;
  const auto file = dir.path / "people.csv";
  write(file, "id,name,city\nr1,Ida,Bonn\n");
  StateStore store(":memory:");
  EndpointConfig cfg{"people", "csv-contacts"};
  cfg.options = {{"path", file.string()}, {"columns", {{"id", "id"}, {"first_name", "name"}}}};
  REQUIRE(pull_one("people", *adapters::create_adapter(cfg, "DE"), store).received == 1);
  CHECK(pull_one("people", *adapters::create_adapter(cfg, "DE"), store).received == 0);  // nothing new
  cfg.options["columns"]["city"] = "City";
  const auto bad = pull_one("people", *adapters::create_adapter(cfg, "DE"), store);
  REQUIRE(bad.error);  // "City" is not in the header: nothing read, the cursor kept
  CHECK(bad.error->code == Errc::config);
  cfg.options["columns"]["city"] = "city";
  const auto stats = pull_one("people", *adapters::create_adapter(cfg, "DE"), store);
  REQUIRE_FALSE(stats.error);
  CHECK(stats.received == 1);
  CHECK(stats.written == 1);
  CHECK(store.records().contact("people", "r1")->attributes.city == "Bonn");
}
