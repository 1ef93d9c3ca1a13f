#include "adapters/hubspot/hubspot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>

#include "adapters/hubspot/hubspot_api.hpp"
#include "adapters/hubspot/hubspot_client.hpp"
#include "adapters/status_page.hpp"
#include "sync/normalize.hpp"

namespace chansync::adapters::hubspot {
namespace {

constexpr const char* k_type = "hubspot-contacts";
// How far before a pass's start the next pass reads again: HubSpot's search index lags its writes
// (seconds, undocumented), and a contact edited just before the pass may not have been found by it.
constexpr Timestamp k_index_lag_ms = 60'000;

// A pass is: list (first run) or search (later runs), then the archived list, then done.
struct Cursor {
  std::string phase;    // "list" | "search" | "archived" | "" (between passes)
  std::string after;    // paging token inside the phase
  Timestamp since = 0;  // search: this pass reads lastmodifieddate >= since (ms)
  Timestamp high = 0;   // newest lastmodifieddate seen this pass
  Timestamp from = 0;   // search: where the pass has read up to (lastmodifieddate >= from; 0: since)
  Timestamp start = 0;  // HubSpot's Date when this pass began (0: not begun, or it sent none)

  static Result<Cursor> parse(const std::string& text) {
    if (text.empty()) return Cursor{"list"};
    try {
      const auto j = nlohmann::json::parse(text);
      Cursor c{j.value("phase", ""),          j.value("after", ""),          j.value("since", Timestamp{0}),
               j.value("high", Timestamp{0}), j.value("from", Timestamp{0}), j.value("start", Timestamp{0})};
      if (c.phase.empty()) c.phase = "search";  // a finished pass resumes as a search
      return c;
    } catch (const std::exception&) {
      return fail(Errc::state, "saved HubSpot cursor is unreadable; run `chansync state reset` for this connector");
    }
  }
  std::string dump() const {
    nlohmann::json j = {{"since", since}};
    if (!phase.empty()) j["phase"] = phase;
    if (!after.empty()) j["after"] = after;
    if (high) j["high"] = high;
    if (from) j["from"] = from;
    if (start) j["start"] = start;
    return j.dump();
  }
};

// "email,phone,…": the list endpoint's properties= value.
std::string property_list() {
  std::string out;
  for (const char* p : k_property_names) out += (out.empty() ? "" : ",") + std::string(p);
  return out;
}

std::string token_of(const EndpointConfig& cfg) {
  return cfg.secrets.count("token") ? cfg.secrets.at("token") : "";
}

class HubSpotAdapter final : public Adapter, public ContactSource {
 public:
  explicit HubSpotAdapter(const AdapterContext& ctx)
      : m_name(ctx.config.name),
        m_base(ctx.config.options.at("base_url").get<std::string>()),
        m_region(ctx.default_region),
        // ~90% of the documented 100 per 10 s; corrected from X-HubSpot-RateLimit-* on every response.
        m_http(HttpOptions{.connector = ctx.config.name,
                           .requests_per_second = k_seed_per_second,
                           .rate_policy = rate_reading,
                           .sub_budgets = {search_budget()},
                           .shared_budgets = shared_budgets(m_base, token_of(ctx.config)),
                           // A spent daily budget lasts until HubSpot's reset: retrying it is waste.
                           .give_up = daily_budget_spent,
                           .bearer_token = token_of(ctx.config),
                           .stop_ends_waits = true,
                           .sleep = ctx.sleep}) {
    while (!m_base.empty() && m_base.back() == '/') m_base.pop_back();
  }

  HealthReport probe() override {
    std::string body;
    auto obs = observe(m_http, {"GET", m_base + "/crm/v3/objects/contacts?limit=1"}, &body);
    if (obs.http_status >= 400) obs.vendor_message = parse_error(body);
    auto report = classify(m_name, k_type, std::move(obs));
    require_vendor_body(report, parse_contacts_page(body).has_value(), "a HubSpot contacts page");
    return report;
  }

