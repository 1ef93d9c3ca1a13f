#pragma once
// SHA-256 and HMAC-SHA256 through OpenSSL, as lower-case hex: webhook signatures (signing the webhook
// target's batches, checking Meta's X-Hub-Signature-256 in `listen`), idempotency and note keys,
// tombstones of erased persons.
#include <string>
#include <string_view>

namespace chansync {

std::string sha256_hex(std::string_view text);
std::string hmac_sha256_hex(std::string_view key, std::string_view text);
// Compares in time independent of where they differ (signatures, verify tokens), tombstones of erased persons.
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace chansync
