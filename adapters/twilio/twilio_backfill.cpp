#include "adapters/twilio/twilio_backfill.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "adapters/twilio/twilio_api.hpp"
#include "sync/timestamp.hpp"

namespace chansync::adapters::twilio {

namespace {
Timestamp day_of(Timestamp ms) {
  return (ms >= 0 ? ms : ms - k_day_ms + 1) / k_day_ms;
}
}  // namespace

std::vector<Window> split_days(Timestamp oldest, Timestamp newest, int clients, bool until_takes_day) {
  const Timestamp first = day_of(std::min(oldest, newest)), last = day_of(std::max(oldest, newest));
  const Timestamp n = std::max(1, clients), days = last - first + 1;
  // Each window takes 1/(2n) of the days left, but no more than the 4n equal runs would (the newest
  // days, paged first, are often the densest: one long window of them would be a chain the others
  // wait on) and no fewer than 1/(8n) of them (at most 8n windows in the cursor, whatever the span).
  const Timestamp most = (days + 4 * n - 1) / (4 * n), least = (days + 8 * n - 1) / (8 * n);
  std::vector<Window> out;
  Timestamp upper = last;  // the newest day of the next window
  for (Timestamp left = days; left > 0;) {
    const Timestamp span = std::min(left, std::clamp((left + 2 * n - 1) / (2 * n), least, most));
    const Timestamp lower = upper - span + 1;
    const Timestamp until = until_takes_day ? upper : upper + 1;  // its last day, or the day after it
    left -= span;
    out.push_back(
        Window{left == 0 ? "" : format_date(lower * k_day_ms), out.empty() ? "" : format_date(until * k_day_ms), ""});
    upper = lower - 1;
  }
  return out;
}

WindowFetcher::WindowFetcher(const HttpOptions& options, int clients, std::string base, std::vector<Window> windows,
                             const std::function<std::string(const Window&)>& first)
    : m_base(std::move(base)) {
  for (const auto& w : windows) m_windows.push_back({w.next.empty() ? first(w) : w.next});
  HttpOptions opts = options;  // copied before the pipe is made: nothing throws between it and the try
  if (::pipe2(m_stop_pipe.data(), O_CLOEXEC) != 0)
    throw Failure(Errc::internal, fmt::format("cannot make a pipe for the backfill's threads: {}; if chansync is out "
                                              "of file descriptors, raise `ulimit -n`",
                                              std::strerror(errno)));
  // A wait before sending (a 429's Retry-After, a back-off, pacing) ends, and the request is not sent,
  // when the process is asked to stop or the fetcher stops (its pipe). An injected sleeper (tests) is
  // kept.
  opts.stop_ends_waits = true;
  opts.stop_fd = m_stop_pipe[0];
  try {
    for (int i = 0; i < clients; ++i) m_clients.push_back(std::make_unique<HttpClient>(opts));
    for (auto& c : m_clients) m_threads.emplace_back([this, client = c.get()] { run(*client); });
  } catch (...) {
    stop();
    throw;
  }
}

WindowFetcher::~WindowFetcher() {
  stop();
}

void WindowFetcher::stop() {
  {
    std::lock_guard lock(m_mu);
    m_stop = true;
  }
  m_cv.notify_all();
  if (m_stop_pipe[1] >= 0) {
    const char byte = 1;
    [[maybe_unused]] const auto n = ::write(m_stop_pipe[1], &byte, 1);  // readable from now on: waits end
  }
  m_threads.clear();  // joins: a request under way ends (at worst at the client's timeout)
  for (int& fd : m_stop_pipe)
    if (fd >= 0) ::close(std::exchange(fd, -1));
}

std::optional<WindowPage> WindowFetcher::next() {
  std::unique_lock lock(m_mu);
  const auto pending = [&] {
    return std::any_of(m_windows.begin(), m_windows.end(), [](const State& s) { return s.busy || !s.path.empty(); });
  };
  m_cv.wait(lock, [&] { return !m_ready.empty() || !pending(); });
  if (m_ready.empty()) return std::nullopt;
  WindowPage page = std::move(m_ready.front());
  m_ready.pop_front();
  lock.unlock();
  m_cv.notify_all();  // room for another page
  return page;
}

void WindowFetcher::run(HttpClient& client) {
  std::unique_lock lock(m_mu);
  for (;;) {
    // The newest window with a page to ask for that no other thread is asking for, while fewer pages
    // wait to be taken than there are clients.
    auto it = m_windows.end();
    m_cv.wait(lock, [&] {
      if (m_stop) return true;
      if (m_ready.size() >= m_clients.size()) return false;
      it = std::find_if(m_windows.begin(), m_windows.end(), [](const State& s) { return !s.busy && !s.path.empty(); });
      return it != m_windows.end();
    });
    if (m_stop) return;
    WindowPage page{static_cast<std::size_t>(it - m_windows.begin()), std::exchange(it->path, ""), "", {}, 0};
    // Asked to stop: no page is asked for after it. The window ends with a page that says so, for
    // the pull to take instead of waiting (it resumes from the cursor committed before).
    if (stop_asked()) {
      page.response = std::unexpected(
          Error{Errc::interrupted,
                fmt::format("stopped by a signal before asking for the next page of {}; what was committed is "
                            "kept, and the next run resumes after it",
                            client.redact(m_base + page.path.substr(0, page.path.find('?')))),
                client.options().connector});
      m_ready.push_back(std::move(page));
      m_cv.notify_all();
      continue;
    }
    it->busy = true;
    lock.unlock();
    const std::size_t before = client.requests();
    page.response = client.send({"GET", m_base + page.path});
    page.requests = client.requests() - before;
    // The next page of this window: named by this one (Twilio's next_page_uri), none after a failure.
    if (page.response && page.response->status == 200) page.next = peek_next_page_uri(page.response->body);
    lock.lock();
    m_windows[page.window].busy = false;
    m_windows[page.window].path = page.next;
    m_ready.push_back(std::move(page));
    m_cv.notify_all();
  }
}

}  // namespace chansync::adapters::twilio
