#include "tests/simulator/webhooks.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <openssl/hmac.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/simulator/corpus.hpp"

namespace chansync::sim {
namespace {

void usage() {
  std::fputs(
      "usage: chansync-sim post-webhooks --url URL [--kind whatsapp|messenger] [--count N] [--concurrency C]\n"
      "         [--customers N] [--seed N] [--phone-number-id ID] [--waba-id ID] [--page-id ID] [--first N]\n"
      "POSTs N signed webhooks (one message each; every 10th a delivery status) from the corpus's customers\n"
      "with C connections. The app secret is $SIM_APP_SECRET (default sim-app-secret). Message ids are\n"
      "numbered from --first (default 0), so posting the same range twice sends the same messages.\n"
      "Prints one JSON line: sent, acked, refused, failed, seconds, per_second.\n",
      stderr);
}

std::string hmac_hex(const std::string& key, const std::string& body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), digest, &len);
  std::string out;
  for (unsigned i = 0; i < len; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

struct Options {
  std::string url, kind = "whatsapp", phone_number_id = "106540352242922", waba_id = "102290129340398",
                   page_id = "1000000000000001";
  int count = 100, concurrency = 16, first = 0;
  CorpusSpec corpus;
};

// The customers' numbers in E.164, from the corpus's inbound SMS.
std::vector<std::string> customer_numbers(const Corpus& c) {
  std::set<std::string> own(c.own_numbers.begin(), c.own_numbers.end());
  std::set<std::string> out;
  for (const auto& m : c.messages)
    if (m.direction == "inbound" && m.from.starts_with("+") && !own.count(m.from)) out.insert(m.from);
  return {out.begin(), out.end()};
}

std::string whatsapp_payload(const Options& o, const std::string& number, int n, std::int64_t now_s) {
  const std::string wa_id = number.substr(1);
  nlohmann::json value = {
      {"messaging_product", "whatsapp"},
      {"metadata", {{"display_phone_number", "4930123456"}, {"phone_number_id", o.phone_number_id}}}};
  if (n % 10 == 9) {
    value["statuses"] = {{{"id", fmt::format("wamid.SIMOUT{:08}", n)},
                          {"status", "delivered"},
                          {"timestamp", std::to_string(now_s + n)},
                          {"recipient_id", wa_id},
                          {"conversation", {{"id", "sim-conv"}, {"origin", {{"type", "service"}}}}},
                          {"pricing", {{"billable", true}, {"pricing_model", "CBP"}, {"category", "service"}}}}};
  } else {
    value["contacts"] = {
        {{"profile", {{"name", fmt::format("WhatsApp {}", wa_id.substr(wa_id.size() - 4))}}}, {"wa_id", wa_id}}};
    value["messages"] = {{{"from", wa_id},
                          {"id", fmt::format("wamid.SIM{:08}", n)},
                          {"timestamp", std::to_string(now_s + n)},
                          {"type", "text"},
                          {"text", {{"body", fmt::format("WhatsApp message {}", n)}}}}};
  }
  nlohmann::json p = {{"object", "whatsapp_business_account"},
                      {"entry", {{{"id", o.waba_id}, {"changes", {{{"value", value}, {"field", "messages"}}}}}}}};
  return p.dump();
}

std::string messenger_payload(const Options& o, int customer, int n, std::int64_t now_s) {
  const std::string psid = fmt::format("7{:015}", customer);
  const std::int64_t ms = (now_s + n) * 1000;
  nlohmann::json p = {
      {"object", "page"},
      {"entry",
       {{{"id", o.page_id},
         {"time", ms},
         {"messaging",
          {{{"sender", {{"id", psid}}},
            {"recipient", {{"id", o.page_id}}},
            {"timestamp", ms},
            {"message",
             {{"mid", fmt::format("m_SIM{:08}", n)}, {"text", fmt::format("Messenger message {}", n)}}}}}}}}}};
  return p.dump();
}

}  // namespace

int post_webhooks(int argc, char** argv) {
  Options o;
  o.corpus.customers = 40;
  o.corpus.messages = 400;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage();
        std::exit(64);
      }
      return argv[++i];
    };
    if (a == "--url")
      o.url = next();
    else if (a == "--kind")
      o.kind = next();
    else if (a == "--count")
      o.count = std::stoi(next());
    else if (a == "--concurrency")
      o.concurrency = std::max(1, std::stoi(next()));
    else if (a == "--first")
      o.first = std::stoi(next());
    else if (a == "--customers")
      o.corpus.customers = std::stoi(next());
    else if (a == "--seed")
      o.corpus.seed = std::stoull(next());
    else if (a == "--phone-number-id")
      o.phone_number_id = next();
    else if (a == "--waba-id")
      o.waba_id = next();
    else if (a == "--page-id")
      o.page_id = next();
    else {
      usage();
      return a == "--help" || a == "-h" ? 0 : 64;
    }
  }
  const auto scheme = o.url.find("://");
  const auto path_at = scheme == std::string::npos ? std::string::npos : o.url.find('/', scheme + 3);
  if (o.url.empty() || path_at == std::string::npos || (o.kind != "whatsapp" && o.kind != "messenger")) {
    usage();
    return 64;
  }
  const std::string origin = o.url.substr(0, path_at), path = o.url.substr(path_at);
  const char* secret_env = std::getenv("SIM_APP_SECRET");
  const std::string secret = secret_env ? secret_env : "sim-app-secret";
  const auto numbers = customer_numbers(generate(o.corpus));
  if (numbers.empty()) {
    std::fputs("chansync-sim post-webhooks: the corpus has no customer numbers\n", stderr);
    return 64;
  }
  const std::int64_t now_s = o.corpus.now_ms / 1000;
  // Bodies are rendered and signed before the clock starts: the receiver is what is measured.
  std::vector<std::pair<std::string, std::string>> bodies;
  for (int n = o.first; n < o.first + o.count; ++n) {
    const auto c = static_cast<std::size_t>(n) % numbers.size();
    std::string body = o.kind == "whatsapp" ? whatsapp_payload(o, numbers[c], n, now_s)
                                            : messenger_payload(o, static_cast<int>(c), n, now_s);
    std::string sig = "sha256=" + hmac_hex(secret, body);
    bodies.emplace_back(std::move(body), std::move(sig));
  }
  std::atomic<std::size_t> next_index{0}, acked{0}, refused{0}, failed{0};
  std::string first_error;  // written once, by the thread that counted the first failure
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < o.concurrency; ++t)
    workers.emplace_back([&] {
      httplib::Client client(origin);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      client.set_read_timeout(30, 0);
      for (std::size_t i; (i = next_index++) < bodies.size();) {
        httplib::Headers h{{"X-Hub-Signature-256", bodies[i].second}};
        auto res = client.Post(path.c_str(), h, bodies[i].first, "application/json");
        if (!res) {
          if (failed++ == 0) first_error = httplib::to_string(res.error());
        } else if (res->status == 200)
          ++acked;
        else
          ++refused;
      }
    });
  for (auto& w : workers) w.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s\n", nlohmann::json{{"sent", bodies.size()},
                                     {"acked", acked.load()},
                                     {"refused", refused.load()},
                                     {"failed", failed.load()},
                                     {"first_error", first_error},
                                     {"seconds", seconds},
                                     {"per_second", seconds > 0 ? static_cast<double>(acked) / seconds : 0.0}}
                          .dump()
                          .c_str());
  return acked == bodies.size() ? 0 : 1;
}

}  // namespace chansync::sim
