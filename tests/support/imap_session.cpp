#include "tests/support/imap_session.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace chansync::test {

ImapSession::ImapSession(unsigned short port, std::chrono::seconds timeout) {
  m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (m_fd < 0) throw std::runtime_error("socket() failed");
  timeval tv{};
  tv.tv_sec = timeout.count();
  ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(m_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(m_fd);
    throw std::runtime_error("IMAP: cannot connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(err));
  }
  try {
    const auto greeting = read_line();
    if (!greeting.starts_with("* OK")) throw std::runtime_error("IMAP: unexpected greeting: " + greeting);
  } catch (...) {
    ::close(m_fd);
    throw;
  }
}

ImapSession::~ImapSession() {
  try {
    send(next_tag() + " LOGOUT\r\n");  // polite, so the server logs a logout, not a disconnection
  } catch (const std::exception&) {
  }
  ::close(m_fd);
}

void ImapSession::login(const std::string& user, const std::string& password) {
  command("LOGIN " + imap_quote(user) + " " + imap_quote(password));
}

std::string ImapSession::command(const std::string& command) {
  const auto tag = next_tag();
  send(tag + " " + command + "\r\n");
  return finish(tag, command.starts_with("LOGIN ") ? "LOGIN" : command);
}

std::string ImapSession::append(const std::string& mailbox, std::string_view message, const std::string& flags) {
  const auto tag = next_tag();
  std::string head = tag + " APPEND " + imap_quote(mailbox);
  if (!flags.empty()) head += " (" + flags + ")";
  send(head + " {" + std::to_string(message.size()) + "}\r\n");
  const auto go_ahead = read_line();
  if (!go_ahead.starts_with("+")) throw std::runtime_error("IMAP APPEND to " + mailbox + " refused: " + go_ahead);
  send(message);
  send("\r\n");
  return finish(tag, "APPEND to " + mailbox);
}

std::string ImapSession::finish(const std::string& tag, const std::string& what) {
  std::string answer;
  for (;;) {
    const auto line = read_line();
    answer += line;
    if (!line.starts_with(tag + " ")) continue;
    if (line.compare(tag.size() + 1, 2, "OK") != 0) throw std::runtime_error("IMAP " + what + ": " + answer);
    return answer;
  }
}

std::string ImapSession::read_line() {
  std::string line = read_raw_line();
  // "{n}" at the end of a line announces n bytes of literal, after which the line goes on.
  while (line.size() >= 5 && line.ends_with("}\r\n")) {
    const auto open = line.rfind('{');
    if (open == std::string::npos) break;
    const auto digits = line.substr(open + 1, line.size() - 3 - open - 1);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) break;
    line += read_exact(std::stoul(digits));
    line += read_raw_line();
  }
  return line;
}

std::string ImapSession::read_raw_line() {
  for (;;) {
    if (const auto end = m_buffer.find("\r\n"); end != std::string::npos) {
      auto line = m_buffer.substr(0, end + 2);
      m_buffer.erase(0, end + 2);
      return line;
    }
    char chunk[4096];
    const auto n = ::recv(m_fd, chunk, sizeof chunk, 0);
    if (n == 0) throw std::runtime_error("IMAP: the server closed the connection; unanswered: " + m_buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("IMAP: reading failed: ") + std::strerror(errno));
    }
    m_buffer.append(chunk, static_cast<std::size_t>(n));
  }
}

std::string ImapSession::read_exact(std::size_t n) {
  while (m_buffer.size() < n) {
    char chunk[4096];
    const auto got = ::recv(m_fd, chunk, sizeof chunk, 0);
    if (got == 0) throw std::runtime_error("IMAP: the server closed the connection inside a literal");
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("IMAP: reading failed: ") + std::strerror(errno));
    }
    m_buffer.append(chunk, static_cast<std::size_t>(got));
  }
  auto out = m_buffer.substr(0, n);
  m_buffer.erase(0, n);
  return out;
}

void ImapSession::send(std::string_view data) {
  while (!data.empty()) {
    const auto n = ::send(m_fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("IMAP: writing failed: ") + std::strerror(errno));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string imap_quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80 || c == '\r' || c == '\n' || c == '\0')
      throw std::invalid_argument("imap_quote: not a plain ASCII string: " + std::string(text));
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

}  // namespace chansync::test
