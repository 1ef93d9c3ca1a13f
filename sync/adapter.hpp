#pragma once
// The roles an adapter plays. Implemented in adapters/<vendor>/; the pipeline in sync/ only sees
// these interfaces (so sync/ needs no HTTP). Adapters fetch ONE page per call and never write state.
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sync/error.hpp"
#include "sync/health.hpp"
#include "sync/model.hpp"
#include "sync/state_store.hpp"

namespace chansync {

struct PullRequest {
  std::string cursor;  // "" = start a full pull; otherwise what the previous page returned
  int page_size = 0;   // 0 = the largest page the vendor serves (fewest requests)
};

template <class T>
struct Page {
  std::vector<T> items;
  std::vector<DeadLetter> rejects;  // records that could not be mapped; stored, never dropped
  std::string next_cursor;          // saved with the page; when done, where the next run resumes
  bool done = false;                // true: this pass is complete (next_cursor is the resume point)
  std::size_t requests = 0;         // HTTP requests it took (retries included)
};

class ConversationSource {
 public:
  virtual ~ConversationSource() = default;
  // Fetches the page after `req.cursor`. Errors leave the cursor where it was.
  virtual Result<Page<Conversation>> pull_conversations(const PullRequest& req) = 0;
};

class ContactSource {
 public:
  virtual ~ContactSource() = default;
  virtual Result<Page<Contact>> pull_contacts(const PullRequest& req) = 0;
};

struct PushOutcome {
  std::string person_id;
  std::string remote_id;  // the target's id for the person ("" when the target has none)
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Delivers a batch; idempotent per person. Returns one outcome per record delivered.
  virtual Result<std::vector<PushOutcome>> push(std::span<const PersonRecord> batch) = 0;
  // Called once after the last batch of a push (flush, fsync).
  virtual Result<void> finish() { return {}; }
};

class Adapter {
 public:
  virtual ~Adapter() = default;
  // A cheap, read-only, authenticated call. Never throws for remote problems: they are the report.
  virtual HealthReport probe() = 0;
  // Roles the adapter does not play return nullptr.
  virtual ConversationSource* conversations() { return nullptr; }
  virtual ContactSource* contacts() { return nullptr; }
  virtual Sink* sink() { return nullptr; }
  // Handle keys this connector knows belong to the business (never a customer).
  virtual std::vector<std::string> own_handles() const { return {}; }
};

}  // namespace chansync
