#pragma once
// An in-memory Chatwoot account answering the Application API calls the chatwoot sink makes, with
// Chatwoot's own rules and answer shapes: the api_access_token header is checked (401), identifiers,
// emails and phone numbers are unique per account and phones E.164 (422 with Chatwoot's message),
// a contact_inbox source_id is unique per inbox, deleting a contact deletes its conversations, a
// conversation's messages are listed 20 at a time, newest last, paging back with `before`, and a
// deleted message stays as "This message was deleted" without its content_attributes.
// Serve it with FakeServer([&](const auto& req, std::size_t) { return chatwoot.handle(req); }).
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/fake_server.hpp"

namespace chansync::test {

class FakeChatwoot {
 public:
  static constexpr std::int64_t k_account = 7;
  static constexpr std::int64_t k_inbox = 3;
  static constexpr const char* k_token = "cw-token-5b1e9d";

  struct Contact {
    std::int64_t id = 0;
    std::string identifier, name, email, phone_number;
  };
  struct Message {
    std::int64_t id = 0;
    std::string content, message_type;  // "incoming" / "outgoing"
    bool is_private = false;
    nlohmann::json content_attributes = nlohmann::json::object();
  };
  struct Conversation {
    std::int64_t id = 0, contact_id = 0, inbox_id = 0;
    std::string source_id;
    nlohmann::json additional_attributes = nlohmann::json::object();
    std::vector<Message> messages;
  };
  // Given a request, a response to send instead of (before) or after (after: the state has changed)
  // handling it; nullopt to leave it alone.
  using Fault = std::function<std::optional<Scripted>(const httplib::Request&)>;

  // `channel_type` of the inbox: "Channel::Api", or another to play a wrong inbox.
  explicit FakeChatwoot(std::string token = k_token, std::string channel_type = "Channel::Api");

  Scripted handle(const httplib::Request& req);

  void fail_before(Fault f);
  void fail_after(Fault f);
  // Plays an old Chatwoot that stores a message without the content_attributes it was sent.
  void drop_content_attributes();

  // Seeds or edits the account behind the API's back (an agent at work). add_contact returns the id.
  std::int64_t add_contact(Contact c);
  void edit_contact(std::int64_t id, const std::function<void(Contact&)>& edit);
  void delete_contact(std::int64_t id);
  // A conversation of the contact that Chatwoot itself opened (an email or web widget inbox); its id.
  std::int64_t add_conversation(std::int64_t contact_id, std::int64_t inbox_id);
  void delete_conversation(std::int64_t id);

  std::vector<Contact> contacts();
  std::vector<Conversation> conversations();
  // The identifier of every contact create and update Chatwoot accepted, in order of arrival.
  std::vector<std::string> arrivals();

 private:
  Scripted route(const httplib::Request& req);
  Scripted search(const httplib::Request& req);
  Scripted save_contact(const nlohmann::json& body, Contact* existing);
  Scripted merge_contacts(const nlohmann::json& body);
  Scripted create_conversation(const nlohmann::json& body);
  Scripted list_messages(Conversation& c, const httplib::Request& req);
  Scripted post_message(Conversation& c, const nlohmann::json& body);
  nlohmann::json contact_json(const Contact& c) const;
  nlohmann::json conversation_json(const Conversation& c) const;
  Contact* contact(std::int64_t id);
  Conversation* conversation(std::int64_t id);

  std::mutex m_mu;
  std::string m_token, m_channel_type;
  bool m_drop_attributes = false;
  Fault m_before, m_after;
  std::int64_t m_next_id = 100;
  std::vector<Contact> m_contacts;
  std::vector<Conversation> m_conversations;
  std::vector<std::string> m_arrivals;
};

}  // namespace chansync::test
