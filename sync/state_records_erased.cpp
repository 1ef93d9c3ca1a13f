// RecordStore's side of erasure: the tombstones an erase leaves (salted hashes of handle and record
// keys), and what a page commit leaves out because of them. See sync/erase.hpp.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <string_view>
#include <vector>

#include "sync/digest.hpp"
#include "sync/erase.hpp"
#include "sync/normalize.hpp"
#include "sync/reconcile.hpp"
#include "sync/state_records.hpp"
#include "sync/state_store.hpp"

namespace chansync {

bool RecordStore::has_tombstones() {
  if (!m_tombstones) {
    m_tombstones.emplace();
    SQLite::Statement q(m_store.db(), "SELECT digest FROM tombstones");
    while (q.executeStep()) m_tombstones->insert(q.getColumn(0).getString());
    m_salt = m_store.meta(k_tombstone_salt).value_or("");
  }
  return !m_tombstones->empty();
}

bool RecordStore::erased(const std::string& node) {
  return has_tombstones() && m_tombstones->count(hmac_sha256_hex(m_salt, node)) > 0;
}

// A reject is a record that did not map, so whose it is is not known: every value in its payload and
// reason that could be an erased handle is tried. Runs of 6 to 15 digits as a phone number (WhatsApp
// writes wa_id without its +) and a Telegram id, words around an @ as an email address; runs of 6 to
// 24 digits as a Messenger or Instagram user and "US.1349…" as a WhatsApp business-scoped user,
// through the tombstones erase leaves of them without their Page or account (unscoped_key): a
// payload names one or the other, or neither.
bool RecordStore::names_erased(const DeadLetter& d) {
  if (!has_tombstones()) return false;
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  const auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  const auto mail_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("._%+-").find(c) != std::string_view::npos;
  };
  for (const std::string_view text : {std::string_view(d.raw), std::string_view(d.error)}) {
    for (std::size_t i = 0; i < text.size();) {
      if (!digit(text[i])) {
        ++i;
        continue;
      }
      std::size_t end = i;
      while (end < text.size() && digit(text[end])) ++end;
      const std::string run(text.substr(i, end - i));
      // "US.13491208655302741918": two capitals and a dot before the digits.
      if (i >= 3 && text[i - 1] == '.' && upper(text[i - 2]) && upper(text[i - 3]) && (i < 4 || !upper(text[i - 4]))) {
        if (erased(std::string(to_string(HandleKind::whatsapp_bsuid)) +
                   ":*:" + std::string(text.substr(i - 3, end - i + 3))))
          return true;
      } else {
        if (run.size() >= 6 && run.size() <= 15) {
          // Keys as the adapters make them: the number through the same normaliser.
          const auto phone = normalize_phone("+" + run, "");
          if ((phone && erased(phone->key())) || erased(Handle{HandleKind::telegram_id, run}.key())) return true;
        }
        if (run.size() >= 6 && run.size() <= 24)
          for (const auto kind : {HandleKind::messenger_psid, HandleKind::instagram_igsid})
            if (erased(std::string(to_string(kind)) + ":*:" + run)) return true;
      }
      i = end;
    }
    for (auto at = text.find('@'); at != std::string_view::npos; at = text.find('@', at + 1)) {
      std::size_t from = at, to = at + 1;
      while (from > 0 && mail_char(text[from - 1])) --from;
      while (to < text.size() && (mail_char(text[to]) && text[to] != '+' && text[to] != '%')) ++to;
      while (to > at + 1 && (text[to - 1] == '.' || text[to - 1] == '-')) --to;  // a sentence's full stop
      if (from == at || to == at + 1) continue;
      const auto email = normalize_email(text.substr(from, to - from));  // lower case, punycode domain
      if (email && erased(email->key())) return true;
    }
  }
  return false;
}

std::optional<std::vector<Conversation>> RecordStore::without_erased(const std::vector<Conversation>& page) {
  if (!has_tombstones()) return std::nullopt;
  std::vector<Conversation> out;
  for (const auto& c : page) {
    if (erased(c.customer.key())) continue;
    out.push_back(c);
    std::erase_if(out.back().customer_links, [&](const Handle& h) { return erased(h.key()); });
  }
  // A count, not the ids: a conversation's id often holds the customer's number, which the erase
  // keeps only as a salted hash.
  if (out.size() < page.size())
    spdlog::debug("{}: {} conversations of erased customers not stored", page.front().connector,
                  page.size() - out.size());
  return out;
}

std::optional<std::vector<Contact>> RecordStore::without_erased(const std::string& connector,
                                                                const std::vector<Contact>& page) {
  if (!has_tombstones()) return std::nullopt;
  std::vector<Contact> out;
  for (const auto& c : page) {
    if (erased(crm_node(connector, c.id))) continue;
    out.push_back(c);
    std::erase_if(out.back().handles, [&](const Handle& h) { return erased(h.key()); });
  }
  if (out.size() < page.size()) spdlog::debug("{}: {} erased contacts not stored", connector, page.size() - out.size());
  return out;
}

}  // namespace chansync
