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
      // What is refused is refused before a store is made: the connector, and a compressed file (stdin's
      // first line is looked at by ingest_payloads).
      if (in_file.is_open()) {
        char magic[2] = {};
        in_file.read(magic, 2);
        if (in_file.gcount() == 2 && magic[0] == '\x1f' && magic[1] == '\x8b')
          throw Failure(Errc::usage, fmt::format("{} is gzip-compressed; decompress it first: zcat {} | chansync "
                                                 "ingest {} -",
                                                 *file, *file, *name));
        in_file.clear();
        in_file.seekg(0);
      }
      Session c = open_session(ctx.global, "ingest", Needs::config_only);
      // Mapping payloads needs no secret: the adapter is built without reading any.
      const auto adapter =
          adapters::create_adapter(*chosen(c.config.connectors, {*name}, "connector").front(), c.config.default_region);
      require_webhooks(*name, *adapter);
      Session s = open_session(ctx.global, "ingest", Needs::new_store);
      SyncReport r;
      r.pulls.push_back(ingest_payloads(*name, *adapter, *s.store, *file == "-" ? std::cin : in_file));
      print_run_report(r, ctx.global);
      return outcome(r.failures(), r.pulls.size(), r.first_error());
    };
  });
}

}  // namespace chansync::cli
