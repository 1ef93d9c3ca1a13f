#include "cli/docs.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "adapters/registry.hpp"
#include "cli/app.hpp"

using namespace chansync;

namespace {

std::string source_path(const std::string& rel) {
  return std::string(CHANSYNC_SOURCE_DIR) + "/" + rel;
}

std::string read(const std::string& rel) {
  std::ifstream in(source_path(rel));
  if (!in) return {};
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// "" when equal; otherwise the first line that differs, both ways, for the failure message.
std::string first_difference(const std::string& committed, const std::string& generated) {
  if (committed == generated) return "";
  const auto a = lines(committed), b = lines(generated);
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    const std::string x = i < a.size() ? a[i] : "<end of file>", y = i < b.size() ? b[i] : "<end of file>";
    if (x != y) return "line " + std::to_string(i + 1) + ":\n  committed: " + x + "\n  generated: " + y;
  }
  return "they differ only in the final newline";
}

// The committed file must equal the generated text; with CHANSYNC_UPDATE_DOCS=1 it is rewritten.
void check_generated(const std::string& rel, const std::string& generated) {
  const char* update = std::getenv("CHANSYNC_UPDATE_DOCS");
  if (update && std::string(update) == "1") {
    if (read(rel) != generated) {
      std::ofstream(source_path(rel), std::ios::binary) << generated;
      WARN("rewrote " << rel << " from the registry; review it with git diff");
    }
    return;
  }
  INFO(rel << " is not what the registry generates; run CHANSYNC_UPDATE_DOCS=1 build/tests/chansync_tests "
              "\"[docs]\" and review the diff");
  CHECK(first_difference(read(rel), generated) == "");
}

// The page with its generated region replaced by `block`; fails when the markers are missing.
std::string page_with(const std::string& rel, const std::string& block) {
  INFO(rel << " needs exactly one pair of lines " << cli::k_generated_begin << " / " << cli::k_generated_end);
  auto page = cli::splice_generated(read(rel), block);
  REQUIRE(page);
  return *page;
}

// The page without its generated region: what is written by hand.
std::string hand_written(const std::string& rel) {
  return page_with(rel, "");
}

// Long options named on the line after each .TP in the OPTIONS section.
std::set<std::string> man_options(const std::string& page) {
  std::set<std::string> out;
  const auto start = page.find(".SH OPTIONS");
  if (start == std::string::npos) return out;
  const auto end = page.find(".SH ", start + 4);
  std::istringstream in(page.substr(start, end - start));
  std::string line;
  bool tagged = false;
  static const std::regex opt(R"(\\-\\-([a-z](?:[a-z]|\\-)*))");
  while (std::getline(in, line)) {
    if (tagged)
      for (std::sregex_iterator it(line.begin(), line.end(), opt), e; it != e; ++it) {
        std::string name = (*it)[1];
        std::erase(name, '\\');  // roff writes "-" as "\-"
        out.insert(name);
      }
    tagged = line.starts_with(".TP");
  }
  return out;
}

std::set<std::string> cli_options(const CLI::App* app) {
  std::set<std::string> out;
  for (const CLI::Option* o : app->get_options())
    for (const auto& l : o->get_lnames())
      if (l != "help") out.insert(l);
  for (const CLI::App* sub : app->get_subcommands({})) {
    auto nested = cli_options(sub);
    out.insert(nested.begin(), nested.end());
  }
  return out;
}

std::vector<const CLI::App*> visible_subcommands(const CLI::App* app) {
  std::vector<const CLI::App*> out;
  for (const CLI::App* sub : app->get_subcommands({}))
    if (!sub->get_group().empty()) out.push_back(sub);
  return out;
}

const CLI::App* visible_subcommand(const CLI::App* app, const std::string& name) {
  for (const CLI::App* sub : visible_subcommands(app))
    if (sub->get_name() == name) return sub;
  return nullptr;
}

// The option a README token such as "[--dry-run]" or "-o" names, on `app` or above it.
const CLI::Option* option_named(std::string token, std::initializer_list<const CLI::App*> apps) {
  std::erase_if(token, [](char c) { return c == '[' || c == ']'; });
  for (const CLI::App* a : apps)
    if (const CLI::Option* o = a->get_option_no_throw(token)) return o;
  return nullptr;
}

std::string generated_block(const std::string& page) {
  auto region = cli::generated_region(page);
  REQUIRE(region);
  return *region;
}

}  // namespace

