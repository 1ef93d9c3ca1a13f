#include "adapters/ndjson/ndjson.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace chansync::adapters::ndjson {
namespace {

constexpr const char* k_type = "ndjson";

// Appends, so a file target is a feed: every push adds the persons that changed since the last one,
// and a consumer can tail it. Each batch is written with one write(2) and fsynced before the push
// ledger records it.
class NdjsonSink final : public Adapter, public Sink {
 public:
  explicit NdjsonSink(const AdapterContext& ctx)
      : m_name(ctx.config.name), m_path(ctx.config.options.at("path").get<std::string>()) {}
  ~NdjsonSink() override {
    if (m_fd > STDOUT_FILENO) ::close(m_fd);
  }

  // Read-only: checks what push will need (a writable directory, and an existing path that is a
  // regular, writable file) without creating anything.
  HealthReport probe() override {
    HealthReport r{m_name, k_type};
    r.checked_at = now_ms();
    r.evidence.url = where();
    if (m_path == "-") {
      r.cls = HealthClass::ok;
      r.summary = "writes to stdout";
      return r;
    }
    const auto path = std::filesystem::absolute(m_path);
    const auto dir = path.parent_path();
    std::error_code ec;
    std::string problem;
    if (!std::filesystem::is_directory(dir, ec))
      problem = fmt::format("{} is not a directory", dir.string());
    else if (::access(dir.c_str(), W_OK | X_OK) != 0)
      problem = fmt::format("cannot write in {}: {}", dir.string(), std::strerror(errno));
    else if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
      problem = fmt::format("{} exists and is not a regular file", path.string());
    else if (std::filesystem::exists(path, ec) && ::access(path.c_str(), W_OK) != 0)
      problem = fmt::format("cannot write {}: {}", path.string(), std::strerror(errno));
    if (problem.empty()) {
      r.cls = HealthClass::ok;
      r.summary = fmt::format("{} can be appended to", path.string());
    } else {
      r.cls = HealthClass::unreachable;
      r.evidence.transport_error = problem;
      r.summary = problem + fmt::format("; check targets.{}.path", m_name);
    }
    return r;
  }

  // The file confirms a batch once it is written and fsynced: every person in it is then created (first
  // line for that person in this feed), updated, or deleted (a deletion line).
  Result<std::vector<PushOutcome>> push(std::span<const PushItem> batch) override {
    if (auto opened = open(); !opened) return std::unexpected(opened.error());
    std::string buf;
    std::vector<PushOutcome> out;
    for (const auto& item : batch) {
      if (item.remove) {
        // A feed cannot unwrite a line: a deletion is a line of its own (schemas/deletion.schema.json).
        nlohmann::json gone = {{"person_id", item.record->person_id}, {"deleted", true}};
        gone["merged_into"] = item.merged_into.empty() ? nlohmann::json(nullptr) : nlohmann::json(item.merged_into);
        buf += gone.dump();
        out.push_back({item.record->person_id, PushOutcome::Status::deleted});
      } else {
        buf += nlohmann::json(*item.record).dump();
        out.push_back(
            {item.record->person_id, item.previous ? PushOutcome::Status::updated : PushOutcome::Status::created});
      }
      buf += '\n';
    }
    // A failed batch is cut off again, so a consumer never reads half a line and the retry on the next
    // push appends it whole.
    const off_t start = m_fd == STDOUT_FILENO ? -1 : ::lseek(m_fd, 0, SEEK_END);
    auto undo = [&](const char* what) {
      const int err = errno;
      // Best effort: the error to report is the write's.
      if (start >= 0) [[maybe_unused]]
        const int rc = ::ftruncate(m_fd, start);
      return fail(Errc::io,
                  fmt::format("{} {} failed: {}; nothing of this batch is recorded as delivered, so the next push "
                              "sends it again",
                              what, where(), std::strerror(err)),
                  m_name);
    };
    for (std::size_t off = 0; off < buf.size();) {
      const ssize_t n = ::write(m_fd, buf.data() + off, buf.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return undo("writing");
      }
      off += static_cast<std::size_t>(n);
    }
    if (m_fd != STDOUT_FILENO && ::fsync(m_fd) != 0) return undo("fsync of");
    return out;
  }

 private:
  std::string where() const { return m_path == "-" ? "stdout" : m_path; }

  Result<void> open() {
    if (m_fd >= 0) return {};
    if (m_path == "-") {
      m_fd = STDOUT_FILENO;
      return {};
    }
    m_fd = ::open(m_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (m_fd < 0)
      return fail(Errc::cant_write,
                  fmt::format("cannot open {} for appending: {}; check targets.{}.path and its directory's permissions",
                              m_path, std::strerror(errno), m_name),
                  m_name);
    return {};
  }

  std::string m_name, m_path;
  int m_fd = -1;
};

}  // namespace

AdapterType type() {
  return adapter_type<NdjsonSink>(
      k_type, "newline-delimited JSON person records (schemas/person.schema.json), appended to a file or stdout",
      {{"path", "output file, appended to; \"-\" = stdout", OptionSpec::Kind::path, false, false, "-"}});
}

}  // namespace chansync::adapters::ndjson
