#!/usr/bin/env bash
# Health classes against the simulator, each asserted with its evidence and exit code: Meta rate
# limited by X-App-Usage, restricted (368), auth_failed (190/463), gone (facebook-api-version
# upgraded; api_version past its end of life in the shipped table), recovering after a failure until
# the streak, --warn-only, -o prometheus, --since transitions, --offline, the JSON schema, no colour
# off a TTY.
. "$(dirname "$0")/lib.sh"
start_sim --customers 5 --messages 20
cat >"$work/h.toml" <<TOML
[state]
path = "state.db"

[health]
recovery_checks = 3

[connectors.fb]
type = "meta-messenger"
page_id = "1000000000000001"
token_env = "META_PAGE_TOKEN"
base_url = "http://127.0.0.1:$port"

[connectors.crm]
type = "hubspot-contacts"
token_env = "HUBSPOT_TOKEN"
base_url = "http://127.0.0.1:$port"
TOML
export META_PAGE_TOKEN=sim-meta-token
hc() { "$CHANSYNC" --config "$work/h.toml" "$@"; }
validate() {
  /usr/bin/python3 -c 'import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1]+"/schemas/health.schema.json")))' \
    "$SOURCE_DIR" "$1" || fail "$1 does not match schemas/health.schema.json: $(cat "$1")"
}
# check FILE CONNECTOR CLASS SIGNAL VALUE: the connector's probe has CLASS, decided by a finding of
# SIGNAL whose value contains VALUE, and says what to do.
check() {
  python3 - "$@" <<'PY' || fail "$2 in $1: expected $3 from $4 $5: $(cat "$1")"
import json, sys
path, conn, cls, signal, value = sys.argv[1:]
c = next(c for c in json.load(open(path))["checks"] if c["connector"] == conn and c["stream"] is None)
assert c["class"] == cls, c
f = next(f for f in c["findings"] if f["class"] == cls and f["signal"] == signal)
assert value in f["value"], f
assert cls == "ok" or c["action"], c
PY
}
# run EXPECTED_CODE NAME ARGS...: health -o json into $work/NAME.json, asserting the exit code.
run() {
  local want=$1 name=$2; shift 2
  set +e; hc -o json health "$@" >"$work/$name.json" 2>"$work/$name.err"; local code=$?; set -e
  [ "$code" -eq "$want" ] || fail "$name: exit $code, expected $want: $(cat "$work/$name.json" "$work/$name.err")"
  validate "$work/$name.json"
}
fault() { sim_post fault "{\"kind\":\"$1\",\"vendor\":\"$2\",\"count\":${3:-1}}" >/dev/null; }

run 0 ok
check "$work/ok.json" fb ok "X-App-Usage call_count" "%"

fault usage meta; run 1 usage fb
check "$work/usage.json" fb rate_limited "X-App-Usage call_count" "95%"

fault restricted meta; run 2 restricted fb
check "$work/restricted.json" fb restricted "Graph error code" "368"

fault upgraded meta; run 2 upgraded fb
check "$work/upgraded.json" fb gone "facebook-api-version header" "v25.0"
# A class a team accepts counts as WARNING.
fault upgraded meta; run 1 accepted --warn-only gone restricted -- fb
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["warn_only"]==["gone","restricted"] and r["checks"][0]["severity"]=="WARNING", r' \
  "$work/accepted.json" || fail "--warn-only not applied: $(cat "$work/accepted.json")"
# A connector's name after the classes is a NAME, not a class.
fault upgraded meta; run 1 accepted_name --warn-only gone restricted fb
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["warn_only"]==["gone","restricted"] and {c["connector"] for c in r["checks"]}=={"fb"}, r' \
  "$work/accepted_name.json" || fail "--warn-only gone restricted fb: fb is a NAME: $(cat "$work/accepted_name.json")"
set +e; hc health --warn-only bogus >/dev/null 2>"$work/bogus.err"; code=$?; set -e
[ "$code" -eq 64 ] && grep -q 'not a health class' "$work/bogus.err" || fail "an unknown --warn-only class should be a usage error (64), got $code"

