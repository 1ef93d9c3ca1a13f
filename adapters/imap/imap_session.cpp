#include "adapters/imap/imap_session.hpp"

#include <curl/curl.h>
#include <fmt/format.h>
#include <glib.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unicode/ucnv.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <charconv>

#include "sync/url.hpp"

namespace chansync::adapters::imap {
namespace {

// The host of an absolute URL as it writes it ("127.0.0.1", "[::1]"), without user@ and :port.
std::string_view host_of(std::string_view url) {
  std::string_view host = url_authority(url);
  if (const auto at = host.rfind('@'); at != std::string_view::npos) host.remove_prefix(at + 1);
  if (host.starts_with('[')) return host.substr(0, host.find(']') + 1);
  return host.substr(0, host.find(':'));
}

size_t on_bytes(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

bool tls_failure(CURLcode rc) {
  return rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
         rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CIPHER || rc == CURLE_USE_SSL_FAILED ||
         rc == CURLE_SSL_ISSUER_ERROR || rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH || rc == CURLE_SSL_INVALIDCERTSTATUS;
}

// A mailbox name as IMAP writes it: modified UTF-7 (RFC 3501 5.1.3) when it is not plain ASCII,
// by ICU's "IMAP-mailbox-name" converter; then quoted.
std::string quoted(const std::string& mailbox) {
  std::string name = mailbox;
  if (std::any_of(mailbox.begin(), mailbox.end(),
                  [](char ch) { return static_cast<unsigned char>(ch) >= 0x80 || ch == '&'; })) {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<UConverter, decltype(&ucnv_close)> conv(ucnv_open("IMAP-mailbox-name", &status), &ucnv_close);
    const auto text = icu::UnicodeString::fromUTF8(mailbox);
    if (U_SUCCESS(status)) {
      std::string out(static_cast<std::size_t>(text.length()) * 8 + 16, '\0');
      const auto n = text.extract(out.data(), static_cast<int32_t>(out.size()), conv.get(), status);
      if (U_SUCCESS(status)) name = out.substr(0, static_cast<std::size_t>(n));
    }
  }
  std::string out = "\"";
  for (char ch : name) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + '"';
}

// Where the response to command `tag` ends in `buf` (one past its tagged line), scanning on from
// `pos` and over literals (`literal` bytes of one are still to come); 0 while it has not arrived.
std::size_t response_end(const std::string& buf, const std::string& tag, std::size_t& pos, std::size_t& literal) {
  for (;;) {
    if (literal > 0) {
      if (buf.size() - pos < literal) return 0;
      pos += literal;
      literal = 0;
    }
    const auto eol = buf.find('\n', pos);
    if (eol == std::string::npos) return 0;
    std::string_view line(buf.data() + pos, eol - pos);
    pos = eol + 1;
    if (line.starts_with(tag) && line.size() > tag.size() && line[tag.size()] == ' ') return pos;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto open = line.rfind('{');
    if (!line.empty() && line.back() == '}' && open != std::string_view::npos) {
      std::size_t n = 0;
      const auto digits = line.substr(open + 1, line.size() - open - 2);
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
      if (ec == std::errc() && (end == digits.data() + digits.size() || *end == '+')) literal = n;
    }
  }
}

constexpr int k_io_timeout_ms = 120'000;

// Waits until the connection's socket is readable (or writable); false on timeout or error.
bool wait_socket(CURL* c, bool for_write) {
  curl_socket_t sock = CURL_SOCKET_BAD;
  if (curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &sock) != CURLE_OK || sock == CURL_SOCKET_BAD) return false;
  pollfd p{sock, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
  return ::poll(&p, 1, k_io_timeout_ms) > 0;
}

}  // namespace

ImapSession::ImapSession(ImapLogin login) : m_login(std::move(login)), m_redact({m_login.password}) {
  const auto base64 = [](const std::string& bytes) {
    gchar* encoded = g_base64_encode(reinterpret_cast<const guchar*>(bytes.data()), bytes.size());
    std::string out = encoded ? encoded : "";
    g_free(encoded);
    return out;
  };
  if (!m_login.password.empty()) {
    m_redact.add(base64(std::string(1, '\0') + m_login.username + std::string(1, '\0') + m_login.password));
    m_redact.add(base64(m_login.password));
    std::string quoted_form;  // LOGIN's quoted string: " and \ escaped with a backslash
    for (char c : m_login.password) {
      if (c == '"' || c == '\\') quoted_form += '\\';
      quoted_form += c;
    }
    m_redact.add(quoted_form);
  }
  init_curl();
  while (!m_login.url.empty() && m_login.url.back() == '/') m_login.url.pop_back();
}

ImapSession::~ImapSession() {
  disconnect();
}

void ImapSession::disconnect() {
  if (m_curl) curl_easy_cleanup(static_cast<CURL*>(m_curl));
  m_curl = nullptr;
}

// libcurl does what it does well — TCP, TLS with certificate checks, the greeting, CAPABILITY and the
// login with the best SASL mechanism — and then (CONNECT_ONLY) hands over the logged-in connection;
// the commands are sent and their responses read here. (libcurl's own IMAP requests cannot be used:
// its fetch sends BODY[], which marks mail read, and a custom FETCH's literals reach the caller only
// through its header callback, which stops at 300 KB per request.)
Result<void> ImapSession::connect(const std::string& what) {
  disconnect();
  auto* c = curl_easy_init();
  if (!c) return fail(Errc::internal, "curl_easy_init failed", m_login.connector);
  m_curl = c;
  std::string greeting;
  char errbuf[CURL_ERROR_SIZE] = {0};
  const std::string url = m_login.url + "/";
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_USERNAME, m_login.username.c_str());
  curl_easy_setopt(c, CURLOPT_PASSWORD, m_login.password.c_str());
  curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_bytes);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &greeting);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10'000L);
  curl_easy_setopt(c, CURLOPT_SERVER_RESPONSE_TIMEOUT, 60L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!m_login.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, m_login.ca_file.c_str());
  // imap:// to another host (allow_plaintext): STARTTLS whenever the server offers it (RFC 3501
  // 6.2.1), so the password does not cross the network in clear where TLS was to be had, and a
  // server that disables LOGIN until then (LOGINDISABLED, the usual port 143) can be logged in to at
  // all; its certificate is verified like imaps://. A loopback host is left in clear, as before: a
  // local bridge (Proton Mail Bridge) offers STARTTLS with a certificate of its own no CA signed.
  if (!is_loopback(host_of(url))) curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY));
  ++m_requests;
  m_tls_failed = false;
  const CURLcode rc = curl_easy_perform(c);
  // The handle outlives this frame: it must not point into it.
  curl_easy_setopt(c, CURLOPT_HEADERDATA, nullptr);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, nullptr);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  if (rc == CURLE_OK) return {};
  disconnect();
  const std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  const auto said = parse_response(greeting);
  if (said && said->busy)
    return fail(Errc::unavailable,
                fmt::format("{}: the IMAP server {} is unavailable ({}); the next run tries again", what, m_login.url,
                            said->tagged_text),
                m_login.connector);
  if (rc == CURLE_LOGIN_DENIED && greeting.find("LOGINDISABLED") != std::string::npos)
    return fail(Errc::config,
                fmt::format("{}: the IMAP server {} takes no login before STARTTLS (it says LOGINDISABLED), and "
                            "chansync speaks plain IMAP to a loopback host; no password was sent. Use imaps:// (port "
                            "993) or the server's address rather than a loopback one",
                            what, m_login.url),
                m_login.connector);
  if (rc == CURLE_LOGIN_DENIED || (said && said->auth_failed))
    return fail(
        Errc::auth,
        fmt::format("the IMAP server {} refused the login of \"{}\" ({}); check username and the password "
                    "that password_env/password_file gives (an app password where the provider requires one, as Gmail "
                    "does; Microsoft 365 and Outlook.com take no password over IMAP at all, only OAuth 2.0, which "
                    "chansync does not speak)",
                    m_login.url, m_login.username, said && !said->tagged_text.empty() ? said->tagged_text : detail),
        m_login.connector);
  m_tls_failed = tls_failure(rc);
  if (m_tls_failed)
    return fail(
        Errc::unavailable,
        fmt::format("{}: TLS with {} failed ({}); chansync never falls back to plain text: check the host "
                    "name, port and the server's certificate (a certificate signed by a CA of your own: name its PEM "
                    "file in ca_file)",
                    what, m_login.url, detail),
        m_login.connector);
  // Refused, timed out, or an answer that is not an IMAP server's (a BYE greeting, another protocol
  // on the port): the server cannot be used now, which is not the same as a mailbox gone.
  return fail(Errc::unavailable,
              fmt::format("{}: the IMAP server {} cannot be reached ({}); check url and that the server runs", what,
                          m_login.url, detail),
              m_login.connector);
}

