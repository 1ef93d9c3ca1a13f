#include "sync/plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

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

constexpr std::uint32_t k_fnv32_basis = 2166136261u, k_fnv32_prime = 16777619u;

std::uint32_t fnv1a(std::string_view text) {
  std::uint32_t h = k_fnv32_basis;
  for (unsigned char c : text) {
    h ^= c;
    h *= k_fnv32_prime;
  }
  return h;
}

// One record's line as digest() hashes it: each member's key text (the FNV-1a 64 alone) and its text
// (the FNV-1a 64 going on, and the member's own FNV-1a 32, its print), then the closing "}".
struct HashLane {
  std::array<std::string_view, 11> segments;
  std::size_t segment = 0, pos = 0;
  std::uint64_t g = k_fnv64_basis;
  std::uint32_t h = k_fnv32_basis;
  std::array<std::uint32_t, 5> prints{};  // in part order: contacts, display_name, handles, messages, person_id
  std::size_t item = 0;
  bool busy = false;  // holds a record, hashed or not

  void start(std::size_t which, const PersonJsonMembers& m) {
    const auto parts = person_json_parts(m);
    for (std::size_t i = 0; i < parts.size(); ++i) {
      segments[2 * i] = parts[i].first;
      segments[2 * i + 1] = *parts[i].second;
    }
    segments.back() = "}";
    segment = pos = 0;
    g = k_fnv64_basis;
    item = which;
    busy = true;
    advance(0);
  }
  bool hashed() const { return segment == segments.size(); }
  std::string_view rest() const { return segments[segment].substr(pos); }
  // Past n more bytes. A member's text that ends leaves its print; the next one's print starts afresh.
  void advance(std::size_t n) {
    pos += n;
    while (!hashed() && pos == segments[segment].size()) {
      if (segment % 2 == 1) prints[segment / 2] = h;
      pos = 0;
      if (++segment % 2 == 1) h = k_fnv32_basis;
    }
  }
};

// FNV-1a is one multiply after another: each waits for the one before, and the multiplier idles
// meanwhile. Two records' chains, side by side, keep it busy: over the 285 MB of a 1M-message push,
// the loop took about 0.16 s of the sending thread, against 0.22 s one record at a time.
void hash_both(HashLane& a, HashLane& b) {
  const std::string_view x = a.rest(), y = b.rest();
  const std::size_t n = std::min(x.size(), y.size());
  std::uint64_t ga = a.g, gb = b.g;
  std::uint32_t ha = a.h, hb = b.h;
  for (std::size_t i = 0; i < n; ++i) {
    const auto ca = static_cast<unsigned char>(x[i]), cb = static_cast<unsigned char>(y[i]);
    ha = (ha ^ ca) * k_fnv32_prime;
    ga = (ga ^ ca) * k_fnv64_prime;
    hb = (hb ^ cb) * k_fnv32_prime;
    gb = (gb ^ cb) * k_fnv64_prime;
  }
  a.g = ga, a.h = ha, b.g = gb, b.h = hb;
  a.advance(n);
  b.advance(n);
}

void hash_one(HashLane& a) {
  const std::string_view x = a.rest();
  std::uint64_t g = a.g;
  std::uint32_t h = a.h;
  for (const char c : x) {
    h = (h ^ static_cast<unsigned char>(c)) * k_fnv32_prime;
    g = (g ^ static_cast<unsigned char>(c)) * k_fnv64_prime;
  }
  a.g = g, a.h = h;
  a.advance(x.size());
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
  for (const char* name : k_fields)
    out.push_back(field(name, j.at(name), j.at(name).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
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
  return std::move(digests({&p}).front());
}

std::vector<PersonDigest> digests(const std::vector<const PersonRecord*>& records) {
  std::vector<PersonDigest> out(records.size());
  // The members of each record's JSON without updated_at, in key order. The hash is over the line
  // without its updated_at member, the last one, closed by "}"; each field's print is over its member.
  std::vector<std::optional<PersonJsonMembers>> members(records.size());
  std::size_t next = 0;
  const auto take = [&](HashLane& lane) {
    while (next < records.size()) {
      const std::size_t i = next++;
      members[i] = person_json_members(*records[i]);
      if (members[i]) {
        lane.start(i, *members[i]);
        return;
      }
      // Text that is not UTF-8 goes through nlohmann::json, which replaces what is invalid.
      out[i] = {content_hash(*records[i]), field_fingerprint(*records[i])};
    }
  };
  const auto finish = [&](HashLane& lane) {
    lane.busy = false;
    const PersonRecord& p = *records[lane.item];
    const auto print = [&](std::size_t part) { return fmt::format("{:08x}", lane.prints[part]); };
    const std::vector<Field> fields = {{k_fields[0], print(1)},
                                       {k_fields[1], print(2), p.handles.size(), true},
                                       {k_fields[2], print(0), p.contacts.size(), true},
                                       {k_fields[3], print(3), p.messages.size(), true}};
    out[lane.item] = {fmt::format("{:016x}", lane.g), fingerprint(fields),
                      person_json(*members[lane.item], p.updated_at)};
    members[lane.item].reset();
    take(lane);
  };
  HashLane a, b;
  take(a);
  take(b);
  while (a.busy || b.busy) {
    if (a.busy && b.busy)
      hash_both(a, b);
    else
      hash_one(a.busy ? a : b);
    for (HashLane* lane : {&a, &b})
      if (lane->busy && lane->hashed()) finish(*lane);
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
