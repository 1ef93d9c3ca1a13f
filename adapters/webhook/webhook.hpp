#pragma once
// webhook: POSTs batches of person records to a receiver's URL, signed with HMAC-SHA256.
//
// Wire format (documented for receivers in chansync-adapters(7)), one request per at most
// `batch_size` persons:
//   POST <url>
//   Content-Type: application/json
//   Chansync-Signature: t=<unix seconds>,v1=<lower-hex HMAC-SHA256(secret, "<t>.<body>")>
//   Idempotency-Key: <lower-hex SHA-256 of the body>
//   {"persons":[<person record (schemas/person.schema.json)>, ...]}
// The key depends only on the body, so every retry and every re-run of the same batch carries the
// same key; a receiver upserts by person_id and may skip a key it has already processed.
// A 2xx confirms every person of the request; a 4xx (other than 401/403/429) refuses those persons
// only; 401/403, and 429/5xx/no answer after retries, fail the whole call.
#include "adapters/registry.hpp"

namespace chansync::adapters::webhook {

AdapterType type();

}  // namespace chansync::adapters::webhook
