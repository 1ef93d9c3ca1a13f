// resolve_secrets (sync/config.hpp): where secret values come from, an environment variable or a file
// with mode 0600, read only for the endpoints a command talks to. Loading the config records only
// where each one is (EndpointConfig::secret_sources).
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "sync/config.hpp"
#include "sync/config_values.hpp"
#include "sync/error.hpp"

namespace chansync {
namespace {

using config_detail::config_error;

std::string read_secret_file(const std::string& path, const std::string& key_path) {
  // Opened once and judged by what was opened (fstat), so the file checked is the file read. Without
  // blocking: a FIFO would wait for a writer forever.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    config_error(fmt::format("{}: secret file {} cannot be opened ({}); create it with mode 0600", key_path, path,
                             std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    config_error(fmt::format("{}: secret file {} is not a regular file; name a file holding the secret, mode 0600",
                             key_path, path));
  if ((st.st_mode & 077) != 0)
    config_error(fmt::format("{}: secret file {} has mode {:04o}, readable by others; run: chmod 600 {}", key_path,
                             path, st.st_mode & 0777, path));
  std::string value;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      config_error(fmt::format("{}: secret file {} cannot be read ({})", key_path, path, std::strerror(errno)));
    if (n == 0) break;
    value.append(buf, static_cast<std::size_t>(n));
  }
  if (value.starts_with("\xef\xbb\xbf")) value.erase(0, 3);  // a byte-order mark some editors write
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  if (value.empty()) config_error(fmt::format("{}: secret file {} is empty", key_path, path));
  return value;
}

// A secret goes into HTTP headers and login commands: a line break there would end the header and
// start another (or send a broken credential that the vendor refuses as wrong). Refused, naming where
// the value came from, never the value. A tab is a header's white space; a PostgreSQL DSN, which
// never goes into a header, may be written one setting per line (libpq reads line breaks as spaces).
void check_secret(const std::string& value, const std::string& key, const std::string& key_path,
                  const std::string& from) {
  const auto bad = std::find_if(value.begin(), value.end(), [&](unsigned char c) {
    const bool space = c == '\t' || (key == "dsn" && (c == '\n' || c == '\r'));
    return (c < 0x20 || c == 0x7f) && !space;
  });
  if (bad == value.end()) return;
  const auto c = static_cast<unsigned char>(*bad);
  config_error(fmt::format(
      "{}: the secret {} holds {} (byte {} of {}); a secret is one line of printable "
      "characters: write it again without it",
      key_path, from, c == '\n' || c == '\r' ? "a line break" : fmt::format("the control character 0x{:02X}", c),
      bad - value.begin() + 1, value.size()));
}

}  // namespace

void resolve_secrets(EndpointConfig& ep, const std::function<std::optional<std::string>(const std::string&)>& env) {
  for (const auto& [key, source] : ep.secret_sources) {
    const std::string group_key = fmt::format("{}.{}.{}", ep.group, ep.name, key);
    if (source.starts_with("env:")) {
      const std::string var = source.substr(4);
      std::optional<std::string> value;
      if (env)
        value = env(var);
      else if (const char* v = std::getenv(var.c_str()))
        value = v;
      if (!value)
        config_error(
            fmt::format("{}_env names the environment variable {}, which is not set; export it in the "
                        "job's environment (e.g. `export {}=...`)",
                        group_key, var, var));
      // A trailing line break is the tool's that set it (`echo` into a Kubernetes secret, $(cat f) in a
      // unit file), as in a file.
      while (!value->empty() && (value->back() == '\n' || value->back() == '\r')) value->pop_back();
      if (value->empty())
        config_error(
            fmt::format("{}_env names the environment variable {}, which is set but empty; give it the "
                        "secret's value",
                        group_key, var));
      check_secret(*value, key, group_key + "_env", "in the environment variable " + var);
      ep.secrets[key] = *value;
    } else {
      ep.secrets[key] = read_secret_file(source.substr(5), group_key + "_file");
      check_secret(ep.secrets[key], key, group_key + "_file", "in the file " + source.substr(5));
    }
  }
}

}  // namespace chansync
