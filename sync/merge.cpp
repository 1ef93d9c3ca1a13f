#include "sync/merge.hpp"

#include <algorithm>

namespace chansync {

PersonRecord merge_person(std::string person_id, std::vector<Handle> handles, std::vector<Contact> contacts,
                          std::vector<Message> messages, std::string vendor_name) {
  PersonRecord p;
  p.person_id = std::move(person_id);

  std::sort(contacts.begin(), contacts.end(), [](const Contact& a, const Contact& b) {
    return std::tie(a.connector, a.id) < std::tie(b.connector, b.id);
  });
  for (const auto& c : contacts) handles.insert(handles.end(), c.handles.begin(), c.handles.end());
  std::sort(handles.begin(), handles.end(), [](const Handle& a, const Handle& b) {
    return std::tie(a.kind, a.value, b.verified) < std::tie(b.kind, b.value, a.verified);  // verified first
  });
  handles.erase(std::unique(handles.begin(), handles.end(),
                            [](const Handle& a, const Handle& b) { return a.kind == b.kind && a.value == b.value; }),
                handles.end());

  std::sort(messages.begin(), messages.end(), [](const Message& a, const Message& b) {
    return std::tie(a.sent_at, a.connector, a.id) < std::tie(b.sent_at, b.connector, b.id);
  });
  messages.erase(
      std::unique(messages.begin(), messages.end(),
                  [](const Message& a, const Message& b) { return a.connector == b.connector && a.id == b.id; }),
      messages.end());

  for (const auto& c : contacts) {
    if (p.display_name.empty()) p.display_name = c.display_name();
    p.updated_at = std::max(p.updated_at, c.updated_at);
  }
  if (p.display_name.empty()) p.display_name = std::move(vendor_name);
  if (p.display_name.empty() && !handles.empty()) p.display_name = handles.front().value;
  if (!messages.empty()) p.updated_at = std::max(p.updated_at, messages.back().sent_at);

  p.handles = std::move(handles);
  p.contacts = std::move(contacts);
  p.messages = std::move(messages);
  return p;
}

}  // namespace chansync
