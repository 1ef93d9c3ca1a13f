#include "cli/docs.hpp"

#include <fmt/format.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace chansync::cli {
namespace {

using Kind = OptionSpec::Kind;
using ojson = nlohmann::ordered_json;  // keeps the schema in the order it is written

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::string:
      return "string";
    case Kind::string_list:
      return "list of strings";
    case Kind::integer:
      return "integer";
    case Kind::path:
      return "path";
    case Kind::boolean:
      return "boolean";
    case Kind::table:
      return "table";
    case Kind::url:
      return "URL";
  }
  return "string";
}

// What a URL option takes, as a sentence's clause.
std::string url_rule(const OptionSpec& o) {
  return fmt::format(
      "scheme {}://; plain {}:// only to a loopback host (localhost, 127.0.0.0/8, [::1]) or with "
      "allow_plaintext = true",
      o.schemes.first, o.schemes.second);
}

// A regular expression matching `word` in any case: "http" → "[Hh][Tt][Tt][Pp]".
std::string any_case(std::string_view word) {
  std::string out;
  for (char c : word)
    if (c >= 'a' && c <= 'z')
      out += fmt::format("[{}{}]", static_cast<char>(c - 'a' + 'A'), c);
    else
      out += c;
  return out;
}

// A key of a table option: a list may be written as one string there.
const char* field_kind_name(Kind k) {
  return k == Kind::string_list ? "string or list of strings" : kind_name(k);
}

bool is_target(const TypeSpec& t) {
  return std::find(t.roles.begin(), t.roles.end(), Role::sink) != t.roles.end();
}

// load_config applies a default before it checks `required`, so only an option without a default
// must be written.
bool must_be_set(const OptionSpec& o) {
  return o.required && o.default_value.is_null();
}

// A default as it would be written in the TOML file.
std::string toml_value(const nlohmann::json& v) {
  return v.dump();
}

// Help text as a sentence: capitalised, with a full stop.
std::string sentence(std::string text) {
  if (!text.empty() && text[0] >= 'a' && text[0] <= 'z') text[0] = static_cast<char>(text[0] - 'a' + 'A');
  if (!text.empty() && text.back() != '.') text += '.';
  return text;
}

// A macro argument: roff text with the double quote that would end the argument escaped.
std::string roff_arg(std::string_view text) {
  std::string out;
  for (char c : roff_escape(text)) out += c == '"' ? std::string("\\(dq") : std::string(1, c);
  return out;
}

std::string bold(std::string_view key) {
  return "\\fB" + roff_escape(key) + "\\fR";
}

std::string section_of(const TypeSpec& t) {
  return is_target(t) ? "[targets.NAME]" : "[connectors.NAME]";
}

std::string roles_line(const TypeSpec& t) {
  return fmt::format("Roles: {}; declared as {}.{}", fmt::join(role_names(t.roles), ", "), section_of(t),
                     t.webhooks ? " Receives webhooks through chansync-listen(1)." : "");
}

// Byte offsets of the begin marker line's end and the end marker line's start.
std::optional<std::pair<std::size_t, std::size_t>> region(std::string_view page) {
  std::vector<std::size_t> begins, ends;
  std::size_t start = 0;
  while (start < page.size()) {
    const auto nl = page.find('\n', start);
    const auto end = nl == std::string_view::npos ? page.size() : nl;
    const auto line = page.substr(start, end - start);
    if (line == k_generated_begin) begins.push_back(std::min(end + 1, page.size()));
    if (line == k_generated_end) ends.push_back(start);
    start = end + 1;
  }
  if (begins.size() != 1 || ends.size() != 1 || begins[0] > ends[0]) return std::nullopt;
  return std::pair{begins[0], ends[0]};
}

