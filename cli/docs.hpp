#pragma once
// Reference documentation generated from the adapter registry's type specs: the per-type KEYS of
// chansync.conf(5), the option tables of chansync-adapters(7) and schemas/config.schema.json. The
// prose around them stays hand-written. tests/cli/docs_test.cpp compares the committed files with
// this output, and rewrites them when CHANSYNC_UPDATE_DOCS=1 is set, so the registry is the one
// source of every key, type, default and requirement.
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "sync/config.hpp"

namespace chansync::cli {

// The roff comment lines around a generated region of a man page.
inline constexpr std::string_view k_generated_begin =
    R"(.\" BEGIN GENERATED: chansync docs (do not edit; run CHANSYNC_UPDATE_DOCS=1 build/tests/chansync_tests "[docs]"))";
inline constexpr std::string_view k_generated_end = R"(.\" END GENERATED)";

// `text` as roff input text: "\" as \e, "-" as \- (a minus, which copies as ASCII), non-ASCII as
// \[uXXXX], a line break as a space, and a leading "." or "'" (a request) neutralised with \&.
std::string roff_escape(std::string_view text);

// The KEYS entries of chansync.conf(5) for every type: a .SS per type naming its table
// ([connectors.NAME] or [targets.NAME]), then one .TP per key with its value type, whether it is
// required, its default and its help. A secret KEY is documented as KEY_env, KEY_file.
std::string conf_keys_roff(std::span<const TypeSpec> types);

// The option tables of chansync-adapters(7): per type a .SS with summary and roles and a tbl(1)
// table (key, type, required, default). The page must start with '\" t so man runs tbl.
std::string adapter_tables_roff(std::span<const TypeSpec> types);

// schemas/config.schema.json (JSON Schema 2020-12), ending in a newline. Per type: unknown keys
// rejected, required options required, secrets only as KEY_env or KEY_file (exactly one when
// required, at most one otherwise), value types checked. [state] and [identity] are not adapter
// options: they come from a fixed fragment here, mirroring sync/config.cpp.
std::string config_schema_json(std::span<const TypeSpec> types);

// `page` with the lines between its k_generated_begin and k_generated_end lines replaced by `block`
// (which ends in a newline). nullopt when the page lacks either marker or has one twice.
std::optional<std::string> splice_generated(std::string_view page, std::string_view block);

// The lines between the markers (nullopt as for splice_generated).
std::optional<std::string> generated_region(std::string_view page);

}  // namespace chansync::cli