TEST_CASE("every visible subcommand has a man page whose OPTIONS list exactly its options", "[docs]") {
  cli::Context ctx;
  auto app = cli::build_app(ctx);
  std::set<std::string> top;
  for (const CLI::Option* o : app->get_options())
    for (const auto& l : o->get_lnames())
      if (l != "help") top.insert(l);
  CHECK(man_options(read("man/chansync.1")) == top);
  for (const CLI::App* sub : visible_subcommands(app.get())) {
    INFO("man/chansync-" << sub->get_name() << ".1");
    const std::string page = read("man/chansync-" + sub->get_name() + ".1");
    REQUIRE_FALSE(page.empty());
    CHECK(man_options(page) == cli_options(sub));
  }
}

TEST_CASE("README's Use section shows every visible (sub)command as `chansync ... NAME`, with real options", "[docs]") {
  cli::Context ctx;
  auto app = cli::build_app(ctx);
  const std::string readme = read("README.md");
  const auto use = readme.find("\n## Use\n");
  REQUIRE(use != std::string::npos);
  const auto open = readme.find("```sh\n", use);
  REQUIRE(open != std::string::npos);
  const auto body = open + 6;
  const std::string block = readme.substr(body, readme.find("```", body) - body);

  std::set<std::string> shown;  // "sync", "state show", ...
  for (std::string line : lines(block)) {
    INFO("README Use line: " << line);
    line = line.substr(0, line.find(" #"));
    // "state show | state reset NAME": alternatives after " | " repeat the command without "chansync".
    std::vector<std::string> segments;
    for (std::size_t at = 0;;) {
      const auto bar = line.find(" | ", at);
      segments.push_back(line.substr(at, bar == std::string::npos ? std::string::npos : bar - at));
      if (bar == std::string::npos) break;
      at = bar + 3;
    }
    for (std::size_t s = 0; s < segments.size(); ++s) {
      const auto w = words(segments[s]);
      std::size_t i = 0;
      if (s == 0) {
        REQUIRE(!w.empty());
        REQUIRE(w[0] == "chansync");
        for (i = 1; i < w.size() && w[i].starts_with("-"); ++i) {
          const CLI::Option* o = option_named(w[i], {app.get()});
          INFO("global option " << w[i]);
          REQUIRE(o);
          if (o->get_type_size_max() > 0) ++i;  // its value
        }
      }
      REQUIRE(i < w.size());
      const CLI::App* cmd = visible_subcommand(app.get(), w[i]);
      INFO("command " << w[i]);
      REQUIRE(cmd);
      std::string name = cmd->get_name();
      const CLI::App* leaf = cmd;
      if (!visible_subcommands(cmd).empty()) {
        REQUIRE(i + 1 < w.size());
        leaf = visible_subcommand(cmd, w[++i]);
        INFO("subcommand " << w[i]);
        REQUIRE(leaf);
        name += " " + leaf->get_name();
      }
      shown.insert(name);
      for (++i; i < w.size(); ++i)
        if (w[i].starts_with("-") || w[i].starts_with("[-")) {
          INFO("option " << w[i] << " of " << name);
          CHECK(option_named(w[i], {leaf, cmd, app.get()}));
        }
    }
  }
  std::set<std::string> want;
  for (const CLI::App* sub : visible_subcommands(app.get())) {
    want.insert(sub->get_name());
    for (const CLI::App* leaf : visible_subcommands(sub)) want.insert(sub->get_name() + " " + leaf->get_name());
  }
  std::set<std::string> commands;  // top-level names of what README shows, and the pairs
  for (const auto& s : shown) {
    commands.insert(s.substr(0, s.find(' ')));
    commands.insert(s);
  }
  CHECK(commands == want);
}