// The JSON Schema of one (non-secret) option; a key of a table option when `in_table`.
ojson option_schema(const OptionSpec& o, bool in_table = false) {
  ojson p = {{"description", o.help}};
  const ojson strings = {{"type", "array"}, {"items", {{"type", "string"}}}};
  switch (o.kind) {
    case Kind::string:
    case Kind::path:
      p["type"] = "string";
      break;
    case Kind::url:
      p["type"] = "string";
      p["format"] = "uri";
      // Either scheme in any case, a host, no credentials.
      p["pattern"] = fmt::format("^({}|{})://[^/?#@]+([/?#]|$)", any_case(o.schemes.first), any_case(o.schemes.second));
      p["description"] = o.help + "; " + url_rule(o);
      break;
    case Kind::integer:
      p["type"] = "integer";
      break;
    case Kind::boolean:
      p["type"] = "boolean";
      break;
    case Kind::string_list:
      if (in_table)
        p["anyOf"] = ojson::array({{{"type", "string"}}, strings});
      else
        p.update(strings);
      break;
    case Kind::table: {
      ojson props = ojson::object(), required = ojson::array();
      for (const auto& f : o.fields) {
        props[f.key] = option_schema(f, true);
        if (f.required) required.push_back(f.key);
      }
      p["type"] = "object";
      p["properties"] = std::move(props);
      p["required"] = std::move(required);
      p["additionalProperties"] = false;
      break;
    }
  }
  if (!o.default_value.is_null()) p["default"] = ojson::parse(o.default_value.dump());
  if (!o.choices.empty()) p["enum"] = o.choices;
  return p;
}

}  // namespace

