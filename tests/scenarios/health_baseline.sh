#!/usr/bin/env bash
# A connector judged against its own history: a probe far slower than its usual latency → degraded
# (exit 1); one server error after good checks → degraded as a blip (exit 1), a second in a row →
# unreachable (exit 2), with the status page reporting an outage → outage; pulls that complete with
# no records where earlier pulls always had some → schema_drift on that stream (exit 1).
. "$(dirname "$0")/lib.sh"
start_sim --customers 5 --messages 40
printf '\n[health]\nrecovery_checks = 1\n' >>"$work/sync.toml"
fault() { sim_post fault "{\"kind\":\"$1\",\"vendor\":\"$2\",\"count\":${3:-1}}" >/dev/null; }
# check FILE STREAM CLASS SIGNAL DETAIL: the sms report of STREAM ("" = its probe) has CLASS, decided
# by a finding of SIGNAL whose detail contains DETAIL, and says what to do.
check() {
  python3 - "$@" <<'PY' || fail "$1: expected $3 from $4 ($5): $(cat "$1")"
import json, sys
path, stream, cls, signal, detail = sys.argv[1:6]
c = next(c for c in json.load(open(path))["checks"] if c["connector"] == "sms" and (c["stream"] or "") == stream)
assert c["class"] == cls, c
f = next(f for f in c["findings"] if f["class"] == cls and f["signal"] == signal)
assert detail in f["detail"], f
assert c["action"], c
PY
}

for i in 1 2 3 4 5; do health_run 0 "ok$i" sms; done
fault slow twilio; health_run 1 slow sms
check "$work/slow.json" "" degraded latency "its usual"
health_run 0 fast sms

fault 503 twilio; health_run 1 blip sms
check "$work/blip.json" "" degraded "HTTP status" "may be a blip"
fault 503 twilio; health_run 2 repeated sms
check "$work/repeated.json" "" unreachable "HTTP status" "the previous check failed too"
sim_post fault '{"kind":"outage","vendor":"statuspage","count":1}' >/dev/null
fault 503 twilio; health_run 2 outage sms
check "$work/outage.json" "" outage "HTTP status" "status page reports an outage"
health_run 0 back sms

# Eleven pulls with records (Twilio's day filter re-reads the newest day), then empty answers.
for i in $(seq 11); do cs pull sms 2>/dev/null >/dev/null; done
for i in 1 2; do fault empty twilio; cs pull sms 2>/dev/null >/dev/null; done
health_run 0 two_empty sms
fault empty twilio; cs pull sms 2>/dev/null >/dev/null
# Three empty pulls within a minute are a quiet spell, not drift; the same a day later are.
health_run 0 three_empty_soon sms
age_pulls() { sqlite3 "$work/state.db" "UPDATE pull_history SET ended_at = ended_at - $1;
  UPDATE streams SET last_pull_at = last_pull_at - $1, last_ok_at = last_ok_at - $1"; }
age_pulls 90000000  # 25 hours
health_run 1 three_empty sms
check "$work/three_empty.json" conversations schema_drift "records per pull" "11 of the 11 before them"
# --offline reads the same history from the store.
health_run 1 offline --offline sms
check "$work/offline.json" conversations schema_drift "records per pull" "the last 3 pulls completed with no records"
cs pull sms 2>/dev/null >/dev/null
health_run 0 records_again sms

# --offline calls no vendor: between two checks that found Twilio refusing the credentials, it keeps
# that class (saying so) rather than count as a passing check, and the history shows no recovery.
fault 401 twilio 2; health_run 2 auth sms
health_run 2 auth_offline --offline sms
python3 -c 'import json,sys; c=next(c for c in json.load(open(sys.argv[1]))["checks"] if c["connector"]=="sms" and not c["stream"]); assert c["class"]=="auth_failed" and "the last online check" in c["summary"], c' \
  "$work/auth_offline.json" || fail "offline should keep auth_failed: $(cat "$work/auth_offline.json")"
health_run 2 auth_again sms
cs -o json health --since 1h sms >"$work/auth_since.json"
! grep -q '"to": "recovering"' "$work/auth_since.json" || fail "an offline run counted as a pass: $(cat "$work/auth_since.json")"
# A pull that completes after that check reached Twilio with the credentials: --offline no longer
# carries the old class.
cs pull sms 2>/dev/null >/dev/null
health_run 0 auth_fixed_offline --offline sms
# A target is not pulled: --offline leaves it out rather than call it unknown (exit 3).
health_run 0 auth_back sms
cs pull crm 2>/dev/null >/dev/null
health_run 0 offline_all --offline
! grep -q '"connector": "out"' "$work/offline_all.json" || fail "--offline reported the target: $(cat "$work/offline_all.json")"

# Pulls that stopped being run (a cron job gone): every stream looked fine as of its last pull; now
# the stream is silent, naming when it last completed (offline too: nothing but the store is read).
for i in 1 2 3 4; do cs pull sms 2>/dev/null >/dev/null; done
age_pulls 10800000  # 3 hours
health_run 1 stale --offline sms
check "$work/stale.json" conversations silent "last completed pull" "no pull of sms/conversations has completed since"
echo "health_baseline: ok"
