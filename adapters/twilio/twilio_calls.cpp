#include "adapters/twilio/twilio_calls.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <map>
#include <set>

#include "adapters/status_page.hpp"
#include "adapters/twilio/twilio_api.hpp"
#include "adapters/twilio/twilio_source.hpp"

namespace chansync::adapters::twilio {
namespace {

constexpr const char* k_type = "twilio-calls";

// What Twilio puts in `from` when the caller withheld or has no number: never a person's handle.
// Programmable Voice writes the words as keypad digits ("Upcoming changes to withheld caller ID
// behavior", Twilio changelog 2022-11-16) and passes them through as words on <Dial> legs: both.
bool is_anonymous(std::string_view from) {
  static constexpr std::array<std::string_view, 5> k_words = {"anonymous", "restricted", "unknown", "unavailable",
                                                              "blocked"};
  static constexpr std::array<std::string_view, 5> k_keypad = {"266696687", "7378742833", "8656696", "86282452253",
                                                               "2562533"};
  std::string lower(from);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower.empty()) return true;
  const std::string_view digits = std::string_view(lower).substr(lower.front() == '+' ? 1 : 0);
  return std::find(k_words.begin(), k_words.end(), lower) != k_words.end() ||
         std::find(k_keypad.begin(), k_keypad.end(), digits) != k_keypad.end();
}

// "3 min 12 s", "45 s", "1 h 2 min 3 s"; "" when Twilio gave no duration.
std::string format_duration(const std::string& seconds) {
  long s = 0;
  const auto [end, ec] = std::from_chars(seconds.data(), seconds.data() + seconds.size(), s);
  if (ec != std::errc() || end != seconds.data() + seconds.size() || s < 0) return {};
  if (s >= 3600) return fmt::format("{} h {} min {} s", s / 3600, s % 3600 / 60, s % 60);
  if (s >= 60) return fmt::format("{} min {} s", s / 60, s % 60);
  return fmt::format("{} s", s);
}

class TwilioCallsAdapter final : public TwilioSource {
 public:
  explicit TwilioCallsAdapter(const AdapterContext& ctx) : TwilioSource(ctx, k_type) {}

  std::vector<Stream> streams() const override { return list_streams(); }

  Result<Page<Conversation>> pull_conversations(const PullRequest& req) override {
    return pull_list(req, {"Calls.json", "StartTime", "calls"},
                     [this](std::string& body, Page<Conversation>& page, ListMarks& marks) -> Result<std::string> {
                       auto wire = parse_calls_page(body);
                       if (!wire) return std::unexpected(wire.error());
                       page.rejects = std::move(wire->rejects);
                       map_calls(wire->items, page, marks);
                       return std::move(wire->next_page_uri);
                     });
  }

