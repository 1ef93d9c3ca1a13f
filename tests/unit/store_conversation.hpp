#pragma once
// The conversation the state store tests write: `messages` inbound messages of one customer on
// connector "sms", ids "<id>-m<i>", sent at 1000 + i.
#include <string>

#include "sync/model.hpp"

namespace chansync::test {

inline Conversation conversation(const std::string& id, int messages) {
  Conversation c{"sms", id, "sms", {HandleKind::phone, "+4915112345678", true}, "+4930123456", {}};
  for (int i = 0; i < messages; ++i)
    c.messages.push_back({"sms", id + "-m" + std::to_string(i), id, "sms", Direction::inbound, AuthorKind::customer,
                          "+4915112345678", 1000 + i, "hello"});
  return c;
}

}  // namespace chansync::test
