#!/usr/bin/env bash
# Decisions about identities through the real binary: persons merge, explain, decisions, undo and
# split against a synced simulator store; the decisions survive later syncs; bad input exits 64
# naming the cause; the pushed NDJSON follows (a merged-away or erased person is deleted); an erased
# person does not come back with a full re-pull.
. "$(dirname "$0")/lib.sh"
start_sim --customers 20 --messages 10
db="$work/state.db"
q() { sqlite3 "$db" "$1"; }
cs sync >/dev/null 2>"$work/sync1.log" || fail "sync failed: $(tail -5 "$work/sync1.log")"

# A person with a CRM record and a phone, and one with SMS only: nothing links them.
crm_node=$(q "SELECT min(c.node) FROM person_handles c JOIN person_handles p USING (person_id)
              WHERE c.node LIKE 'crm_id:%' AND p.node LIKE 'phone:%'")
crm=$(q "SELECT person_id FROM person_handles WHERE node = '$crm_node'")
sms=$(q "SELECT person_id FROM person_handles p WHERE node LIKE 'phone:%' AND NOT EXISTS (
         SELECT 1 FROM person_handles o WHERE o.person_id = p.person_id AND o.node LIKE 'crm_id:%') ORDER BY node LIMIT 1")
[ -n "$crm" ] && [ -n "$sms" ] || fail "the simulator should give a CRM person and an SMS-only person"
persons_before=$(q "SELECT count(DISTINCT person_id) FROM person_handles")

cs -o json persons merge "$sms" "$crm" --reason "confirmed by phone" >"$work/merge.json" 2>"$work/merge.log" \
  || fail "merge failed: $(cat "$work/merge.log")"
python3 - "$work/merge.json" "$crm" "$sms" <<'PY' || fail "merge output: $(cat "$work/merge.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["kind"] == "merge" and j["reason"] == "confirmed by phone" and j["active"], j
assert sorted(j["persons"]) == sorted([sys.argv[2], sys.argv[3]]), j
assert len(set(j["persons_now"])) == 1 and j["persons_now"][0] == j["persons"][0], j
PY
check_schema decision "$work/merge.json"
survivor=$(jfield "$(cat "$work/merge.json")" 'j["persons"][0]')
retired=$(jfield "$(cat "$work/merge.json")" 'j["persons"][1]')
decision=$(jfield "$(cat "$work/merge.json")" 'j["id"]')
[ "$(q "SELECT count(DISTINCT person_id) FROM person_handles")" = $((persons_before - 1)) ] || fail "merge should leave one person fewer"
cs persons show "$retired" | head -1 | grep -q "^$survivor " || fail "the retired id should show the survivor"

# explain names the decision and the CRM record's links, as a table and as JSON.
cs persons explain "$retired" >"$work/explain.txt" || fail "explain failed"
grep -q "decision #$decision merges" "$work/explain.txt" || fail "explain should show the merge: $(cat "$work/explain.txt")"
grep -q " lists phone:+" "$work/explain.txt" || fail "explain should show the record's phone link: $(cat "$work/explain.txt")"
cs -o json persons explain "$survivor" >"$work/explain.json"
python3 - "$work/explain.json" "$decision" <<'PY' || fail "explain JSON: $(head -c 2000 "$work/explain.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert not j["stale"], "nothing changed since the merge"
assert any(l["via"] == "decision" and l["decision"] == int(sys.argv[2]) for l in j["links"]), j["links"]
assert any(n["node"].startswith("crm_id:") and n["name"] for n in j["nodes"]), j["nodes"]
assert any(n["conversations"].get("sms") for n in j["nodes"]), j["nodes"]
assert [d["id"] for d in j["decisions"]] == [int(sys.argv[2])]
PY
check_schema explain "$work/explain.json"

# Later syncs (the simulator sends more) keep the decision; the merged-away person is deleted downstream.
sim_post "add-messages?n=30" >/dev/null
cs sync >/dev/null 2>"$work/sync2.log" || fail "second sync failed: $(tail -5 "$work/sync2.log")"
[ "$(q "SELECT count(DISTINCT person_id) FROM person_handles WHERE person_id IN ('$survivor', '$retired')")" = 1 ] \
  || fail "the merge must survive a sync"
grep "\"$retired\"" "$work/persons.ndjson" | grep -q "\"merged_into\":\"$survivor\"" \
  || fail "the NDJSON target should get a deletion of $retired, merged into $survivor"

cs persons decisions | grep -q "^#$decision  *merge .*active" || fail "decisions should list #$decision as active: $(cs persons decisions)"
persons_merged=$(q "SELECT count(DISTINCT person_id) FROM person_handles")
cs -o json persons undo "#$decision" >"$work/undo.json" 2>"$work/undo.log" || fail "undo failed: $(cat "$work/undo.log")"
check_schema decision "$work/undo.json"
[ "$(q "SELECT count(DISTINCT person_id) FROM person_handles")" = $((persons_merged + 1)) ] || fail "undo should give one person more"
[ "$(q "SELECT count(*) FROM person_handles WHERE person_id = '$retired'")" -gt 0 ] || fail "undo should give $retired its id back"
cs persons decisions -o json >"$work/decisions.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d[0]["undo_note"]=="undone" and not d[0]["active"], d' \
  "$work/decisions.json" || fail "the undone decision should stay listed, marked undone: $(cat "$work/decisions.json")"
check_schema decision "$work/decisions.json" array

# split: the CRM person's phone out; it stays out after a sync; explain shows the refusal.
phone=$(q "SELECT node FROM person_handles WHERE person_id = '$crm' AND node LIKE 'phone:%' ORDER BY node LIMIT 1")
[ -n "$phone" ] || fail "the CRM person should have a phone"
cs -o json persons split "$crm" --handle "$phone" --reason "a colleague's number" >"$work/split.json" 2>"$work/split.log" \
  || fail "split failed: $(cat "$work/split.log")"
check_schema decision "$work/split.json"
[ "$(jfield "$(cat "$work/split.json")" 'j["kind"], len(j["persons_now"])')" = "('split', 2)" ] \
  || fail "split should say where both sides are now: $(cat "$work/split.json")"
cs sync >/dev/null 2>"$work/sync3.log" || fail "third sync failed"
[ "$(q "SELECT person_id FROM person_handles WHERE node = '$phone'")" != \
  "$(q "SELECT person_id FROM person_handles WHERE node = '$crm_node'")" ] || fail "the split phone must not be back with its CRM record"
cs persons explain "$crm" | grep -q "kept apart by split decision" || fail "explain should show the split's refusal: $(cs persons explain "$crm")"

# Bad input: exit 64 naming the cause.
expect_64() {
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  [ "$rc" = 64 ] || fail "'${*:2}' should exit 64, exited $rc: $out"
  echo "$out"
}
expect_64 cs persons merge "$crm" "$crm" | grep -q "already one person" || fail "merging a person with itself"
expect_64 cs persons merge "$crm" p_0000000000000000 | grep -q 'no person "p_0000000000000000"' || fail "unknown person"
expect_64 cs persons split "$crm" --handle fax:123 | grep -q "must be KIND:VALUE" || fail "bad handle kind"
expect_64 cs persons split "$crm" | grep -q "needs --handle" || fail "split without a node"
expect_64 cs persons undo 999 | grep -q "no decision #999" || fail "unknown decision"
expect_64 cs persons undo "#$decision" | grep -q "no longer applies" || fail "undoing twice"
cs -o json persons conflicts >"$work/conflicts.json" || fail "conflicts -o json failed"
[ "$(jfield "$(cat "$work/conflicts.json")" 'len(j)')" -gt 0 ] || fail "the split should be listed as a refused union"
check_schema conflicts "$work/conflicts.json"

# erase: a dry run changes nothing; the erase removes the SMS person's data, the next sync deletes it
# on the NDJSON target and the simulator's pages (which still hold the messages) do not bring it back.
sms_phone=$(q "SELECT node FROM person_handles WHERE person_id = '$sms' AND node LIKE 'phone:%' LIMIT 1")
before=$(q "SELECT count(*) FROM messages")
cs -o json erase --handle "$sms_phone" --dry-run >"$work/dry.json" || fail "erase --dry-run failed"
[ "$(q "SELECT count(*) FROM messages")" = "$before" ] || fail "a dry run must change nothing"
n=$(jfield "$(cat "$work/dry.json")" 'j["messages"]')
[ "$n" -gt 0 ] || fail "the SMS person should have messages to erase: $(cat "$work/dry.json")"
check_schema erase "$work/dry.json"
[ "$(jfield "$(cat "$work/dry.json")" '[(u["kind"], u["target"]) for u in j["not_reached"]]')" = "[('feed', 'out')]" ] \
  || fail "erase -o json should name the append-only feed it cannot reach: $(cat "$work/dry.json")"
cs erase --person "$sms" >"$work/erase.txt" || fail "erase failed"
grep -q "the next push deletes it on out" "$work/erase.txt" || fail "erase should name the target: $(cat "$work/erase.txt")"
# out is an append-mode NDJSON feed: the person's earlier lines stay in it, and erase says so.
grep -q "out is an append-only feed (.*persons.ndjson): its earlier lines stay" "$work/erase.txt" \
  || fail "erase should say the append-only feed keeps its lines: $(cat "$work/erase.txt")"
[ "$(q "SELECT count(*) FROM messages")" = $((before - n)) ] || fail "erase should remove $n messages"
cs state reset sms >/dev/null 2>&1
cs sync >/dev/null 2>"$work/sync4.log" || fail "sync after erase failed: $(tail -5 "$work/sync4.log")"
[ "$(q "SELECT count(*) FROM conversations WHERE customer = '$sms_phone'")" = 0 ] \
  || fail "a full re-pull must not bring the erased person back"
[ "$(q "SELECT count(*) FROM person_handles WHERE person_id = '$sms' OR node = '$sms_phone'")" = 0 ] \
  || fail "the erased person must not be a person again"
tail -n 50 "$work/persons.ndjson" | grep "\"$sms\"" | grep -q '"deleted":true' \
  || fail "the NDJSON target should get a deletion of $sms"
expect_64 cs erase --person "$sms" | grep -q "no person" || fail "erasing twice"
echo "identity scenario OK"
