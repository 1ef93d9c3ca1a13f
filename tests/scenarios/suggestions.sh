#!/usr/bin/env bash
# Identity suggestions through the real binary: a CSV export holds one of the simulated CRM customers
# again, the name transliterated, two digits of the number swapped and the address with a +tag; reconcile keeps them apart,
# `persons suggestions` pairs them with the evidence (table and JSON against its schema), the merge
# command it prints joins them; [identity] auto_merge_above merges such a pair as a decision that
# `persons undo` reverses for good; a bad threshold exits 78 naming the key.
. "$(dirname "$0")/lib.sh"
start_sim --customers 20 --messages 10
db="$work/state.db"
q() { sqlite3 "$db" "$1"; }
cs sync >/dev/null 2>"$work/sync1.log" || fail "sync failed: $(tail -5 "$work/sync1.log")"

# A CRM customer with an umlaut in the name and a mobile number.
row=$(q "SELECT c.id, c.first_name, c.last_name, substr(p.node, 7), substr(e.node, 7) FROM contacts c
         JOIN person_handles r ON r.node = 'crm_id:crm/' || c.id
         JOIN person_handles p ON p.person_id = r.person_id AND p.node LIKE 'phone:+4915%'
         JOIN person_handles e ON e.person_id = r.person_id AND e.node LIKE 'email:%'
         WHERE c.last_name GLOB '*[üöä]*' AND substr(p.node, -1) != substr(p.node, -2, 1) ORDER BY c.id LIMIT 1")
[ -n "$row" ] || fail "the simulator should have a CRM customer with an umlaut and a mobile number"
IFS='|' read -r crm_id first last phone email <<<"$row"
crm=$(q "SELECT person_id FROM person_handles WHERE node = 'crm_id:crm/$crm_id'")
folded_last=$(python3 -c 'import sys; print(sys.argv[1].replace("ü","ue").replace("ö","oe").replace("ä","ae"))' "$last")
swapped=$(python3 -c 'import sys; p=sys.argv[1]; print(p[:-2] + p[-1] + p[-2])' "$phone")
[ "$swapped" != "$phone" ] || fail "pick a number whose last two digits differ: $phone"
cat >"$work/shop.csv" <<CSV
Kundennummer,Vorname,Nachname,Telefon,E-Mail
K-1,$first,$folded_last,$swapped,${email%@*}+shop@${email#*@}
K-2,Zacharias,Quellhorst,+49 176 99887766,zq@example.net
CSV
cat >>"$work/sync.toml" <<'TOML'

[connectors.shop]
type = "csv-contacts"
path = "shop.csv"
columns = { id = "Kundennummer", first_name = "Vorname", last_name = "Nachname", phone = "Telefon", email = "E-Mail" }
TOML
cs sync >/dev/null 2>"$work/sync2.log" || fail "sync with the CSV failed: $(tail -5 "$work/sync2.log")"
shop=$(q "SELECT person_id FROM person_handles WHERE node = 'crm_id:shop/K-1'")
[ -n "$shop" ] && [ "$shop" != "$crm" ] || fail "reconcile must keep $first $folded_last apart from $first $last"

cs persons suggestions --min-score 0.5 >"$work/sugg.txt" 2>"$work/sugg.log" || fail "suggestions failed: $(cat "$work/sugg.log")"
head -1 "$work/sugg.txt" | grep -Eq "^0\.[0-9]{4}  ($crm \+ $shop|$shop \+ $crm)   chansync persons merge " \
  || fail "the pair should be the first suggestion: $(cat "$work/sugg.txt")"
grep -q "name  *close .*$first $last / $first $folded_last\|name  *close .*$first $folded_last / $first $last" "$work/sugg.txt" \
  || fail "the waterfall should show the names: $(cat "$work/sugg.txt")"
grep -q "phone  *close " "$work/sugg.txt" || fail "the waterfall should show the near-miss number: $(cat "$work/sugg.txt")"
grep -q "email  *close .*+shop@" "$work/sugg.txt" || fail "the waterfall should show the tagged address: $(cat "$work/sugg.txt")"
grep -q "Karl Weber" "$work/sugg.txt" && fail "a household (one address, one family name) is not one person: $(cat "$work/sugg.txt")"
grep -q "1 suggestion.* from [0-9]* candidate pairs of 2[0-9] persons" "$work/sugg.log" || fail "summary: $(cat "$work/sugg.log")"
cs -o json persons suggestions --min-score 0.5 >"$work/sugg.json" || fail "suggestions JSON failed"
/usr/bin/python3 - "$SOURCE_DIR" "$work/sugg.json" "$crm" "$shop" <<'PY' || fail "suggestions JSON: $(head -c 3000 "$work/sugg.json")"
import json, sys, math, jsonschema
j = json.load(open(sys.argv[2]))
jsonschema.validate(j, json.load(open(sys.argv[1] + "/schemas/suggestions.schema.json")))
s = j["suggestions"][0]
assert sorted(s["persons"]) == sorted(sys.argv[3:5]), s
assert abs(s["prior_weight"] + sum(f["weight"] for f in s["fields"]) - s["weight"]) < 1e-9, s
assert abs(1 / (1 + 2 ** -s["weight"]) - s["probability"]) < 1e-9, s
assert {f["field"]: f["level"] for f in s["fields"]} == {"name": "close", "phone": "close", "email": "close"}, s["fields"]
assert 0 < j["model"]["prior"] < 0.1 and not j["stale"], j["model"]
PY
# --limit keeps the most probable; a threshold nobody reaches lists nothing and still exits 0.
[ "$(cs persons suggestions --min-score 0.5 --limit 1 2>/dev/null | grep -c 'chansync persons merge')" = 1 ] || fail "--limit 1"
[ -z "$(cs persons suggestions --min-score 1 2>/dev/null)" ] || fail "nothing is certain"

# The printed command accepts it.
eval "$(head -1 "$work/sugg.txt" | sed 's/.*   chansync/cs/')" >/dev/null 2>&1 || fail "the printed merge command failed"
[ "$(q "SELECT person_id FROM person_handles WHERE node = 'crm_id:shop/K-1'")" = \
  "$(q "SELECT person_id FROM person_handles WHERE node = 'crm_id:crm/$crm_id'")" ] || fail "the merge should join them"
cs persons undo 1 >/dev/null 2>&1 || fail "undo failed"

# auto_merge_above: the next sync merges the pair as a decision naming the probability...
sed -i 's/^default_region = "DE"$/default_region = "DE"\nauto_merge_above = 0.5/' "$work/sync.toml"
cs -o json sync >"$work/sync3.json" 2>"$work/sync3.log" || fail "sync with auto_merge_above failed: $(tail -5 "$work/sync3.log")"
# ...except that the first pair was merged and undone by a person: that stays their call.
[ "$(jfield "$(cat "$work/sync3.json")" 'j["reconcile"]["auto_merged"]')" = 0 ] \
  || fail "a pair a person un-merged must not be merged again: $(cat "$work/sync3.json")"
# A fresh store: the pair merges by itself; undone, it stays apart through later syncs.
rm -f "$db"
cs -o json sync >"$work/sync4.json" 2>"$work/sync4.log" || fail "fresh sync failed: $(tail -5 "$work/sync4.log")"
[ "$(jfield "$(cat "$work/sync4.json")" 'j["reconcile"]["auto_merged"]')" = 1 ] \
  || fail "auto_merge_above should merge the pair: $(cat "$work/sync4.json")"
grep -q "merged p_[0-9a-f]* and p_[0-9a-f]* (decision #1): match probability 0\.[0-9]*; \`chansync persons undo 1\` reverses it" \
  "$work/sync4.log" || fail "the log should say what merged and how to undo it: $(cat "$work/sync4.log")"
cs persons decisions | grep -q "^#1  *merge .*auto_merge_above 0.5" || fail "decisions: $(cs persons decisions)"
cs persons undo 1 >/dev/null 2>&1 || fail "undo of the automatic merge failed"
cs -o json sync >"$work/sync5.json" 2>/dev/null || fail "sync after undo failed"
[ "$(jfield "$(cat "$work/sync5.json")" 'j["reconcile"]["auto_merged"]')" = 0 ] || fail "an undone automatic merge must stay undone"
[ "$(q "SELECT person_id FROM person_handles WHERE node = 'crm_id:shop/K-1'")" != \
  "$(q "SELECT person_id FROM person_handles WHERE node = 'crm_id:crm/$crm_id'")" ] || fail "the pair should be apart"

# A threshold that is not a probability above 0.5: exit 78 naming the key and what it takes.
sed -i 's/^auto_merge_above = 0.5$/auto_merge_above = 1.5/' "$work/sync.toml"
rc=0
out=$(cs config check 2>&1) || rc=$?
[ "$rc" = 78 ] && grep -q "identity.auto_merge_above must be a match probability between 0.5 and 1" <<<"$out" \
  || fail "a bad auto_merge_above should exit 78 naming it, exited $rc: $out"
echo "suggestions scenario OK"
