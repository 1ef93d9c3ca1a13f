#!/usr/bin/env bash
# A Twilio backfill in windows of days (backfill_in_flight = 3) against the simulator, 20 ms per
# request: it stores what one chain of pages stores; killed with -9 once some pages are committed and
# others are in flight (the simulator holds one window's third page, so the kill lands mid-backfill
# whatever the machine's speed), a re-run resumes each window from the cursor committed with its last
# page and ends with the same store, losing and repeating nothing.
. "$(dirname "$0")/lib.sh"
start_sim --customers 300 --messages 60000 --delay-ms 20
cp "$work/sync.toml" "$work/base.toml"
# with_store DB [IN_FLIGHT]: the config, its store DB, and backfill_in_flight for sms when given.
with_store() {
  sed "s|path = \"state.db\"|path = \"$1\"|" "$work/base.toml" >"$work/sync.toml"
  if [ -n "${2:-}" ]; then sed -i "/^type = \"twilio-messaging\"/a backfill_in_flight = $2" "$work/sync.toml"; fi
}
# What a pull stores, conversations by their ids (their keys follow the order pages are committed in).
content() {
  sqlite3 -bail "$work/$1" "
    SELECT m.connector, m.id, c.id, m.channel, m.direction, m.author_kind, m.author_handle, m.sent_at, m.text
    FROM messages AS m JOIN conversations AS c ON c.key = m.conversation ORDER BY 1, 2;
    SELECT connector, id, channel, customer, customer_verified, business, customer_name, customer_links
    FROM conversations ORDER BY 1, 2;
    SELECT connector, stream, cursor FROM streams ORDER BY 1, 2;
    SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY 1;"
}

with_store chain.db
cs -q pull sms || fail "the pull of one chain of pages failed"
content chain.db >"$work/chain.txt"
total=$(sqlite3 "$work/chain.db" "SELECT count(*) FROM messages")
[ "$total" = 60000 ] || fail "one chain of pages stored $total messages, not 60000"

with_store windows.db 3
cs -v pull sms 2>"$work/windows.log" || fail "the backfill in windows failed: $(tail -3 "$work/windows.log")"
grep -q "sms: backfill of messages from .* in 12 windows, 3 pages in flight" "$work/windows.log" ||
  fail "no backfill in windows was planned: $(grep -m3 backfill "$work/windows.log")"
content windows.db >"$work/windows.txt"
diff "$work/chain.txt" "$work/windows.txt" >"$work/diff" ||
  fail "the backfill in windows stored otherwise than one chain of pages: $(head -5 "$work/diff")"

# kill -9 once a batch of pages is committed (batches commit after a second, also while a page is
# awaited), with one window's third page held: the cursor committed names the windows still open.
with_store crash.db 3
sim_post hold '{"vendor":"twilio","page":2}' >/dev/null
"$CHANSYNC" --config "$work/sync.toml" -q pull sms &
pid=$!
bg_pids="$pid"
n=0
for _ in $(seq 600); do  # ≤ 30 s
  n=$(sqlite3 "$work/crash.db" "SELECT count(*) FROM messages" 2>/dev/null || echo 0)
  [ "$n" -gt 0 ] && [ "$(jfield "$(sim_stats)" 'j["held"]')" = True ] && break
  kill -0 "$pid" 2>/dev/null || fail "the backfill ended with a page held"
  sleep 0.05
done
[ "$n" -gt 0 ] || fail "no page of the backfill was committed within 30 s"
kill -9 "$pid"
code=0
wait "$pid" 2>/dev/null || code=$?
bg_pids=""
[ "$code" -eq 137 ] || fail "the backfill was not killed by SIGKILL (exit $code)"
[ "$(jfield "$(sim_post release)" 'j["released"]')" = True ] || fail "no request was held at release"
kept=$(sqlite3 "$work/crash.db" "SELECT count(*) FROM messages")
[ "$kept" -lt "$total" ] || fail "the kill came after the last page ($kept messages kept)"
cursor=$(sqlite3 "$work/crash.db" "SELECT cursor FROM streams WHERE connector = 'sms'")
open=$(jfield "$cursor" 'len(j["windows"])')
[ "$open" -gt 0 ] || fail "the cursor committed names no open window: $cursor"
# state show cuts the long cursor of a backfill under way.
cs state show >"$work/show.txt" 2>/dev/null || fail "state show after the kill failed"
grep -q "bytes; -o json prints it whole" "$work/show.txt" || fail "state show printed the windows cursor whole"
[ "$(cs -o json state show 2>/dev/null | jq -r '.streams[] | select(.connector == "sms") | .cursor')" = "$cursor" ] ||
  fail "state show -o json does not print the cursor whole"
cs -q pull sms || fail "the resumed backfill failed"
content crash.db >"$work/crash.txt"
diff "$work/chain.txt" "$work/crash.txt" >"$work/diff" ||
  fail "the resumed backfill stored otherwise than one chain of pages: $(head -5 "$work/diff")"
echo "backfill_windows: windows store what one chain stores; killed with $kept of $total messages and $open windows open, resumed to the same store"
