#pragma once
// What the Twilio source types (twilio-messaging, twilio-calls) share: the account's options and
// Basic auth, the health probe (GET the account), and the paging of a 2010-04-01 list resource with
// its day-granular incremental cursor. Each type only maps its resource's page into conversations.
// twilio-conversations shares the options, auth and own numbers, and brings its own probe and paging.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/rate_limit.hpp"
#include "adapters/read_ahead.hpp"
#include "adapters/registry.hpp"
#include "adapters/twilio/twilio_backfill.hpp"
#include "sync/normalize.hpp"

namespace chansync::adapters::twilio {

// The options every Twilio source takes, with the same names, docs and defaults; `base_url` is the
// default API root (the 2010 API's, or conversations.twilio.com for the Conversations API).
std::vector<OptionSpec> source_options(const char* base_url = "https://api.twilio.com");
// source_options and those of a 2010 list resource's paging (twilio-messaging, twilio-calls).
std::vector<OptionSpec> list_options();

// The ConcurrencyGate of the account `account_sid` at `base_url` (trailing slashes ignored): Twilio
// limits requests in flight per account, so every Twilio connector of the process on the same
// account and API root gets the same gate, and the connectors that sync/pull runs on threads
// together stay within the limit the gate has learnt. The gate lives while a connector holds it.
// Thread-safe; the same arguments give the same gate for as long as it lives.
std::shared_ptr<ConcurrencyGate> account_gate(std::string base_url, const std::string& account_sid);

// A Twilio list resource pulled by day: Messages.json filtered by DateSent>=, Calls.json by StartTime>=.
struct ListResource {
  const char* file;    // "Messages.json"
  const char* filter;  // "DateSent": the query is `<filter>>=YYYY-MM-DD`
  const char* what;    // "messages", for error messages ("listing Twilio messages")
};

class TwilioSource : public Adapter, public ConversationSource {
 public:
  TwilioSource(const AdapterContext& ctx, const char* type);

  std::vector<std::string> own_handles() const override;
  HealthReport probe() override;

 protected:
  // What a pass has seen of its records' dates: the newest, and the oldest of a record whose outcome
  // is still to come (a call queued, ringing or in progress; 0 when none), which the next pass must
  // read again.
  struct ListMarks {
    Timestamp high = 0;
    Timestamp open = 0;
  };
  // Parses the page `body` (kept alive for the page's raw views), maps its records into `page`
  // (items and rejects) and raises `marks` (the newest record date mapped; the oldest one still
  // open). Returns the page's next_page_uri ("" on the last page), or the Errc::protocol error of a
  // body that is not a page.
  using MapPage = std::function<Result<std::string>(std::string& body, Page<Conversation>& page, ListMarks& marks)>;

  // Fetches one page of `res` after `req.cursor`. The first page of a pass asks for records since
  // the newest day the previous pass saw: the filter is day-granular, so that day is read again and
  // its records are deduplicated by sid when they are stored. Errors leave the cursor where it was.
  Result<Page<Conversation>> pull_list(const PullRequest& req, const ListResource& res, const MapPage& map);
  // The one stream of a list resource pulled by pull_list: Twilio pages it newest first (a backfill
  // in windows, each window newest first), so its messages come in time order.
  static std::vector<Stream> list_streams() {
    return {{.name = to_string(Role::conversations), .role = Role::conversations, .in_time_order = true}};
  }

  bool is_own(const std::string& e164) const;
  bool has_own_numbers() const { return !m_own.empty(); }

  std::string m_name, m_base, m_sid, m_region;
  std::vector<std::string> m_own;
  PhoneNormalizer m_phone{m_region};
  // The account's HTTP client, once the chain of pages read ahead on another thread (m_chain) has
  // stopped (its pages dropped, their requests not counted: for a probe): a client is one thread's
  // at a time.
  HttpClient& http();

 private:
  struct ListCursor;
  // A backfill in windows (twilio_backfill.hpp): the windows of the days the list holds, from probes
  // of one record each (the newest record, then a bisection for the oldest day). Empty when the list
  // is empty or its records are of one day. `requests` counts the probes.
  Result<std::vector<Window>> plan_windows(const ListResource& res, const MapPage& map, std::size_t& requests);
  // The next page of the backfill in windows `cursor` describes.
  Result<Page<Conversation>> pull_windows(const PullRequest& req, const ListResource& res, const MapPage& map,
                                          ListCursor& cursor, std::size_t requests);
  // Maps the answer to GET `path` into `page`, raising `high`: the page's next_page_uri ("" on the
  // last), or the error of a failed request, a refusal, a body that is not a page or a next_page_uri
  // that is not relative. `doing` names the call in errors ("listing Twilio messages").
  Result<std::string> map_response(const std::string& path, Result<HttpResponse>& resp, const std::string& doing,
                                   const MapPage& map, Page<Conversation>& page, ListMarks& marks);
  std::string list_path(const ListResource& res, int page_size, const std::string& since,
                        const std::string& until) const;

  HttpOptions m_options;  // m_http's, for the window fetchers' clients
  HttpClient m_http;
  // One GET of m_base + path, with the requests it took (retries included).
  struct Fetched {
    Result<HttpResponse> response;
    std::size_t requests = 0;
  };
  Fetched get(const std::string& path);
  // The answer for `path`: the chain's next page when it is that one; else, with `follow`, the first
  // page of a chain started at `path` (read on ahead of it), without, fetched now. The requests of
  // pages read ahead and not taken are added to the answer's.
  Fetched take(const std::string& path, bool follow);

  const char* m_type;
  // Pages fetched at once in a backfill (option backfill_in_flight; 1: one chain of pages), the
  // backfill's fetcher and the cursor of the last page it handed out: a call with another cursor (a
  // new pass, a resumed one) starts a fetcher from that cursor's windows.
  int m_in_flight = 1;
  std::unique_ptr<WindowFetcher> m_windows;
  std::string m_windows_cursor;
  std::vector<std::optional<Window>> m_handed;  // the fetcher's windows as of the pages handed out; ended: none
  // The chain of pages of pull_list, read ahead while the pages before are parsed and mapped. Declared
  // last: destroyed first, it joins a request under way before anything the request uses is destroyed.
  ChainReader<Fetched> m_chain;
};

}  // namespace chansync::adapters::twilio
