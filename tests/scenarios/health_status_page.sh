#!/usr/bin/env bash
# The vendor status page (Atlassian Statuspage /api/v2/summary.json, served by the simulator) in
# `chansync health`: a watched component in outage → outage (exit 2), degraded → degraded (exit 1),
# maintenance → degraded; a page that answers HTML or broken JSON is an unknown finding for that
# signal while the connector stays ok (exit 0); the page's indicator decides when no component is
# named, an outage then only a warning; --offline and a default page behind an overridden base_url fetch nothing.
. "$(dirname "$0")/lib.sh"
start_sim --customers 3 --messages 6
printf '\n[health]\nrecovery_checks = 1\n' >>"$work/sync.toml"
fault() { sim_post fault "{\"kind\":\"$1\",\"vendor\":\"statuspage\",\"count\":${2:-1}}" >/dev/null; }
# check FILE CONNECTOR CLASS FINDING_CLASS VALUE [DETAIL]: the connector's probe has CLASS and a
# "status page" finding of FINDING_CLASS whose value is VALUE and whose detail contains DETAIL.
check() {
  python3 - "$@" <<'PY' || fail "$2 in $1: expected $3 with a status page finding $4 $5: $(cat "$1")"
import json, sys
path, conn, cls, fcls, value = sys.argv[1:6]
detail = sys.argv[6] if len(sys.argv) > 6 else ""
c = next(c for c in json.load(open(path))["checks"] if c["connector"] == conn and c["stream"] is None)
assert c["class"] == cls, c
f = next(f for f in c["findings"] if f["signal"] == "status page")
assert f["class"] == fcls and f["value"] == value and detail in f["detail"], f
assert cls == "ok" or c["action"], c
PY
}
requests() { jfield "$(sim_stats)" 'j["status_page_requests"]'; }

health_run 0 ok sms crm
check "$work/ok.json" sms ok ok "SMS: operational"
check "$work/ok.json" crm ok ok "CRM: operational"
# Two connectors on one page: it is read once per run.
[ "$(requests)" -eq 1 ] || fail "the status page was read $(requests) times for one run, expected once"

fault outage; health_run 2 outage sms crm
check "$work/outage.json" sms outage outage "SMS: major_outage" '"SMS delivery delayed in all regions" (investigating)'
check "$work/outage.json" crm ok ok "CRM: operational"
grep -q 'https://status.sim.invalid' "$work/outage.json" || fail "the action does not name the status page to follow"

fault degraded; health_run 1 degraded sms
check "$work/degraded.json" sms degraded degraded "SMS: degraded_performance" "Increased SMS API latency"

fault maintenance; health_run 1 maintenance crm
check "$work/maintenance.json" crm degraded degraded "CRM: under_maintenance" "indicator maintenance"

# An HTML page is not a Statuspage summary: unknown for that signal, the connector stays ok.
fault html; health_run 0 html sms
check "$work/html.json" sms ok unknown "HTML" "status page not checked"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["checks"][0]; assert "status page not checked" in c["summary"], c' \
  "$work/html.json" || fail "the summary does not say the status page was not checked: $(cat "$work/html.json")"
fault html
cs health sms | grep -q 'status page not checked' || fail "the table does not say the status page was not checked"

fault invalid; health_run 0 invalid sms
check "$work/invalid.json" sms ok unknown "invalid JSON" "is not JSON"
fault 500; health_run 0 server_error sms
check "$work/server_error.json" sms ok unknown "HTTP 500"

# No component named: the page's indicator speaks for every product, so an outage anywhere is a
# warning saying it may be another product's (the probe answering 200 says this one works).
sed -i '0,/^status_components = \["SMS"\]$/s//status_components = []/' "$work/sync.toml"
fault voice_outage; health_run 1 indicator sms
check "$work/indicator.json" sms degraded degraded "major" "may be another of its products"
# Named components: another component's outage is not this connector's.
sed -i '0,/^status_components = \[\]$/s//status_components = ["SMS"]/' "$work/sync.toml"
fault voice_outage; health_run 0 other_component sms
check "$work/other_component.json" sms ok ok "SMS: operational" "indicator major"

# A component the page does not list is a mistake to fix, not ok.
sed -i '0,/^status_components = \["SMS"\]$/s//status_components = ["Fax"]/' "$work/sync.toml"
health_run 0 no_component sms
check "$work/no_component.json" sms ok unknown "Fax" 'lists no component "Fax"'

# A password in status_page is refused as a secret inline (exit 78), without repeating it.
sed -i '0,/^status_page = "http:\/\//s//status_page = "http:\/\/watch:sp-secret-31@/' "$work/sync.toml"
grep -q 'watch:sp-secret-31@' "$work/sync.toml" || fail "the test did not put credentials in status_page"
set +e; cs health sms >"$work/credentials.out" 2>"$work/credentials.err"; code=$?; set -e
[ "$code" -eq 78 ] || fail "a password in status_page: exit $code, expected 78: $(cat "$work/credentials.err")"
grep -q 'status_page holds credentials in its URL' "$work/credentials.err" ||
  fail "the refusal does not name the key: $(cat "$work/credentials.err")"
if grep -q 'sp-secret-31' "$work/credentials.out" "$work/credentials.err"; then fail "the password was shown"; fi
sed -i 's/watch:sp-secret-31@//' "$work/sync.toml"

# --offline calls no vendor, the status page included.
before=$(requests)
cs pull sms >/dev/null 2>&1 || fail "pull failed"
fault outage 5; health_run 0 offline --offline sms
[ "$(requests)" -eq "$before" ] || fail "--offline read the status page"
sim_post fault '{"kind":"clear"}' >/dev/null

# The default page (https://status.twilio.com) is the vendor's word on the vendor's servers: with
# base_url pointing elsewhere (here the simulator) it is not read, so this test stays off the internet.
sed -i '0,/^status_page = .*$/s///' "$work/sync.toml"
cs config show --origin | grep -q 'connectors.sms.status_page.*https://status.twilio.com.*default' ||
  fail "no default status page for twilio-messaging: $(cs config show --origin)"
health_run 0 default_page sms
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["checks"][0]; assert not any(f["signal"]=="status page" for f in c["findings"]), c' \
  "$work/default_page.json" || fail "the default status page was read behind an overridden base_url: $(cat "$work/default_page.json")"
echo "health_status_page: ok"
