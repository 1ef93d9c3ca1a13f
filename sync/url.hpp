#pragma once
// The parts of an absolute URL that chansync compares and prints: where its authority
// (user@host:port) begins and ends; and whether a URL may carry credentials and records.
#include <optional>
#include <string>
#include <string_view>

namespace chansync {

// The authority of an absolute URL, between "://" and the first / ? or # after it, user@ included;
// "" when `url` is not absolute.
std::string_view url_authority(std::string_view url);

// scheme://host[:port] of an absolute URL, without the user:password@ its authority may carry (the
// host is what follows the last @): where it points, fit to compare and to print. "" when `url` is
// not absolute.
std::string origin_of(std::string_view url);

// The path, query and fragment of `url`, after its authority; all of `url` when it is not absolute.
std::string path_of(std::string_view url);

// localhost, 127.0.0.0/8 or [::1] (a host as a URL writes it: an IPv6 address in brackets).
bool is_loopback(std::string_view host);

// Why `url`, the value of the option `key` (e.g. "connectors.sms.base_url"), may not carry a token,
// persons and their messages; nullopt when it may. It may when it is `tls`://host... (https), or
// `plain`:// (http) to a loopback host, or to any host when `plaintext_ok` (the endpoint's
// allow_plaintext). Anything else is refused: no scheme, another scheme, an empty host, user@ or
// user:password@ in it. Stricter than libcurl, which would guess http for a value without a scheme
// and accept one or three slashes. The reason names the key and the fix and never quotes the URL,
// whose credentials are not recognised in a malformed one.
std::optional<std::string> url_refusal(std::string_view key, std::string_view url, bool plaintext_ok,
                                       std::string_view tls = "https", std::string_view plain = "http");

}  // namespace chansync
