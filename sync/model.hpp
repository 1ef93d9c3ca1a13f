#pragma once
// Canonical model: what every adapter maps vendor data into, and the person record chansync pushes.
// to_json mirrors schemas/person.schema.json by hand; tests validate the output against the schema.
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/timestamp.hpp"

namespace chansync {

// whatsapp_bsuid: a WhatsApp business-scoped user id (a user who hides their number), valued
// "<business>:<BSUID>" so it never joins across businesses. A wa_id is a phone number: kind phone.
// chat_identity: a chat user's identity within one vendor namespace ("<IS service sid>:<identity>" for
// Twilio Conversations), whitespace and '%' percent-encoded so the value is one token.
enum class HandleKind {
  phone,
  email,
  whatsapp_bsuid,
  messenger_psid,
  instagram_igsid,
  telegram_id,
  crm_id,
  chat_identity
};
const char* to_string(HandleKind kind);
std::optional<HandleKind> handle_kind_from(std::string_view name);
std::vector<HandleKind> handle_kinds();  // every kind, in declaration order

// One way to reach a person. `value` is always normalised (see sync/normalize.hpp). An unverified
// handle (a phone number libphonenumber rejects) is kept for display but never joins two records.
struct Handle {
  HandleKind kind = HandleKind::phone;
  std::string value;
  bool verified = true;

  // "phone:+4930123456" — unique key used by the identity graph and the state store.
  std::string key() const;
  // Inverse of key(); nullopt for an unknown kind.
  static std::optional<Handle> from_key(std::string_view key, bool verified = true);
  friend bool operator==(const Handle&, const Handle&) = default;
  friend auto operator<=>(const Handle&, const Handle&) = default;
};

enum class Direction { inbound, outbound };
enum class AuthorKind { customer, agent, bot, system };
const char* to_string(Direction d);
const char* to_string(AuthorKind k);
std::optional<Direction> direction_from(std::string_view name);
std::optional<AuthorKind> author_kind_from(std::string_view name);

// What a timeline entry is: a message, a call, a handoff between teams or bots, or another event
// (a reaction, an unknown vendor type) kept so nothing is dropped.
enum class MessageKind { message, call, handoff, event };
const char* to_string(MessageKind k);
std::optional<MessageKind> message_kind_from(std::string_view name);

// Delivery status of an outbound entry: "" (unknown or inbound), "sent", "delivered", "read", "failed".
// A status only moves forward in this order, and "failed" wins over every other: a late webhook
// saying "delivered" never undoes "read". The single place that order is written down.
int status_rank(std::string_view status);  // -1 for an unknown status
bool valid_status(std::string_view status);
// The status an entry holds after `incoming` arrives when it held `stored`.
std::string_view later_status(std::string_view stored, std::string_view incoming);

// A file sent with a message. `type` is "image", "video", "audio", "file", "sticker", "location", ...
struct Attachment {
  std::string type;
  std::string name;       // file name or caption, "" when the vendor gives none
  std::string url;        // where the vendor serves it; may expire (Meta's CDN links do); "" when not served
  std::int64_t size = 0;  // bytes, when known (an email attachment, listed but not stored); 0 = unknown
  friend bool operator==(const Attachment&, const Attachment&) = default;
};

struct Message {
  std::string connector;     // config name of the connector it came from
  std::string id;            // vendor id (Twilio sid), unique per connector
  std::string conversation;  // the id of the Conversation that carries it (the store files it under that one)
  std::string channel;       // "sms", "whatsapp", ...
  Direction direction = Direction::inbound;
  AuthorKind author_kind = AuthorKind::customer;
  std::string author_handle;  // handle value of the author (customer or business number)
  Timestamp sent_at = 0;
  std::string text;
  MessageKind kind = MessageKind::message;
  std::string status;                   // see status_rank(); "" when unknown
  std::vector<Attachment> attachments;  // in the vendor's order
  friend bool operator==(const Message&, const Message&) = default;
};

// A thread between one customer handle and the business on one channel.
struct Conversation {
  std::string connector;
  std::string id;
  std::string channel;
  Handle customer;
  std::string business;  // the business's number/address on this thread
  std::vector<Message> messages;
  std::string customer_name;  // the vendor's name for the customer ("" if none); a person's display name
                              // when no CRM contact names them
  // Other handles the vendor says are this same customer: a WhatsApp BSUID sent with the wa_id it
  // hides, the phone number a Telegram user shared as their own contact. Reconcile joins them with
  // `customer` as it joins a CRM record's handles. Stored with the conversation.
  std::vector<Handle> customer_links;
  // Delivery receipts for messages of this thread (WhatsApp `statuses`): each carries the message's
  // id, direction, author, status and the receipt's time as sent_at. The store moves the status of a
  // message it holds forward (later_status) and changes nothing else; a receipt for a message it does
  // not hold (WhatsApp never sends the business's own messages by webhook) is stored as that message,
  // its text unknown (""). Counted as received messages.
  std::vector<Message> receipts;
  // Receipts that name no message (Messenger's `read` and `delivery` watermarks): every message the
  // business sent to this customer on this connector (in any of its conversations) at or before `at`
  // takes `status`, moving forward only. A message stored later is not reached: the customer's next
  // watermark covers it. Counted as received records.
  struct Watermark {
    Timestamp at = 0;
    std::string status;
    friend bool operator==(const Watermark&, const Watermark&) = default;
  };
  std::vector<Watermark> watermarks;
};

// Facts about a person a CRM or an export may carry besides names and handles. They never join two
// records: they only feed identity suggestions. Values are normalised by the adapter that maps them
// (sync/normalize.hpp); "" is unknown.
struct ContactAttributes {
  std::string birth_date;   // YYYY-MM-DD
  std::string postal_code;  // trimmed, upper-cased, inner whitespace one space ("SW1A 1AA")
  std::string city;         // trimmed, inner whitespace one space, case kept
  std::string street;       // likewise ("Hauptstraße 5")

