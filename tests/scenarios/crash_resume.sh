#!/usr/bin/env bash
# kill -9 of a pull halfway, then a re-run, gives exactly the store of an uninterrupted run.
. "$(dirname "$0")/lib.sh"
start_sim --customers 200 --messages 20000 --delay-ms 30  # 20 pages of 1000
cp "$work/sync.toml" "$work/base.toml"
sed 's|path = "state.db"|path = "clean.db"|' "$work/base.toml" >"$work/sync.toml"
cs -q pull || fail "uninterrupted pull failed"
sed 's|path = "state.db"|path = "crash.db"|' "$work/base.toml" >"$work/sync.toml"
"$CHANSYNC" --config "$work/sync.toml" -q pull sms &
pid=$!
for _ in $(seq 200); do
  n=$(sqlite3 "$work/crash.db" "SELECT count(*) FROM messages" 2>/dev/null || echo 0)
  [ "${n:-0}" -ge 5000 ] && break
  sleep 0.02
done
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
n=$(sqlite3 "$work/crash.db" "SELECT count(*) FROM messages")
[ "$n" -lt 20000 ] || fail "the pull finished before it was killed ($n messages)"
cs -q pull || fail "resumed pull failed"
diff <(dump_store "$work/clean.db") <(dump_store "$work/crash.db") >"$work/diff" || fail "stores differ after resume: $(head "$work/diff")"
echo "crash_resume: killed at $n of 20000 messages; resumed store identical"
