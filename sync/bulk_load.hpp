#pragma once
// Bulk load: a pull into an empty `messages` table (the first backfill of a store) writes its rows
// without the table's secondary indexes (but those whose rows arrive in their own order:
// begin_bulk_load) and builds them once when the pull ends. Building an index
// from rows already stored is one sort; keeping it while rows arrive in vendor order is a random
// B-tree insert per row and index, which dirties most of each index's pages again in every batch
// and stops fitting in the page cache as the store grows. That includes the unique index of a
// message's (connector, id), the dearest of them (vendor ids are random): meanwhile messages are
// inserted as they come (RecordStore::bulk_loading), and when the load ends, the rows that repeat an
// id (a message pulled twice, a receipt of a message already written) are set aside in arrival order
// and replayed through the upserts once the index is built: the table ends as the upserts would have
// left it. Only `written` of the pull counts such a repeat as written when it changed nothing.
//
// Ending the load early when the vendor sets the pace (the writer idle most of a window of pages) was
// tried and dropped: with 20 ms per answer it saved the build (200k: 5.60 -> 5.38 s), but a window
// is a poor forecast of the rest, and one loopback pull of 1M messages with contacts beside it that
// looked idle early took 16.7 s instead of 8.6 s: kept while rows come, the random-key indexes cost
// the writer twice its work at that size, and more as the store grows.
//
// The index definitions are saved in `meta` by the transaction that drops them. A run killed during
// the load leaves that record behind, and the next run that holds the state lock (open_session)
// builds the indexes before it does anything else (a command that reads no message goes on when
// that fails for want of space: cli/session.hpp, Needs::store_read). Readers that take no lock (`health`) meanwhile
// read the table without them: slower, never wrong (the health queries count a repeated id once).
#include <functional>

#include "sync/state_store.hpp"

namespace chansync {

// When `messages` holds no row and no load is under way, saves and drops its indexes and
// returns true; otherwise changes nothing and returns false. Indexes whose rows arrive in their own
// order are kept, each row next to the one before, which costs less than sorting them after: the index by
// revision always (a page's revision is the highest yet), the index by time with `in_time_order`
// (every stream the load takes brings its messages by time: Stream::in_time_order). A million
// Twilio messages: 8.45 s with both built after, 8.1–8.25 s keeping the time index, 7.9 s keeping
// both. Rows in no order would cost more: the time index of a million messages took 0.6 s to build,
// and 1.4 s more to keep as they came in random order. Throws SQLite::Exception.
bool begin_bulk_load(StateStore& store, bool in_time_order = false);

// Builds the indexes a bulk load dropped, folding the rows that repeat an id, and forgets the saved
// definitions. Each index is one transaction, after which `built` is called (a Checkpointer copies
// that index into the file while the next is built); the saved definitions go with the last, so a
// run killed in between builds the rest. Returns how many it built: 0 when no load is under way.
// Throws Failure (storage_failure()) naming the temporary directory the sorts use as well.
int end_bulk_load(StateStore& store, const std::function<void()>& built = {});

}  // namespace chansync
