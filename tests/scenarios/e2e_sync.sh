#!/usr/bin/env bash
# End to end against the simulator: sync, a second sync that changes nothing, schema-valid output,
# stable person ids, new messages re-push exactly one person.
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
assert r["reconcile"]["skipped"] is True, r["reconcile"]  # nothing changed: the stored identities were kept
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
report = jsonschema.Draft202012Validator(json.load(open(f"{src}/schemas/run-report.schema.json")))
for name in ("second.json", "third.json"):
    report.validate(json.load(open(f"{work}/{name}")))
deletion = json.load(open(f"{src}/schemas/deletion.schema.json"))
jsonschema.Draft202012Validator.check_schema(deletion)
jsonschema.validate({"person_id": "p_00000000000000aa", "deleted": True, "merged_into": "p_00000000000000bb"}, deletion)
try:
    jsonschema.validate({"person_id": "p_00000000000000aa", "deleted": True}, deletion)
    raise SystemExit("a deletion without merged_into passed the schema")
except jsonschema.ValidationError:
    pass
person = json.load(open(f"{src}/schemas/person.schema.json"))
v = jsonschema.Draft202012Validator(person)
n = 0
for line in open(f"{work}/persons.ndjson"):
    v.validate(json.loads(line)); n += 1
print(f"{n} person records valid")
# Timeline entries' optional kind, status and attachments: valid when set as chansync emits them,
# rejected when off the enums or empty.
import copy
# The first record that has a timeline: a CRM-only person has none, and which person comes first
# depends on the run.
rec = next(r for r in map(json.loads, open(f"{work}/persons.ndjson")) if r["messages"])
m = rec["messages"][0]
m.update(kind="call", status="read", attachments=[{"type": "image", "name": "", "url": "https://cdn.example/a.jpg"}])
v.validate(rec)
for field, bad in (("status", "seen"), ("status", ""), ("kind", "sms"), ("attachments", []),
                   ("attachments", [{"type": "image", "url": "u"}])):
    r = copy.deepcopy(rec)
    r["messages"][0][field] = bad
    if v.is_valid(r):
        raise SystemExit(f"a message with {field}={bad!r} passed the schema")
# Contact attributes (the simulator's Weber family lives at one address): emitted, valid, and the
# schema refuses an empty set, a date not YYYY-MM-DD and an unknown attribute.
rec = next((r for r in map(json.loads, open(f"{work}/persons.ndjson"))
            if any(c.get("attributes", {}).get("birth_date") for c in r["contacts"])), None)
if rec is None:
    raise SystemExit("no person record carries the simulator's contact attributes")
c = next(c for c in rec["contacts"] if "attributes" in c)
assert c["attributes"] == {"birth_date": "1961-04-12", "postal_code": "10115", "city": "Berlin",
                           "street": "Invalidenstraße 1"}, c
for bad in ({}, {"birth_date": "12.04.1961"}, {"zip": "10115"}):
    r = copy.deepcopy(rec)
    next(x for x in r["contacts"] if "attributes" in x)["attributes"] = bad
    if v.is_valid(r):
        raise SystemExit(f"contact attributes {bad!r} passed the schema")
PY
echo "e2e_sync: ok"
