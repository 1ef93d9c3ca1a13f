#pragma once
// The simulator's Twilio Conversations API (conversations.twilio.com/v1) for the corpus's customers:
// every 4th customer (i % 4 == 2) texts in an SMS conversation, every 8th (i % 8 == 2) also in a
// WhatsApp one, through the same numbers the Messaging API shows; a few web chat visitors
// ("visitor-N", chat users) write in chat-only conversations. Agents answer as the chat users
// agent.lena and agent.jonas, automated notices come from "system".
//   GET /v1/Configuration                  the account's default service
//   GET /v1/Services/{IS}                  that service (any other IS… is a 404)
//   GET {root}/Conversations?PageSize=N[&Page=P&PageToken=T]               in creation order
//   GET {root}/Conversations/{CH}/Participants|Messages?PageSize=N[&...]    (messages oldest first)
// where {root} is /v1 or /v1/Services/{IS}; PageSize at most 100; meta.next_page_url is absolute.
// A conversation's date_updated is its newest message's time. POST
// /_sim/add-conversation-messages?n=N appends N inbound messages to the least recently updated SMS
// or WhatsApp conversation, which becomes the most recently updated.
#include <httplib.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/simulator/corpus.hpp"

namespace chansync::sim {

struct ConversationsOptions {
  std::string account_sid = "AC00000000000000000000000000000000";
  std::string service_sid = "ISc0ffee00000000000000000000000001";
};

class ConversationsSim {
 public:
  // Applies an armed /_sim/fault and checks Basic auth; false when it answered the request already.
  using Admit = std::function<bool(const httplib::Request&, httplib::Response&)>;

  ConversationsSim(const Corpus& corpus, ConversationsOptions opts, Admit admit);
  // Adds the routes to `server`. The server must not outlive this object.
  void routes(httplib::Server& server);
  // For /_sim/stats: conversations_requests, conversations, conversation_messages.
  void stats(nlohmann::json& out);

 private:
  struct Party {
    std::string sid;  // MB…
    std::string identity;
    std::string type, address, proxy;  // a messaging binding; empty for a chat user
  };
  struct Message {
    std::string sid;  // IM…
    std::string author, participant_sid, body;
    std::int64_t ms = 0;
    bool outbound = false;  // to an SMS/WhatsApp customer: has a delivery summary
  };
  struct Conversation {
    std::string sid;  // CH…
    std::string name;
    std::int64_t created_ms = 0, updated_ms = 0;
    std::vector<Party> parties;
    std::vector<Message> messages;  // oldest first
  };

  void build(const Corpus& corpus);
  void add_message(Conversation& c, const Party& author, std::int64_t ms, const std::string& body);
  // Common to every request: counts it, then `m_admit`. False when the request is answered already.
  bool admit(const httplib::Request& req, httplib::Response& res);
  // The service root a request addressed ("/v1" or "/v1/Services/IS…"); nullopt (and a 404 in `res`)
  // for another service.
  std::optional<std::string> root_of(const httplib::Request& req, httplib::Response& res);
  void list_conversations(const httplib::Request& req, httplib::Response& res);
  void list_children(const httplib::Request& req, httplib::Response& res, bool messages);
  nlohmann::ordered_json render(const Conversation& c, const std::string& url) const;
  nlohmann::ordered_json render(const Conversation& c, const Party& p, const std::string& url) const;
  nlohmann::ordered_json render(const Conversation& c, const Message& m, std::size_t index,
                                const std::string& url) const;

  ConversationsOptions m_opts;
  Admit m_admit;
  std::mutex m_mu;                            // guards the conversations
  std::vector<Conversation> m_conversations;  // creation order: the list's order
  std::map<std::string, std::size_t> m_by_sid;
  std::atomic<long> m_requests{0};
  std::uint64_t m_seed = 0;    // the corpus's, in every sid
  std::uint64_t m_serial = 0;  // next message number
};

}  // namespace chansync::sim
