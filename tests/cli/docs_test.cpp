#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "adapters/registry.hpp"
#include "cli/app.hpp"

using namespace chansync;

namespace {

std::string read(const std::string& rel) {
  std::ifstream in(std::string(CHANSYNC_SOURCE_DIR) + "/" + rel);
  if (!in) return {};
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
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

}  // namespace

TEST_CASE("every visible subcommand has a man page whose OPTIONS list exactly its options") {
  cli::Context ctx;
  auto app = cli::build_app(ctx);
  std::set<std::string> top;
  for (const CLI::Option* o : app->get_options())
    for (const auto& l : o->get_lnames())
      if (l != "help") top.insert(l);
  CHECK(man_options(read("man/chansync.1")) == top);
  for (const CLI::App* sub : app->get_subcommands({})) {
    if (sub->get_group().empty()) continue;
    INFO("man/chansync-" << sub->get_name() << ".1");
    const std::string page = read("man/chansync-" + sub->get_name() + ".1");
    REQUIRE_FALSE(page.empty());
    CHECK(man_options(page) == cli_options(sub));
    CHECK(read("README.md").find("chansync") != std::string::npos);
    CHECK(read("README.md").find(" " + sub->get_name()) != std::string::npos);
  }
}

TEST_CASE("chansync.conf(5) documents every config key and chansync-adapters(7) every type") {
  const std::string conf = read("man/chansync.conf.5");
  const std::string adapters_page = read("man/chansync-adapters.7");
  for (const char* key : {"path", "default_region", "type"}) CHECK(conf.find(key) != std::string::npos);
  for (const auto& t : adapters::registry()) {
    INFO(t.spec.type);
    CHECK(adapters_page.find(t.spec.type) != std::string::npos);
    for (const auto& o : t.spec.options) {
      INFO(o.key);
      CHECK(conf.find(o.secret ? o.key + "_env" : o.key) != std::string::npos);
      if (o.secret) CHECK(conf.find(o.key + "_file") != std::string::npos);
    }
  }
}

TEST_CASE("committed completions equal `chansync completion <shell>`") {
  cli::Context ctx;
  auto app = cli::build_app(ctx);
  CHECK(read("completions/chansync.bash") == cli::completion_script(*app, "bash"));
  CHECK(read("completions/_chansync") == cli::completion_script(*app, "zsh"));
  CHECK(read("completions/chansync.fish") == cli::completion_script(*app, "fish"));
}
