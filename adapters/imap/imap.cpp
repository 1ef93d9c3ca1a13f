#include "adapters/imap/imap.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <span>
#include <variant>

#include "adapters/imap/imap_session.hpp"
#include "sync/digest.hpp"
#include "sync/normalize.hpp"

namespace chansync::adapters::imap {
namespace {

constexpr const char* k_type = "imap-email";
// A page: at most this many mails, and no more bytes than k_page_bytes (but always one mail).
constexpr std::size_t k_page_mails = 250;
constexpr std::uint64_t k_page_bytes = 16u << 20;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// A mailbox's stream name: [A-Za-z0-9_.-], other characters as '_'.
std::string stream_name(const std::string& mailbox) {
  std::string out;
  for (unsigned char c : mailbox)
    out += std::isalnum(c) || c == '_' || c == '.' || c == '-' ? static_cast<char>(c) : '_';
  return out;
}

struct Cursor {
  std::uint64_t uidvalidity = 0;
  std::uint32_t last_uid = 0;
};

// "v1:<UIDVALIDITY>:<highest UID committed>"; nullopt when it is not one.
std::optional<Cursor> parse_cursor(const std::string& text) {
  if (text.empty()) return Cursor{};
  unsigned long long v = 0, uid = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "v1:%llu:%llu%c", &v, &uid, &tail) != 2) return std::nullopt;
  return Cursor{v, static_cast<std::uint32_t>(uid)};
}

std::string format_cursor(const Cursor& c) {
  return fmt::format("v1:{}:{}", c.uidvalidity, c.last_uid);
}

class ImapAdapter final : public Adapter, public ConversationSource {
 public:
  explicit ImapAdapter(const AdapterContext& ctx)
      : m_name(ctx.config.name),
        m_session(ImapLogin{ctx.config.options.at("url").get<std::string>(),
                            ctx.config.options.at("username").get<std::string>(), ctx.config.secret("password"),
                            ctx.config.name,
                            ctx.config.options.contains("ca_file") ? ctx.config.options.at("ca_file").get<std::string>()
                                                                   : std::string(),
                            ctx.sleep}) {
    const auto& o = ctx.config.options;
    m_user = o.at("username").get<std::string>();
    const std::string url = o.at("url").get<std::string>();
    const std::string key = fmt::format("connectors.{}.url", m_name);
    // Its scheme and host are checked with every URL option's (url_refusal: imaps://, plain imap:// to
    // a loopback host or with allow_plaintext); an IMAP URL holds nothing else.
    if (url.find('@') != std::string::npos || url.find('?') != std::string::npos)
      throw Failure(Errc::config, fmt::format("{} must be only imaps://host[:port]: the user goes in `username`, the "
                                              "password in password_env/password_file, mailboxes in `mailboxes`",
                                              key));
    if (o.contains("ca_file")) {
      const std::string ca = o.at("ca_file").get<std::string>();
      if (std::FILE* f = std::fopen(ca.c_str(), "r"))
        std::fclose(f);
      else
        throw Failure(Errc::config, fmt::format("connectors.{}.ca_file: cannot read \"{}\" ({}); name a PEM file "
                                                "of the CA certificates that signed the IMAP server's",
                                                m_name, ca, std::strerror(errno)));
    }
    for (const auto& mb : o.at("mailboxes")) m_mailboxes.push_back(mb.get<std::string>());
    if (m_mailboxes.empty())
      throw Failure(Errc::config,
                    fmt::format("connectors.{}.mailboxes is empty; name at least one, e.g. [\"INBOX\"]", m_name));
    std::set<std::string> names;
    for (const auto& mb : m_mailboxes)
      if (!names.insert(stream_name(mb)).second)
        throw Failure(Errc::config,
                      fmt::format("connectors.{}.mailboxes: \"{}\" gives the stream name \"{}\" twice (characters "
                                  "other than letters, digits, '_', '.' and '-' become '_'); list each mailbox once",
                                  m_name, mb, stream_name(mb)));
    m_map.connector = m_name;
    for (const auto& a : o.at("own_addresses")) {
      const std::string v = lower(a.get<std::string>());
      if (v.find('@') == std::string::npos || v.find_first_of(" <>\t\"") != std::string::npos)
        throw Failure(Errc::config,
                      fmt::format("connectors.{}.own_addresses: \"{}\" is neither an address (support@example.com) "
                                  "nor a domain (@example.com); write the address alone, without a display name "
                                  "or angle brackets",
                                  m_name, v));
      m_map.own.push_back(v);
    }
  }

