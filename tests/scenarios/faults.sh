#!/usr/bin/env bash
# Vendor faults through the real binary: 429 with Retry-After and 500 are retried and the pull
# completes with every record; a vendor that goes away exits 69 and keeps what was committed.
. "$(dirname "$0")/lib.sh"
start_sim --customers 30 --messages 2500
curl -fsS -d '{"kind":"429","vendor":"twilio","count":2}' "http://127.0.0.1:$port/_sim/fault" >/dev/null
curl -fsS -d '{"kind":"500","vendor":"hubspot","count":2}' "http://127.0.0.1:$port/_sim/fault" >/dev/null
start=$(date +%s%N)
cs -o json pull >"$work/pull.json" 2>"$work/pull.err" || fail "pull with transient faults failed: $(cat "$work/pull.err")"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
grep -q "HTTP 429" "$work/pull.err" || fail "429 retry not logged"
grep -q "HTTP 500" "$work/pull.err" || fail "500 retry not logged"
[ "$elapsed_ms" -ge 2000 ] || fail "two Retry-After: 1 were not waited for (${elapsed_ms} ms)"
[ "$(sqlite3 "$work/state.db" "SELECT count(*) FROM messages")" -eq 2500 ] || fail "messages missing after retries"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); t={p["connector"]: p["requests"] for p in r["pull"]}; assert t["sms"] == 5 and t["crm"] >= 4, t' "$work/pull.json" \
  || fail "retries not counted as requests: $(cat "$work/pull.json")"

# The vendor disappears: unavailable (69), committed pages kept.
kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true
before=$(sqlite3 "$work/state.db" "SELECT count(*) FROM messages")
set +e; cs -q pull sms 2>"$work/down.err"; code=$?; set -e
[ "$code" -eq 69 ] || fail "an unreachable vendor should exit 69, got $code"
grep -q "cannot reach" "$work/down.err" || fail "unreachable error does not say so: $(cat "$work/down.err")"
[ "$(sqlite3 "$work/state.db" "SELECT count(*) FROM messages")" -eq "$before" ] || fail "records lost"
echo "faults: ok"
