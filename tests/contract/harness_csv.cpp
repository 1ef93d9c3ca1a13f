#include "tests/contract/harness_csv.hpp"

#include <fmt/format.h>

#include <fstream>

namespace chansync::test {

// csv-contacts speaks no HTTP: its config writes the file into the fresh directory. Without a server
// it is the recorded CRM export; with the multi-page "server" (a base_url nobody calls) 2,500 rows,
// three pages of the adapter's 1,000.
EndpointConfig csv_export_config(const std::filesystem::path& file) {
  EndpointConfig cfg{"people", "csv-contacts"};
  cfg.options = {{"path", file.string()},
                 {"columns",
                  {{"id", "Record ID"},
                   {"first_name", "First Name"},
                   {"last_name", "Last Name"},
                   {"email", {"Email", "Work Email"}},
                   {"phone", {"Phone Number", "Mobile Phone Number"}},
                   {"updated_at", "Last Modified Date"}}}};
  return cfg;
}

EndpointConfig csv_contacts_config(const std::string& base_url, const std::filesystem::path& dir) {
  const auto path = dir / "contacts.csv";
  std::string bytes = fixture("csv/contacts.csv");
  if (!base_url.empty()) {
    bytes = bytes.substr(0, bytes.find("\r\n") + 2);
    for (int i = 1; i <= 2500; ++i)
      bytes +=
          fmt::format("c{},First{},Last{},p{}@example.com,,030 {},,2024-01-01T00:00:00Z,\r\n", i, i, i, i, 1000000 + i);
  }
  std::ofstream(path, std::ios::binary) << bytes;
  return csv_export_config(path);
}

// A file under a regular file: it cannot exist.
EndpointConfig csv_contacts_broken(const std::filesystem::path& dir) {
  const auto file = dir / "a-regular-file";
  std::ofstream(file) << "not a directory\n";
  auto cfg = csv_contacts_config("", dir);
  cfg.options["path"] = (file / "contacts.csv").string();
  return cfg;
}

// Never called: its presence asks the suite for the multi-page case, which csv_contacts_config writes.
Scripted csv_contacts_pages(const httplib::Request&, std::size_t) {
  return {404, "csv-contacts reads a file and serves no HTTP"};
}

}  // namespace chansync::test