std::string roff_escape(std::string_view text) {
  std::string out;
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(text.data());
  const auto length = static_cast<std::int32_t>(text.size());
  for (std::int32_t i = 0; i < length;) {
    UChar32 c = 0;
    U8_NEXT(bytes, i, length, c);
    if (c < 0)
      out += "\\[uFFFD]";  // ill-formed UTF-8
    else if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else if (c == '\n' || c == '\t' || c == '\r')
      out += ' ';
    else if (c >= 0x80)
      out += fmt::format("\\[u{:04X}]", static_cast<std::uint32_t>(c));
    else
      out += static_cast<char>(c);
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

std::string conf_keys_roff(std::span<const TypeSpec> types) {
  std::string out;
  for (const auto& t : types) {
    out += fmt::format(".SS \"{} with type = \\(dq{}\\(dq\"\n", section_of(t), roff_arg(t.type));
    out += roff_escape(sentence(t.summary)) + "\n";
    for (const auto& o : t.options) {
      out += ".TP\n";
      if (o.secret) {
        out += fmt::format("{}, {} (secret, {})\n", bold(o.key + "_env"), bold(o.key + "_file"),
                           o.required ? "required: exactly one of the two" : "optional: at most one of the two");
      } else {
        const std::string need = !o.default_value.is_null() ? "default " + roff_escape(toml_value(o.default_value))
                                 : o.required               ? std::string("required")
                                                            : std::string("optional");
        out += fmt::format("{} ({}, {})\n", bold(o.key), kind_name(o.kind), need);
      }
      std::string help = sentence(o.help);
      if (o.kind == Kind::path) help += " A relative path is relative to the config file.";
      if (o.kind == Kind::url) help += " " + sentence(url_rule(o));
      out += roff_escape(help) + "\n";
      if (o.fields.empty()) continue;
      out += ".RS\n";
      for (const auto& f : o.fields)
        out += fmt::format(".TP\n{} ({}, {})\n{}\n", bold(f.key), field_kind_name(f.kind),
                           f.required ? "required" : "optional", roff_escape(sentence(f.help)));
      out += ".RE\n";
    }
  }
  return out;
}

std::string adapter_tables_roff(std::span<const TypeSpec> types) {
  std::string out;
  for (const auto& t : types) {
    out += fmt::format(".SS {}\n", roff_arg(t.type));
    out += roff_escape(sentence(t.summary)) + "\n";
    out += roff_escape(roles_line(t)) + "\n";
    if (t.options.empty()) continue;
    // tbl: tab-separated cells, 2 ens apart (fits 80 columns); "\^" continues the cell above, so a
    // secret's two keys share one row.
    out += ".TS\nlb2 lb2 lb2 lb\nl2 l2 l2 l.\nKEY\tTYPE\tREQUIRED\tDEFAULT\n";
    for (const auto& o : t.options) {
      if (o.secret) {
        out += fmt::format("{}\tsecret\t{}\t\\-\n", roff_escape(o.key + "_env"),
                           o.required ? "exactly one" : "at most one");
        out += fmt::format("{}\t\\^\t\\^\t\\^\n", roff_escape(o.key + "_file"));
      } else {
        out += fmt::format("{}\t{}\t{}\t{}\n", roff_escape(o.key), kind_name(o.kind), must_be_set(o) ? "yes" : "no",
                           o.default_value.is_null() ? "\\-" : roff_escape(toml_value(o.default_value)));
        for (const auto& f : o.fields)
          out += fmt::format("{}\t{}\t{}\t\\-\n", roff_escape(o.key + "." + f.key), field_kind_name(f.kind),
                             f.required ? "yes" : "no");
      }
    }
    out += ".TE\n";
  }
  return out;
}

std::string config_schema_json(std::span<const TypeSpec> types) {
  ojson defs = ojson::object();
  defs["name"] = {{"description", "a connector or target name: ASCII letters, digits, '_' and '-'"},
                  {"type", "string"},
                  {"pattern", "^[A-Za-z0-9_-]+$"}};
  ojson connector_types = ojson::array(), target_types = ojson::array();
  ojson connector_cases = ojson::array(), target_cases = ojson::array();
  for (const auto& t : types) {
    ojson props = ojson::object();
    props["type"] = {{"const", t.type}};
    ojson required = ojson::array({"type"});
    ojson secrets = ojson::array();
    for (const auto& o : t.options) {
      if (o.secret) {
        const std::string env = o.key + "_env", file = o.key + "_file";
        props[env] = {{"description", "name of an environment variable holding: " + o.help},
                      {"type", "string"},
                      {"pattern", "^[A-Za-z_][A-Za-z0-9_]*$"}};
        props[file] = {{"description", "path of a regular file with mode 0600 holding: " + o.help},
                       {"type", "string"},
                       {"minLength", 1}};
        if (o.required)
          secrets.push_back({{"oneOf", ojson::array({{{"required", {env}}}, {{"required", {file}}}})}});
        else
          secrets.push_back({{"not", {{"required", {env, file}}}}});
        continue;
      }
      props[o.key] = option_schema(o);
      if (must_be_set(o)) required.push_back(o.key);
    }
    ojson def = {{"description", t.summary},
                 {"type", "object"},
                 {"properties", std::move(props)},
                 {"required", std::move(required)},
                 {"additionalProperties", false}};
    if (!secrets.empty()) def["allOf"] = std::move(secrets);
    defs["type-" + t.type] = std::move(def);
    ojson selected = {{"if", {{"properties", {{"type", {{"const", t.type}}}}}, {"required", {"type"}}}},
                      {"then", {{"$ref", "#/$defs/type-" + t.type}}}};
    (is_target(t) ? target_types : connector_types).push_back(t.type);
    (is_target(t) ? target_cases : connector_cases).push_back(std::move(selected));
  }
  auto group = [](const char* what, ojson names, ojson cases) {
    return ojson{{"description", what},
                 {"type", "object"},
                 {"required", {"type"}},
                 {"properties", {{"type", {{"enum", std::move(names)}}}}},
                 {"allOf", std::move(cases)}};
  };
  defs["connector"] = group("a [connectors.NAME] table: a source", connector_types, connector_cases);
  defs["target"] = group("a [targets.NAME] table: where persons are pushed", target_types, target_cases);

  ojson limit_kinds = ojson::array();  // [identity] limits: any handle kind but a CRM record id
  for (auto k : handle_kinds())
    if (k != HandleKind::crm_id) limit_kinds.push_back(to_string(k));

  ojson schema = {{"$schema", "https://json-schema.org/draft/2020-12/schema"},
                  {"$id", "https://chansync.dev/schemas/config.schema.json"},
                  {"$comment",
                   "Generated from the adapter registry by cli/docs.cpp; do not edit. Update: CHANSYNC_UPDATE_DOCS=1 "
                   "build/tests/chansync_tests \"[docs]\""},
                  {"title", "chansync configuration (TOML, as JSON)"},
                  {"description", "chansync.conf(5); keys of each type: chansync-adapters(7)"},
                  {"type", "object"},
                  {"additionalProperties", false},
                  {"properties",
                   {{"state",
                     {{"type", "object"},
                      {"additionalProperties", false},
                      {"properties",
                       {{"path",
                         {{"description",
                           "state store file (SQLite), relative to the config file; default "
                           "$XDG_STATE_HOME/chansync/state.db; CHANSYNC_STATE and --state override it"},
                          {"type", "string"}}}}}}},
                    {"identity",
                     {{"type", "object"},
                      {"additionalProperties", false},
                      {"properties",
                       {{"default_region",
                         {{"description",
                           "two-letter region (e.g. DE) for phone numbers written without a country code; "
                           "CHANSYNC_DEFAULT_REGION overrides it"},
                          {"type", "string"},
                          {"pattern", "^[A-Z]{2}$"}}},
                        {"blocked",
                         {{"description",
                           "phone numbers and email addresses that join no one (an office switchboard, a shared "
                           "inbox): each stays a person of its own"},
                          {"type", "array"},
                          {"items", {{"type", "string"}, {"minLength", 1}}}}},
                        {"limits",
                         {{"description",
                           "the most verified handles of a kind one person may have (default phone 5, email 5); "
                           "a union past it is refused and listed by `persons conflicts`"},
                          {"type", "object"},
                          {"propertyNames", {{"enum", limit_kinds}}},
                          {"additionalProperties", {{"type", "integer"}, {"minimum", 1}}}}},
                        {"auto_merge_above",
                         {{"description",
                           "a match probability: identity suggestions at or above it merge by themselves, recorded "
                           "as decisions `persons undo` reverses; unset (the default), suggestions are only listed"},
                          {"type", "number"},
                          {"minimum", 0.5},
                          {"maximum", 1}}}}}}},
                    {"listen",
                     {{"type", "object"},
                      {"additionalProperties", false},
                      {"properties",
                       {{"address",
                         {{"description",
                           "HOST:PORT where `chansync listen` accepts webhooks (IPv6 host in brackets); default "
                           "127.0.0.1:8787; --address overrides it"},
                          {"type", "string"},
                          {"pattern", "^([^:\\[\\]]+|\\[[0-9A-Fa-f:.]+\\]):[0-9]{1,5}$"}}},
                        {"spool_dir",
                         {{"description",
                           "where accepted webhooks wait until a pull commits them, relative to the config file; "
                           "default: spool beside the state store"},
                          {"type", "string"},
                          {"minLength", 1}}}}}}},
                    {"health",
                     {{"type", "object"},
                      {"additionalProperties", false},
                      {"properties",
                       {{"recovery_checks",
                         {{"description",
                           "passes in a row after which a connector that was failing is ok again (reported "
                           "recovering until then, or until recovery_minutes); default 3"},
                          {"type", "integer"},
                          {"minimum", 0},
                          {"maximum", 100000}}},
                        {"recovery_minutes",
                         {{"description",
                           "minutes of passing after which a connector that was failing is ok again, whatever "
                           "the number of checks; default 30"},
                          {"type", "integer"},
                          {"minimum", 0},
                          {"maximum", 100000}}},
                        {"eol_warning_days",
                         {{"description",
                           "days before the end of life of a connector's api_version (the shipped versions "
                           "table) from which it is reported deprecated; default 90"},
                          {"type", "integer"},
                          {"minimum", 0},
                          {"maximum", 100000}}},
                        {"expiry_warning_days",
                         {{"description",
                           "days before an access token's stated expiry (Graph debug_token expires_at, "
                           "data_access_expires_at) from which it is reported deprecated; expired is auth_failed; "
                           "default 14"},
                          {"type", "integer"},
                          {"minimum", 0},
                          {"maximum", 100000}}}}}}},
                    {"connectors",
                     {{"type", "object"},
                      {"propertyNames", {{"$ref", "#/$defs/name"}}},
                      {"additionalProperties", {{"$ref", "#/$defs/connector"}}}}},
                    {"targets",
                     {{"type", "object"},
                      {"propertyNames", {{"$ref", "#/$defs/name"}}},
                      {"additionalProperties", {{"$ref", "#/$defs/target"}}}}}}},
                  {"$defs", std::move(defs)}};
  return schema.dump(2) + "\n";
}

std::optional<std::string> splice_generated(std::string_view page, std::string_view block) {
  const auto r = region(page);
  if (!r) return std::nullopt;
  std::string out(page.substr(0, r->first));
  out += block;
  out += page.substr(r->second);
  return out;
}

std::optional<std::string> generated_region(std::string_view page) {
  const auto r = region(page);
  if (!r) return std::nullopt;
  return std::string(page.substr(r->first, r->second - r->first));
}

}  // namespace chansync::cli