  Result<Page<Contact>> pull_contacts(const PullRequest& req) override {
    auto cur = Cursor::parse(req.cursor);
    if (!cur) return std::unexpected(cur.error());
    const std::size_t before = m_http.requests();
    // The list endpoint serves up to 100 per page, search up to 200.
    const int max = cur->phase == "search" ? 200 : 100;
    const int limit = req.page_size > 0 ? std::min(req.page_size, max) : max;
    HttpRequest http;
    if (cur->phase == "search") {
      http.method = "POST";
      http.url = m_base + "/crm/v3/objects/contacts/search";
      http.headers = {{"Content-Type", "application/json"}};
      nlohmann::json body = {{"filterGroups",
                              {{{"filters",
                                 {{{"propertyName", "lastmodifieddate"},
                                   {"operator", "GTE"},
                                   {"value", std::to_string(std::max(cur->since, cur->from))}}}}}}},
                             {"sorts", {{{"propertyName", "lastmodifieddate"}, {"direction", "ASCENDING"}}}},
                             {"properties", std::vector<std::string>(k_property_names.begin(), k_property_names.end())},
                             {"limit", limit}};
      if (!cur->after.empty()) body["after"] = cur->after;
      http.body = body.dump();
      http.idempotent = true;  // a search reads; repeating it changes nothing
    } else {
      http.url =
          fmt::format("{}/crm/v3/objects/contacts?limit={}&properties={}", m_base, limit, url_encode(property_list()));
      if (cur->phase == "archived") http.url += "&archived=true";
      if (!cur->after.empty()) http.url += "&after=" + url_encode(cur->after);
    }
    auto resp = m_http.send(http);
    if (!resp) return std::unexpected(resp.error());
    if (resp->status != 200 && daily_budget_spent(*resp))
      return std::unexpected(daily_limit_error(m_http, m_base, m_name, *resp,
                                               "Run the pull again after that: it goes on from where it stopped"));
    if (resp->status != 200)
      return std::unexpected(m_http.error(http, *resp, "listing HubSpot contacts", parse_error(resp->body)));
    if (!cur->start)
      if (const auto it = resp->headers.find("date"); it != resp->headers.end())
        cur->start = parse_http_date(it->second).value_or(0);
    auto wire = parse_contacts_page(resp->body);
    if (!wire) {
      wire.error().connector = m_name;
      wire.error().message += "; the cursor was not advanced";
      return std::unexpected(wire.error());
    }
    Page<Contact> page;
    page.rejects = std::move(wire->rejects);
    Timestamp page_high = 0;
    std::vector<Contact> retired;
    for (const auto& w : wire->results) {
      auto c = map_contact(w, cur->phase == "archived");
      if (!c) {
        page.rejects.push_back({w.id, c.error().message, std::string(w.raw)});
        continue;
      }
      page_high = std::max(page_high, c->updated_at);
      read_attributes(w, *c, page.rejects);
      retire_merged(w, *c, retired, page.rejects);
      page.items.push_back(std::move(*c));
    }
    // Retirements go last, so they win over the same id listed live on this page: a merge cannot be
    // undone, and such a listing can only be a search index that has not caught up with it.
    std::move(retired.begin(), retired.end(), std::back_inserter(page.items));
    if (cur->phase != "archived") cur->high = std::max(cur->high, page_high);
    page.requests = m_http.requests() - before;
    advance(*cur, wire->next_after, page_high);
    if (cur->phase.empty()) page.done = true;
    page.next_cursor = cur->dump();
    return page;
  }

 private:
  Result<Contact> map_contact(const WireContact& w, bool archived) const {
    Contact c;
    c.connector = m_name;
    c.id = w.id;
    c.first_name = w.firstname;
    c.last_name = w.lastname;
    c.archived = archived || w.archived;
    const std::string& when = w.lastmodifieddate.empty() ? w.updated_at : w.lastmodifieddate;
    const auto ts = parse_rfc3339(when);
    if (!ts) return fail(Errc::protocol, fmt::format("unparseable lastmodifieddate \"{}\"", when));
    c.updated_at = *ts;
    if (auto e = normalize_email(w.email)) c.handles.push_back(*e);
    for (const auto* p : {&w.phone, &w.mobilephone})
      if (auto h = normalize_phone(*p, m_region)) c.handles.push_back(*h);
    return c;
  }

