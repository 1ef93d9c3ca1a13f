#include "tests/simulator/imap.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "tests/simulator/corpus.hpp"
#include "tests/support/dovecot_server.hpp"

namespace chansync::sim {
namespace {

void usage() {
  std::fputs(
      "usage: chansync-sim imap --dir DIR [--customers N] [--seed N] [--mails N]\n"
      "Starts a real Dovecot (Debian package dovecot-imapd) on a free 127.0.0.1 port, unprivileged, its\n"
      "files in a temporary directory, and fills INBOX with the mail of the simulator's customers (the\n"
      "same --customers and --seed as the simulator's, so their addresses are the HubSpot contacts'):\n"
      "every 2nd customer writes to support@example.com, and every 4th gets an answer. --mails N adds\n"
      "N more generated mails (for the benchmark). Writes DIR/imap.env (IMAP_URL, IMAP_USER, IMAP_MAILS) and\n"
      "DIR/imap-password (mode 0600), prints the URL, and stops Dovecot on SIGTERM or SIGINT.\n",
      stderr);
}

// The HubSpot contact's address of customer i, as the simulator writes it (without its stray space).
std::string address_of(const Corpus& c, std::size_t i) {
  return fmt::format("{}.{}@example.com", c.customers[i].first, i);
}

std::string mail(const std::string& from, const std::string& to, const std::string& subject, std::int64_t ms,
                 const std::string& id, const std::string& in_reply_to, const std::string& body) {
  std::string out = fmt::format(
      "From: {}\nTo: {}\nSubject: {}\nDate: {}\nMessage-ID: <{}>\nMIME-Version: 1.0\n"
      "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n",
      from, to, subject, rfc2822(ms), id);
  if (!in_reply_to.empty()) out += fmt::format("In-Reply-To: <{0}>\nReferences: <{0}>\n", in_reply_to);
  return out + "\n" + body + "\n";
}

std::vector<std::string> generate_mails(const Corpus& c, int extra) {
  std::vector<std::string> out;
  constexpr std::int64_t hour = 3'600'000;
  for (std::size_t i = 0; i < c.customers.size(); i += 2) {
    const auto& cu = c.customers[i];
    if (!cu.in_crm) continue;
    const std::string who = fmt::format("{} {} <{}>", cu.first, cu.last, address_of(c, i));
    const std::string id = fmt::format("sim-{}@mail.example.org", i);
    const std::int64_t at = c.now_ms - static_cast<std::int64_t>(i % 9 + 2) * 24 * hour - static_cast<int>(i) * hour;
    out.push_back(mail(
        who, "Example Support <support@example.com>", fmt::format("Order {} — a question", 5000 + i), at, id, "",
        fmt::format("Hello,\n\nmy order {} has not arrived yet. Could you check?\n\nThanks,\n{}", 5000 + i, cu.first)));
    if (i % 4 == 0)
      out.push_back(mail("Example Support <support@example.com>", who,
                         fmt::format("Re: Order {} — a question", 5000 + i), at + 2 * hour,
                         fmt::format("sim-{}-re@example.com", i), id,
                         fmt::format("Hello {},\n\nit left our warehouse today.\n\nOn {} {} wrote:\n> my order {} has "
                                     "not arrived yet.",
                                     cu.first, rfc2822(at), cu.first, 5000 + i)));
  }
  // For the benchmark: mails of about 2 KB, like a short customer mail with a signature.
  const std::string filler(1500, 'x');
  for (int k = 0; k < extra; ++k) {
    const std::size_t i = static_cast<std::size_t>(k) % c.customers.size();
    out.push_back(mail(fmt::format("{} <{}>", c.customers[i].first, address_of(c, i)), "support@example.com",
                       fmt::format("Bench mail {}", k), c.now_ms - 40LL * 24 * hour + k * 1000,
                       fmt::format("bench-{}@mail.example.org", k), "",
                       fmt::format("Mail {} of the benchmark.\n{}\n-- \nsent from a phone", k, filler)));
  }
  return out;
}

}  // namespace

int serve_imap(int argc, char** argv) {
  CorpusSpec spec;
  std::string dir;
  int extra = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) {
      usage();
      return a == "--help" || a == "-h" ? 0 : 64;
    }
    const std::string v = argv[++i];
    if (a == "--dir")
      dir = v;
    else if (a == "--customers")
      spec.customers = std::stoi(v);
    else if (a == "--seed")
      spec.seed = std::stoull(v);
    else if (a == "--mails")
      extra = std::stoi(v);
    else {
      usage();
      return 64;
    }
  }
  if (dir.empty()) {
    usage();
    return 64;
  }
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  try {
    test::DovecotServer server;
    const auto mails = generate_mails(generate(spec), extra);
    server.append_all("INBOX", mails);
    const std::filesystem::path d(dir);
    {
      const auto pw = d / "imap-password";
      std::ofstream(pw) << server.password() << "\n";
      ::chmod(pw.c_str(), 0600);
    }
    std::ofstream(d / "imap.env.tmp") << "IMAP_URL=" << server.url() << "\nIMAP_USER=" << server.user()
                                      << "\nIMAP_MAILS=" << mails.size() << "\n";
    std::filesystem::rename(d / "imap.env.tmp", d / "imap.env");
    std::printf("%s\n", server.url().c_str());
    std::fflush(stdout);
    std::fprintf(stderr, "chansync-sim imap: Dovecot on %s, user %s, %zu mails in INBOX\n", server.url().c_str(),
                 server.user().c_str(), mails.size());
    int sig = 0;
    sigwait(&stop_signals, &sig);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chansync-sim imap: %s\n", e.what());
    return 69;
  }
  return 0;
}

}  // namespace chansync::sim
