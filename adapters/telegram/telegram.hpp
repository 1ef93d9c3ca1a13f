#pragma once
// telegram-bot: private chats of a Telegram bot, pulled with getUpdates (an acknowledging stream:
// fetching offset N+1 deletes updates up to N on Telegram's side).
#include "adapters/registry.hpp"

namespace chansync::adapters::telegram {

AdapterType type();

}  // namespace chansync::adapters::telegram