  std::vector<Stream> streams() const override {
    std::vector<Stream> out;
    for (const auto& mb : m_mailboxes) out.push_back({stream_name(mb), Role::conversations, false});
    return out;
  }

  std::vector<std::string> own_handles() const override {
    std::vector<std::string> out;
    for (const auto& a : m_map.own)
      if (!a.starts_with('@'))
        if (auto h = normalize_email(a)) out.push_back(h->key());
    return out;
  }

  HealthReport probe() override {
    HealthReport r{m_name, k_type};
    r.checked_at = now_ms();
    r.evidence.url = m_session.url();
    std::vector<std::string> seen;
    const auto start = std::chrono::steady_clock::now();
    for (const auto& mb : m_mailboxes) {
      auto st = m_session.status(mb);
      r.evidence.latency_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      if (!st) {
        const Error& e = st.error();
        r.cls = e.code == Errc::auth          ? HealthClass::auth_failed
                : e.code == Errc::unavailable ? HealthClass::unreachable
                : e.code == Errc::remote      ? HealthClass::gone
                                              : HealthClass::unknown;
        if (e.code == Errc::unavailable) r.evidence.transport_error = e.message;
        r.evidence.vendor_message = e.message;
        r.summary = e.message;
        return r;
      }
      seen.push_back(fmt::format("{} ({} messages)", mb, st->mailbox.exists));
    }
    r.cls = HealthClass::ok;
    r.summary = fmt::format("logged in as {}; mailboxes {}", m_user, fmt::join(seen, ", "));
    return r;
  }

