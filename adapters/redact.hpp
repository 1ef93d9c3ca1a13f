#pragma once
// Redaction of secrets in text bound for a log line, an error message, health evidence or the state
// store. Telegram puts the bot token in the URL path, other vendors take keys in query strings, and a
// base_url may carry user:password@; none of it may leave chansync.
#include <string>
#include <string_view>
#include <vector>

namespace chansync::adapters {

// What replaces a secret.
inline constexpr std::string_view k_redacted = "<redacted>";

// Replaces, in `text`: every occurrence of one of a connector's secret values (as is and
// percent-encoded); the values of well-known secret query parameters (access_token, token, key,
// api_key, auth, signature, ...); the userinfo of URLs (`scheme://user:pass@host`); and Telegram
// bot tokens in paths (`/bot<id>:<secret>/`), known or not. Pure; idempotent.
class Redactor {
 public:
  Redactor() = default;
  // Values shorter than k_min_secret are ignored: too short to be a credential, and replacing them
  // would mangle ordinary words of the text.
  explicit Redactor(std::vector<std::string> secrets);
  static constexpr std::size_t k_min_secret = 6;

  // Adds one more secret value (same rules as the constructor).
  void add(const std::string& secret);
  std::string operator()(std::string_view text) const;

 private:
  std::vector<std::string> m_secrets;  // each value, and its percent-encoded form when it differs
};

// The generic rules alone (no connector secrets): secret query parameters, userinfo, bot tokens.
std::string redact(std::string_view text);

}  // namespace chansync::adapters
