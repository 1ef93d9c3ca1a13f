#!/usr/bin/env bash
# End to end against the simulator: sync, a second sync that changes nothing, schema-valid output,
# stable person ids, the lock, health classes.
. "$(dirname "$0")/lib.sh"
start_sim --customers 50 --messages 1200
cs -q sync || fail "first sync exited $?"
lines=$(wc -l <"$work/persons.ndjson")
[ "$lines" -gt 10 ] || fail "expected persons, got $lines lines"
ids_before=$(cs persons list -o ndjson | sed 's/.*"person_id":"\([^"]*\)".*/\1/' | sort)

cs -o json sync >"$work/second.json" || fail "second sync failed"
python3 - "$work/second.json" <<'PY' || fail "second sync wrote something"
import json, sys
r = json.load(open(sys.argv[1]))
assert all(p["written"] == 0 for p in r["pull"]), r["pull"]
assert r["reconcile"]["new_persons"] == 0, r["reconcile"]
assert all(p["created"] == 0 and p["updated"] == 0 for p in r["push"]), r["push"]
PY
[ "$(wc -l <"$work/persons.ndjson")" -eq "$lines" ] || fail "second sync appended to the NDJSON file"
ids_after=$(cs persons list -o ndjson | sed 's/.*"person_id":"\([^"]*\)".*/\1/' | sort)
[ "$ids_before" = "$ids_after" ] || fail "person ids changed across re-runs"

# A CRM contact and its SMS timeline are one person; the family landline is a conflict.
merged=$(cs persons list -o ndjson | python3 -c 'import json,sys; print(sum(1 for l in sys.stdin if (r:=json.loads(l))["contacts"]>0 and r["messages"]>0))')
[ "$merged" -gt 10 ] || fail "only $merged persons merge CRM and SMS"
[ "$(sqlite3 "$work/state.db" 'SELECT count(*) FROM identity_conflicts')" -ge 1 ] || fail "no conflict for the shared landline"

# New messages arrive: exactly the affected person is pushed again.
curl -fsS -d "" "http://127.0.0.1:$port/_sim/add-messages?n=3" >/dev/null
cs -o json sync >"$work/third.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert sum(p["updated"]+p["created"] for p in r["push"]) == 1, r' "$work/third.json" || fail "new messages not pushed"

# Emitted records validate against the schemas with a real validator.
/usr/bin/python3 - "$SOURCE_DIR" "$work" <<'PY' || fail "schema validation"
import json, sys, jsonschema
src, work = sys.argv[1], sys.argv[2]
person = json.load(open(f"{src}/schemas/person.schema.json"))
v = jsonschema.Draft202012Validator(person)
n = 0
for line in open(f"{work}/persons.ndjson"):
    v.validate(json.loads(line)); n += 1
print(f"{n} person records valid")
PY
cs -o json health >"$work/health.json" || fail "health not OK: $(cat "$work/health.json")"
curl -fsS -d '{"kind":"sunset","vendor":"twilio","count":-1}' "http://127.0.0.1:$port/_sim/fault" >/dev/null
set +e; cs -o json health >"$work/health2.json"; code=$?; set -e
[ "$code" -eq 1 ] || fail "Sunset header should be WARNING (1), got $code"
grep -q '"deprecated"' "$work/health2.json" || fail "no deprecated class"
curl -fsS -d '{"kind":"clear"}' "http://127.0.0.1:$port/_sim/fault" >/dev/null
set +e; HUBSPOT_TOKEN=wrong cs health crm >/dev/null; code=$?; set -e
[ "$code" -eq 2 ] || fail "wrong token should be CRITICAL (2), got $code"
/usr/bin/python3 -c 'import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1]+"/schemas/health.schema.json")))' "$SOURCE_DIR" "$work/health2.json" || fail "health schema"

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
echo "e2e_sync: ok"
