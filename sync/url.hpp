#pragma once
// The parts of an absolute URL that chansync compares and prints: where its authority
// (user@host:port) begins and ends. Not a validator: check_secure_url (adapters) asks libcurl.
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

}  // namespace chansync
