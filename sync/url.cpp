#include "sync/url.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <strings.h>

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

bool is_loopback(std::string_view host) {
  if (host.size() == 9 && strncasecmp(host.data(), "localhost", 9) == 0) return true;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    const std::string inner(host.substr(1, host.size() - 2));
    in6_addr a6{};
    return inet_pton(AF_INET6, inner.c_str(), &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
  }
  const std::string text(host);
  in_addr a4{};
  return inet_pton(AF_INET, text.c_str(), &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

std::optional<std::string> url_refusal(std::string_view key, std::string_view url, bool plaintext_ok,
                                       std::string_view tls, std::string_view plain) {
  const auto table = key.substr(0, key.rfind('.'));
  const auto sep = url.find("://");
  const auto scheme = url.substr(0, sep == std::string_view::npos ? 0 : sep);
  const bool scheme_ok = !scheme.empty() && std::all_of(scheme.begin(), scheme.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
           c == '.';
  });
  const auto authority = url_authority(url);
  if (!scheme_ok || authority.empty())
    return fmt::format(
        "{} is not an absolute URL; write the server's address with its scheme and host, "
        "{}://host[:port]{}",
        key, tls, tls == "https" ? "[/path]" : "");
  if (authority.find('@') != std::string_view::npos)
    return fmt::format(
        "{} holds credentials in its URL (user@ or user:password@); remove them: credentials have keys of "
        "their own (`chansync connectors types` lists them)",
        key);
  auto is = [&](std::string_view name) {
    return scheme.size() == name.size() && strncasecmp(scheme.data(), name.data(), name.size()) == 0;
  };
  if (!is(tls) && !is(plain))
    return fmt::format(
        "{} uses the scheme \"{}\"; write {}://host... ({}:// only to a loopback host, or with "
        "allow_plaintext = true in [{}])",
        key, scheme, tls, plain, table);
  // The host: a bracketed IPv6 address, or what comes before the port.
  const auto host = authority.front() == '['
                        ? authority.substr(0, std::min(authority.find(']'), authority.size() - 1) + 1)
                        : authority.substr(0, authority.find(':'));
  if (host.empty()) return fmt::format("{} names no host; write the server's address, {}://host[:port]", key, tls);
  if (is(tls) || plaintext_ok || is_loopback(host)) return std::nullopt;
  return fmt::format(
      "{} is plain {} to {}, which would send credentials, persons and their messages unencrypted over the "
      "network; use {}://{}..., or, on a network you trust (a lab, a mock server), set allow_plaintext = true "
      "in [{}] (plain {} to a loopback host, localhost, 127.0.0.0/8 or [::1], needs nothing)",
      key, plain, host, tls, host, table, plain);
}

}  // namespace chansync
