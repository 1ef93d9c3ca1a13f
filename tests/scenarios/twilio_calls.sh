#!/usr/bin/env bash
# twilio-calls against the simulator: a pull stores every generated call as one call entry (outcome
# and duration in the text, unconnected calls failed), anonymous callers on unverified handles of
# their own that reconcile never joins; a second pull resumes with StartTime>= (the one-day overlap)
# and writes nothing new.
. "$(dirname "$0")/lib.sh"
start_sim --customers 30 --messages 20
# Its own config: adding calls to scripts/sim-config.sh would change the demo's and the other
# scenarios' counts.
cat >"$work/voice.toml" <<TOML
[state]
path = "state.db"

[identity]
default_region = "DE"

[connectors.voice]
type = "twilio-calls"
account_sid = "AC00000000000000000000000000000000"
auth_token_env = "TWILIO_AUTH_TOKEN"
own_numbers = ["+4930123456", "030 123457"]
base_url = "http://127.0.0.1:$port"

[targets.out]
type = "ndjson"
path = "persons.ndjson"
TOML
vc() { "$CHANSYNC" --config "$work/voice.toml" "$@"; }
db="$work/state.db"
q() { sqlite3 "$db" "$1"; }

vc pull >"$work/pull1.json" 2>"$work/pull1.log" || fail "pull failed: $(tail -5 "$work/pull1.log")"
calls=$(jfield "$(sim_stats)" 'j["calls"]')
[ "$calls" -gt 10 ] || fail "the simulator should generate calls, has $calls"
[ "$(q "SELECT count(*) FROM messages WHERE connector='voice' AND kind='call' AND channel='call'")" = "$calls" ] \
  || fail "expected all $calls calls as call entries"
[ "$(q "SELECT count(*) FROM dead_letters")" = 0 ] || fail "no generated call should be a dead letter"
[ "$(q "SELECT count(*) FROM messages WHERE connector='voice' AND text LIKE 'call completed, %s'")" -gt 0 ] \
  || fail "completed calls should carry their duration"
[ "$(q "SELECT count(*) FROM messages WHERE connector='voice' AND status='failed'")" \
  = "$(q "SELECT count(*) FROM messages WHERE connector='voice' AND text IN ('call busy','call no-answer','call canceled','call failed')")" ] \
  || fail "exactly the unconnected calls should be failed"
anon=$(q "SELECT count(*) FROM conversations WHERE connector='voice' AND customer LIKE 'phone:anonymous/CA%' AND customer_verified=0")
[ "$anon" -ge 2 ] || fail "expected at least two anonymous callers, got $anon"
[ "$(q "SELECT count(*) FROM conversations WHERE customer LIKE '%266696687%' OR customer LIKE '%restricted%'")" = 0 ] \
  || fail "anonymous callers must not keep what Twilio wrote as a number"
vc reconcile >/dev/null 2>"$work/rec.log" || fail "reconcile failed: $(tail -5 "$work/rec.log")"
[ "$(q "SELECT count(DISTINCT person_id) FROM person_handles WHERE node LIKE 'phone:anonymous/%'")" = "$anon" ] \
  || fail "each anonymous call should be a person of its own"
[ "$(q "SELECT count(*) FROM person_handles WHERE node LIKE 'phone:anonymous/%' AND verified=1")" = 0 ] \
  || fail "anonymous handles must stay unverified"
shared=$(q "SELECT count(*) FROM person_handles a JOIN person_handles b ON a.person_id=b.person_id AND a.node<>b.node
            WHERE a.node LIKE 'phone:anonymous/%'")
[ "$shared" = 0 ] || fail "an anonymous caller shares a person with another handle"
since=$(q "SELECT json_extract(cursor, '$.since') FROM streams WHERE connector='voice' AND stream='conversations'")
[[ "$since" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || fail "the cursor should hold the newest day, got '$since'"

before=$(jfield "$(sim_stats)" 'j["call_requests"]')
vc -o json pull >"$work/pull2.json" 2>"$work/pull2.log" || fail "second pull failed: $(tail -5 "$work/pull2.log")"
python3 - "$work/pull2.json" <<'PY' || fail "second pull: $(cat "$work/pull2.json")"
import json, sys
r = json.load(open(sys.argv[1]))
s = [x for x in r["pull"] if x["connector"] == "voice"][0]
assert s["received"] >= 1, s  # the newest day is read again ...
assert s["written"] == 0, s   # ... and nothing of it is new
PY
[ "$(jfield "$(sim_stats)" 'j["call_requests"]')" -gt "$before" ] || fail "the second pull should ask Calls.json"
[ "$(q "SELECT count(*) FROM messages WHERE connector='voice'")" = "$calls" ] || fail "the overlap duplicated calls"
echo "OK twilio_calls: $calls calls, $anon anonymous callers"
