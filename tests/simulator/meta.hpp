#pragma once
// The simulator's Meta Graph API: the conversation history of one Facebook Page's Messenger inbox
// and of the Instagram professional account linked to it, for a deterministic subset of the
// corpus's customers (the same people who text by SMS and sit in HubSpot):
//   GET /{v}/{page-id}?fields=id,name | ?fields=instagram_business_account
//   GET /{v}/{page-id}/conversations?platform=messenger|instagram&fields=...&limit=N[&after=CURSOR]
//       newest-updated first; each carries its newest messages (fields=...messages.limit(N){...},
//       at most 100) and, when it has more, messages.paging.next
//   GET /{v}/{thread-id}/messages?fields=...&limit=N[&after=CURSOR]  (older messages, newest first)
// Authorization: Bearer <token> (or ?access_token=); Graph-shaped errors (190 for a wrong token, 12
// for a version before v19.0, 100 for an unknown object or a bad cursor); X-App-Usage on every
// answer with a low call_count. Health (tests/simulator/meta_health.cpp):
//   GET /{v}/debug_token?input_token=T  the token's validity, scopes and expiry; faults armed for
//       "meta/debug_token": expiring (expires in 5 days), expired (is_valid false, 190/463),
//       no_scopes (valid, without the messaging permissions)
//   GET /{v}/{page-id|waba-id}/subscribed_apps  one app subscribed; fault "meta/subscribed_apps"
//       kind gone: none (data is empty), no_messages: subscribed without the messages field
// and the WhatsApp phone number object (GET /{v}/{phone-number-id}). POST /_sim/add-meta-messages?platform=P&n=N
// appends N inbound messages to the least recently updated conversation of P, which becomes the newest.
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

struct MetaOptions {
  std::string token = "sim-meta-token";
  std::string page_id = "1000000000000001";
  std::string ig_id = "17841400000000001";
  std::string page_name = "Sim Shop";
  std::string ig_username = "sim.shop";
  std::string phone_number_id = "106540352242922";  // a WhatsApp Cloud API business number
  std::string waba_id = "102290129340398";          // the WhatsApp Business Account that owns it
  // Counts a call against the app's usage and sets X-App-Usage; false when refused (the Graph error
  // is set). Empty: a low usage that rises slowly and is never refused.
  std::function<bool(httplib::Response&)> usage;
};

class MetaSim {
 public:
  // Takes the kind of the first armed /_sim/fault for a vendor ("429", "500", "401", "sunset",
  // "malformed"), consuming one of its count; nullopt when none applies. A vendor naming one endpoint
  // ("meta/debug_token") takes only faults armed for it by name.
  using FaultTaker = std::function<std::optional<std::string>(const std::string& vendor)>;

  MetaSim(const Corpus& corpus, MetaOptions opts, FaultTaker faults);
  // Adds the routes to `server`. The server must not outlive this object.
  void routes(httplib::Server& server);
  // For /_sim/stats: meta_requests and, per platform, the conversations and messages served
  // (meta_messenger_conversations, meta_messenger_messages, meta_instagram_...).
  void stats(nlohmann::json& out);

 private:
  struct Message {
    std::int64_t ms;
    std::string json;  // rendered once
  };
  struct Thread {
    std::string id;                   // "t_…"
    std::string participants;         // {"data":[...]} rendered once
    nlohmann::ordered_json customer;  // {"name"|"username", "id"} of the customer
    std::string customer_id;          // PSID or IGSID
    std::vector<Message> messages;    // oldest first: an index is a stable cursor
    std::int64_t updated_ms = 0;
  };
  struct Platform {
    std::string name;                 // "messenger", "instagram"
    nlohmann::ordered_json business;  // {"name"|"username", "id"} of the page or the Instagram account
    std::vector<Thread> threads;
    std::vector<std::size_t> order;  // thread indexes, newest-updated first (ties: id descending)
    std::size_t messages = 0;
  };

  void build(const Corpus& corpus);
  // Appends a message to `t` (the newest), rendered as Graph would send it; `attachments` null =
  // none; `sticker`: neither text nor attachments (a sticker or reaction: an event to chansync).
  void add_message(Platform& p, Thread& t, std::int64_t ms, bool inbound, const std::string& text,
                   const nlohmann::ordered_json& attachments, bool sticker);
  void sort(Platform& p);
  // Common to every Graph request: counts it, applies a fault, checks the token and the version.
  // Returns false (with `res` filled) when the request is answered already.
  bool admit(const httplib::Request& req, httplib::Response& res);
  void object(const httplib::Request& req, httplib::Response& res);
  void debug_token(const httplib::Request& req, httplib::Response& res);
  void subscribed_apps(const httplib::Request& req, httplib::Response& res);
  void conversations(const httplib::Request& req, httplib::Response& res);
  void thread_messages(const httplib::Request& req, httplib::Response& res);
  // A conversation's messages from index `end` (exclusive) downwards, `limit` of them, as
  // {"data":[...],"paging":{...}}; `path_base` is "http://host/v23.0".
  // `token_query`: "&access_token=…" when the request carried the token in its query (Graph repeats
  // it in paging.next), else "".
  std::string messages_page(const Thread& t, std::size_t end, int limit, const std::string& path_base,
                            const std::string& token_query) const;
  void headers(httplib::Response& res, const std::string& version);

  MetaOptions m_opts;
  FaultTaker m_faults;
  std::mutex m_mu;  // guards the platforms
  Platform m_messenger, m_instagram;
  std::map<std::string, std::pair<Platform*, std::size_t>> m_by_thread;  // thread id → where
  std::atomic<long> m_requests{0};
  std::uint64_t m_serial = 0;  // next added message's number
};

}  // namespace chansync::sim
