#pragma once
// The adapter contract. Implemented in adapters/<vendor>/; the pipeline in sync/ only sees these
// interfaces (so sync/ needs no HTTP). Adapters fetch ONE page per call and never write state: the
// pipeline commits each page's records and its cursor in one transaction.
//
// The roles an adapter plays are the role interfaces it inherits (ConversationSource, ContactSource,
// Sink) — the one source of truth: the registry derives its `roles` column from the class
// (adapters/registry.hpp, adapter_type<T>()), and the accessors below find the same bases at run time.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sync/error.hpp"
#include "sync/health.hpp"
#include "sync/model.hpp"

namespace chansync {

enum class Role { conversations, contacts, sink };
const char* to_string(Role r);
std::vector<std::string> role_names(const std::vector<Role>& roles);

// One independently resumable sequence of pages of a connector (a mailbox, a webhook spool, the
// history API). Cursors, pull statistics, dead letters and health are kept per (connector, stream).
struct Stream {
  std::string name;  // unique within the connector; [A-Za-z0-9_.-]
  Role role = Role::conversations;
  // Fetching page N+1 acknowledges page N on the server (Telegram getUpdates?offset=, a spool that
  // truncates): the page loop then never prefetches, fetches only after the previous page is
  // committed, and calls Adapter::committed() with each committed cursor.
  bool acknowledges = false;
  // The pages come from the connector's webhook spool (what `chansync listen` accepted, in arrival
  // order), read by the pipeline and mapped by WebhookReceiver::map_webhook; the adapter's
  // pull_conversations is never asked for this stream. The spool position is the cursor, and
  // committed pages are removed from the spool.
  bool spool = false;
  // Its messages come ordered by the time they were sent, newest or oldest first (a backfill in
  // windows: a run of such pages per window). A first pull then keeps the index of messages by time
  // as rows arrive, each one next to the last, instead of building it when the pull ends
  // (bulk_load.hpp); for messages in no order it would be a random insert per row.
  bool in_time_order = false;
};

struct PullRequest {
  std::string stream;  // one of Adapter::streams()
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
  // Problems the vendor reported inside the data (WhatsApp's webhook `errors`, a failed delivery's
  // error): logged, and the last one is kept on the stream for health. They reject nothing.
  std::vector<std::string> notices;
};

class ConversationSource {
 public:
  virtual ~ConversationSource() = default;
  // Fetches the page of `req.stream` after `req.cursor`. Errors leave the cursor where it was.
  virtual Result<Page<Conversation>> pull_conversations(const PullRequest& req) = 0;
};

class ContactSource {
 public:
  virtual ~ContactSource() = default;
  virtual Result<Page<Contact>> pull_contacts(const PullRequest& req) = 0;
};

// One person to deliver, with what the target was last sent (nullopt: never). With `remove`, the
// person no longer exists — merged into `merged_into` ("" when it is simply gone) — and the target
// should delete its copy; `record` then carries only the person_id, and the sink answers deleted.
struct PushItem {
  const PersonRecord* record = nullptr;
  std::optional<PushLedgerEntry> previous;
  bool remove = false;
  std::string merged_into;
  std::string_view json;  // *record as person_json() prints it, when the plan made it ("" otherwise)
  std::string_view hash;  // content_hash(*record), when the plan made it ("" otherwise)
  // With merged_into: the survivor's remote id in this target's push ledger ("" when it has none yet).
  std::string survivor_remote_id;
  // A deletion of a person `chansync erase` took out: the target deletes it for good where it can.
  bool erased() const { return remove && previous && previous->erased; }
};
// Appends the item's record as one line of JSON (person_json), made once by the plan when it could.
void append_person_json(std::string& out, const PushItem& item);

struct PushOutcome {
  enum class Status { created, updated, unchanged, deleted, failed };
  std::string person_id;
  Status status = Status::failed;
  std::string remote_id;       // the target's id for the person ("" when the target has none)
  std::optional<Error> error;  // set when status is failed: what the target said
};
const char* to_string(PushOutcome::Status s);

// What `push --verify` found of one person on the target, against what chansync last sent it.
struct VerifyOutcome {
  enum class State { same, missing, edited };
  std::string person_id;
  State state = State::same;
  std::string detail;  // for missing/edited: what differs, in the target's terms ("display_name", "row deleted")
};
const char* to_string(VerifyOutcome::State s);

class Sink {
 public:
  virtual ~Sink() = default;
  // Delivers a batch; idempotent per person (a re-sent person must not be duplicated on the target).
  // Returns one outcome per item; an item without an outcome counts as failed. A whole-batch error
  // (target unreachable before anything was delivered) is the Result's error: nothing of the batch is
  // recorded and the push stops. A target that went away part-way reports what it confirmed and
  // fails the rest with an unavailable, rate_limited or auth error, which also stops the push after
  // the confirmed persons are recorded; any other failure is the person's alone and the push goes on.
  virtual Result<std::vector<PushOutcome>> push(std::span<const PushItem> batch) = 0;
  // How many persons push_target hands to one push() call: a target with its own request size (a
  // webhook's batch_size, HubSpot's 100 per batch upsert) says so, so requests are as full as allowed.
  virtual std::size_t batch_size() const { return 200; }
  // Called once after the last batch of a push (flush, fsync).
  virtual Result<void> finish() { return {}; }
  // True when the target holds nothing of a push until finish() succeeds (a snapshot file renamed
  // into place at the end): push_target then records the batches' outcomes only after finish().
  virtual bool confirms_at_finish() const { return false; }
  // Whether verify() can read the target's copy back (a webhook receiver cannot be asked).
  virtual bool readable() const { return false; }
  // Reads back the target's copy of persons it confirmed, for `push --verify`. Each item is the
  // record exactly as last delivered (its content hash equals item.previous->hash) with its ledger
  // entry. Returns one outcome per item; a target-level error (unreachable, auth) is the Result's.
  // The default, for targets that are not readable(), refuses.
  virtual Result<std::vector<VerifyOutcome>> verify(std::span<const PushItem> items);
};

// The name of a webhook-fed connector's spool stream.
inline constexpr std::string_view k_webhooks_stream = "webhooks";

// What `chansync listen` needs to accept a connector's webhooks. Empty secrets refuse: a POST
// without an app secret to check its signature against is never stored.
struct WebhookSpec {
  std::string object;        // the payload's "object": "whatsapp_business_account", "page", "instagram"
  std::string app_secret;    // HMAC-SHA256 key of X-Hub-Signature-256
  std::string verify_token;  // what the subscribe handshake (GET hub.verify_token) must present
};

// A connector that receives the vendor's webhooks (POST bodies, kept raw in the spool until pulled).
class WebhookReceiver {
 public:
  virtual ~WebhookReceiver() = default;
  virtual WebhookSpec webhook() const = 0;
  // Maps one payload, exactly as received, into `page`: its conversations (messages and receipts),
  // dead letters for what cannot be mapped (with the raw bytes of the smallest unit that failed), and
  // notices for errors the vendor reports in it. Pure and never throws; a payload that is not JSON or
  // not of webhook().object becomes one dead letter.
  virtual void map_webhook(std::string_view payload, Page<Conversation>& page) const = 0;
};

class Adapter {
 public:
  virtual ~Adapter() = default;
  // A cheap, read-only, authenticated call. Never throws for remote problems: they are the report,
  // and a check that could not run is `unknown` or worse, never `ok`.
  virtual HealthReport probe() = 0;
  // The source streams, in pull order. Default: one stream per source role, named after the role.
  virtual std::vector<Stream> streams() const;
  // Called after a page of an acknowledging stream is committed, with the committed cursor.
  virtual void committed(const std::string& stream, const std::string& cursor) {
    (void)stream;
    (void)cursor;
  }
  // Handle keys this connector knows belong to the business (never a customer).
  virtual std::vector<std::string> own_handles() const { return {}; }

  // The role interfaces this adapter implements; nullptr for roles it does not play.
  ConversationSource* conversations() { return dynamic_cast<ConversationSource*>(this); }
  ContactSource* contacts() { return dynamic_cast<ContactSource*>(this); }
  Sink* sink() { return dynamic_cast<Sink*>(this); }
  const ConversationSource* conversations() const { return dynamic_cast<const ConversationSource*>(this); }
  const ContactSource* contacts() const { return dynamic_cast<const ContactSource*>(this); }
  const Sink* sink() const { return dynamic_cast<const Sink*>(this); }
  // nullptr when the connector does not receive webhooks.
  WebhookReceiver* webhooks() { return dynamic_cast<WebhookReceiver*>(this); }
  const WebhookReceiver* webhooks() const { return dynamic_cast<const WebhookReceiver*>(this); }
  // The roles played, in Role order.
  std::vector<Role> roles() const;
};

}  // namespace chansync
