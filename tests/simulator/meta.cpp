#include "tests/simulator/meta.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <random>

namespace chansync::sim {
namespace {

using ojson = nlohmann::ordered_json;

constexpr std::int64_t k_day = 86'400'000;
constexpr const char* k_nested_fields = "id%2Ccreated_time%2Cfrom%2Cto%2Cmessage%2Cattachments";

constexpr std::array<const char*, 10> k_texts = {"Hi! Is the blue jacket still available in M?",
                                                 "Where is my order?",
                                                 "Thanks, that worked!",
                                                 "Can I return it without the receipt?",
                                                 "Habt ihr am Samstag geöffnet?",
                                                 "The parcel arrived damaged 😕",
                                                 "Could you send me the invoice again?",
                                                 "Perfect, see you tomorrow.",
                                                 "Is there a discount code for students?",
                                                 "Ich warte noch auf die Rückerstattung."};
constexpr std::array<const char*, 6> k_replies = {"Thanks for your message! Let me check that for you.",
                                                  "Your order shipped today, the tracking link follows.",
                                                  "Yes, we are open 10:00–18:00 on Saturdays.",
                                                  "Sorry about that! We will send a replacement.",
                                                  "Here is your invoice.",
                                                  "You are welcome!"};

// Graph's timestamps: "2026-10-01T09:00:00+0000" (no colon in the offset).
std::string graph_time(std::int64_t ms) {
  std::time_t t = ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+0000", &tm);
  return buf;
}

// Graph's cursors are opaque URL-safe base64 without padding.
std::string b64url(const std::string& in) {
  static const char* chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned val = 0;
  int bits = -6;
  for (unsigned char c : in) {
    val = ((val << 8) + c) & 0xFFFFu;  // only the bits not yet written matter
    bits += 8;
    while (bits >= 0) {
      out += chars[(val >> bits) & 0x3F];
      bits -= 6;
    }
  }
  if (bits > -6) out += chars[((val << 8) >> (bits + 8)) & 0x3F];
  return out;
}

std::optional<std::string> b64url_decode(const std::string& in) {
  static const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned val = 0;
  int bits = -8;
  for (char c : in) {
    const auto pos = chars.find(c);
    if (pos == std::string::npos) return std::nullopt;
    val = ((val << 6) + static_cast<unsigned>(pos)) & 0xFFFFu;
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((val >> bits) & 0xFF);
      bits -= 8;
    }
  }
  return out;
}

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

// "anna.mueller12": an Instagram handle from a name, ASCII only.
std::string username(const std::string& first, const std::string& last, std::size_t i) {
  static const std::array<std::pair<const char*, const char*>, 6> k_fold = {
      {{"ü", "ue"}, {"ö", "oe"}, {"ä", "ae"}, {"ß", "ss"}, {"ı", "i"}, {"İ", "i"}}};
  auto fold = [](std::string s) {
    for (const auto& [from, to] : k_fold)
      for (std::size_t at; (at = s.find(from)) != std::string::npos;) s.replace(at, std::string_view(from).size(), to);
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  return fmt::format("{}.{}{}", fold(first), fold(last), i);
}

// The top-level names of a Graph fields list: "id,messages.limit(100){id,from}" → id, messages; and
// the nested limit of `edge` (nullopt when the edge is not asked for, `fallback` without .limit()).
struct Fields {
  std::vector<std::string> names;
  std::optional<int> limit_of(const std::string& edge, int fallback) const {
    for (const auto& f : names)
      if (f == edge || f.starts_with(edge + ".") || f.starts_with(edge + "{")) {
        const auto at = f.find(".limit(");
        if (at == std::string::npos) return fallback;
        try {
          return std::stoi(f.substr(at + 7));
        } catch (const std::exception&) {
          return fallback;
        }
      }
    return std::nullopt;
  }
  bool has(const std::string& name) const { return limit_of(name, 0).has_value(); }
};

Fields parse_fields(const std::string& s) {
  Fields out;
  std::string cur;
  int depth = 0;
  for (char c : s) {
    if (c == '(' || c == '{') ++depth;
    if (c == ')' || c == '}') --depth;
    if (c == ',' && depth == 0) {
      if (!cur.empty()) out.names.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.names.push_back(cur);
  return out;
}

void graph_error(httplib::Response& res, int status, int code, const std::string& message, int subcode = 0,
                 const std::string& fbtrace = "A1b2C3d4", bool transient = false) {
  ojson e = {{"message", message}, {"type", "OAuthException"}};
  if (transient) e["is_transient"] = true;
  e["code"] = code;
  if (subcode) e["error_subcode"] = subcode;
  e["fbtrace_id"] = fbtrace;
  res.status = status;
  res.set_content(ojson{{"error", e}}.dump(), "application/json");
}

void no_object(httplib::Response& res, const std::string& id) {
  graph_error(res, 400, 100,
              fmt::format("Unsupported get request. Object with ID '{}' does not exist, cannot be loaded due to "
                          "missing permissions, or does not support this operation. Please read the Graph API "
                          "documentation at https://developers.facebook.com/docs/graph-api",
                          id),
              33, "AsimGraph100");
}

std::optional<int> int_param(const httplib::Request& req, const char* name, int fallback) {
  if (!req.has_param(name)) return fallback;
  try {
    return std::stoi(req.get_param_value(name));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

MetaSim::MetaSim(const Corpus& corpus, MetaOptions opts, FaultTaker faults)
    : m_opts(std::move(opts)), m_faults(std::move(faults)) {
  build(corpus);
}

void MetaSim::add_message(Platform& p, Thread& t, std::int64_t ms, bool inbound, const std::string& text,
                          const ojson& attachments, bool sticker) {
  const std::uint64_t serial = m_serial++;
  ojson m = {{"id", "m_" + b64url(fmt::format("mid.${:x}{}", serial, t.id))}, {"created_time", graph_time(ms)}};
  m["from"] = inbound ? t.customer : p.business;
  m["to"] = {{"data", ojson::array({inbound ? p.business : t.customer})}};
  m["message"] = sticker ? "" : text;
  if (!attachments.is_null()) m["attachments"] = attachments;
  if (sticker) m["sticker"] = fmt::format("https://scontent.xx.fbcdn.net/v/t39.1997-6/{}_sticker.png", serial);
  // Graph escapes every non-ASCII character (\u00fc): the client has to decode them.
  t.messages.push_back({ms, m.dump(-1, ' ', true)});
  t.updated_ms = std::max(t.updated_ms, ms);
  ++p.messages;
}

void MetaSim::sort(Platform& p) {
  p.order.resize(p.threads.size());
  for (std::size_t i = 0; i < p.order.size(); ++i) p.order[i] = i;
  std::sort(p.order.begin(), p.order.end(), [&](std::size_t a, std::size_t b) {
    const auto &x = p.threads[a], &y = p.threads[b];
    return x.updated_ms != y.updated_ms ? x.updated_ms > y.updated_ms : x.id > y.id;
  });
}

// Customer i has a Messenger conversation when i % 3 == 0 and an Instagram one when i % 4 == 1
// (9, 21, 33, … have both). One Messenger conversation in 17 (i % 51 == 0: customer 0 always) and one
// Instagram conversation in 17 (i % 68 == 1: customer 1 always) hold 120–259 messages, more than the
// 100 of a nested page; the others 1–24.
void MetaSim::build(const Corpus& corpus) {
  m_messenger.name = "messenger";
  m_messenger.business = {
      {"name", m_opts.page_name}, {"email", m_opts.page_id + "@facebook.com"}, {"id", m_opts.page_id}};
  m_instagram.name = "instagram";
  m_instagram.business = {{"username", m_opts.ig_username}, {"id", m_opts.ig_id}};
  std::mt19937_64 rng(corpus.seed ^ 0x6d6574612d677261ULL);  // its own stream: the Twilio corpus is unchanged
  const std::uint64_t tag = corpus.seed % 1'000'000;
  for (std::size_t i = 0; i < corpus.customers.size(); ++i) {
    const auto& cu = corpus.customers[i];
    for (Platform* p : {&m_messenger, &m_instagram}) {
      const bool messenger = p == &m_messenger;
      if (messenger ? i % 3 != 0 : i % 4 != 1) continue;
      const bool long_thread = messenger ? i % 51 == 0 : i % 68 == 1;
      Thread t;
      t.id = fmt::format("t_{}{:06}{:09}", messenger ? 1 : 2, tag, i);
      if (messenger) {
        t.customer_id = fmt::format("7{:06}{:09}", tag, i);
        t.customer = {
            {"name", cu.first + " " + cu.last}, {"email", t.customer_id + "@facebook.com"}, {"id", t.customer_id}};
        t.participants = ojson{{"data", ojson::array({t.customer, p->business})}}.dump(-1, ' ', true);
      } else {
        t.customer_id = fmt::format("5{:06}{:010}", tag, i);
        t.customer = {{"username", username(cu.first, cu.last, i)}, {"id", t.customer_id}};
        t.participants = ojson{{"data", ojson::array({p->business, t.customer})}}.dump(-1, ' ', true);
      }
      const int n = long_thread ? 120 + static_cast<int>(rng() % 140) : 1 + static_cast<int>(rng() % 24);
      // Times from the newest backwards, 30 s to 6 h apart, the newest within the last 30 days.
      std::vector<std::int64_t> times(static_cast<std::size_t>(n));
      std::int64_t at = corpus.now_ms - static_cast<std::int64_t>(rng() % (30 * k_day)) / 1000 * 1000;
      for (int k = n - 1; k >= 0; --k) {
        times[static_cast<std::size_t>(k)] = at;
        at -= (30 + static_cast<std::int64_t>(rng() % (6 * 3600))) * 1000;
      }
      for (int k = 0; k < n; ++k) {
        const bool inbound = k == 0 || rng() % 10 < 6;
        std::string text = inbound ? k_texts[rng() % k_texts.size()] : k_replies[rng() % k_replies.size()];
        ojson attachments;
        const auto roll = rng() % 40;
        const bool sticker = roll == 0 && inbound;
        if (roll >= 37) {
          const std::uint64_t asset = (static_cast<std::uint64_t>(i) << 20) + static_cast<std::uint64_t>(k);
          ojson a;
          if (messenger)
            a = {{"id", fmt::format("{}", 900000000000000 + asset)},
                 {"mime_type", "image/jpeg"},
                 {"name", fmt::format("image-{}.jpg", asset)},
                 {"size", 48213 + k},
                 {"image_data",
                  {{"width", 960},
                   {"height", 720},
                   {"max_width", 960},
                   {"max_height", 720},
                   {"url", fmt::format("https://scontent.xx.fbcdn.net/v/t1.15752-9/{}_n.jpg?oh=sim", asset)},
                   {"preview_url", fmt::format("https://scontent.xx.fbcdn.net/v/t1.15752-9/{}_p.jpg", asset)}}}};
          else
            a = {{roll == 39 ? "video_data" : "image_data",
                  {{"width", 720},
                   {"height", 1280},
                   {"url",
                    fmt::format("https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id={}&signature=sim", asset)},
                   {"preview_url",
                    fmt::format("https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id={}&p=1", asset)}}}};
          attachments = {{"data", ojson::array({a})}};
          if (roll == 39) text.clear();  // only the attachment
        }
        add_message(*p, t, times[static_cast<std::size_t>(k)], inbound, text, attachments, sticker);
      }
      p->threads.push_back(std::move(t));
    }
  }
  for (Platform* p : {&m_messenger, &m_instagram}) {
    sort(*p);
    for (std::size_t k = 0; k < p->threads.size(); ++k) m_by_thread[p->threads[k].id] = {p, k};
  }
}

void MetaSim::headers(httplib::Response& res, const std::string& version) {
  // Low usage: chansync paces only past 75% and stops at 95%.
  res.set_header("X-App-Usage", fmt::format(R"({{"call_count":{},"total_cputime":1,"total_time":1}})",
                                            std::min(9L, 1 + m_requests / 500)));
  res.set_header("facebook-api-version", version);
  res.set_header("x-fb-trace-id", "A1b2C3d4");
}

bool MetaSim::admit(const httplib::Request& req, httplib::Response& res) {
  const long n = ++m_requests;
  const std::string version = req.matches[1];
  headers(res, version);
  if (m_opts.usage && !m_opts.usage(res)) return false;
  const std::string trace = fmt::format("Asim{:07}", n);
  if (const auto kind = m_faults ? m_faults("meta") : std::nullopt) {
    if (*kind == "429") {
      res.set_header("X-App-Usage", R"({"call_count":100,"total_cputime":4,"total_time":6})");
      graph_error(res, 400, 4, "(#4) Application request limit reached", 0, trace, true);
      return false;
    }
    if (*kind == "401") {
      res.set_header("WWW-Authenticate",
                     R"(OAuth "Facebook Platform" "invalid_token" "Error validating access token")");
      graph_error(res, 400, 190,
                  "Error validating access token: Session has expired on Thursday, 01-Oct-26 09:00:00 PDT. The current "
                  "time is Friday, 02-Oct-26 10:00:00 PDT.",
                  463, trace);
      return false;
    }
    if (*kind == "sunset") {
      graph_error(res, 400, 12, fmt::format("(#12) This endpoint is deprecated for versions {} and higher", version), 0,
                  trace);
      return false;
    }
    if (*kind == "restricted") {
      graph_error(res, 400, 368, "Temporarily blocked for policies violations", 0, trace);
      return false;
    }
    // Faults that leave the request answered, with the headers of a throttled app or of a call Graph
    // served with a newer version than the one asked for (an expired version is upgraded).
    if (*kind == "usage") res.set_header("X-App-Usage", R"({"call_count":95,"total_cputime":20,"total_time":30})");
    if (*kind == "upgraded") res.set_header("facebook-api-version", "v25.0");
    if (*kind == "500") {
      res.status = 500;
      res.set_content(
          fmt::format(
              R"({{"error":{{"code":2,"message":"An unexpected error has occurred. Please retry your request later.","type":"OAuthException","is_transient":true,"fbtrace_id":"{}"}}}})",
              trace),
          "application/json");
      return false;
    }
    if (*kind == "malformed") {
      res.status = 200;
      res.set_content(
          R"({"data":[{"id":"t_1","updated_time":"2026-10-01T09:00:00+0000","participants":{"data":[{"name":"Ann)",
          "application/json");
      return false;
    }
  }
  std::string token;
  const auto auth = req.get_header_value("Authorization");
  if (auth.rfind("Bearer ", 0) == 0)
    token = auth.substr(7);
  else if (auth.rfind("OAuth ", 0) == 0)
    token = auth.substr(6);
  else if (req.has_param("access_token"))
    token = req.get_param_value("access_token");
  if (token.empty()) {
    graph_error(res, 400, 2500, "An active access token must be used to query information about the current user.", 0,
                trace);
    return false;
  }
  if (token != m_opts.token) {
    res.set_header("WWW-Authenticate", R"(OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token.")");
    graph_error(res, 400, 190, "Invalid OAuth access token.", 0, "A1b2C3d4");
    return false;
  }
  return true;
}

void MetaSim::object(const httplib::Request& req, httplib::Response& res) {
  if (!admit(req, res)) return;
  const std::string id = req.matches[2];
  const Fields fields = parse_fields(req.has_param("fields") ? req.get_param_value("fields") : "id,name");
  ojson out;
  if (id == m_opts.page_id) {
    if (fields.has("name")) out["name"] = m_opts.page_name;
    if (fields.has("instagram_business_account")) out["instagram_business_account"] = {{"id", m_opts.ig_id}};
  } else if (id == m_opts.ig_id) {
    if (fields.has("username")) out["username"] = m_opts.ig_username;
    if (fields.has("name")) out["name"] = m_opts.page_name;
  } else if (id == m_opts.phone_number_id) {
    if (fields.has("display_phone_number")) out["display_phone_number"] = "+49 30 1234560";
    if (fields.has("verified_name")) out["verified_name"] = m_opts.page_name;
  } else {
    return no_object(res, id);
  }
  out["id"] = id;
  res.set_content(out.dump(-1, ' ', true), "application/json");
}

std::string MetaSim::messages_page(const Thread& t, std::size_t end, int limit, const std::string& path_base,
                                   const std::string& token_query) const {
  end = std::min(end, t.messages.size());
  const std::size_t start = end > static_cast<std::size_t>(limit) ? end - static_cast<std::size_t>(limit) : 0;
  std::string out = R"({"data":[)";
  for (std::size_t k = end; k > start; --k) {
    if (k != end) out += ',';
    out += t.messages[k - 1].json;
  }
  out += "]";
  if (end > start) {
    const std::string after = b64url(fmt::format("msg:{}", start));
    out += fmt::format(R"(,"paging":{{"cursors":{{"before":"{}","after":"{}"}})", b64url(fmt::format("msg:{}", end)),
                       after);
    if (start > 0)
      out += fmt::format(R"(,"next":"{}/{}/messages?fields={}&limit={}{}&after={}")", path_base, t.id, k_nested_fields,
                         limit, token_query, after);
    out += "}";
  }
  return out + "}";
}

void MetaSim::conversations(const httplib::Request& req, httplib::Response& res) {
  if (!admit(req, res)) return;
  const std::string version = req.matches[1], id = req.matches[2];
  if (id != m_opts.page_id) return no_object(res, id);
  std::string platform = req.has_param("platform") ? req.get_param_value("platform") : "messenger";
  for (auto& c : platform) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (platform != "messenger" && platform != "instagram")
    return graph_error(res, 400, 100, "(#100) Param platform must be one of {MESSENGER, INSTAGRAM}", 0, "AsimPlat");
  const auto limit = int_param(req, "limit", 25);
  if (!limit || *limit < 1) return graph_error(res, 400, 100, "(#100) Param limit must be a positive integer");
  const int page_size = std::min(*limit, 100);
  const std::string field_list = req.has_param("fields") ? req.get_param_value("fields") : "id,updated_time";
  const Fields fields = parse_fields(field_list);
  const auto nested = fields.limit_of("messages", 25);
  // The cursor names the last conversation of the previous page: stable when others are updated.
  std::int64_t after_ms = 0;
  std::string after_id;
  if (req.has_param("after")) {
    const auto raw = b64url_decode(req.get_param_value("after"));
    const auto colon = raw ? raw->find(':', 5) : std::string::npos;
    if (!raw || !raw->starts_with("conv:") || colon == std::string::npos)
      return graph_error(res, 400, 100, "(#100) The after cursor is not valid", 0, "AsimCursor");
    try {
      after_ms = std::stoll(raw->substr(5, colon - 5));
    } catch (const std::exception&) {
      return graph_error(res, 400, 100, "(#100) The after cursor is not valid", 0, "AsimCursor");
    }
    after_id = raw->substr(colon + 1);
  }
  const std::string token_query =
      req.has_param("access_token") ? "&access_token=" + url_encode(req.get_param_value("access_token")) : "";
  const std::string path_base = "http://" + req.get_header_value("Host") + "/" + version;
  std::lock_guard lock(m_mu);
  Platform& p = platform == "messenger" ? m_messenger : m_instagram;
  auto it = p.order.begin();
  if (!after_id.empty())
    it = std::partition_point(p.order.begin(), p.order.end(), [&](std::size_t k) {
      const auto& t = p.threads[k];
      return t.updated_ms != after_ms ? t.updated_ms > after_ms : t.id >= after_id;
    });
  std::string body = R"({"data":[)";
  std::string first, last;
  int emitted = 0;
  for (; it != p.order.end() && emitted < page_size; ++it, ++emitted) {
    const auto& t = p.threads[*it];
    if (emitted) body += ',';
    body += fmt::format(R"({{"id":"{}")", t.id);
    if (fields.has("updated_time")) body += fmt::format(R"(,"updated_time":"{}")", graph_time(t.updated_ms));
    if (fields.has("participants")) body += R"(,"participants":)" + t.participants;
    if (nested)
      body +=
          R"(,"messages":)" + messages_page(t, t.messages.size(), std::clamp(*nested, 1, 100), path_base, token_query);
    body += '}';
    last = b64url(fmt::format("conv:{}:{}", t.updated_ms, t.id));
    if (first.empty()) first = last;
  }
  body += ']';
  if (emitted) {
    body += fmt::format(R"(,"paging":{{"cursors":{{"before":"{}","after":"{}"}})", first, last);
    if (it != p.order.end())
      body += fmt::format(R"(,"next":"{}/{}/conversations?platform={}&fields={}&limit={}{}&after={}")", path_base, id,
                          platform, url_encode(field_list), page_size, token_query, last);
    body += '}';
  }
  res.set_content(body + "}", "application/json");
}

void MetaSim::thread_messages(const httplib::Request& req, httplib::Response& res) {
  if (!admit(req, res)) return;
  const std::string version = req.matches[1], id = req.matches[2];
  const auto limit = int_param(req, "limit", 25);
  if (!limit || *limit < 1) return graph_error(res, 400, 100, "(#100) Param limit must be a positive integer");
  std::optional<std::size_t> end;
  if (req.has_param("after")) {
    const auto raw = b64url_decode(req.get_param_value("after"));
    try {
      if (raw && raw->starts_with("msg:")) end = std::stoul(raw->substr(4));
    } catch (const std::exception&) {
    }
    if (!end) return graph_error(res, 400, 100, "(#100) The after cursor is not valid", 0, "AsimCursor");
  }
  const std::string token_query =
      req.has_param("access_token") ? "&access_token=" + url_encode(req.get_param_value("access_token")) : "";
  std::lock_guard lock(m_mu);
  const auto found = m_by_thread.find(id);
  if (found == m_by_thread.end()) return no_object(res, id);
  const Thread& t = found->second.first->threads[found->second.second];
  res.set_content(messages_page(t, end.value_or(t.messages.size()), std::min(*limit, 100),
                                "http://" + req.get_header_value("Host") + "/" + version, token_query),
                  "application/json");
}

void MetaSim::routes(httplib::Server& server) {
  server.Get(R"(/(v[0-9]+\.[0-9]+)/([0-9]+))", [this](const auto& req, auto& res) { object(req, res); });
  server.Get(R"(/(v[0-9]+\.[0-9]+)/debug_token)", [this](const auto& req, auto& res) { debug_token(req, res); });
  server.Get(R"(/(v[0-9]+\.[0-9]+)/([0-9]+)/subscribed_apps)",
             [this](const auto& req, auto& res) { subscribed_apps(req, res); });
  server.Get(R"(/(v[0-9]+\.[0-9]+)/([0-9]+)/conversations)",
             [this](const auto& req, auto& res) { conversations(req, res); });
  server.Get(R"(/(v[0-9]+\.[0-9]+)/(t_[0-9]+)/messages)",
             [this](const auto& req, auto& res) { thread_messages(req, res); });
  server.Post("/_sim/add-meta-messages", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string platform = req.has_param("platform") ? req.get_param_value("platform") : "messenger";
    const auto n = int_param(req, "n", 1);
    std::lock_guard lock(m_mu);
    Platform& p = platform == "instagram" ? m_instagram : m_messenger;
    if ((platform != "messenger" && platform != "instagram") || !n || *n < 1 || p.order.empty()) {
      res.status = 400;
      res.set_content(R"({"error":"expected ?platform=messenger|instagram&n=N, N at least 1"})", "application/json");
      return;
    }
    const std::int64_t newest = p.threads[p.order.front()].updated_ms;
    Thread& t = p.threads[p.order.back()];
    for (int k = 0; k < *n; ++k)
      add_message(p, t, newest + 1000 * (k + 1), true, fmt::format("A new {} message", platform), nullptr, false);
    sort(p);
    res.set_content(nlohmann::json{{"conversation", t.id}, {"added", *n}}.dump(), "application/json");
  });
}

void MetaSim::stats(nlohmann::json& out) {
  out["meta_requests"] = m_requests.load();
  std::lock_guard lock(m_mu);
  for (const Platform* p : {&m_messenger, &m_instagram}) {
    out["meta_" + p->name + "_conversations"] = p->threads.size();
    out["meta_" + p->name + "_messages"] = p->messages;
  }
}

}  // namespace chansync::sim
