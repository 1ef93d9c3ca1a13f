#include "sync/plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "sync/json_text.hpp"

namespace chansync {

const char* to_string(PlanAction a) {
  switch (a) {
    case PlanAction::create:
      return "create";
    case PlanAction::update:
      return "update";
    case PlanAction::skip:
      return "skip";
    case PlanAction::remove:
      return "delete";
    case PlanAction::parked:
      return "parked";
  }
  return "skip";
}

PlanAction plan_action(const std::string& hash, const PushLedgerEntry* previous, bool full, const PushFailure* failed) {
  if (previous && previous->hash == hash && !full) return PlanAction::skip;
  if (failed && failed->hash == hash && failed->runs >= k_park_after && !full) return PlanAction::parked;
  return previous ? PlanAction::update : PlanAction::create;
}

namespace {

std::uint32_t fnv1a(std::string_view text) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : text) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

// fnv1a(text), while `h64` (an FNV-1a 64) goes on over the same bytes. The two multiply chains do not
// depend on each other, so the processor runs them side by side: a person's line (300 MB for a million
// messages) is read once for both hashes.
std::uint32_t fnv1a_along(std::string_view text, std::uint64_t& h64) {
  std::uint32_t h = 2166136261u;
  std::uint64_t g = h64;
  for (unsigned char c : text) {
    h ^= c;
    h *= 16777619u;
    g ^= c;
    g *= 1099511628211ull;
  }
  h64 = g;
  return h;
}

// (name, fingerprint, count) of each field, in record order.
struct Field {
  std::string name, print;
  std::size_t count = 0;
  bool counted = false;
};

constexpr std::array<const char*, 4> k_fields = {"display_name", "handles", "contacts", "messages"};

Field field(const char* name, const nlohmann::json& v, const std::string& text) {
  return {name, fmt::format("{:08x}", fnv1a(text)), v.is_array() ? v.size() : 0, v.is_array()};
}

std::vector<Field> fields_of(const PersonRecord& p) {
  const nlohmann::json j = p;
  std::vector<Field> out;
  for (const char* name : k_fields) out.push_back(field(name, j.at(name), j.at(name).dump()));
  return out;
}

std::string fingerprint(const std::vector<Field>& fields) {
  std::string out;
  for (const auto& f : fields) {
    if (!out.empty()) out += ';';
    out += f.name + '=' + f.print;
    if (f.counted) out += '/' + std::to_string(f.count);
  }
  return out;
}

}  // namespace

std::string field_fingerprint(const PersonRecord& p) {
  return fingerprint(fields_of(p));
}

PersonDigest digest(const PersonRecord& p) {
  // The members of the record's JSON without updated_at, in key order.
  const auto members = person_json_members(p);
  // Text that is not UTF-8 goes through nlohmann::json, which reports it.
  if (!members) return {content_hash(p), field_fingerprint(p)};
  // The hash is over the line without its updated_at member, the last one, closed by "}"; each
  // field's print is over its member. Both are taken in one pass over the parts of the line.
  std::uint64_t h = fnv1a_64({});
  const auto parts = person_json_parts(*members);
  std::array<std::uint32_t, parts.size()> prints{};  // in part order: contacts, display_name, handles, messages, …
  for (std::size_t i = 0; i < parts.size(); ++i) {
    h = fnv1a_64(parts[i].first, h);
    prints[i] = fnv1a_along(*parts[i].second, h);
  }
  h = fnv1a_64("}", h);
  const auto print = [&](std::size_t part) { return fmt::format("{:08x}", prints[part]); };
  const std::vector<Field> fields = {{k_fields[0], print(1)},
                                     {k_fields[1], print(2), p.handles.size(), true},
                                     {k_fields[2], print(0), p.contacts.size(), true},
                                     {k_fields[3], print(3), p.messages.size(), true}};
  return {fmt::format("{:016x}", h), fingerprint(fields), person_json(*members, p.updated_at)};
}

std::vector<std::string> changed_fields(const std::string& before, const PersonRecord& now) {
  std::vector<std::string> out;
  if (before.empty()) return out;
  for (const auto& f : fields_of(now)) {
    const std::string key = f.name + '=';
    std::size_t at = 0;
    while ((at = before.find(key, at)) != std::string::npos && at != 0 && before[at - 1] != ';') at += key.size();
    if (at == std::string::npos) {
      out.push_back(f.name);
      continue;
    }
    const std::size_t end = std::min(before.find(';', at), before.size());
    const std::string old = before.substr(at + key.size(), end - at - key.size());
    const std::string print = old.substr(0, old.find('/'));
    if (print == f.print) continue;
    if (!f.counted || old.find('/') == std::string::npos) {
      out.push_back(f.name);
      continue;
    }
    const long long was = std::stoll(old.substr(old.find('/') + 1)), is = static_cast<long long>(f.count);
    if (f.name == "messages" && is > was)
      out.push_back(fmt::format("{} (+{})", f.name, is - was));
    else if (is != was)
      out.push_back(fmt::format("{} ({} -> {})", f.name, was, is));
    else
      out.push_back(f.name);
  }
  return out;
}

}  // namespace chansync
