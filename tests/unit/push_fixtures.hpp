#pragma once
// What the push tests share: a store filled with SMS customers and a sink that records what it got.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "sync/adapter.hpp"
#include "sync/reconcile.hpp"
#include "sync/state_store.hpp"

namespace chansync::test {

inline Conversation conversation(const std::string& id, const std::string& number, int messages, int first = 0) {
  Conversation c{"sms", id, "sms", {HandleKind::phone, number, true}, "+4930123456", {}};
  for (int i = first; i < first + messages; ++i)
    c.messages.push_back({"sms", id + "-m" + std::to_string(i), id, "sms", Direction::inbound, AuthorKind::customer,
                          number, 1000 + i, "hello"});
  return c;
}

struct RecordingSink : Sink {
  std::vector<std::string> delivered;                        // person ids, in delivery order
  std::vector<std::optional<PushLedgerEntry>> seen;          // the ledger entry passed with each
  std::vector<std::pair<std::string, std::string>> removed;  // (person_id, merged_into) asked to delete
  std::set<std::string> refuse;                              // persons this target refuses (a 422 per person)
  std::set<std::string> forget_to_answer;                    // persons it leaves out of its answer
  bool down = false;                                         // the whole batch fails
  bool lose_answers = false;  // acts on the whole batch, then its answer is lost (a timeout, a kill)
  std::size_t batches = 0;
  std::vector<std::string> requests;        // per batch: "delete ID", "upsert ID" of its items, space-separated
  std::map<std::string, std::string> held;  // what the target holds: person_id -> content hash
  Result<std::vector<PushOutcome>> push(std::span<const PushItem> batch) override {
    ++batches;
    std::string request;
    for (const auto& item : batch)
      request +=
          (request.empty() ? "" : " ") + std::string(item.remove ? "delete " : "upsert ") + item.record->person_id;
    requests.push_back(request);
    if (down) return fail(Errc::unavailable, "target unreachable");
    std::vector<PushOutcome> out;
    for (const auto& item : batch) {
      const auto& id = item.record->person_id;
      seen.push_back(item.previous);
      if (item.remove) {
        held.erase(id);
        removed.push_back({id, item.merged_into});
        out.push_back({id, PushOutcome::Status::deleted});
        continue;
      }
      if (forget_to_answer.count(id)) continue;
      if (refuse.count(id)) {
        out.push_back({id, PushOutcome::Status::failed, "", Error{Errc::remote, "HTTP 422: phone invalid"}});
        continue;
      }
      delivered.push_back(id);
      held[id] = content_hash(*item.record);
      out.push_back({id, item.previous ? PushOutcome::Status::updated : PushOutcome::Status::created, "r-" + id});
    }
    if (lose_answers) return fail(Errc::unavailable, "the target acted, but its answer was lost");
    return out;
  }
  bool readable() const override { return true; }
  Result<std::vector<VerifyOutcome>> verify(std::span<const PushItem> items) override {
    if (down) return fail(Errc::unavailable, "target unreachable");
    std::vector<VerifyOutcome> out;
    for (const auto& item : items) {
      const auto it = held.find(item.record->person_id);
      if (it == held.end())
        out.push_back({item.record->person_id, VerifyOutcome::State::missing, "gone"});
      else if (it->second != content_hash(*item.record))
        out.push_back({item.record->person_id, VerifyOutcome::State::edited, "display_name"});
      else
        out.push_back({item.record->person_id, VerifyOutcome::State::same, ""});
    }
    return out;
  }
};

inline std::vector<Conversation> customers(int n) {
  std::vector<Conversation> out;
  for (int i = 0; i < n; ++i)
    out.push_back(conversation("c" + std::to_string(i), "+49151123456" + std::to_string(70 + i), 2));
  return out;
}

inline void reconcile_now(StateStore& store) {
  int n = 0;
  store.identity().save(reconcile(store.identity().input({}),
                                  [&] { return "p" + std::to_string(++n + store.identity().person_count()); }));
}

inline void commit(StateStore& store, const std::vector<Conversation>& page) {
  store.records().commit_conversations("sms", "conversations", page, {}, "x");
}

}  // namespace chansync::test
