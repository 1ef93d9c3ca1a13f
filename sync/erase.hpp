#pragma once
// GDPR erasure (chansync erase): a person's conversations, messages, contacts, handles, dead letters
// that name them and the decisions about them leave the state store in one transaction; what targets
// hold is deleted by the next push (the person is no longer live). Each erased node leaves a
// tombstone, HMAC-SHA256 of the node under a salt kept in the store, and the page commit drops
// records a tombstone names (and strips tombstoned handles from other records), so a later pull does
// not bring them back.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chansync {

class StateStore;

struct EraseReport {
  std::string person_id;           // "" when the handle belonged to no person
  std::vector<std::string> nodes;  // handles and CRM records erased (tombstoned)
  std::int64_t conversations = 0, messages = 0, contacts = 0, dead_letters = 0, decisions = 0, aliases = 0;
  // Other people's records (contacts, conversations' links) that list an erased handle: they keep
  // everything else and lose that handle.
  std::int64_t other_records = 0;
  std::vector<std::string> targets;  // targets that hold the person: the next push deletes it there
  bool dry_run = false;
};

// Erases the person `person` (an id or retired id) or, with `node` (a handle key or CRM record node),
// the person holding it (just that node's records when no person holds it). With `dry_run` counts
// and changes nothing. Throws Failure(not_found) when there is nothing of it in the store.
EraseReport erase_person(StateStore& store, const std::string& person, const std::string& node, bool dry_run);

// For a handle scoped by its page or account ("messenger_psid:<page>:<psid>", "instagram_igsid:...",
// "whatsapp_bsuid:<waba>:<bsuid>"), the key with the scope left out ("messenger_psid:*:<psid>"): also
// tombstoned, so that a payload that names the id without its scope (a webhook message object, an
// Instagram event naming the account rather than the Page) is recognised. nullopt for other nodes.
std::optional<std::string> unscoped_key(std::string_view node);

// The meta key of the tombstones' salt (drawn at the first erase); a tombstone is
// hmac_sha256_hex(salt, node).
inline constexpr const char* k_tombstone_salt = "tombstone_salt";

}  // namespace chansync
