#include "sync/adapter.hpp"

#include "sync/json_text.hpp"

namespace chansync {

const char* to_string(Role r) {
  switch (r) {
    case Role::conversations:
      return "conversations";
    case Role::contacts:
      return "contacts";
    case Role::sink:
      return "sink";
  }
  return "sink";
}

std::vector<std::string> role_names(const std::vector<Role>& roles) {
  std::vector<std::string> out;
  for (Role r : roles) out.push_back(to_string(r));
  return out;
}

const char* to_string(PushOutcome::Status s) {
  switch (s) {
    case PushOutcome::Status::created:
      return "created";
    case PushOutcome::Status::updated:
      return "updated";
    case PushOutcome::Status::unchanged:
      return "unchanged";
    case PushOutcome::Status::deleted:
      return "deleted";
    case PushOutcome::Status::failed:
      return "failed";
  }
  return "failed";
}

void append_person_json(std::string& out, const PushItem& item) {
  if (!item.json.empty())
    out += item.json;
  else
    out += person_json(*item.record);
}

const char* to_string(VerifyOutcome::State s) {
  switch (s) {
    case VerifyOutcome::State::same:
      return "same";
    case VerifyOutcome::State::missing:
      return "missing";
    case VerifyOutcome::State::edited:
      return "edited";
  }
  return "edited";
}

Result<std::vector<VerifyOutcome>> Sink::verify(std::span<const PushItem>) {
  return fail(Errc::usage, "this target cannot be read back, so push --verify cannot check it");
}

std::vector<Stream> Adapter::streams() const {
  std::vector<Stream> out;
  if (conversations()) out.push_back({to_string(Role::conversations), Role::conversations});
  if (contacts()) out.push_back({to_string(Role::contacts), Role::contacts});
  return out;
}

std::vector<Role> Adapter::roles() const {
  std::vector<Role> out;
  if (conversations()) out.push_back(Role::conversations);
  if (contacts()) out.push_back(Role::contacts);
  if (sink()) out.push_back(Role::sink);
  return out;
}

}  // namespace chansync
