#pragma once
// What HttpClient's two files share (http.cpp: sending; http_pacing.cpp: the rate budgets).
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "adapters/http.hpp"

namespace chansync::adapters {

// URL without query string and with secret shapes redacted: enough to say where, nothing secret.
std::string where(const std::string& url);

struct SharedBudgets {
  std::mutex mu;
  std::map<std::string, TokenBucket> buckets;
};

// The budgets of a client with `o`: its own, or those of the process's clients with the same key.
std::shared_ptr<SharedBudgets> budgets_for(const HttpOptions& o);

}  // namespace chansync::adapters