  bool empty() const { return birth_date.empty() && postal_code.empty() && city.empty() && street.empty(); }
  friend bool operator==(const ContactAttributes&, const ContactAttributes&) = default;
};

// A record from a CRM.
struct Contact {
  std::string connector;
  std::string id;
  std::string first_name;
  std::string last_name;
  std::vector<Handle> handles;  // normalised emails and phones
  bool archived = false;
  Timestamp updated_at = 0;
  ContactAttributes attributes;
  friend bool operator==(const Contact&, const Contact&) = default;

  std::string display_name() const;  // "First Last", trimmed; empty if both are empty
};

// The merged person chansync pushes (schemas/person.schema.json).
struct PersonRecord {
  std::string person_id;
  std::string display_name;
  std::vector<Handle> handles;    // sorted by key
  std::vector<Contact> contacts;  // sorted by (connector, id)
  std::vector<Message> messages;  // sorted by (sent_at, connector, id)
  Timestamp updated_at = 0;       // newest sent_at / contact update; not part of the content hash
};

void to_json(nlohmann::json& j, const Handle& h);
void to_json(nlohmann::json& j, const Attachment& a);
// kind, status and attachments are emitted only when not the default, so a record without them
// keeps the content hash it had before they existed.
void to_json(nlohmann::json& j, const Message& m);
// Only the attributes that are set, {} when none is.
void to_json(nlohmann::json& j, const ContactAttributes& a);
// "attributes" is emitted only when one is set, so a contact without them keeps its content hash.
void to_json(nlohmann::json& j, const Contact& c);
void to_json(nlohmann::json& j, const PersonRecord& p);
// Inverse of a JSON array of to_json(Handle); handles of unknown kinds are skipped. Throws
// nlohmann::json::exception on malformed text.
std::vector<Handle> handles_from_json(std::string_view text);
// Attachments as stored (a JSON array of to_json(Attachment)); "" or "[]" give none. Throws
// nlohmann::json::exception on malformed text.
std::string attachments_to_json(const std::vector<Attachment>& attachments);
std::vector<Attachment> attachments_from_json(std::string_view text);
// Attributes as stored: "" when none is set, else the JSON object of to_json(ContactAttributes).
// Unknown keys are ignored. Throws nlohmann::json::exception on malformed text.
std::string attributes_to_json(const ContactAttributes& a);
ContactAttributes attributes_from_json(std::string_view text);

// A record an adapter could not map (bad date, missing field): kept with its raw bytes exactly as
// received, never dropped. The pipeline stores it with the (connector, stream) it came from.
struct DeadLetter {
  std::string record_id;  // vendor id if known
  std::string error;      // why it was rejected
  std::string raw;        // the record's bytes as the vendor sent them
};

// What a target was last sent for a person (the push ledger's row).
struct PushLedgerEntry {
  std::string person_id;
  std::string hash;            // content_hash() of the record delivered
  std::string remote_id;       // the target's id for the person ("" when it has none)
  std::string fields;          // field_fingerprint() of it, for push --dry-run -v ("" when recorded before schema 4)
  std::int64_t pushed_at = 0;  // when the target confirmed it (ms)
  bool erased = false;         // `chansync erase` took the person out: the target deletes it for good
};

// A person a target refused on consecutive pushes (push_failures). After k_park_after runs with the
// same content it is parked: skipped, so it no longer holds back the target's mark, until its content
// changes or a push --full retries it.
struct PushFailure {
  std::string person_id;
  std::string hash;  // content_hash() of what was refused ("" for a deletion)
  int runs = 0;      // consecutive pushes that refused this content
  std::int64_t first_at = 0, last_at = 0;
  std::string error;  // the target's words the last time
};
constexpr int k_park_after = 3;

// Content fingerprint: 64-bit FNV-1a over the record's canonical JSON without
// updated_at, as 16 hex digits). Equal records give equal hashes across runs and machines.
std::string content_hash(const PersonRecord& p);
// 64-bit FNV-1a of `text`, continuing from `h` (the offset basis to start), for hashing in pieces.
inline constexpr std::uint64_t k_fnv64_basis = 14695981039346656037ull, k_fnv64_prime = 1099511628211ull;
std::uint64_t fnv1a_64(std::string_view text, std::uint64_t h = k_fnv64_basis);

}  // namespace chansync
