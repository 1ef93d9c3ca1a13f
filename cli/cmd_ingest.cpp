#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "adapters/registry.hpp"
#include "cli/output.hpp"
#include "cli/session.hpp"
#include "sync/ingest.hpp"

namespace chansync::cli {

void add_ingest(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("ingest", "import captured webhook payloads (one JSON per line) for a connector");
  auto name = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  cmd->add_option("NAME", *name, "connector the payloads belong to")->required();
  cmd->add_option("FILE", *file, "file of payloads, one per line; - reads stdin")->required()->type_name("FILE");
  cmd->callback([&ctx, name, file] {
    ctx.action = [&ctx, name, file] {
      require_format(ctx.global.output, {"table", "json"}, "ingest");
      std::ifstream in_file;
      if (*file != "-") {
        std::error_code ec;
        if (std::filesystem::is_directory(*file, ec))
          throw Failure(Errc::usage, fmt::format("{} is a directory; give a file of payloads, one JSON per line, or - "
                                                 "for stdin",
                                                 *file));
        in_file.open(*file, std::ios::binary);
        if (!in_file)
          throw Failure(Errc::usage, fmt::format("cannot read {}: {}; give a readable file of payloads, or - for "
                                                 "stdin",
                                                 *file, std::strerror(errno)));
      }
      Session s = open_session(ctx.global, "ingest", Needs::new_store);
      // Mapping payloads needs no secret: the adapter is built without reading any.
      const auto adapter =
          adapters::create_adapter(*chosen(s.config.connectors, {*name}, "connector").front(), s.config.default_region);
      SyncReport r;
      r.pulls.push_back(ingest_payloads(*name, *adapter, *s.store, *file == "-" ? std::cin : in_file));
      print_run_report(r, ctx.global);
      return outcome(r.failures(), r.pulls.size(), r.first_error());
    };
  });
}

}  // namespace chansync::cli
