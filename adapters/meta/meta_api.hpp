#pragma once
// Meta Graph API wire format for Messenger and Instagram history: GET /{page-id}/conversations pages
// (with their nested first page of messages) and the X-App-Usage /
// X-Business-Use-Case-Usage headers. Pure: no HTTP here. Graph errors: graph.hpp.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sync/error.hpp"
#include "sync/model.hpp"

namespace chansync::adapters::meta {

struct WireParticipant {
  std::string id;
  std::string name;  // Messenger: "name"; Instagram: "username"
};

struct WireMessage {
  std::string id;
  std::string created_time;  // "2026-10-01T09:00:00+0000"
  std::string from_id;
  std::string text;  // "message"; "" when the message is only attachments
  std::vector<Attachment> attachments;
  std::string raw;  // the message's JSON, for a dead letter
};

struct WireConversation {
  std::string id;
  std::string updated_time;
  std::vector<WireParticipant> participants;
  std::vector<WireMessage> messages;  // newest first, as Graph lists them
  std::string messages_next;          // the nested page's paging.next (absolute URL), "" when none
  std::string raw;                    // for a dead letter
};

struct ConversationsPage {
  std::vector<WireConversation> conversations;
  std::vector<DeadLetter> rejects;  // entries without an id
  std::string after;                // paging.cursors.after
  bool has_next = false;            // paging.next present
};

// Parses a /conversations page. Errc::protocol when the body is not the documented shape.
Result<ConversationsPage> parse_conversations_page(const std::string& body);

// Parses a nested messages page (what a conversation's messages.paging.next returns:
// {"data": [...], "paging": {...}}). `next` gets its paging.next ("" when none).
Result<std::vector<WireMessage>> parse_messages_page(const std::string& body, std::string& next,
                                                     std::vector<DeadLetter>& rejects);

// The highest usage percentage in X-App-Usage and X-Business-Use-Case-Usage (call_count,
// total_time, total_cputime), and the longest estimated_time_to_regain_access (minutes). Headers
// that are absent or unreadable count as 0.
struct Usage {
  double percent = 0;
  int regain_minutes = 0;
  std::string which;  // "X-App-Usage call_count" — the header and figure that is highest
};
Usage parse_usage(const std::map<std::string, std::string>& headers);

// The instagram_business_account id of GET /{page-id}?fields=instagram_business_account; "" if none.
std::string instagram_account_of(const std::string& body);

}  // namespace chansync::adapters::meta
