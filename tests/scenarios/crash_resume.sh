#!/usr/bin/env bash
# kill -9 of a pull at a known page, then a re-run, gives exactly the store of an uninterrupted run.
# The simulator holds one Twilio page in its handler, so the kill lands after the pages before it are
# committed and before the held one is, whatever the machine's speed.
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

cs -q pull || fail "resumed pull failed"
dump_store "$work/clean.db" >"$work/clean.dump" || fail "cannot dump the clean store"
dump_store "$work/crash.db" >"$work/crash.dump" || fail "cannot dump the resumed store"
grep -q '^sms|conversations|' "$work/clean.dump" || fail "the dump has no sms/conversations cursor"
diff "$work/clean.dump" "$work/crash.dump" >"$work/diff" || fail "stores differ after resume: $(head "$work/diff")"
echo "crash_resume: killed with $expected of $total messages committed (pages before Twilio page $hold_page); resumed store identical"
