#pragma once
// Handle normalisation: phones to E.164 with libphonenumber, emails lower-cased with an IDNA
// (punycode) domain via ICU. Pure functions; safe to call from several threads.
#include <absl/container/node_hash_map.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "sync/model.hpp"

namespace chansync {

// Normalises a phone number written in any format. `region` (ISO 3166 alpha-2, e.g. "DE") is used
// for numbers without a country code. Valid numbers come back as E.164 with verified = true.
// Numbers libphonenumber rejects, and valid numbers of kinds that never identify one person
// (toll-free, shared-cost, premium-rate, UAN) or typed to fill a form (the subscriber number one
// digit repeated), come back verified = false with the digits kept
// (a leading '+' preserved), so they show up but never join two records.
// A masked number (is_masked_phone) comes back as typed, trimmed, verified = false.
// Returns nullopt only when the text holds no digits at all.
std::optional<Handle> normalize_phone(std::string_view raw, std::string_view region);

// A number with digits masked: digits and separators (space + ( ) - . /) with a run of two or more
// X (either case) or * ("+1415555XXXX", Twilio's Message Redaction; "+49151****567").
// libphonenumber would read the X's as keypad letters (9) and make a real number of it; an
// extension ("x12"), or any other letter ("client:maxx"), is not a mask.
bool is_masked_phone(std::string_view raw);

// The handle of a caller who has no number to show (Twilio's "anonymous", "restricted", its
// pseudo-number +266696687, ...): kind phone, value "anonymous/<record id>", never verified. Unique
// per record, so two anonymous calls never share a node, let alone a person. It is its own normal
// form: normalize_phone is never asked about it.
Handle anonymous_phone(std::string_view record_id);
bool is_anonymous_phone(const Handle& h);
// The same for a number the vendor masked (is_masked_phone): "redacted/<record id>".
Handle redacted_phone(std::string_view record_id);
bool is_redacted_phone(const Handle& h);

// Normalises an email address: trims, lower-cases (Unicode-aware), converts the domain to its
// ASCII (punycode) form. Role addresses (info@, support@, noreply@ …) and placeholders (noemail@,
// test@, an .invalid domain) come back verified = false.
// Returns nullopt when the text is not an address (no '@', empty part, no dot in the domain).
std::optional<Handle> normalize_email(std::string_view raw);

// The hash of a std::string key that also takes a std::string_view, so maps keyed by std::string
// (with std::equal_to<>) are searched without making a string.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// normalize_phone for one region, memoised: a connector sees the same few thousand numbers hundreds
// of thousands of times, and libphonenumber's parse is the costliest step of a pull. Not thread-safe.
// It is searched for both ends of every message: absl's node map keeps std::unordered_map's node per
// key and probes faster (the searches of a 200k-message pull: std::unordered_map 0.10 s, this map
// 0.06 s). absl's flat map was faster again, but its slots held 4 MB more in a sync of a 1M-message
// store, past the 64 MB target.
class PhoneNormalizer {
 public:
  explicit PhoneNormalizer(std::string region) : m_region(std::move(region)) {}
  std::optional<Handle> operator()(std::string_view raw);

 private:
  std::string m_region;
  absl::node_hash_map<std::string, std::optional<Handle>> m_memo;
};

// A handle a person typed as KIND:VALUE ("phone:0151 1234567", "email:Anna@Example.com",
// "telegram_id:12345") as the adapters would store it: phones and emails normalised (national numbers
// in `region`). Returns the node key, or nullopt with `why` set when the kind is unknown (or a CRM
// record id, which is CONNECTOR/ID elsewhere) or the value is not of that kind.
std::optional<std::string> parse_handle_key(std::string_view text, std::string_view region, std::string& why);

// Contact attributes (ContactAttributes), which only feed identity suggestions.
// A birth date as YYYY-MM-DD, from YYYY-MM-DD, an RFC 3339 time at midnight UTC
// ("1990-05-17T00:00:00.000Z") or Unix milliseconds at midnight UTC ("642902400000"): the forms a
// HubSpot date property takes. Surrounding whitespace is ignored. nullopt for anything else,
// including a day that does not exist and a time of day other than midnight.
std::optional<std::string> normalize_birth_date(std::string_view raw);
// A postal code trimmed, ASCII letters upper-cased, inner whitespace runs one space ("sw1a  1aa" →
// "SW1A 1AA").
std::string normalize_postal_code(std::string_view raw);
// A city or street trimmed, inner whitespace runs (tabs, line breaks, no-break spaces) one space; case
// and letters kept.
std::string normalize_place(std::string_view raw);

// True for a two-letter region libphonenumber knows ("DE", "US"); used by config validation.
bool is_known_region(std::string_view region);

}  // namespace chansync
