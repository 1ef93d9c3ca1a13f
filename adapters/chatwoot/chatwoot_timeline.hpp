#pragma once
// A person's timeline in Chatwoot: one conversation per channel in the inbox, holding each of the
// person's messages once, and a private note naming the person's other channels.
//
// Chatwoot has no idempotency key or unique external id for messages, so each message carries its
// chansync id in content_attributes and a push posts only the ids it does not find in the
// conversation. Reading a whole conversation back on every push cost a request per 20 messages
// (a one-message update of a 1,000-message thread: 51 reads), so the push ledger's remote id keeps,
// per conversation, a mark of what the last push confirmed: the newest message id then, how many of
// the person's messages were there, and a digest of their ids in the record's order. A push reads
// back only the messages newer than the mark, and when the record's ids (without those found newer)
// begin with the confirmed ones, it knows the rest are there. Otherwise (a split, a merge or an undo
// changed the person's messages, a backfill brought older ones, a ledger written before marks), it
// reads the whole conversation. Before posting, it lists the contact's conversations: one of
// chansync's on the channel that a contact merge moved there is read, and what it holds is not posted
// again. chansync's messages the record lacks are deleted from the person's own conversation, and
// only those the mark covers (see everything() in the .cpp).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/chatwoot/chatwoot_api.hpp"
#include "sync/model.hpp"

namespace chansync::adapters::chatwoot {

// What the ledger keeps of a channel's conversation.
struct ConversationMark {
  std::int64_t id = 0;        // the conversation
  std::int64_t newest = 0;    // the newest message id when the last push confirmed it (0: no mark)
  std::size_t delivered = 0;  // how many of the person's messages on the channel were there then
  std::string digest;         // of their ids, in the record's order
  std::string note;           // digest of the private note there then; "" for none
  std::size_t kept = 0;       // chansync's messages there the record lacked, left: none is deleted
};

// A person's remote id on Chatwoot: the contact id, then each channel's conversation with its mark,
// "123;sms=45:812:40:3f9c0a1b2c3d4e5f::0;whatsapp=46:...;@email=..." (a ledger written before kept "123;sms=45" or
// the contact id alone). A conversation is asked for by its id: Chatwoot lists only the newest 20
// conversations of a contact, and its own inboxes (email, the web widget) add conversations to it.
struct RemoteIds {
  std::int64_t contact = 0;
  std::map<std::string, ConversationMark> conversations;  // by channel
  // Digests of the email and phone number chansync set on the contact ("" for none), kept as
  // ";@email=<digest>;@phone=<digest>": one the person no longer has is cleared if still there.
  std::string email_set, phone_set;
};

// The digest a remote id keeps of a value (16 hex digits of its SHA-256).
std::string short_digest(std::string_view text);

std::optional<RemoteIds> parse_remote_ids(std::string_view text);
std::string format_remote_ids(const RemoteIds& ids);

// Brings the person's conversations in `inbox` to its record: finds or opens one per channel, posts
// the messages and the note that are not there and deletes chansync's messages the record no
// longer has (see above); `ids` gets each channel's conversation and mark. Errors are the API's;
// Errc::interrupted when a stop signal came between two messages.
Result<void> deliver_timeline(Api& api, const std::string& target, std::int64_t inbox, const PersonRecord& p,
                              RemoteIds& ids);

}  // namespace chansync::adapters::chatwoot