TEST_CASE("the per-type KEYS of chansync.conf(5) are generated from the registry", "[docs]") {
  const auto specs = adapters::type_specs();
  check_generated("man/chansync.conf.5", page_with("man/chansync.conf.5", cli::conf_keys_roff(specs)));
}

TEST_CASE("the option tables of chansync-adapters(7) are generated from the registry", "[docs]") {
  const auto specs = adapters::type_specs();
  check_generated("man/chansync-adapters.7", page_with("man/chansync-adapters.7", cli::adapter_tables_roff(specs)));
  CHECK(read("man/chansync-adapters.7").starts_with("'\\\" t\n"));  // man runs tbl(1) only when asked
}

TEST_CASE("every adapter type has hand-written notes in chansync-adapters(7)", "[docs]") {
  const std::string notes = hand_written("man/chansync-adapters.7");
  for (const auto& t : adapters::registry()) {
    INFO(t.spec.type << ": add a .TP entry for it to the TYPES section");
    CHECK(notes.find("\n.TP\n" + cli::roff_escape(t.spec.type) + "\n") != std::string::npos);
  }
}

TEST_CASE("schemas/config.schema.json is generated from the registry", "[docs]") {
  check_generated("schemas/config.schema.json", cli::config_schema_json(adapters::type_specs()));
}

TEST_CASE(
    "chansync.conf(5) describes by hand exactly the [state], [identity], [listen] and [health] keys of the schema",
    "[docs]") {
  // Not adapter options, so not generated: the page's hand-written KEYS and the schema's fixed
  // fragment must name the same keys.
  const auto schema = nlohmann::json::parse(cli::config_schema_json(adapters::type_specs()));
  std::set<std::string> fixed;
  for (const auto& [table, sub] : schema["properties"].items())
    if (sub.contains("properties"))
      for (const auto& [key, _] : sub["properties"].items()) fixed.insert(table + "." + key);
  CHECK(fixed == std::set<std::string>{"health.eol_warning_days", "health.expiry_warning_days",
                                       "health.recovery_checks", "health.recovery_minutes", "identity.auto_merge_above",
                                       "identity.blocked", "identity.default_region", "identity.limits",
                                       "listen.address", "listen.spool_dir", "state.path"});

  const std::string page = hand_written("man/chansync.conf.5");
  const auto start = page.find(".SH KEYS\n");
  REQUIRE(start != std::string::npos);
  std::set<std::string> documented;
  std::string table;
  bool tagged = false;
  static const std::regex heading(R"(^\.SS \[([a-z_]+)\]$)"), key(R"(^\\fB([a-z_]+)\\fR)");
  for (const auto& line : lines(page.substr(start, page.find("\n.SH ", start + 1) - start))) {
    std::smatch m;
    if (std::regex_search(line, m, heading)) table = m[1];
    if (tagged && std::regex_search(line, m, key)) documented.insert(table + "." + std::string(m[1]));
    tagged = line == ".TP";
  }
  CHECK(documented == fixed);
}

// Every command that prints JSON (-o json or ndjson) and the schemas in schemas/ that describe it.
// The scenarios validate the real output against them with a JSON Schema validator.
const std::map<std::string, std::vector<std::string>> k_json_outputs = {
    {"config show", {"config-show"}},
    {"connectors types", {"connector-types"}},
    {"erase", {"erase"}},
    {"health", {"health"}},  // a run, or with --since the transitions
    {"ingest", {"run-report"}},
    {"persons list", {"person-summary"}},
    {"persons show", {"person"}},
    {"persons explain", {"explain"}},
    {"persons merge", {"decision"}},
    {"persons split", {"decision"}},
    {"persons undo", {"decision"}},
    {"persons decisions", {"decision"}},
    {"persons conflicts", {"conflicts"}},
    {"persons suggestions", {"suggestions"}},
    {"pull", {"run-report"}},
    {"push", {"run-report"}},
    {"push --show-parked", {"parked"}},
    {"push --verify", {"verify"}},
    {"reconcile", {"run-report"}},
    {"state show", {"state"}},
    {"state dead-letters", {"dead-letter"}},
    {"sync", {"run-report"}},
};

