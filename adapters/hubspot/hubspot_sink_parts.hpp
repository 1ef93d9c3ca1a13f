#pragma once
// The HubSpot target (hubspot_sink.hpp), for its two files: hubspot_sink.cpp upserts, archives and
// verifies contacts; hubspot_sink_notes.cpp writes each person's timeline as notes and the mark of
// how far they go.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/hubspot/hubspot_api.hpp"
#include "adapters/hubspot/hubspot_client.hpp"
#include "adapters/hubspot/hubspot_notes.hpp"
#include "sync/adapter.hpp"

namespace chansync::adapters::hubspot::sink {

inline constexpr const char* k_type = "hubspot";
inline constexpr std::size_t k_batch = 100;    // HubSpot's CRM batch endpoints take at most 100 inputs
inline constexpr int k_note_to_contact = 202;  // HUBSPOT_DEFINED association type: note → contact

// An error that ends the push (see Sink::push): every request after it would fail the same way.
inline bool stops(const Error& e) {
  return e.code == Errc::auth || e.code == Errc::rate_limited || e.code == Errc::unavailable;
}

// One person to upsert on its way through the steps of a group.
struct Work {
  const PushItem* item = nullptr;
  std::optional<NotedMark> mark;  // the contact's noted-through mark, as read
  std::string contact_id;
  bool created = false;
  std::vector<TimelineNote> notes;
  std::map<std::string, std::string> note_ids;  // note key → HubSpot note id
  bool done = false;                            // every step confirmed
  std::optional<Error> error;                   // the person's own failure

  const std::string& person_id() const { return item->record->person_id; }
  bool ok() const { return !error && !done; }
};

// A batch answer, or the reason HubSpot refused the request as a whole (its persons fail, the push
// goes on). The Result's error stops the push.
struct Answer {
  int status = 0;
  BatchAnswer batch;
  std::optional<Error> refused;
  std::string vendor;  // with `refused`: HubSpot's own words ("CATEGORY: message (correlationId ...)")
};

// HubSpot's words without the correlationId each answer has of its own: what two refusals share
// when they are alike.
inline std::string_view vendor_words(const Answer& a) {
  return std::string_view(a.vendor).substr(0, a.vendor.find(" (correlationId"));
}

class HubSpotSink final : public Adapter, public Sink {
 public:
  explicit HubSpotSink(const AdapterContext& ctx);
  HealthReport probe() override;
  Result<std::vector<PushOutcome>> push(std::span<const PushItem> batch) override;
  bool readable() const override { return true; }
  Result<std::vector<VerifyOutcome>> verify(std::span<const PushItem> items) override;

 private:
  const std::string& name() const { return m_api.name(); }
  bool notes() const { return !m_note_property.empty(); }

  // Contacts (hubspot_sink.cpp).
  Result<Answer> send(const std::string& path, const nlohmann::json& body, const std::string& what);
  std::string conflict_advice(const std::string& person_id) const;
  Error person_error(const BatchError& e, const std::string& person_id) const;
  std::optional<Error> upsert_group(std::vector<Work>& work);
  std::optional<Error> upsert_contacts(std::span<Work*> part);
  std::optional<Error> narrow_contacts(std::span<Work*> part, const Answer& refused, bool first);
  Result<std::optional<Answer>> try_contacts(std::span<Work*> part);
  std::optional<Error> archive_group(std::span<const PushItem* const> part, std::vector<PushOutcome>& out);
  Result<std::map<std::string, BatchObject>> read_contacts(std::span<const PushItem* const> items,
                                                           std::vector<std::string> properties);

  // Notes (hubspot_sink_notes.cpp).
  std::optional<Error> read_marks(std::vector<Work>& work);
  std::optional<Error> upsert_notes(std::vector<Work>& work);
  std::optional<Error> send_notes(std::span<std::pair<Work*, const TimelineNote*>> part, bool whole);
  Result<Answer> post_notes(std::span<std::pair<Work*, const TimelineNote*>> part);
  std::optional<Error> settle_notes(std::span<std::pair<Work*, const TimelineNote*>> part, const Answer& answer,
                                    bool whole);
  std::optional<Error> associate_notes(std::vector<Work>& work);
  std::optional<Error> update_marks(std::vector<Work>& work);

  Client m_api;
  std::string m_id_property, m_note_property, m_noted_property;
};

}  // namespace chansync::adapters::hubspot::sink
