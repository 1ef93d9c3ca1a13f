#pragma once
// Reading vendor JSON with simdjson On-Demand: a member's value as the adapters keep it.
#include <simdjson.h>

#include <string>
#include <string_view>

namespace chansync::adapters {

// A scalar as text: null is "", a string its unescaped value, anything else (a number, a bool, an
// object) its JSON text.
inline std::string text_of(simdjson::ondemand::value v) {
  if (v.is_null()) return {};
  if (v.type() == simdjson::ondemand::json_type::string) return std::string(std::string_view(v.get_string()));
  return std::string(simdjson::to_json_string(v).value());
}

}  // namespace chansync::adapters