  Result<Page<Conversation>> pull_conversations(const PullRequest& req) override {
    const auto mb = std::find_if(m_mailboxes.begin(), m_mailboxes.end(),
                                 [&](const std::string& m) { return stream_name(m) == req.stream; });
    if (mb == m_mailboxes.end()) return fail(Errc::internal, "imap-email has no stream " + req.stream, m_name);
    auto cursor = parse_cursor(req.cursor);
    if (!cursor)
      return fail(Errc::state,
                  fmt::format("saved IMAP cursor \"{}\" of mailbox \"{}\" is not chansync's; run `chansync state reset "
                              "{}` to read the mailbox again (nothing is duplicated: mails are keyed by Message-ID)",
                              req.cursor, *mb, m_name),
                  m_name);
    const std::size_t before = m_session.requests();
    Page<Conversation> page;
    // The listing of what is new is taken once per pass and kept; each page takes the UIDs after its
    // cursor from it, so a page asked for twice is the same page.
    auto& listing = m_listings[*mb];
    if (!listing.listed || listing.uidvalidity != cursor->uidvalidity || cursor->last_uid < listing.after) {
      auto listed = m_session.list(*mb, cursor->last_uid + 1);
      if (!listed) return std::unexpected(listed.error());
      const auto validity = listed->mailbox.uidvalidity;
      if (cursor->uidvalidity != 0 && validity != cursor->uidvalidity) {
        // The server renumbered the mailbox (restored, migrated): every UID is new. Read it all again;
        // mails already stored keep their ids (Message-ID), so nothing is duplicated.
        spdlog::warn(
            "{}: mailbox \"{}\" changed UIDVALIDITY ({} → {}): its UIDs were renumbered, so it is read again "
            "from the start; mails already stored are recognised by Message-ID",
            m_name, *mb, cursor->uidvalidity, validity);
        page.notices.push_back(fmt::format("mailbox \"{}\" changed UIDVALIDITY ({} → {}); read again from the start",
                                           *mb, cursor->uidvalidity, validity));
        *cursor = Cursor{validity, 0};
        listed = m_session.list(*mb, 1);
        if (!listed) return std::unexpected(listed.error());
      }
      listing = Listing{true, validity, cursor->last_uid, {}};
      for (const auto& item : listed->items)
        if (item.uid > cursor->last_uid) listing.uids.push_back({item.uid, item.size});
      std::sort(listing.uids.begin(), listing.uids.end());
      listing.uids.erase(std::unique(listing.uids.begin(), listing.uids.end(),
                                     [](const auto& a, const auto& b) { return a.first == b.first; }),
                         listing.uids.end());
      cursor->uidvalidity = validity;
    }
    auto from = std::upper_bound(listing.uids.begin(), listing.uids.end(),
                                 std::pair<std::uint32_t, std::uint64_t>{cursor->last_uid, UINT64_MAX});
    std::vector<std::uint32_t> take;
    std::uint64_t bytes = 0;
    const std::size_t max_mails = req.page_size > 0 ? static_cast<std::size_t>(req.page_size) : k_page_mails;
    for (auto it = from; it != listing.uids.end() && take.size() < max_mails; ++it) {
      if (!take.empty() && bytes + it->second > k_page_bytes) break;
      bytes += it->second;
      take.push_back(it->first);
    }
    Cursor next = *cursor;
    if (!take.empty()) {
      auto got = m_session.fetch(*mb, take);
      std::vector<std::uint32_t> broken;  // mails the server cannot send (fetch_singly)
      if (!got && got.error().code == Errc::unavailable && m_session.dropped() && take.size() > 1) {
        spdlog::warn("{}; fetching these {} mails one at a time, to find one the server cannot send",
                     got.error().message, take.size());
        got = fetch_singly(*mb, take, broken);
      }
      if (!got) return std::unexpected(got.error());
      if (got->tagged_status == "NO" && broken.empty()) {
        // The FETCH ended NO without some mails (Dovecot's imap_fetch_failure = no-after, a mail
        // being delivered, a passing storage fault): the page ends before the first one missing, so
        // that the next page asks for it again; a mail missing when first in the page is asked for
        // once more alone, and only a second NO makes it a dead letter (map_items).
        std::set<std::uint32_t> came;
        for (const auto& item : got->items)
          if (item.has_body) came.insert(item.uid);
        const auto missing = std::find_if(take.begin(), take.end(), [&](auto uid) { return !came.count(uid); });
        if (missing != take.begin() && missing != take.end()) {
          take.erase(missing, take.end());
        } else if (missing == take.begin()) {
          auto again = m_session.fetch(*mb, std::span(&take[0], 1));
          if (!again) return std::unexpected(again.error());
          take.resize(1);
          *got = std::move(*again);  // renumbered meanwhile: seen just below
        }
      }
      if (got->mailbox.uidvalidity != listing.uidvalidity) {
        // Renumbered between listing and fetching: these UIDs may mean other mails now. The page is
        // empty and keeps the cursor's mark but not its UIDVALIDITY, so the next page lists again
        // and reads the mailbox from the start.
        listing = Listing{};
        page.requests = m_session.requests() - before;
        page.next_cursor = format_cursor(Cursor{got->mailbox.uidvalidity, 0});
        return page;
      }
      for (const auto uid : broken)
        page.rejects.push_back({std::to_string(uid),
                                "the IMAP server dropped the connection each time this mail was fetched",
                                fmt::format("UID {}: the connection to {} broke on each fetch of this mail alone, "
                                            "while the mail after it came",
                                            uid, m_session.url())});
      map_items(take, *got, page);
      next.last_uid = take.back();
    }
    page.requests = m_session.requests() - before;
    page.next_cursor = format_cursor(next);
    page.done = from + static_cast<std::ptrdiff_t>(take.size()) == listing.uids.end();
    if (page.done) listing = Listing{};  // the next pass lists again
    return page;
  }

