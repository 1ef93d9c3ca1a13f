// The Dovecot test server (tests/support/dovecot_server.hpp) and the email fixtures, read back over
// IMAP with libcurl as the imap-email source reads them.
#include "tests/support/dovecot_server.hpp"

#include <curl/curl.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace chansync::test;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> k_fixtures = {
    "german_latin1.eml", "html_only.eml",  "reply_chain_1.eml",         "reply_chain_2.eml",
    "reply_chain_3.eml", "attachment.eml", "multipart_alternative.eml", "auto_reply.eml",
    "bounce.eml",        "noreply.eml"};

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(CHANSYNC_SOURCE_DIR) + "/tests/fixtures/email/" + name, std::ios::binary);
  REQUIRE(in);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct CurlResult {
  CURLcode code = CURLE_OK;
  std::string body;      // the write callback: a fetched message, or a custom command's untagged lines
  std::string protocol;  // the header callback: every other line the server sent
  std::string received;  // everything the server sent, as the debug callback saw it
};

std::size_t append_to(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

int debug_to(CURL*, curl_infotype type, char* data, std::size_t size, void* out) {
  if (type == CURLINFO_HEADER_IN || type == CURLINFO_DATA_IN) static_cast<std::string*>(out)->append(data, size);
  return 0;
}

CurlResult curl_imap(const std::string& url, const std::string& user, const std::string& password,
                     const std::string& custom_request = "") {
  CurlResult r;
  CURL* curl = curl_easy_init();
  REQUIRE(curl);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_USERNAME, user.c_str());
  curl_easy_setopt(curl, CURLOPT_PASSWORD, password.c_str());
  if (!custom_request.empty()) curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, custom_request.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_to);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, append_to);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r.protocol);
  curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, debug_to);
  curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &r.received);
  curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);  // the debug callback only runs in verbose mode
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  r.code = curl_easy_perform(curl);
  curl_easy_cleanup(curl);
  return r;
}

// The pids whose parent is `parent`, from /proc.
// /proc/PID/stat, or "" when the process is gone: one that exits between the open and the read
// makes the read fail (ESRCH), which libstdc++ streams throw for; any process on the machine may.
std::string proc_stat(const fs::path& path) {
  try {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  } catch (const std::exception&) {
    return {};
  }
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = proc_stat(e.path() / "stat");
    const auto close = stat.rfind(')');  // the command name may hold spaces and parentheses
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    char state = 0;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) out.push_back(std::stoi(name));
  }
  return out;
}

// A zombie counts as gone: it runs nothing and holds no port.
bool running(pid_t pid) {
  const std::string stat = proc_stat("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  return close != std::string::npos && stat.size() > close + 2 && stat[close + 2] != 'Z';
}

}  // namespace

TEST_CASE("dovecot returns every email fixture byte for byte from INBOX and from a second mailbox", "[dovecot]") {
  auto& server = DovecotServer::shared();
  server.create_mailbox("Fixtures/Copy");
  for (const std::string mailbox : {"INBOX", "Fixtures/Copy"}) {
    for (const auto& name : k_fixtures) {
      INFO(mailbox << " " << name);
      const auto message = fixture(name);
      const unsigned uid = server.append(mailbox, message);
      // Hierarchy separators stay as they are in the URL path; libcurl sends the name as given.
      const auto got =
          curl_imap(server.url() + "/" + mailbox + ";UID=" + std::to_string(uid), server.user(), server.password());
      REQUIRE(got.code == CURLE_OK);
      CHECK(got.body == crlf(message));
      CHECK(got.body.find("\r\n") != std::string::npos);
    }
  }
  server.delete_mailbox("Fixtures/Copy");
  const auto list = curl_imap(server.url() + "/", server.user(), server.password(), "LIST \"\" *");
  REQUIRE(list.code == CURLE_OK);
  CHECK(list.body.find("INBOX") != std::string::npos);
  CHECK(list.body.find("Fixtures/Copy") == std::string::npos);
}