TEST_CASE("every command that prints JSON names its schema in its man page, and every schema is named", "[docs]") {
  // The commands: those whose require_format() allows json or ndjson, read from cli/*.cpp.
  std::set<std::string> printing_json;
  const std::regex call(R"re(require_format\([^{]*\{([^}]*)\},\s*"([^"]+)"\))re");
  for (const auto& f : std::filesystem::directory_iterator(source_path("cli"))) {
    if (f.path().extension() != ".cpp") continue;
    const std::string text = read("cli/" + f.path().filename().string());
    for (std::sregex_iterator it(text.begin(), text.end(), call), end; it != end; ++it)
      if ((*it)[1].str().find("json") != std::string::npos) printing_json.insert((*it)[2].str());
  }
  std::set<std::string> listed;
  for (const auto& [command, schemas] : k_json_outputs) listed.insert(command);
  CHECK(printing_json == listed);

  std::set<std::string> named;
  for (const auto& [command, schemas] : k_json_outputs) {
    const std::string page = "man/chansync-" + words(command).front() + ".1";
    for (const auto& schema : schemas) {
      INFO(command << ": " << page << " should name schemas/" << schema << ".schema.json");
      std::string escaped = "schemas/" + schema + ".schema.json";
      for (std::size_t at = 0; (at = escaped.find('-', at)) != std::string::npos; at += 2) escaped.insert(at, "\\");
      CHECK(read(page).find(escaped) != std::string::npos);
      named.insert(schema);
    }
  }
  // Every schema is valid JSON whose $id is its file name, and each is an output's or a file's.
  for (const auto& f : std::filesystem::directory_iterator(source_path("schemas"))) {
    const std::string file = f.path().filename().string();
    INFO(file);
    const auto schema = nlohmann::json::parse(read("schemas/" + file));
    CHECK(schema.at("$id") == "https://chansync.dev/schemas/" + file);
    const std::string name = file.substr(0, file.find('.'));
    // config: the configuration file's; deletion: what a target receives for a person gone.
    CHECK((named.contains(name) || name == "config" || name == "deletion"));
  }
}

TEST_CASE("roff_escape keeps registry text from being read as roff", "[docs]") {
  CHECK(cli::roff_escape("a-b") == "a\\-b");
  CHECK(cli::roff_escape("C:\\dir") == "C:\\edir");
  CHECK(cli::roff_escape(".hidden") == "\\&.hidden");
  CHECK(cli::roff_escape("'quote'") == "\\&'quote'");
  CHECK(cli::roff_escape("x.y 'z'") == "x.y 'z'");
  CHECK(cli::roff_escape("AC\u2026") == "AC\\[u2026]");
  CHECK(cli::roff_escape("two\nlines") == "two lines");

  TypeSpec odd{".odd-type",
               "'quoted' summary",
               {Role::conversations},
               {{".key", ".starts with a dot\n.TH and a request", OptionSpec::Kind::string, true, false, nullptr},
                {"token", "back\\slash", OptionSpec::Kind::string, true, true, nullptr}}};
  const std::vector<TypeSpec> specs = {odd};
  for (const std::string& out : {cli::conf_keys_roff(specs), cli::adapter_tables_roff(specs)})
    for (const auto& line : lines(out)) {
      INFO(line);
      // Every request line is one the generator means to write; text never starts a request.
      if (line.starts_with(".") || line.starts_with("'")) {
        static const std::regex requests(R"(^\.(SS|TP|TS|TE)( |$))");
        CHECK(std::regex_search(line, requests));
      }
      CHECK(line.find("\\\\") == std::string::npos);  // a backslash is \e, never a doubled escape
    }
  CHECK(cli::conf_keys_roff(specs).find("\\fBtoken_env\\fR, \\fBtoken_file\\fR (secret, required") !=
        std::string::npos);
}

TEST_CASE("splice_generated replaces only the marked region and refuses pages without one pair", "[docs]") {
  const std::string begin(cli::k_generated_begin), end(cli::k_generated_end);
  const std::string page = ".TH X 5\n" + begin + "\nold\n" + end + "\n.SH SEE ALSO\n";
  CHECK(cli::splice_generated(page, "new\n") == ".TH X 5\n" + begin + "\nnew\n" + end + "\n.SH SEE ALSO\n");
  CHECK(cli::generated_region(page) == "old\n");
  CHECK_FALSE(cli::splice_generated(".TH X 5\n" + begin + "\nold\n", "new\n"));
  CHECK_FALSE(cli::splice_generated(page + begin + "\n" + end + "\n", "new\n"));
  CHECK_FALSE(cli::splice_generated(end + "\n" + begin + "\n", "new\n"));
}

TEST_CASE("the generated man regions are what a reader sees under KEYS and OPTION TABLES", "[docs]") {
  // The regions sit inside the sections that name them, not in a stray spot of the page.
  const std::string conf = read("man/chansync.conf.5"), adapters_page = read("man/chansync-adapters.7");
  const std::string conf_block = generated_block(conf), table_block = generated_block(adapters_page);
  REQUIRE_FALSE(conf_block.empty());
  REQUIRE_FALSE(table_block.empty());
  CHECK(conf.rfind(".SH ", conf.find(conf_block)) == conf.find(".SH KEYS\n"));
  CHECK(adapters_page.rfind(".SH ", adapters_page.find(table_block)) == adapters_page.find(".SH OPTION TABLES\n"));
}

TEST_CASE("committed completions equal `chansync completion <shell>`", "[docs]") {
  cli::Context ctx;
  auto app = cli::build_app(ctx);
  CHECK(read("completions/chansync.bash") == cli::completion_script(*app, "bash"));
  CHECK(read("completions/_chansync") == cli::completion_script(*app, "zsh"));
  CHECK(read("completions/chansync.fish") == cli::completion_script(*app, "fish"));
}

TEST_CASE("a table option's keys are documented under it, in the option tables and in the schema", "[docs]") {
  using K = OptionSpec::Kind;
  const TypeSpec t{"x-source",
                   "a test source",
                   {Role::contacts},
                   {{"columns",
                     "which column holds what",
                     K::table,
                     true,
                     false,
                     nullptr,
                     {},
                     {{"id", "the id column", K::string, true}, {"email", "the email columns", K::string_list}}}}};
  CHECK_THAT(cli::conf_keys_roff({&t, 1}),
             Catch::Contains("\\fBcolumns\\fR (table, required)\nWhich column holds what.\n.RS\n.TP\n"
                             "\\fBid\\fR (string, required)\nThe id column.\n.TP\n"
                             "\\fBemail\\fR (string or list of strings, optional)\nThe email columns.\n.RE\n"));
  CHECK_THAT(cli::adapter_tables_roff({&t, 1}),
             Catch::Contains("columns\ttable\tyes\t\\-\ncolumns.id\tstring\tyes\t\\-\n"
                             "columns.email\tstring or list of strings\tno\t\\-\n"));
  const auto schema = nlohmann::json::parse(cli::config_schema_json({&t, 1}));
  const auto& columns = schema["$defs"]["type-x-source"]["properties"]["columns"];
  CHECK(columns["type"] == "object");
  CHECK(columns["additionalProperties"] == false);
  CHECK(columns["required"] == nlohmann::json::array({"id"}));
  CHECK(columns["properties"]["email"]["anyOf"] ==
        nlohmann::json::parse(R"([{"type":"string"},{"type":"array","items":{"type":"string"}}])"));
  CHECK(schema["$defs"]["type-x-source"]["required"] == nlohmann::json::array({"type", "columns"}));
}