 private:
  // The FETCH of several mails lost its connection each time it was tried. Dovecot drops it when it
  // cannot read one mail (imap_fetch_failure = disconnect-immediately, its default): fetched one at a
  // time, the mails the server sends are kept, and a mail whose fetch drops the connection while the
  // next one's does not, and drops it again when tried once more after that, is that mail: its UID
  // goes to `broken` (a dead letter, so the mailbox goes on). Anything else ends `take` before the
  // mail it happened on, keeping what came, for the next run to try from there: a refusal or busy
  // answer, or two mails in a row failing (the server may be down). When nothing came, that error.
  Result<ImapResponse> fetch_singly(const std::string& mailbox, std::vector<std::uint32_t>& take,
                                    std::vector<std::uint32_t>& broken) {
    ImapResponse out;
    bool kept = false;
    constexpr std::size_t k_none = SIZE_MAX;
    std::size_t suspect = k_none;  // the index of a mail whose fetch dropped the connection
    std::optional<Error> first_error;
    const auto keep = [&](ImapResponse& one) {
      kept = true;
      out.mailbox = one.mailbox;
      for (auto& item : one.items) out.items.push_back(std::move(item));
      out.tagged_status = one.tagged_status;
      out.tagged_text = one.tagged_text;
    };
    std::size_t end = take.size();
    for (std::size_t i = 0; i < take.size(); ++i) {
      auto one = m_session.fetch(mailbox, std::span(&take[i], 1));
      if (!one) {
        if (!first_error) first_error = one.error();
        if (one.error().code != Errc::unavailable || !m_session.dropped() || suspect != k_none) {
          end = suspect != k_none ? suspect : i;
          break;
        }
        suspect = i;
        continue;
      }
      if (kept && one->mailbox.uidvalidity != out.mailbox.uidvalidity) {
        end = i;  // renumbered: the caller lists again
        break;
      }
      keep(*one);
      if (suspect != k_none) {  // the next mail came: the suspect once more, alone
        auto again = m_session.fetch(mailbox, std::span(&take[suspect], 1));
        if (again && again->mailbox.uidvalidity == out.mailbox.uidvalidity) {
          keep(*again);
        } else if (again || !m_session.dropped()) {  // renumbered, or refused this time: not known broken
          end = suspect;
          break;
        } else {
          broken.push_back(take[suspect]);
        }
        suspect = k_none;
      }
    }
    end = std::min(end, suspect);
    if (end == 0) return std::unexpected(*first_error);
    take.resize(end);
    return out;
  }

  // What one pass listed of a mailbox: the UIDs after `after`, with their sizes, ascending.
  struct Listing {
    bool listed = false;
    std::uint64_t uidvalidity = 0;
    std::uint32_t after = 0;
    std::vector<std::pair<std::uint32_t, std::uint64_t>> uids;
  };

  // Maps the mails of `got` that were asked for (`take`). A server may add FETCH responses nobody
  // asked for (flags another client changed meanwhile) or split one mail's items over two: items are
  // merged by UID and only requested UIDs count. A requested UID without a body was expunged
  // meanwhile when the FETCH ended OK (nothing to keep), or could not be read when it ended NO: a
  // dead letter holding the server's words, so the mailbox is not blocked by one broken mail.
  void map_items(std::span<const std::uint32_t> take, ImapResponse& got, Page<Conversation>& page) {
    std::map<std::uint32_t, FetchItem> by_uid;
    for (auto& item : got.items) {
      if (item.uid == 0 || !std::binary_search(take.begin(), take.end(), item.uid)) continue;
      auto& into = by_uid[item.uid];
      into.uid = item.uid;
      if (item.has_body) {
        into.has_body = true;
        into.body = std::move(item.body);
      }
      if (!item.internaldate.empty()) into.internaldate = std::move(item.internaldate);
    }
    for (const auto uid : take) {
      const auto it = by_uid.find(uid);
      if (it != by_uid.end() && it->second.has_body) continue;
      const std::string id = std::to_string(uid);
      if (std::any_of(page.rejects.begin(), page.rejects.end(), [&](const auto& r) { return r.record_id == id; }))
        continue;  // a dead letter already (fetch_singly)
      if (got.tagged_status == "OK")
        spdlog::debug("{}: UID {} was expunged before it could be fetched", m_name, uid);
      else
        page.rejects.push_back({std::to_string(uid), "the IMAP server could not return this mail",
                                fmt::format("UID {}: {} {}", uid, got.tagged_status, got.tagged_text)});
    }
    std::map<std::string, std::size_t> index;  // conversation id → position in page.items
    for (auto& [number, item] : by_uid) {
      if (!item.has_body) continue;
      const std::string uid = std::to_string(number);
      auto parsed = parse_mail(item.body);
      if (!parsed) {
        page.rejects.push_back({uid, parsed.error().message, std::move(item.body)});
        continue;
      }
      auto mapped = map_mail(m_map, *parsed, item.body, parse_internaldate(item.internaldate));
      if (auto* why = std::get_if<std::string>(&mapped)) {
        page.rejects.push_back({parsed->message_id.empty() ? uid : parsed->message_id, *why, std::move(item.body)});
        continue;
      }
      auto& conv = std::get<Conversation>(mapped);
      auto [it, inserted] = index.try_emplace(conv.id, page.items.size());
      if (inserted) {
        page.items.push_back(std::move(conv));
        continue;
      }
      auto& into = page.items[it->second];
      if (into.customer_name.empty()) into.customer_name = conv.customer_name;
      for (auto& m : conv.messages) into.messages.push_back(std::move(m));
    }
  }

