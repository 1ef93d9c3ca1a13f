#pragma once
// Conformance harness pieces for csv-contacts (harnesses.cpp holds the row). The adapter reads a file
// and speaks no HTTP: the config writes the file into the harness's fresh directory.
#include <filesystem>

#include "tests/contract/harness.hpp"

namespace chansync::test {

// csv-contacts reading `file` with the recorded CRM export's columns (tests/fixtures/csv/contacts.csv).
EndpointConfig csv_export_config(const std::filesystem::path& file);
// The recorded CRM export without a base_url; with one (the multi-page case) 2,500 generated rows.
EndpointConfig csv_contacts_config(const std::string& base_url, const std::filesystem::path& dir);
// A path under a regular file: it cannot exist.
EndpointConfig csv_contacts_broken(const std::filesystem::path& dir);
// Never called: its presence asks the suite for the multi-page case.
Scripted csv_contacts_pages(const httplib::Request& req, std::size_t n);

}  // namespace chansync::test
