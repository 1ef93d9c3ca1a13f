#pragma once
// A backfill of a Twilio 2010 list resource (Messages.json, Calls.json) with several pages in flight.
// Twilio pages a list newest first through next_page_uri, so one chain of pages has one request in
// flight at a time, while the account allows more (error 20429 past its concurrency limit). The list
// is therefore cut into windows of days (DateSent>=A&DateSent<=B), each paged on its own, and the
// windows are fetched side by side by one thread and HTTP client each. Pages are handed out in the
// order they arrive; the cursor committed with a page holds every window's place as of the pages
// handed out, so a pull killed at any moment resumes each window where its last committed page left it.
#include <array>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "adapters/http.hpp"
#include "sync/model.hpp"

namespace chansync::adapters::twilio {

inline constexpr Timestamp k_day_ms = 86'400'000;  // a UTC day: Twilio's date filters go by whole days

// One window: the days it covers (YYYY-MM-DD, "" = open on that side) and the relative URI of its
// next page ("" = its first page, not yet fetched).
struct Window {
  std::string since, until, next;
  bool operator==(const Window&) const = default;
};

// The windows of the days from `oldest` to `newest` (epoch ms, any time of those days), newest first,
// for `clients` (n) fetching side by side: each takes 1/(2n) of the days not yet given, rounded up,
// within [1/(8n), 1/(4n)] of all the days, so they shrink toward the end (guided self-scheduling).
// The windows fetched last are the ones a client takes when the others are nearly done: short, the
// clients end together instead of one paging a long last window alone. The first is open above
// (records newer than the plan still fall into it) and the last open below. One window when the
// days are one.
// Twilio documents DateSent<=DAY as "on or before midnight on a date", which can be read both ways:
// with `until_takes_day` (DAY's own records included, as the simulator and, by a probe, the server
// answer) a window's `until` is its last day; without, it is the day after, whose midnight ends it.
std::vector<Window> split_days(Timestamp oldest, Timestamp newest, int clients, bool until_takes_day = true);

// A page of one window, as it came.
struct WindowPage {
  std::size_t window = 0;  // its index in the windows the fetcher was given
  std::string path;        // the relative URI it was fetched from
  std::string next;        // the next page of its window the fetcher goes on with ("" = none)
  Result<HttpResponse> response;
  std::size_t requests = 0;  // retries included
};

// Fetches the pages of `windows` with `clients` threads, one HTTP client each (made from `options`),
// each window's pages in order (its next page is asked for as soon as the one before names it), the
// newest windows first. At most as many pages wait to be taken as there are clients; a window whose
// page failed is not fetched further. The destructor stops fetching: no new page is asked for after it,
// a wait before a retry ends without the retry, and it waits for the requests under way (a retry
// waiting at the account's concurrency gate goes when the gate lets it, as they end). A stop of the
// process (interrupt_waits_on) ends the waits the same way, and every window then ends with a page
// whose response is Errc::interrupted instead of asking for another.
class WindowFetcher {
 public:
  // `first(window)`: the relative URI of a window's first page; `base`: the API root URIs are under.
  WindowFetcher(const HttpOptions& options, int clients, std::string base, std::vector<Window> windows,
                const std::function<std::string(const Window&)>& first);
  ~WindowFetcher();
  WindowFetcher(const WindowFetcher&) = delete;
  WindowFetcher& operator=(const WindowFetcher&) = delete;

  // The next page fetched, waiting for one; nullopt once every window's last page has been taken.
  std::optional<WindowPage> next();

 private:
  struct State {
    std::string path;  // the page to ask for next ("" once the last was fetched)
    bool busy = false;
  };
  void run(HttpClient& client);
  void stop();

  std::string m_base;
  std::mutex m_mu;
  std::condition_variable m_cv;
  std::vector<State> m_windows;
  std::deque<WindowPage> m_ready;
  bool m_stop = false;
  std::array<int, 2> m_stop_pipe{-1, -1};  // written by stop(): the clients' waits end (HttpOptions::stop_fd)
  std::vector<std::unique_ptr<HttpClient>> m_clients;
  std::vector<std::jthread> m_threads;  // last: joined before the rest is destroyed
};

}  // namespace chansync::adapters::twilio