  std::string m_name;
  ImapSession m_session;
  std::string m_user;
  std::vector<std::string> m_mailboxes;
  MailMapping m_map;
  std::map<std::string, Listing> m_listings;  // by mailbox
};

}  // namespace

bool is_own_address(const MailMapping& m, const std::string& address) {
  std::string a = lower(address);
  const auto at = a.rfind('@');
  if (at == std::string::npos) return false;
  // A subaddress (support+ticket42@example.com, RFC 5233) is the same mailbox as support@example.com.
  if (const auto plus = a.find('+'); plus != std::string::npos && plus < at && plus > 0) {
    const bool listed_whole = std::find(m.own.begin(), m.own.end(), a) != m.own.end();
    if (!listed_whole) {
      a.erase(plus, at - plus);
      return is_own_address(m, a);
    }
  }
  return std::any_of(m.own.begin(), m.own.end(), [&](const std::string& own) {
    return own.starts_with('@') ? a.compare(at, std::string::npos, own) == 0 : own == a;
  });
}

const MailAddress* relayed_author(const MailMapping& m, const ParsedMail& mail) {
  if (mail.reply_to.size() != 1) return nullptr;
  const MailAddress& r = mail.reply_to.front();
  if (r.address.empty() || is_own_address(m, r.address) || lower(r.address) == lower(mail.from.address)) return nullptr;
  // A website's form, a shared inbox's group: From one of the business's own addresses, to nobody
  // outside them. A tool's notification to an agent (Reply-To the tracker) looks the same: when it
  // says it is automatic, its address is kept unverified (map_mail), identifying no one; a form's
  // submission marked so is not lost.
  if (is_own_address(m, mail.from.address)) {
    for (const auto* list : {&mail.to, &mail.cc})
      for (const auto& a : *list)
        if (!a.address.empty() && !is_own_address(m, a.address)) return nullptr;
    return &r;
  }
  // A list or group that rewrote From for DMARC (Google Groups', Mailman's "Bob Miller via Customers").
  return lower(mail.from.name).find(" via ") != std::string::npos ? &r : nullptr;
}

std::optional<Timestamp> parse_internaldate(std::string_view text) {
  std::string s(text);
  // " 7-Jul-1996 02:44:25 -0700": the date's dashes are the RFC 2822 form's spaces.
  for (std::size_t i = 0; i < s.size() && i < 11; ++i)
    if (s[i] == '-') s[i] = ' ';
  return parse_rfc2822(s);
}

