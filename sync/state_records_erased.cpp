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
// writes wa_id without its +) and a Telegram id, words around an @ as an email address; and, as the
// Meta adapters key them, each pair of digit runs as a page and a page-scoped Messenger or Instagram
// id ("<page>:<id>"), and each digit run with a business-scoped WhatsApp id ("US.1349…") as its
// account's (at most k_scoped_runs distinct runs per text, so a large payload costs no more).
bool RecordStore::names_erased(const DeadLetter& d) {
  if (!has_tombstones()) return false;
  constexpr std::size_t k_scoped_runs = 24;
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  const auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  const auto scoped = [&](std::string_view text) {
    std::vector<std::string> runs, bsuids;
    for (std::size_t i = 0; i < text.size();) {
      if (!digit(text[i])) {
        ++i;
        continue;
      }
      std::size_t end = i;
      while (end < text.size() && digit(text[end])) ++end;
      // "US.13491208655302741918": two capitals and a dot before the digits.
      if (i >= 3 && text[i - 1] == '.' && upper(text[i - 2]) && upper(text[i - 3]) && (i < 4 || !upper(text[i - 4])))
        bsuids.emplace_back(text.substr(i - 3, end - i + 3));
      else if (end - i >= 6 && end - i <= 24 && runs.size() < k_scoped_runs &&
               std::find(runs.begin(), runs.end(), text.substr(i, end - i)) == runs.end())
        runs.emplace_back(text.substr(i, end - i));
      i = end;
    }
    for (const auto& scope : runs) {
      for (const auto& id : runs)
        if (id != scope && (erased(Handle{HandleKind::messenger_psid, scope + ":" + id}.key()) ||
                            erased(Handle{HandleKind::instagram_igsid, scope + ":" + id}.key())))
          return true;
      for (const auto& id : bsuids)
        if (erased(Handle{HandleKind::whatsapp_bsuid, scope + ":" + id}.key())) return true;
    }
    return false;
  };
  const auto mail_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("._%+-").find(c) != std::string_view::npos;
  };
  for (const std::string_view text : {std::string_view(d.raw), std::string_view(d.error)}) {
    if (scoped(text)) return true;
    for (std::size_t i = 0; i < text.size();) {
      if (!digit(text[i])) {
        ++i;
        continue;
      }
      std::size_t end = i;
      while (end < text.size() && digit(text[end])) ++end;
      const std::string digits(text.substr(i, end - i));
      if (digits.size() >= 6 && digits.size() <= 15) {
        // Keys as the adapters make them: the number through the same normaliser.
        const auto phone = normalize_phone("+" + digits, "");
        if ((phone && erased(phone->key())) || erased(Handle{HandleKind::telegram_id, digits}.key())) return true;
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
