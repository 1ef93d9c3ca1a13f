#!/usr/bin/env bash
# Documented exit codes through the real binary: config 78, usage 64, auth 77, lock held 75, a
# partial run 1, a malformed vendor page 65 (with the cursor kept).
. "$(dirname "$0")/lib.sh"
start_sim --customers 20 --messages 300
# Exit codes: config error 78, unknown connector 64, auth 77, lock held 75.
set +e
TWILIO_AUTH_TOKEN= cs pull sms 2>/dev/null; [ $? -eq 78 ] || fail "missing secret should exit 78"
cs pull nosuch 2>/dev/null; [ $? -eq 64 ] || fail "unknown connector should exit 64"
TWILIO_AUTH_TOKEN= cs pull nosuch 2>/dev/null; [ $? -eq 64 ] || fail "a typo in a name should exit 64 before secrets are read"
# Only the secrets of the endpoints a command contacts are needed.
HUBSPOT_TOKEN= cs -q pull sms 2>/dev/null; [ $? -eq 0 ] || fail "pull sms should not need the CRM token"
TWILIO_AUTH_TOKEN= HUBSPOT_TOKEN= cs -q reconcile 2>/dev/null; [ $? -eq 0 ] || fail "reconcile should need no secret"
TWILIO_AUTH_TOKEN=wrong cs pull sms 2>/dev/null; [ $? -eq 77 ] || fail "bad token should exit 77"
exec 9>"$work/state.db.lock"; flock 9; echo "pid 1 (chansync test)" >&9
cs pull 2>"$work/lock.err"; code=$?
exec 9>&-
set -e
[ "$code" -eq 75 ] || fail "held lock should exit 75, got $code"
grep -q "in use by" "$work/lock.err" || fail "lock message does not name the holder"

set +e
cs --no-such-flag pull 2>/dev/null; [ $? -eq 64 ] || fail "an unknown flag should exit 64"
"$CHANSYNC" --config "$work/missing.toml" pull 2>"$work/missing.err"; [ $? -eq 78 ] || fail "a missing config file should exit 78"
cs -q pull || fail "clean pull failed"
cursor=$(sqlite3 "$work/state.db" "SELECT cursor FROM cursors WHERE connector = 'sms'")
curl -fsS -d '{"kind":"malformed","vendor":"twilio","count":-1}' "http://127.0.0.1:$port/_sim/fault" >/dev/null
cs -q pull sms 2>"$work/malformed.err"; code=$?
[ "$code" -eq 65 ] || fail "a malformed page should exit 65, got $code"
grep -q "not valid JSON" "$work/malformed.err" || fail "malformed page error does not say what is wrong: $(cat "$work/malformed.err")"
[ "$(sqlite3 "$work/state.db" "SELECT cursor FROM cursors WHERE connector = 'sms'")" = "$cursor" ] || fail "cursor moved on a malformed page"
cs -q pull 2>/dev/null; code=$?
[ "$code" -eq 1 ] || fail "one failing connector of two should exit 1 (partial), got $code"
set -e
echo "exit_codes: ok"
