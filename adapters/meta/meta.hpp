#pragma once
// meta-messenger and meta-instagram: conversation history of a Facebook Page's Messenger inbox and
// of the Instagram professional account linked to it, through the Graph API. One implementation,
// two registry rows differing only in the platform.
#include "adapters/registry.hpp"

namespace chansync::adapters::meta {

AdapterType messenger_type();
AdapterType instagram_type();

}  // namespace chansync::adapters::meta
