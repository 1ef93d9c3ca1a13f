#include "adapters/ndjson/ndjson.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <unordered_map>

#include "sync/json_text.hpp"

namespace chansync::adapters::ndjson {
namespace {

constexpr const char* k_type = "ndjson";

// The person_id of one line of a feed or snapshot ("" when the line has none or is not JSON), and
// whether it is a deletion line.
struct LineId {
  std::string person_id;
  bool deleted = false;
};

LineId line_id(simdjson::ondemand::parser& parser, std::string& line) {
  const std::size_t size = line.size();
  line.resize(size + simdjson::SIMDJSON_PADDING);
  LineId out;
  auto doc = parser.iterate(line.data(), size, line.size());
  simdjson::ondemand::object obj;
  if (!doc.error() && !doc.get_object().get(obj)) {
    std::string_view id;
    bool deleted = false;
    for (auto field : obj) {
      std::string_view key;
      if (field.unescaped_key().get(key)) break;
      if (key == "person_id" && !field.value().get_string().get(id)) out.person_id = std::string(id);
      if (key == "deleted" && !field.value().get_bool().get(deleted)) out.deleted = deleted;
    }
  }
  line.resize(size);
  return out;
}

// Writes all of `buf` to `fd`; false with errno set on failure.
bool write_all(int fd, const std::string& buf) {
  for (std::size_t off = 0; off < buf.size();) {
    const ssize_t n = ::write(fd, buf.data() + off, buf.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// Writes the buffers in order, whole lines per writev(2): `iov` holds (line, "\n") pairs, so chunks of
// an even count end at a line's end. A short write is finished from where it stopped. false with
// errno set on failure.
bool write_lines(int fd, std::vector<iovec>& iov) {
  constexpr std::size_t k_step = IOV_MAX / 2 * 2;
  for (std::size_t i = 0; i < iov.size();) {
    if (iov[i].iov_len == 0) {
      ++i;
      continue;
    }
    ssize_t done = ::writev(fd, &iov[i], static_cast<int>(std::min(k_step, iov.size() - i)));
    if (done < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    for (; done > 0; ++i) {
      if (static_cast<std::size_t>(done) < iov[i].iov_len) {  // this one written in part: the rest next
        iov[i].iov_base = static_cast<char*>(iov[i].iov_base) + done;
        iov[i].iov_len -= static_cast<std::size_t>(done);
        break;
      }
      done -= static_cast<ssize_t>(iov[i].iov_len);
    }
  }
  return true;
}

// Two modes. append: the file is a feed — every push appends the persons that changed since the last
// one (and deletion lines), each batch written with one writev(2) of whole lines (512 lines a call at
// most; a batch is 200) and fsynced before the push ledger records it, so a consumer can tail it.
// snapshot: the file holds every person once, as last pushed; a push writes a new file beside it (the
// persons sent, then the unchanged lines of the old file) and renames it into place at finish(), so a
// reader sees the old file or the new one, never half.
class NdjsonSink final : public Adapter, public Sink {
 public:
  explicit NdjsonSink(const AdapterContext& ctx)
      : m_name(ctx.config.name),
        m_path(ctx.config.options.at("path").get<std::string>()),
        m_snapshot(ctx.config.options.value("mode", std::string("append")) == "snapshot") {
    if (m_snapshot && m_path == "-")
      throw Failure(Errc::config, fmt::format("targets.{}: a snapshot is a file replaced atomically and cannot be "
                                              "stdout; set path to a file, or mode = \"append\"",
                                              m_name));
  }
  ~NdjsonSink() override {
    if (m_fd > STDOUT_FILENO) ::close(m_fd);
    if (m_snapshot && m_fd >= 0) ::unlink(temp_path().c_str());  // a push that did not finish
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
      r.summary = path.string() + (m_snapshot ? " can be replaced" : " can be appended to");
    } else {
      r.cls = HealthClass::unreachable;
      r.evidence.transport_error = problem;
      r.summary = problem + fmt::format("; check targets.{}.path", m_name);
    }
    return r;
  }

  bool confirms_at_finish() const override { return m_snapshot; }

  // The file confirms a batch once it is written and fsynced (a snapshot: once renamed into place):
  // every person in it is then created (first line for that person in this file), updated, or deleted.
  Result<std::vector<PushOutcome>> push(std::span<const PushItem> batch) override {
    if (auto opened = open(); !opened) return std::unexpected(opened.error());
    // Each person's line is written from the plan's own copy (PushItem::json), not copied into one
    // buffer first: a person with 20,000 messages has a 6 MB line. Lines made here live in `made`.
    std::vector<std::string> made;
    made.reserve(batch.size());  // no reallocation: iov points into its strings
    std::vector<iovec> iov;
    iov.reserve(batch.size() * 2);
    static const char k_newline = '\n';
    auto line = [&](std::string_view text) {
      iov.push_back({const_cast<char*>(text.data()), text.size()});
      iov.push_back({const_cast<char*>(&k_newline), 1});
    };
    std::vector<PushOutcome> out;
    for (const auto& item : batch) {
      if (item.remove) {
        out.push_back({item.record->person_id, PushOutcome::Status::deleted});
        if (m_snapshot) continue;  // a snapshot simply no longer has the person
        // A feed cannot unwrite a line: a deletion is a line of its own (schemas/deletion.schema.json).
        nlohmann::json gone = {{"person_id", item.record->person_id}, {"deleted", true}};
        gone["merged_into"] = item.merged_into.empty() ? nlohmann::json(nullptr) : nlohmann::json(item.merged_into);
        if (item.erased()) gone["erased"] = true;
        line(made.emplace_back(gone.dump()));
      } else {
        line(item.json.empty() ? std::string_view(made.emplace_back(person_json(*item.record))) : item.json);
        out.push_back(
            {item.record->person_id, item.previous ? PushOutcome::Status::updated : PushOutcome::Status::created});
      }
    }
    // A failed batch is cut off again, so a consumer never reads half a line and the retry on the next
    // push appends it whole. A snapshot's next write starts where the batch did (its file is not
    // O_APPEND), and finish() keeps the old lines of the batch's persons: they were not written.
    const off_t start = m_fd == STDOUT_FILENO ? -1 : ::lseek(m_fd, 0, SEEK_END);
    auto undo = [&](const char* what) {
      const int err = errno;
      // The error to report is the write's. A temp file that cannot be cut back is never renamed.
      if (start < 0 || ::ftruncate(m_fd, start) != 0 || ::lseek(m_fd, start, SEEK_SET) != start) m_torn = true;
      return fail(Errc::io,
                  fmt::format("{} {} failed: {}; nothing of this batch is recorded as delivered, so the next push "
                              "sends it again",
                              what, m_snapshot ? temp_path() : where(), std::strerror(err)),
                  m_name);
    };
    if (!write_lines(m_fd, iov)) return undo("writing");
    if (!m_snapshot && m_fd != STDOUT_FILENO && ::fsync(m_fd) != 0) return undo("fsync of");
    if (m_snapshot)
      for (const auto& item : batch) m_touched.insert(item.record->person_id);
    return out;
  }

  // Snapshot: the new file gets the old file's lines of persons this push did not touch, then
  // replaces it. Nothing to do when nothing was pushed.
  Result<void> finish() override {
    if (!m_snapshot || m_fd < 0) return {};
    auto failed = [&](const std::string& what) {
      const std::string why = std::strerror(errno);
      ::close(m_fd);
      m_fd = -1;
      ::unlink(temp_path().c_str());
      return fail(
          Errc::io,
          fmt::format("{} failed: {}; {} is unchanged and the next push sends these persons again", what, why, m_path),
          m_name);
    };
    if (m_torn) {
      errno = EIO;
      return failed("cutting a failed batch off " + temp_path());
    }
    std::ifstream old(m_path, std::ios::binary);
    if (old) {
      simdjson::ondemand::parser parser;
      std::string line, buf;
      while (std::getline(old, line)) {
        if (line.empty()) continue;
        std::string keep = line;
        const auto id = line_id(parser, line);
        if (id.deleted || (!id.person_id.empty() && m_touched.count(id.person_id))) continue;
        buf += keep;
        buf += '\n';
        if (buf.size() >= (1u << 20)) {
          if (!write_all(m_fd, buf)) return failed("writing " + temp_path());
          buf.clear();
        }
      }
      if (old.bad()) return failed("reading " + m_path);
      if (!write_all(m_fd, buf)) return failed("writing " + temp_path());
    }
    if (::fsync(m_fd) != 0) return failed("fsync of " + temp_path());
    if (::rename(temp_path().c_str(), m_path.c_str()) != 0) return failed("renaming " + temp_path());
    ::close(m_fd);
    m_fd = -1;
    m_touched.clear();
    return sync_directory();  // the rename is durable once the directory is
  }

  bool readable() const override { return m_path != "-"; }

  // The target's copy of a person is its last line in the file (a deletion line: missing). The file
  // is read once per verify run, into where each person's last line is; verify is called per batch,
  // and reading the whole file each time made a run quadratic (20,000 persons: 100 reads of 180 MB).
  Result<std::vector<VerifyOutcome>> verify(std::span<const PushItem> items) override {
    struct stat st {};
    if (::stat(m_path.c_str(), &st) != 0) {
      if (errno != ENOENT)
        return fail(Errc::io, fmt::format("cannot read {}: {}", m_path, std::strerror(errno)), m_name);
      st = {};
    }
    std::ifstream in(m_path, std::ios::binary);
    if (!in && std::filesystem::exists(m_path))
      return fail(Errc::io, fmt::format("cannot read {}: {}", m_path, std::strerror(errno)), m_name);
    if (!m_lines || m_lines->size != st.st_size || m_lines->mtime_ns != mtime_ns(st)) {
      m_lines = LineIndex{st.st_size, mtime_ns(st), {}};
      simdjson::ondemand::parser parser;
      std::string line;
      for (std::uint64_t at = 0; std::getline(in, line);) {
        const std::uint64_t length = line.size();  // line_id pads the line
        const auto id = line_id(parser, line);
        if (!id.person_id.empty()) m_lines->last[id.person_id] = {at, id.deleted ? 0 : length};
        at += length + 1;
      }
      in.clear();
    }
    std::map<std::string, std::string> last;  // person_id → line
    for (const auto& item : items) {
      const auto it = m_lines->last.find(item.record->person_id);
      std::string& text = last[item.record->person_id];
      if (it == m_lines->last.end() || it->second.second == 0) continue;
      text.resize(it->second.second);
      in.seekg(static_cast<std::streamoff>(it->second.first));
      if (!in.read(text.data(), static_cast<std::streamsize>(text.size())))
        return fail(Errc::io, fmt::format("cannot read {}: it changed while verified", m_path), m_name);
    }
    std::vector<VerifyOutcome> out;
    for (const auto& item : items) {
      const std::string& text = last[item.record->person_id];
      VerifyOutcome v{item.record->person_id};
      if (text.empty()) {
        v.state = VerifyOutcome::State::missing;
        v.detail = fmt::format("no line for it in {}", m_path);
      } else if (auto diff = differences(*item.record, text); !diff.empty()) {
        v.state = VerifyOutcome::State::edited;
        v.detail = diff;
      }
      out.push_back(std::move(v));
    }
    return out;
  }

 private:
  std::string where() const { return m_path == "-" ? "stdout" : m_path; }
  std::string temp_path() const { return m_path + ".chansync-tmp"; }

  // The top-level fields of the line that differ from the record ("" when none; updated_at aside).
  static std::string differences(const PersonRecord& record, const std::string& text) {
    const auto line = nlohmann::json::parse(text, nullptr, false);
    if (!line.is_object()) return "the line is not a JSON object";
    const nlohmann::json want = record;
    std::string out;
    for (const auto& [key, value] : want.items()) {
      if (key == "updated_at") continue;
      if (!line.contains(key) || line.at(key) != value) out += (out.empty() ? "" : ", ") + key;
    }
    return out;
  }

  Result<void> open() {
    if (m_fd >= 0) return {};
    if (m_path == "-") {
      m_fd = STDOUT_FILENO;
      return {};
    }
    const std::string path = m_snapshot ? temp_path() : m_path;
    // A snapshot keeps the old file's permissions.
    struct stat st {};
    const bool existed = ::stat(m_path.c_str(), &st) == 0;
    // A new file is 0600, as the state store is: it holds names, numbers and whole conversations.
    const mode_t mode = m_snapshot && existed ? st.st_mode & 07777 : 0600;
    m_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (m_snapshot ? O_TRUNC : O_APPEND), mode);
    if (m_fd < 0)
      return fail(Errc::cant_write,
                  fmt::format("cannot open {} for writing: {}; check targets.{}.path and its directory's permissions",
                              path, std::strerror(errno), m_name),
                  m_name);
    // A feed just created: its batches are fsynced before the ledger records them, and so must be
    // the directory entry, or a power cut could lose the file the ledger says holds them.
    if (!m_snapshot && !existed) return sync_directory();
    if (!m_snapshot && S_ISREG(st.st_mode) && st.st_size > 0) return cut_torn_tail(st.st_size);
    return {};
  }

  // A push killed mid-write (kill -9 stops a write part-way) can leave the feed ending in part of a
  // line. The ledger never recorded that batch, so it is sent again whole; the part is cut off first,
  // or the next line would be appended to it and neither would parse.
  Result<void> cut_torn_tail(off_t size) {
    // Read through a descriptor of its own: a feed may be writable and not readable (a drop file of
    // mode 0200), and then it is appended to as before, unchecked.
    const int rfd = ::open(m_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (rfd < 0) {
      spdlog::debug("{}: {} cannot be read ({}); its last line is not checked", m_name, m_path, std::strerror(errno));
      return {};
    }
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{rfd};
    char buf[65536];
    off_t keep = 0;  // just after the last newline; 0 when the first line was never finished
    for (off_t end = size; end > 0 && keep == 0;) {
      const off_t from = std::max<off_t>(0, end - static_cast<off_t>(sizeof buf));
      const ssize_t n = ::pread(rfd, buf, static_cast<std::size_t>(end - from), from);
      if (n != end - from)
        return fail(Errc::io,
                    fmt::format("reading the end of {} failed: {}", m_path,
                                n < 0 ? std::strerror(errno) : "it shrank while read (another writer?)"),
                    m_name);
      for (ssize_t i = n; i > 0 && keep == 0; --i)
        if (buf[i - 1] == '\n') keep = from + i;
      end = from;
    }
    if (keep == size) return {};
    if (::ftruncate(m_fd, keep) != 0)
      return fail(Errc::io,
                  fmt::format("{} ends in part of a line (an earlier push was killed while writing) and cutting it "
                              "off failed: {}; remove the last line by hand",
                              m_path, std::strerror(errno)),
                  m_name);
    spdlog::warn(
        "{}: {} ended in part of a line ({} bytes), left by a push killed while writing; cut off, its batch "
        "is sent again",
        m_name, m_path, size - keep);
    return {};
  }

  Result<void> sync_directory() const {
    const auto dir = std::filesystem::absolute(m_path).parent_path();
    if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
      const int rc = ::fsync(dfd);
      ::close(dfd);
      if (rc != 0)
        return fail(Errc::io, fmt::format("fsync of {} failed: {}", dir.string(), std::strerror(errno)), m_name);
    }
    return {};
  }

  std::string m_name, m_path;
  bool m_snapshot = false;
  std::set<std::string> m_touched;  // snapshot: persons this push wrote or deleted
  // verify: each person's last line in the file as of its size and modification time, (offset,
  // length), length 0 for a deletion.
  struct LineIndex {
    off_t size = 0;
    std::int64_t mtime_ns = 0;
    std::unordered_map<std::string, std::pair<std::uint64_t, std::uint64_t>> last;
  };
  std::optional<LineIndex> m_lines;
  static std::int64_t mtime_ns(const struct stat& st) {
    return std::int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  }
  bool m_torn = false;  // a failed batch could not be cut off the file: never rename it
  int m_fd = -1;
};

}  // namespace

AdapterType type() {
  return adapter_type<NdjsonSink>(
      k_type,
      "newline-delimited JSON person records (schemas/person.schema.json), appended to a file or stdout, or a "
      "snapshot file replaced atomically",
      {{"path", "output file; \"-\" = stdout (append mode only)", OptionSpec::Kind::path, false, false, "-"},
       {"mode",
        "\"append\": a feed, each push adds the changed persons and deletion lines; \"snapshot\": one line per "
        "person, the file replaced atomically (temp file + rename) by each push",
        OptionSpec::Kind::string,
        false,
        false,
        "append",
        {"append", "snapshot"}}});
}

}  // namespace chansync::adapters::ndjson