Result<std::string> ImapSession::exchange(const std::string& command, const std::string& what) {
  auto* c = static_cast<CURL*>(m_curl);
  const std::string tag = fmt::format("c{}", ++m_tag);
  const std::string line = tag + " " + command + "\r\n";
  ++m_requests;
  m_dropped = false;
  auto broken = [&](const std::string& why) {
    disconnect();
    m_dropped = true;
    return fail(Errc::unavailable,
                fmt::format("{}: the connection to the IMAP server {} broke ({})", what, m_login.url, why),
                m_login.connector);
  };
  for (std::size_t sent = 0; sent < line.size();) {
    std::size_t n = 0;
    const CURLcode rc = curl_easy_send(c, line.data() + sent, line.size() - sent, &n);
    if (rc == CURLE_AGAIN) {
      if (!wait_socket(c, true)) return broken("timed out sending");
      continue;
    }
    if (rc != CURLE_OK) return broken(curl_easy_strerror(rc));
    sent += n;
  }
  std::string buf;
  std::size_t pos = 0, literal = 0;
  char chunk[64 * 1024];
  for (;;) {
    std::size_t n = 0;
    const CURLcode rc = curl_easy_recv(c, chunk, sizeof chunk, &n);
    if (rc == CURLE_AGAIN) {
      if (!wait_socket(c, false)) return broken(fmt::format("no answer for {} s", k_io_timeout_ms / 1000));
      continue;
    }
    if (rc != CURLE_OK) return broken(curl_easy_strerror(rc));
    if (n == 0) return broken("the server closed it");
    buf.append(chunk, n);
    if (const auto end = response_end(buf, tag, pos, literal)) {
      buf.resize(end);
      return buf;
    }
  }
}