# Failing, then recovering for two passes, then ok on the third (recovery_checks = 3).
fault 401 meta; run 2 expired fb
check "$work/expired.json" fb auth_failed "Graph error code" "190/463"
run 1 recovering1 fb
check "$work/recovering1.json" fb recovering "recovery streak" "1 of 3"
run 1 recovering2 fb
run 0 recovered fb
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["checks"][0]; assert c["observed"]=="ok" and c["since"], c' \
  "$work/recovered.json" || fail "recovered check lacks observed/since"

# The history tells when it changed.
hc -o json health --since 1d >"$work/since.json" || fail "health --since failed"
validate "$work/since.json"
python3 - "$work/since.json" <<'PY' || fail "transitions wrong: $(cat "$work/since.json")"
import json, sys
ts = [(t["from"], t["to"]) for t in json.load(open(sys.argv[1]))["transitions"] if t["connector"] == "fb"]
for step in [(None, "ok"), ("ok", "rate_limited"), ("rate_limited", "restricted"), ("restricted", "gone"),
             ("gone", "auth_failed"), ("auth_failed", "recovering"), ("recovering", "ok")]:
    assert step in ts, (step, ts)
PY
hc health --since 1d | grep -q 'auth_failed → recovering' || fail "the --since table does not show the change"
[ "$(sqlite3 "$work/state.db" 'SELECT count(*) FROM health_runs')" -ge 9 ] || fail "health runs not stored"

# A connector pinned to an expired Graph version is gone from the shipped table.
sed -i 's|^page_id = "1000000000000001"|page_id = "1000000000000001"\napi_version = "v18.0"|' "$work/h.toml"
run 2 eol fb
check "$work/eol.json" fb gone "API version table" "v18.0"
grep -q 'reached its end of life on 2026-01-26' "$work/eol.json" || fail "no end-of-life date in $(cat "$work/eol.json")"

# Prometheus: one gauge per connector and class, 1 for the current one.
set +e; hc -o prometheus health fb >"$work/h.prom"; set -e
grep -q '^# TYPE chansync_health_class gauge$' "$work/h.prom" || fail "no TYPE line: $(cat "$work/h.prom")"
grep -q '^chansync_health_class{connector="fb",stream="",class="gone"} 1$' "$work/h.prom" || fail "no gone gauge"
grep -q '^chansync_health_class{connector="fb",stream="",class="ok"} 0$' "$work/h.prom" || fail "no ok=0 gauge"
[ "$(grep -c '^chansync_health_class{connector="fb"' "$work/h.prom")" -eq 14 ] || fail "not one gauge per class"
grep -q '^chansync_health_severity{connector="fb",stream=""} 2$' "$work/h.prom" || fail "no severity gauge"

# Colour only on a terminal: piped output has no escape codes.
set +e; hc health fb >"$work/table.txt"; set -e
! grep -q $'\033' "$work/table.txt" || fail "colour codes in piped output"
grep -q 'What to do:' "$work/table.txt" || fail "the table does not say what to do: $(cat "$work/table.txt")"

# The table needs no network: with the vendor unreachable, the end of life is still a finding.
kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true; sim_pid=""
run 2 offline fb
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["checks"][0]; assert c["class"]=="unreachable" and any(f["signal"]=="API version table" and f["class"]=="gone" for f in c["findings"]), c' \
  "$work/offline.json" || fail "the version table finding is missing when unreachable: $(cat "$work/offline.json")"
# --offline calls no vendor (none is running now) and reads no secret: the table still says gone,
# and a connector never pulled is unknown.
META_PAGE_TOKEN= HUBSPOT_TOKEN= run 2 offline_mode --offline
check "$work/offline_mode.json" fb gone "API version table" "v18.0"
check "$work/offline_mode.json" crm unknown "offline" "no recorded pull"
[ "$(sqlite3 "$work/state.db" 'SELECT offline FROM health_runs ORDER BY id DESC LIMIT 1')" = 1 ] || fail "offline run not marked"
echo "health_classes: ok"
