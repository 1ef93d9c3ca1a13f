#include "adapters/redact.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace chansync::adapters {
namespace {

// Query parameters that carry credentials at one vendor or another (OAuth, Graph, Google, AWS-style
// signatures, Meta's webhook handshake, Azure Functions' keys). Compared case-insensitively.
constexpr std::array<std::string_view, 17> k_secret_params = {
    "access_token",  "token",         "key",      "api_key",         "apikey",
    "auth",          "signature",     "sig",      "password",        "secret",
    "client_secret", "refresh_token", "id_token", "x-amz-signature", "hub.verify_token",
    "verify_token",  "code"};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

std::string percent_encode(std::string_view s) {
  static const char* const k_hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += k_hex[c >> 4];
      out += k_hex[c & 15];
    }
  }
  return out;
}

void replace_all(std::string& text, std::string_view needle) {
  if (needle.empty()) return;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + k_redacted.size()))
    text.replace(pos, needle.size(), k_redacted);
}

bool ends_value(char c) {
  return c == '&' || c == '#' || c == '"' || c == '\'' || c == '<' || c == '>' ||
         std::isspace(static_cast<unsigned char>(c));
}

// ?token=abc&x=1 → ?token=<redacted>&x=1
void redact_params(std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '?' && text[i] != '&') continue;
    const auto eq = text.find('=', i + 1);
    if (eq == std::string::npos) break;
    const std::string_view name(text.data() + i + 1, eq - i - 1);
    if (std::none_of(k_secret_params.begin(), k_secret_params.end(), [&](auto p) { return iequals(p, name); }))
      continue;
    std::size_t end = eq + 1;
    while (end < text.size() && !ends_value(text[end])) ++end;
    if (std::string_view(text.data() + eq + 1, end - eq - 1) == k_redacted) continue;
    text.replace(eq + 1, end - eq - 1, k_redacted);
  }
}

// scheme://user:pass@host → scheme://<redacted>@host (only before the first / ? # of the authority)
void redact_userinfo(std::string& text) {
  for (auto pos = text.find("://"); pos != std::string::npos; pos = text.find("://", pos + 3)) {
    const std::size_t start = pos + 3;
    std::size_t end = start;
    while (end < text.size() && text[end] != '/' && text[end] != '?' && text[end] != '#' && text[end] != '@' &&
           !std::isspace(static_cast<unsigned char>(text[end])))
      ++end;
    if (end < text.size() && text[end] == '@' && end > start &&
        std::string_view(text.data() + start, end - start) != k_redacted)
      text.replace(start, end - start, k_redacted);
  }
}

// /bot123456:AAH-secret/ → /bot<redacted>/ — Telegram's token shape, whoever's it is.
void redact_bot_tokens(std::string& text) {
  for (auto pos = text.find("/bot"); pos != std::string::npos; pos = text.find("/bot", pos + 4)) {
    std::size_t i = pos + 4, digits = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == digits || i >= text.size() || (text[i] != ':' && text.compare(i, 3, "%3A") != 0)) continue;
    i += text[i] == ':' ? 1 : 3;
    while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_' || text[i] == '-'))
      ++i;
    text.replace(pos + 4, i - pos - 4, k_redacted);
  }
}

}  // namespace

Redactor::Redactor(std::vector<std::string> secrets) {
  for (const auto& s : secrets) add(s);
}

void Redactor::add(const std::string& secret) {
  if (secret.size() < k_min_secret) return;
  m_secrets.push_back(secret);
  if (auto encoded = percent_encode(secret); encoded != secret) m_secrets.push_back(std::move(encoded));
  // Longest first, so a secret containing another is replaced whole.
  std::sort(m_secrets.begin(), m_secrets.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

std::string Redactor::operator()(std::string_view text) const {
  std::string out(text);
  for (const auto& s : m_secrets) replace_all(out, s);
  redact_bot_tokens(out);
  redact_params(out);
  redact_userinfo(out);
  return out;
}

std::string redact(std::string_view text) {
  return Redactor{}(text);
}

}  // namespace chansync::adapters
