#include "sync/plan.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

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

// (name, fingerprint, count) of each field, in record order.
struct Field {
  std::string name, print;
  std::size_t count = 0;
  bool counted = false;
};

std::vector<Field> fields_of(const PersonRecord& p) {
  const nlohmann::json j = p;
  std::vector<Field> out;
  for (const char* name : {"display_name", "handles", "contacts", "messages"}) {
    const auto& v = j.at(name);
    out.push_back({name, fmt::format("{:08x}", fnv1a(v.dump())), v.is_array() ? v.size() : 0, v.is_array()});
  }
  return out;
}

}  // namespace

std::string field_fingerprint(const PersonRecord& p) {
  std::string out;
  for (const auto& f : fields_of(p)) {
    if (!out.empty()) out += ';';
    out += f.name + '=' + f.print;
    if (f.counted) out += '/' + std::to_string(f.count);
  }
  return out;
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
