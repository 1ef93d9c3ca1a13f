#pragma once
// chansync-sim post-webhooks: POSTs signed WhatsApp Cloud or Messenger webhooks, the way Meta sends
// them (X-Hub-Signature-256 over the raw body), from the corpus's customers, to a receiver such as
// `chansync listen`; reports how many were acknowledged and how fast. For the tests and the benchmark.
namespace chansync::sim {

// argv[0] is "post-webhooks". Returns the exit code: 0 when every POST got a 200.
int post_webhooks(int argc, char** argv);

}  // namespace chansync::sim
