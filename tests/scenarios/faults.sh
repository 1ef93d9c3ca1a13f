#!/usr/bin/env bash
# Vendor faults through the real binary: 429 with Retry-After and 500 are retried and the pull
# completes with every record; a vendor that goes away exits 69 and keeps what was committed.
. "$(dirname "$0")/lib.sh"
start_sim --customers 30 --messages 2500
sim_post fault '{"kind":"429","vendor":"twilio","count":2}' >/dev/null  # each 429 says Retry-After: 1
sim_post fault '{"kind":"500","vendor":"hubspot","count":2}' >/dev/null
cs -o json pull >"$work/pull.json" 2>"$work/pull.err" || fail "pull with transient faults failed: $(cat "$work/pull.err")"
stats=$(sim_stats)

# Each 429 is retried after exactly its Retry-After (1 s), as the log says; read, not timed.
grep "HTTP 429" "$work/pull.err" >"$work/429.log" || true
[ "$(wc -l <"$work/429.log")" -eq 2 ] || fail "expected a retry warning for each of the 2 injected 429s: $(cat "$work/pull.err")"
grep -v -E "warning.*sms: HTTP 429 from http://127\.0\.0\.1:$port/[^ ]*Messages\.json; retry [0-9]+/[0-9]+ in 1000 ms$" \
  "$work/429.log" >"$work/429.bad" || true
[ ! -s "$work/429.bad" ] || fail "a 429 retry does not wait its Retry-After of 1000 ms: $(cat "$work/429.bad")"
grep -q "crm: HTTP 500 from http://127.0.0.1:$port/" "$work/pull.err" || fail "500 retry not logged: $(cat "$work/pull.err")"

# Every message is stored or reported rejected.
python3 - "$work/pull.json" "$stats" "$(sqlite3 "$work/state.db" "SELECT count(*) FROM messages WHERE connector = 'sms'")" <<'PY' \
  || fail "messages missing after retries"
import json, sys
report, sim, stored = json.load(open(sys.argv[1])), json.loads(sys.argv[2]), int(sys.argv[3])
rejected = sum(p["rejected"] for p in report["pull"] if p["connector"] == "sms")
assert stored + rejected == sim["messages"], f"{stored} stored + {rejected} rejected != {sim['messages']} served"
PY
# The requests chansync reports, retries included, are the requests each vendor answered.
python3 - "$work/pull.json" "$stats" <<'PY' || fail "reported requests differ from what the simulator counted"
import json, sys
report, sim = json.load(open(sys.argv[1])), json.loads(sys.argv[2])
def requests(connector):  # summed: one report entry per connector stream
    return sum(p["requests"] for p in report["pull"] if p["connector"] == connector)
for connector, vendor in (("sms", "twilio"), ("crm", "hubspot")):
    assert requests(connector) == sim[f"{vendor}_requests"], \
        f"{connector}: chansync reports {requests(connector)} requests, {vendor} answered {sim[vendor + '_requests']}"
PY

# SIGINT while chansync waits out a vendor's 60 s Retry-After: the wait ends at once, nothing is sent
# again, and the pull exits 130 with what it committed.
sim_post fault '{"kind":"429-long","vendor":"twilio","count":-1}' >/dev/null
sim_post add-messages?n=5 >/dev/null
r0=$(jfield "$(sim_stats)" 'j["twilio_requests"]')
"$CHANSYNC" --config "$work/sync.toml" pull sms 2>"$work/int.err" &
pid=$!
bg_pids="$pid"
for _ in $(seq 100); do grep -q "HTTP 429" "$work/int.err" && break; sleep 0.1; done
grep -q "retry 1/4 in 60000 ms" "$work/int.err" || fail "no 60 s Retry-After wait to interrupt: $(cat "$work/int.err")"
kill -INT "$pid"
for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "SIGINT did not end the pull within 20 s: it waits out the Retry-After"
code=0
wait "$pid" 2>/dev/null || code=$?
bg_pids=""
[ "$code" -eq 130 ] || fail "a pull stopped by SIGINT during a Retry-After wait exited $code, not 130: $(cat "$work/int.err")"
grep -q "stopped by a signal while waiting to send GET" "$work/int.err" ||
  fail "the interrupted wait is not reported: $(cat "$work/int.err")"
[ $(($(jfield "$(sim_stats)" 'j["twilio_requests"]') - r0)) -eq 1 ] || fail "a request was sent again after SIGINT"
sim_post fault '{"kind":"clear"}' >/dev/null

# The vendor disappears: unavailable (69), committed pages kept.
kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true
before=$(sqlite3 "$work/state.db" "SELECT count(*) FROM messages")
set +e; cs -q pull sms 2>"$work/down.err"; code=$?; set -e
[ "$code" -eq 69 ] || fail "an unreachable vendor should exit 69, got $code"
grep -q "cannot reach" "$work/down.err" || fail "unreachable error does not say so: $(cat "$work/down.err")"
[ "$(sqlite3 "$work/state.db" "SELECT count(*) FROM messages")" -eq "$before" ] || fail "records lost"
echo "faults: ok"