std::variant<Conversation, std::string> map_mail(const MailMapping& m, const ParsedMail& mail, std::string_view raw,
                                                 std::optional<Timestamp> internaldate) {
  if (mail.from.address.empty()) return std::string("the mail has no From address");
  const MailAddress* relayed = relayed_author(m, mail);
  const bool outbound = !relayed && is_own_address(m, mail.from.address);
  // The customer: the person a relay sent for; the sender of a mail received; the first recipient
  // that is not the business's of a mail sent.
  const MailAddress* customer = relayed ? relayed : outbound ? nullptr : &mail.from;
  if (outbound) {
    for (const auto* list : {&mail.to, &mail.cc})
      for (const auto& a : *list)
        if (!customer && !a.address.empty() && !is_own_address(m, a.address)) customer = &a;
    if (!customer) return std::string("a mail between the business's own addresses (own_addresses) has no customer");
  }
  auto handle = normalize_email(customer->address);
  if (!handle) return fmt::format("\"{}\" is not an email address", customer->address);
  // Role addresses (noreply@, mailer-daemon@, postmaster@ …; normalize_email marks them) and mail a
  // machine wrote (auto-replies, bulk, bounces) are kept but never identify a customer.
  // So is mail from a list or newsletter, unless it was relayed for the person Reply-To names or the
  // list is the business's own group (a shared inbox: its List-Post is one of own_addresses).
  const bool list_traffic = mail.listed && !relayed && !is_own_address(m, mail.list_address);
  const bool machine = mail.automatic || list_traffic;
  if (machine && !outbound) handle->verified = false;
  std::string business;
  if (outbound)
    business = lower(mail.from.address);
  else
    for (const auto* list : {&mail.to, &mail.cc})
      for (const auto& a : *list)
        if (business.empty() && is_own_address(m, a.address)) business = lower(a.address);

  const std::string id = mail.message_id.empty() ? "sha256:" + sha256_hex(raw) : mail.message_id;
  // The thread is named by its first mail: References lists the thread oldest first, so a reply
  // joins its thread even when its subject changed.
  const std::string root = mail.references.empty() ? id : mail.references.front();
  const auto sent_at = mail.date ? mail.date : internaldate;
  if (!sent_at) return std::string("the mail has neither a readable Date header nor an INTERNALDATE");

  Conversation conv{m.connector, fmt::format("{} {}", handle->value, root), "email", *handle, business, {}};
  std::string name = customer->name;
  if (relayed && name.empty() && !is_own_address(m, mail.from.address))  // "Bob Miller via Customers"
    name = mail.from.name.substr(0, lower(mail.from.name).find(" via "));
  if (!outbound && !name.empty() && lower(name) != handle->value && handle->verified) conv.customer_name = name;
  Message msg;
  msg.connector = m.connector;
  msg.id = id;
  msg.conversation = conv.id;
  msg.channel = "email";
  msg.direction = outbound ? Direction::outbound : Direction::inbound;
  msg.author_kind = outbound ? AuthorKind::agent : machine ? AuthorKind::system : AuthorKind::customer;
  msg.author_handle = outbound ? lower(mail.from.address) : handle->value;
  msg.sent_at = *sent_at;
  msg.text = mail.subject.empty() ? mail.text : mail.text.empty() ? mail.subject : mail.subject + "\n\n" + mail.text;
  msg.attachments = mail.attachments;
  conv.messages.push_back(std::move(msg));
  return conv;
}

AdapterType type() {
  using K = OptionSpec::Kind;
  return adapter_type<ImapAdapter>(
      k_type,
      "Email over IMAP: mailboxes read by UID without marking anything read, mails threaded by Message-ID and "
      "References, the customer being the party outside own_addresses",
      {
          {"url", "the IMAP server, imaps://host[:port]", K::url, true, false, nullptr, {}, {}, {"imaps", "imap"}},
          {"username", "IMAP login name", K::string, true, false, nullptr},
          {"password", "IMAP password (an app password where the provider requires one)", K::string, true, true,
           nullptr},
          {"mailboxes", "mailboxes to read, one stream each (e.g. [\"INBOX\", \"Sent\"])", K::string_list, false, false,
           nlohmann::json::array({"INBOX"})},
          {"own_addresses",
           "the business's addresses and domains (\"support@example.com\", \"@example.com\"): mail from them is "
           "outbound, and they never identify a customer",
           K::string_list, true, false, nullptr},
          {"ca_file",
           "PEM file of the certificate authorities that may sign the server's certificate (a private CA, a "
           "self-signed certificate), in place of the system's",
           K::path, false, false, nullptr},
          {"allow_plaintext",
           "accept plain imap:// to a host that is not loopback (the password crosses the network "
           "unencrypted)",
           K::boolean, false, false, false},
      });
}

}  // namespace chansync::adapters::imap
