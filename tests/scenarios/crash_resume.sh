#!/usr/bin/env bash
# kill -9 of a pull at a known page, then a re-run, gives exactly the store of an uninterrupted run,
# indexes included (a first pull builds them when it ends).
# The simulator holds one Twilio page in its handler, so the kill lands after the pages before it are
# committed and before the held one is, whatever the machine's speed. Pages are committed in batches
# (a batch waiting for a slow page commits after a second): a kill -9 before that commit keeps none
# of the batch, and a re-run again gives the same store. SIGINT while a page is held: that page is
# committed, no other is fetched, exit 130, and a re-run completes the store.
. "$(dirname "$0")/lib.sh"
start_sim --customers 200 --messages 5000
hold_page=2  # Twilio's 0-based Page: pages 0 and 1 are committed when the pull is killed
cp "$work/sync.toml" "$work/base.toml"
sed 's|path = "state.db"|path = "clean.db"|' "$work/base.toml" >"$work/sync.toml"
cs -q pull || fail "uninterrupted pull failed"
sed 's|path = "state.db"|path = "crash.db"|' "$work/base.toml" >"$work/sync.toml"

sim_post hold "{\"vendor\":\"twilio\",\"page\":$hold_page}" >/dev/null
"$CHANSYNC" --config "$work/sync.toml" -q pull sms &  # not `cs ... &`: $! would be a subshell, not chansync
pid=$!
bg_pids="$pid"
held=""
for _ in $(seq 600); do  # ≤ 30 s
  stats=$(sim_stats)
  [ "$(jfield "$stats" 'j["held"]')" = True ] && held=1 && break
  kill -0 "$pid" 2>/dev/null || fail "the pull ended without requesting Twilio page $hold_page: $(sim_stats)"
  sleep 0.05
done
[ -n "$held" ] || fail "Twilio page $hold_page was never requested within 30 s: $stats"
# The held page begins at this message (the corpus is sorted by date_sent, then sid, descending): the
# pages before it are exactly the messages that sort above it.
first_sid=$(jfield "$stats" 'j["held_request"]["first_sid"]')
first_ms=$(jfield "$stats" 'j["held_request"]["first_sent_ms"]')
before="connector = 'sms' AND (sent_at > $first_ms OR (sent_at = $first_ms AND id > '$first_sid'))"
expected=$(sqlite3 "$work/clean.db" "SELECT count(*) FROM messages WHERE $before")
total=$(sqlite3 "$work/clean.db" "SELECT count(*) FROM messages WHERE connector = 'sms'")
[ "$expected" -gt 0 ] && [ "$expected" -lt "$total" ] || fail "page $hold_page does not split the pull ($expected of $total)"

# chansync requests page N+1 while it commits page N: wait for that last commit to land.
n=""
for _ in $(seq 600); do
  n=$(sqlite3 "$work/crash.db" "SELECT count(*) FROM messages" 2>/dev/null || echo "")
  [ "$n" = "$expected" ] && break
  sleep 0.05
done
[ "$n" = "$expected" ] || fail "the pages before the held one were not committed within 30 s ($n of $expected messages)"
kill -9 "$pid"
code=0
wait "$pid" 2>/dev/null || code=$?
bg_pids=""
[ "$code" -eq 137 ] || fail "the pull was not killed by SIGKILL (exit $code)"

diff <(sqlite3 "$work/clean.db" "SELECT id FROM messages WHERE $before ORDER BY id") \
  <(sqlite3 "$work/crash.db" "SELECT id FROM messages ORDER BY id") >"$work/diff" \
  || fail "after kill -9 the store is not exactly the pages before page $hold_page: $(head "$work/diff")"
[ "$(jfield "$(sim_post release)" 'j["released"]')" = True ] || fail "no request was held at release"

# The first pull into an empty store builds the messages indexes when it ends: killed, it left them
# out, and the next command that holds the state lock builds them before anything else. It kept the
# two whose rows came in their order: by revision, and by time (Twilio lists messages newest first).
indexes="SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages' AND sql IS NOT NULL"
names="SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'index'
  AND tbl_name = 'messages' AND sql IS NOT NULL ORDER BY name)"
kept=$(sqlite3 "$work/crash.db" "$names")
[ "$kept" = "messages_by_rev messages_inbound" ] ||
  fail "a bulk load killed mid-pull left other indexes on messages than by revision and by time: $kept"
# With no room to build them (files limited to 33 KiB, room for the 32 KiB shared-memory index of the
# log but not for an index build; SIGXFSZ ignored: writes fail as on a full disk), a
# command that only reads says why and goes on; one that needs them exits 74; neither changes the store.
(trap '' XFSZ; ulimit -f 33; cs state show >"$work/full.out" 2>"$work/full.err") ||
  fail "state show with no room for the indexes failed: $(cat "$work/full.err")"