 private:
  void map_calls(const std::vector<WireCall>& wire, Page<Conversation>& page, ListMarks& marks) {
    std::map<std::string, std::size_t> index;  // conversation id → position in page.items
    std::size_t legs_skipped = 0, agent_legs = 0;
    // An agent's Voice SDK client ("client:anna"), a SIP phone ("sip:…") or no end at all (the TwiML
    // app a softphone calls) is the business's side. A call whose customer end is one of those is the
    // agent's own leg: the <Dial> leg it makes to the customer is the customer's call.
    const auto agent_end = [](const std::string& end) {
      return end.empty() || end.starts_with("client:") || end.starts_with("sip:");
    };
    std::set<std::string> agent_calls;  // sids of agents' own legs on this page
    for (const auto& w : wire)
      if (agent_end(w.direction == "inbound" || w.direction == "trunking-originating" ? w.from : w.to))
        agent_calls.insert(w.sid);
    for (const auto& w : wire) {
      const std::string& when = w.start_time.empty() ? w.date_created : w.start_time;
      auto started = parse_rfc2822(when);
      if (!started) {
        page.rejects.push_back({w.sid, fmt::format("unparseable start_time \"{}\"", when), std::string(w.raw)});
        continue;
      }
      // trunking-originating/-terminating are Elastic SIP Trunking's inbound and outbound.
      const bool inbound = w.direction == "inbound" || w.direction == "trunking-originating";
      if (!inbound && !w.direction.starts_with("outbound") && w.direction != "trunking-terminating") {
        page.rejects.push_back({w.sid, fmt::format("unknown direction \"{}\"", w.direction), std::string(w.raw)});
        continue;
      }
      // A leg made by <Dial> (outbound-dial) from another call has that call as its parent: forwarding
      // to an agent's phone, click-to-call. It is the customer's call only when the business placed
      // it, from one of own_numbers, to a number that is not the business's. A leg whose from is the
      // original caller (<Dial> passes the caller's number on by default) goes to wherever the call was
      // forwarded: its parent is the customer's call, and taking its ends at their word would make the
      // agent's phone a customer and the customer the business. A leg between own numbers is internal.
      // A leg an agent's softphone dialled (its parent is the agent's own leg, below) is that too.
      if (w.direction == "outbound-dial" && !w.parent_call_sid.empty() && !agent_calls.contains(w.parent_call_sid)) {
        const auto from = m_phone(w.from), to = m_phone(w.to);
        if (!from || !is_own(from->value) || (to && is_own(to->value))) {
          ++legs_skipped;
          continue;
        }
      }
      const std::string& customer_raw = inbound ? w.from : w.to;
      const std::string& business_raw = inbound ? w.to : w.from;
      if (agent_calls.contains(w.sid)) {
        ++agent_legs;
        continue;
      }
      auto business = agent_end(business_raw) ? std::optional(Handle{HandleKind::phone, business_raw, false})
                                              : m_phone(business_raw);
      if (!business) {
        page.rejects.push_back(
            {w.sid, fmt::format("the business's end \"{}\" is not a phone number", business_raw), std::string(w.raw)});
        continue;
      }
      std::optional<Handle> customer;
      if (is_anonymous(customer_raw)) {
        // A caller without a number identifies no one: the call is kept, on a thread of its own
        // under a handle unique to it and unverified ("anonymous/CA…"), so it is stored and shown
        // but joins nobody — two anonymous calls never become one person.
        customer = anonymous_phone(w.sid);
      } else if (is_masked_phone(customer_raw)) {
        customer = redacted_phone(w.sid);  // Twilio's redaction: the last digits are XXXX
      } else {
        customer = m_phone(customer_raw);
        if (!customer) {
          page.rejects.push_back({w.sid, fmt::format("the customer's end \"{}\" is not a phone number", customer_raw),
                                  std::string(w.raw)});
          continue;
        }
        if (is_own(customer->value)) {
          page.rejects.push_back({w.sid, "both ends are the business's own numbers (own_numbers)", std::string(w.raw)});
          continue;
        }
      }
      marks.high = std::max(marks.high, *started);
      // Queued, ringing or in progress: its outcome and duration are still to come, so the next pass
      // reads its day again.
      if (w.status == "queued" || w.status == "initiated" || w.status == "ringing" || w.status == "in-progress")
        marks.open = marks.open ? std::min(marks.open, *started) : *started;
      const std::string conv_id = fmt::format("call:{}:{}", business->value, customer->value);
      auto [it, inserted] = index.try_emplace(conv_id, page.items.size());
      if (inserted) page.items.push_back(Conversation{m_name, conv_id, "call", *customer, business->value, {}});
      Message m;
      m.connector = m_name;
      m.id = w.sid;
      m.conversation = conv_id;
      m.channel = "call";
      m.kind = MessageKind::call;
      m.direction = inbound ? Direction::inbound : Direction::outbound;
      m.author_kind = inbound ? AuthorKind::customer : AuthorKind::agent;
      m.author_handle = inbound ? customer->value : business->value;
      m.sent_at = *started;
      // The model's status is a delivery status (sent < delivered < read, "failed" wins and is
      // final). A call that did not connect — busy, no-answer, failed, canceled, all final in
      // Twilio — did not reach the other party, which is what "failed" means, in either direction.
      // A completed call is not a delivery receipt, and queued/ringing/in-progress are not final,
      // so those leave the status unknown (""). The call's own outcome, in Twilio's word, and its
      // duration are the entry's text: "call completed, 3 min 12 s", "call no-answer".
      if (w.status == "busy" || w.status == "no-answer" || w.status == "failed" || w.status == "canceled")
        m.status = "failed";
      const std::string duration = format_duration(w.duration);
      m.text = fmt::format("call {}", w.status.empty() ? "(no status)" : w.status);
      if (w.status == "completed" && !duration.empty()) m.text += ", " + duration;
      page.items[it->second].messages.push_back(std::move(m));
    }
    if (agent_legs > 0)
      spdlog::debug("{}: {} calls of agents' softphones left to their <Dial> legs", m_name, agent_legs);
    if (legs_skipped > 0 && !has_own_numbers())
      spdlog::warn(
          "{}: {} call legs made by <Dial> left to their parent calls; without own_numbers a leg the "
          "business placed (click-to-call) cannot be told from a forwarded one: list the business's "
          "numbers in connectors.{}.own_numbers",
          m_name, legs_skipped, m_name);
    else if (legs_skipped > 0)
      spdlog::debug("{}: {} call legs made by <Dial> from another call left to their parent calls", m_name,
                    legs_skipped);
  }
};

}  // namespace

AdapterType calls_type() {
  return adapter_type<TwilioCallsAdapter>(
      k_type,
      "Twilio Programmable Voice: calls (outcome, duration) as timeline entries grouped per customer and business "
      "number",
      with_status_page(list_options(), k_twilio_status_page));
}

}  // namespace chansync::adapters::twilio