Result<ImapResponse> ImapSession::run(const std::string& mailbox, const std::string& command, const std::string& what,
                                      bool retry, bool accept_no) {
  constexpr std::array<int, 2> k_waits = {1, 3};
  for (std::size_t attempt = 0;; ++attempt) {
    // Every command here only reads, so one that broke with the connection is safe to send again.
    auto attempt_once = [&]() -> Result<ImapResponse> {
      if (!m_curl)
        if (auto ok = connect(what); !ok) return std::unexpected(ok.error());
      ImapResponse out;
      if (!mailbox.empty()) {
        // EXAMINE: read-only, so nothing this session does can change a flag; and its answer
        // carries the mailbox's current UIDVALIDITY every time.
        auto raw = exchange("EXAMINE " + quoted(mailbox), what);
        if (!raw) return std::unexpected(raw.error());
        auto examined = parse_response(*raw);
        if (!examined) return std::unexpected(examined.error());
        // [UNAVAILABLE], [INUSE], [SERVERBUG]: the mailbox is there, the server cannot open it now.
        if (examined->busy)
          return fail(Errc::unavailable,
                      fmt::format("{}: the IMAP server {} cannot open mailbox \"{}\" now ({} {}); the next run tries "
                                  "again",
                                  what, m_login.url, mailbox, examined->tagged_status, examined->tagged_text),
                      m_login.connector);
        if (examined->select_failed || examined->tagged_status != "OK")
          return fail(Errc::remote,
                      fmt::format("{}: the IMAP server {} has no mailbox \"{}\" ({}); it was renamed or deleted, or "
                                  "the user cannot see it: fix `mailboxes`",
                                  what, m_login.url, mailbox, examined->tagged_text),
                      m_login.connector);
        out.mailbox = examined->mailbox;
      }
      auto raw = exchange(command, what);
      if (!raw) return std::unexpected(raw.error());
      auto parsed = parse_response(*raw);
      if (!parsed) return std::unexpected(parsed.error());
      if (parsed->busy)
        return fail(Errc::unavailable,
                    fmt::format("{}: the IMAP server {} is busy or unavailable ({} {}); the next run tries again", what,
                                m_login.url, parsed->tagged_status, parsed->tagged_text),
                    m_login.connector);
      // A FETCH the server could only partly answer ("NO Some messages could not be FETCHed": a mail
      // expunged meanwhile, or broken on its disk) keeps what did arrive; the caller accounts for the rest.
      const bool partial = accept_no && parsed->tagged_status == "NO";
      if (parsed->tagged_status != "OK" && !partial) {
        const bool missing = mailbox.empty() && parsed->select_failed;  // STATUS of a mailbox that is not there
        return fail(Errc::remote,
                    missing ? fmt::format("{}: the IMAP server {} has no such mailbox ({}): fix `mailboxes`", what,
                                          m_login.url, parsed->tagged_text)
                            : fmt::format("{}: the IMAP server {} answered {} {}", what, m_login.url,
                                          parsed->tagged_status, parsed->tagged_text),
                    m_login.connector);
      }
      if (mailbox.empty()) out.mailbox = parsed->mailbox;
      out.items = std::move(parsed->items);
      out.tagged_status = std::move(parsed->tagged_status);
      out.tagged_text = std::move(parsed->tagged_text);
      return out;
    };
    auto result = attempt_once();
    if (!result)
      result.error().message = m_redact(result.error().message);
    else
      result->tagged_text = m_redact(result->tagged_text);
    if (result || result.error().code != Errc::unavailable || !retry || attempt >= k_waits.size() || m_tls_failed)
      return result;
    spdlog::warn("{}: {}; retrying in {} s", m_login.connector, result.error().message, k_waits[attempt]);
    const auto wait = std::chrono::seconds(k_waits[attempt]);
    if (m_login.sleep)
      m_login.sleep(wait);
    else if (!wait_unless_stopped(wait))
      return fail(Errc::interrupted,
                  fmt::format("{}: stopped by a signal while waiting to try the IMAP server {} again; what was "
                              "committed is kept, and the next run resumes after it",
                              what, m_login.url),
                  m_login.connector);
  }
}

Result<ImapResponse> ImapSession::list(const std::string& mailbox, std::uint32_t from_uid) {
  return run(mailbox, fmt::format("UID FETCH {}:* (UID RFC822.SIZE)", std::max<std::uint32_t>(from_uid, 1)),
             fmt::format("listing mailbox \"{}\"", mailbox));
}

Result<ImapResponse> ImapSession::fetch(const std::string& mailbox, std::span<const std::uint32_t> uids) {
  return run(mailbox, fmt::format("UID FETCH {} (UID RFC822.SIZE INTERNALDATE BODY.PEEK[])", uid_set(uids)),
             fmt::format("fetching {} messages of mailbox \"{}\"", uids.size(), mailbox), true, true);
}

Result<ImapResponse> ImapSession::status(const std::string& mailbox) {
  return run("", fmt::format("STATUS {} (UIDVALIDITY UIDNEXT MESSAGES)", quoted(mailbox)),
             fmt::format("checking mailbox \"{}\"", mailbox), false);
}

}  // namespace chansync::adapters::imap