TEST_CASE("a BODY.PEEK[] fetch leaves \\Seen unset; libcurl's own UID fetch (BODY[]) sets it", "[dovecot]") {
  auto& server = DovecotServer::shared();
  server.create_mailbox("Peek");
  const auto message = fixture("german_latin1.eml");
  const unsigned peeked = server.append("Peek", message), fetched = server.append("Peek", message);
  const unsigned already = server.append("Peek", message, "\\Seen \\Flagged");
  REQUIRE_FALSE(server.seen("Peek", peeked));
  CHECK(server.seen("Peek", already));

  const auto peek = curl_imap(server.url() + "/Peek", server.user(), server.password(),
                              "UID FETCH " + std::to_string(peeked) + " BODY.PEEK[]");
  REQUIRE(peek.code == CURLE_OK);
  // libcurl hands a custom command's untagged line to the write callback, but the literal after it
  // (the message) to the header callback with the rest of the protocol.
  CHECK(peek.body.starts_with("* "));
  CHECK(peek.protocol.find(crlf(message)) != std::string::npos);
  CHECK_FALSE(server.seen("Peek", peeked));

  const auto plain = curl_imap(server.url() + "/Peek;UID=" + std::to_string(fetched), server.user(), server.password());
  REQUIRE(plain.code == CURLE_OK);
  CHECK(plain.body == crlf(message));
  CHECK(server.seen("Peek", fetched));
  server.delete_mailbox("Peek");
}

TEST_CASE("reset_uidvalidity gives INBOX and other mailboxes a new UIDVALIDITY and keeps their messages", "[dovecot]") {
  auto& server = DovecotServer::shared();
  server.create_mailbox("Resync");
  for (const std::string mailbox : {"INBOX", "Resync"}) {
    INFO(mailbox);
    const unsigned uid = server.append(mailbox, fixture("auto_reply.eml"));
    const unsigned before = server.uidvalidity(mailbox);
    const unsigned after = server.reset_uidvalidity(mailbox);
    CHECK(after != before);
    const auto examine = curl_imap(server.url() + "/", server.user(), server.password(), "EXAMINE " + mailbox);
    REQUIRE(examine.code == CURLE_OK);
    CHECK(examine.body.find("[UIDVALIDITY " + std::to_string(after) + "]") != std::string::npos);
    const auto got =
        curl_imap(server.url() + "/" + mailbox + ";UID=" + std::to_string(uid), server.user(), server.password());
    REQUIRE(got.code == CURLE_OK);
    CHECK(got.body == crlf(fixture("auto_reply.eml")));
  }
  server.delete_mailbox("Resync");
}

TEST_CASE("dovecot refuses a wrong password with AUTHENTICATIONFAILED", "[dovecot]") {
  auto& server = DovecotServer::shared();
  const auto r = curl_imap(server.url() + "/INBOX", server.user(), server.password() + "x");
  CHECK(r.code == CURLE_LOGIN_DENIED);
  CHECK(r.received.find("NO [AUTHENTICATIONFAILED]") != std::string::npos);
  // No penalty for the failure: the right password works at once.
  CHECK(curl_imap(server.url() + "/", server.user(), server.password(), "NOOP").code == CURLE_OK);
}

TEST_CASE("a stopped DovecotServer leaves no process, no listener and no directory behind", "[dovecot]") {
  pid_t master = -1;
  std::vector<pid_t> processes;
  fs::path dir;
  std::string url;
  {
    DovecotServer server;
    master = server.pid();
    dir = server.dir();
    url = server.url();
    REQUIRE(server.append("INBOX", fixture("noreply.eml")) == 1);
    processes = children_of(master);
    CHECK(processes.size() >= 3);  // at least log, config, auth, imap-login, anvil
    processes.push_back(master);
    // Only the master is sure to be up: a child may have done its work and left since it was listed
    // (the imap process that served the append), which made a check of every child flaky.
    CHECK(running(master));
  }
  for (pid_t pid : processes) {
    INFO("pid " << pid);
    CHECK_FALSE(running(pid));
  }
  CHECK_FALSE(fs::exists(dir));
  CHECK(curl_imap(url + "/", "support", "x", "NOOP").code == CURLE_COULDNT_CONNECT);
}

TEST_CASE("clear leaves the shared account with an empty INBOX and no other mailbox", "[dovecot]") {
  auto& server = DovecotServer::shared();
  server.create_mailbox("Orders/2024/May");
  server.create_mailbox("Sent");
  server.create_mailbox("Quote \"this\"");
  server.append("INBOX", fixture("bounce.eml"), "\\Seen");
  const unsigned last = server.append("INBOX", fixture("bounce.eml"));
  server.append("Orders/2024/May", fixture("attachment.eml"));

  server.clear();
  server.clear();  // idempotent

  const auto list = curl_imap(server.url() + "/", server.user(), server.password(), "LIST \"\" *");
  REQUIRE(list.code == CURLE_OK);
  CHECK(list.body == "* LIST (\\HasNoChildren) \"/\" INBOX\r\n");
  CHECK(server.raw("INBOX", "UID SEARCH ALL").starts_with("* SEARCH\r\n"));  // no UIDs
  CHECK(server.append("INBOX", fixture("bounce.eml")) > last);
}