  // date_of_birth, zip, city and address, normalised. They only suggest, so a birth date that is not
  // one (typed as text: "17.05.1990") costs itself, not the contact: it is left out and reported as a
  // dead letter of the contact, which is stored all the same.
  void read_attributes(const WireContact& w, Contact& c, std::vector<DeadLetter>& rejects) const {
    auto& a = c.attributes;
    if (auto date = normalize_birth_date(w.date_of_birth))
      a.birth_date = *date;
    else if (!normalize_place(w.date_of_birth).empty())
      rejects.push_back({w.id,
                         fmt::format("date_of_birth \"{}\" is not a date (YYYY-MM-DD, or midnight UTC in "
                                     "milliseconds); the contact is stored without it",
                                     w.date_of_birth),
                         std::string(w.raw)});
    a.postal_code = normalize_postal_code(w.zip);
    a.city = normalize_place(w.city);
    a.street = normalize_place(w.address);
  }

  // A merge leaves one contact whose hs_merged_object_ids lists the contacts merged into it; those
  // vanish from the list, the search and the archived list alike, so this is the only word of them.
  // Each becomes a retirement: archived, without names or handles (they now live on the survivor, as
  // far as HubSpot kept them), stamped with the survivor's lastmodifieddate. Retiring an id never
  // stored leaves a row that joins nothing. Ids that are not numbers are dead letters of the survivor,
  // which is stored all the same.
  void retire_merged(const WireContact& w, const Contact& survivor, std::vector<Contact>& retired,
                     std::vector<DeadLetter>& rejects) const {
    const auto merged = parse_merged_ids(w.merged_object_ids, w.id);
    if (!merged.malformed.empty()) {
      std::string pieces;
      for (const auto& m : merged.malformed) pieces += fmt::format("{}\"{}\"", pieces.empty() ? "" : ", ", m);
      rejects.push_back(
          {w.id,
           fmt::format("hs_merged_object_ids \"{}\": {} not a contact id, not retired", w.merged_object_ids, pieces),
           std::string(w.raw)});
    }
    for (const auto& id : merged.ids) {
      auto it = std::find_if(retired.begin(), retired.end(), [&](const Contact& c) { return c.id == id; });
      if (it != retired.end()) {
        it->updated_at = std::max(it->updated_at, survivor.updated_at);
        continue;
      }
      Contact r;
      r.connector = m_name;
      r.id = id;
      r.archived = true;
      r.updated_at = survivor.updated_at;
      retired.push_back(std::move(r));
    }
  }

  // Moves the cursor to the next request of the pass, or ends the pass (phase "").
  void advance(Cursor& cur, const std::string& next_after, Timestamp page_high) const {
    if (!next_after.empty()) {
      if (cur.phase == "search" && page_high > std::max(cur.since, cur.from)) {
        // The next page is asked from the newest timestamp of this one, not by offset: a contact
        // edited while the pass pages moves to the end of the order, and an offset would then skip
        // the one that slid into its place. The overlap (the contacts at page_high) is deduplicated
        // on upsert. This also keeps a pass under the search's 10,000-result window.
        cur.from = page_high;
        cur.after.clear();
      } else {
        // A whole page at one timestamp: only the offset gets past it (10,000 contacts at one
        // timestamp cannot be: HubSpot's own error then stops the pull loudly, skipping none).
        cur.after = next_after;
      }
      return;
    }
    cur.after.clear();
    if (cur.phase != "archived") {
      cur.phase = "archived";
      return;
    }
    // The next pass reads what changed after the newest lastmodifieddate seen, but never from after
    // the pass began (by HubSpot's clock, less a minute for its search index to catch up): a contact
    // already read and edited while the pass went on has a date before the newest one seen.
    cur.phase.clear();
    if (cur.high)
      cur.since = std::max(cur.since, cur.start ? std::min(cur.high, cur.start - k_index_lag_ms) : cur.high);
    cur.high = cur.from = cur.start = 0;
  }

  std::string m_name, m_base, m_region;
  HttpClient m_http;
};

}  // namespace

AdapterType type() {
  using K = OptionSpec::Kind;
  return adapter_type<HubSpotAdapter>(
      k_type,
      "HubSpot CRM contacts (email, phone, mobile phone, name; date of birth, zip, city and address for "
      "suggestions); archived and merged-away contacts retired",
      with_status_page(
          {
              {"token", "private app access token (Bearer)", K::string, true, true, nullptr},
              {"base_url", "API root (regional endpoints, tests, the simulator)", K::url, false, false,
               "https://api.hubapi.com"},
          },
          k_hubspot_status_page));
}

}  // namespace chansync::adapters::hubspot