grep -q "only reads and goes on without them" "$work/full.err" || fail "state show did not say why: $(cat "$work/full.err")"
grep -Eq "disk is full|I/O error" "$work/full.err" || fail "state show did not name the cause: $(cat "$work/full.err")"
grep -q "^sms/conversations" "$work/full.out" || fail "state show printed no streams: $(cat "$work/full.out")"
grep -q "counts twice until they are" "$work/full.out" || fail "state show did not mark its counts: $(cat "$work/full.out")"
(trap '' XFSZ; ulimit -f 33; cs -o json state show >"$work/full.json" 2>/dev/null) || fail "state show -o json failed"
[ "$(jfield "$(cat "$work/full.json")" 'j["indexes_pending"]')" = True ] || fail "state show -o json: indexes_pending is not true"
for cmd in "persons decisions" "persons conflicts" "push --show-parked"; do
  (trap '' XFSZ; ulimit -f 33; cs $cmd >/dev/null 2>"$work/full.err") ||
    fail "'$cmd' with no room for the indexes failed: $(cat "$work/full.err")"
done
code=0
(trap '' XFSZ; ulimit -f 33; cs -q reconcile 2>"$work/full.err") || code=$?
[ "$code" -eq 74 ] || fail "reconcile with no room for the indexes exited $code, not 74: $(cat "$work/full.err")"
grep -q "building the indexes of its messages" "$work/full.err" || fail "exit 74 does not say what failed: $(cat "$work/full.err")"
[ "$(sqlite3 "$work/crash.db" "$names")" = "$kept" ] || fail "a failed index build changed the indexes of messages"
want=$(sqlite3 "$work/clean.db" "$indexes")
cs state show >/dev/null 2>"$work/show.err" || fail "state show after the kill failed: $(cat "$work/show.err")"
grep -q "stopped before the indexes of its messages were built; built $((want - 2)) now" "$work/show.err" ||
  fail "state show did not build the left-out indexes: $(cat "$work/show.err")"
[ "$(sqlite3 "$work/crash.db" "$indexes")" = "$want" ] || fail "the indexes of messages were not rebuilt"
[ "$(jfield "$(cs -o json state show)" 'j["indexes_pending"]')" = False ] || fail "indexes_pending is still true once built"

cs -q pull || fail "resumed pull failed"
dump_store "$work/clean.db" >"$work/clean.dump" || fail "cannot dump the clean store"
dump_store "$work/crash.db" >"$work/crash.dump" || fail "cannot dump the resumed store"
grep -q '^sms|conversations|' "$work/clean.dump" || fail "the dump has no sms/conversations cursor"
diff "$work/clean.dump" "$work/crash.dump" >"$work/diff" || fail "stores differ after resume: $(head "$work/diff")"

# start_held_pull DB: a pull of sms into DB with Twilio page $hold_page held; sets $pid once it is held.
start_held_pull() {
  sed "s|path = \"state.db\"|path = \"$1\"|" "$work/base.toml" >"$work/sync.toml"
  sim_post hold "{\"vendor\":\"twilio\",\"page\":$hold_page}" >/dev/null
  "$CHANSYNC" --config "$work/sync.toml" -q pull sms &
  pid=$!
  bg_pids="$pid"
  for _ in $(seq 600); do
    [ "$(jfield "$(sim_stats)" 'j["held"]')" = True ] && return 0
    kill -0 "$pid" 2>/dev/null || fail "the pull into $1 ended without requesting Twilio page $hold_page"
    sleep 0.05
  done
  fail "Twilio page $hold_page was never requested within 30 s (pull into $1)"
}
# resumed_identical DB: a re-run completes DB into exactly the clean store.
resumed_identical() {
  cs -q pull || fail "resumed pull into $1 failed"
  dump_store "$work/$1" >"$work/resumed.dump" || fail "cannot dump $1"
  diff "$work/clean.dump" "$work/resumed.dump" >"$work/diff" || fail "$1 differs after resume: $(head "$work/diff")"
}

# kill -9 at once: the batch of the pages before the held one has not committed yet (or just has).
start_held_pull early.db
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
bg_pids=""
early=$(sqlite3 "$work/early.db" "SELECT count(*) FROM messages" 2>/dev/null || echo 0)
[ "$early" = 0 ] || [ "$early" = "$expected" ] || fail "a kill -9 mid-batch kept $early messages (0 or $expected expected)"
sim_post release >/dev/null
resumed_identical early.db

# SIGINT while page $hold_page is held: it is committed when it arrives, and nothing after it.
start_held_pull int.db
kill -INT "$pid"
sleep 0.2
sim_post release >/dev/null
code=0
wait "$pid" 2>/dev/null || code=$?
bg_pids=""
[ "$code" -eq 130 ] || fail "a pull stopped by SIGINT exited $code, not 130"
through_held=$((expected * (hold_page + 1) / hold_page))  # pages 0..hold_page, 1000 messages each
n=$(sqlite3 "$work/int.db" "SELECT count(*) FROM messages")
[ "$n" = "$through_held" ] || fail "after SIGINT the store holds $n messages, not the $through_held of pages 0..$hold_page"
resumed_identical int.db
echo "crash_resume: killed with $expected of $total messages committed (pages before Twilio page $hold_page); early kill kept $early; SIGINT kept $n; resumed stores identical"
