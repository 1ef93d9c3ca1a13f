#include "sync/url.hpp"

#include <algorithm>

namespace chansync {
namespace {

// Where the authority of `url` begins and ends; begin == npos when `url` is not absolute.
struct Span {
  std::size_t begin = std::string_view::npos, end = std::string_view::npos;
};

Span authority_span(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  const auto begin = scheme + 3;
  return {begin, std::min(url.find_first_of("/?#", begin), url.size())};
}

}  // namespace

std::string_view url_authority(std::string_view url) {
  const auto s = authority_span(url);
  return s.begin == std::string_view::npos ? std::string_view() : url.substr(s.begin, s.end - s.begin);
}

std::string origin_of(std::string_view url) {
  const auto s = authority_span(url);
  if (s.begin == std::string_view::npos) return {};
  auto host = url.substr(s.begin, s.end - s.begin);
  if (const auto at = host.rfind('@'); at != std::string_view::npos) host.remove_prefix(at + 1);
  return std::string(url.substr(0, s.begin)).append(host);
}

std::string path_of(std::string_view url) {
  const auto s = authority_span(url);
  return std::string(s.begin == std::string_view::npos ? url : url.substr(s.end));
}

}  // namespace chansync
