#pragma once
#include <string>
#include <string_view>

namespace chansync {

// Text for HTML element content and attribute values: & < > " ' as entities.
std::string html_escape(std::string_view text);

}  // namespace chansync
