#!/usr/bin/env bash
# The simulator's enforced rate limits (chansync-sim --enforce-limits), checked by their headers and
# refusals, with windows long enough that nothing here depends on timing: HubSpot's rolling window
# (X-HubSpot-RateLimit-* counting down, then a 429 with policyName TEN_SECONDLY_ROLLING), its search
# limit (no rate headers, a 429 with policyName SECONDLY), Twilio's concurrency cap (a held request
# fills it: 429 with code 20429), Meta's app usage (X-App-Usage rising per call, Graph error 4 at 100%
# with the minutes to regain access), all counted in /_sim/stats; and chansync's Meta pull stopping
# before Graph refuses it.
. "$(dirname "$0")/lib.sh"
start_sim --customers 30 --messages 200 --enforce-limits --hubspot-max 3 --hubspot-interval-ms 600000 \
  --hubspot-search-per-second 1 --hubspot-search-interval-ms 600000 --twilio-concurrency 1 \
  --meta-calls 2 --meta-window-ms 600000
base="http://127.0.0.1:$port"
hs=(-sS -H "Authorization: Bearer sim-hubspot-token" -D "$work/h" -o "$work/b" -w '%{http_code}')
header() { tr -d '\r' <"$work/h" | awk -F': ' -v n="$1" 'tolower($1) == tolower(n) { print $2 }'; }

# Search: one a (long) second, and no rate-limit headers.
code=$(curl "${hs[@]}" -H 'Content-Type: application/json' -d '{"limit":10}' "$base/crm/v3/objects/contacts/search")
[ "$code" = 200 ] || fail "first search: HTTP $code $(cat "$work/b")"
[ -z "$(header X-HubSpot-RateLimit-Max)" ] || fail "a search answer carries X-HubSpot-RateLimit-Max"
code=$(curl "${hs[@]}" -H 'Content-Type: application/json' -d '{"limit":10}' "$base/crm/v3/objects/contacts/search")
[ "$code" = 429 ] || fail "second search in the window: HTTP $code, expected 429"
jfield "$(cat "$work/b")" 'j["policyName"] == "SECONDLY" and j["errorType"] == "RATE_LIMIT" and j["status"] == "error"' \
  | grep -qx True || fail "search 429 body is not HubSpot's: $(cat "$work/b")"

# The rolling window: the accepted search used one of three; two lists count down to 0, then a 429.
for left in 1 0; do
  code=$(curl "${hs[@]}" "$base/crm/v3/objects/contacts?limit=5")
  [ "$code" = 200 ] || fail "list with $left left after it: HTTP $code $(cat "$work/b")"
  [ "$(header X-HubSpot-RateLimit-Max)" = 3 ] || fail "X-HubSpot-RateLimit-Max $(header X-HubSpot-RateLimit-Max), expected 3"
  [ "$(header X-HubSpot-RateLimit-Remaining)" = "$left" ] ||
    fail "X-HubSpot-RateLimit-Remaining $(header X-HubSpot-RateLimit-Remaining), expected $left"
  [ "$(header X-HubSpot-RateLimit-Interval-Milliseconds)" = 600000 ] || fail "interval header $(header X-HubSpot-RateLimit-Interval-Milliseconds)"
  [ -n "$(header X-HubSpot-RateLimit-Daily-Remaining)" ] || fail "no X-HubSpot-RateLimit-Daily-Remaining"
done
code=$(curl "${hs[@]}" "$base/crm/v3/objects/contacts?limit=5")
[ "$code" = 429 ] || fail "fourth request in the window: HTTP $code, expected 429"
[ "$(header X-HubSpot-RateLimit-Remaining)" = 0 ] || fail "a refusal says Remaining $(header X-HubSpot-RateLimit-Remaining)"
jfield "$(cat "$work/b")" 'j["policyName"] == "TEN_SECONDLY_ROLLING" and "ten_secondly_rolling" in j["message"]' \
  | grep -qx True || fail "rolling-window 429 body is not HubSpot's: $(cat "$work/b")"

# Twilio: a held page fills the cap of one; the next request is refused with 20429.
sid=AC00000000000000000000000000000000
sim_post hold '{"vendor":"twilio","page":0}' >/dev/null
curl -sS -u "$sid:sim-twilio-token" -o /dev/null "$base/2010-04-01/Accounts/$sid/Messages.json?PageSize=5" &
held=$!
bg_pids="$bg_pids $held"
for _ in $(seq 200); do [ "$(jfield "$(sim_stats)" 'j["held"]')" = True ] && break; sleep 0.05; done
code=$(curl -sS -u "$sid:sim-twilio-token" -o "$work/b" -w '%{http_code}' "$base/2010-04-01/Accounts/$sid.json")
[ "$code" = 429 ] || fail "a request over Twilio's concurrency cap: HTTP $code, expected 429"
jfield "$(cat "$work/b")" 'j["code"] == 20429 and j["status"] == 429' | grep -qx True || fail "Twilio 429 body: $(cat "$work/b")"
sim_post release >/dev/null
wait "$held"
code=$(curl -sS -u "$sid:sim-twilio-token" -o /dev/null -w '%{http_code}' "$base/2010-04-01/Accounts/$sid.json")
[ "$code" = 200 ] || fail "after the held request ended, Twilio still refuses: HTTP $code"

# Meta: two calls allowed per window; usage rises 50, 100, then Graph error 4 and 10 minutes to regain.
mg=(-sS -H "Authorization: Bearer sim-meta-token" -D "$work/h" -o "$work/b" -w '%{http_code}')
for pct in 50 100; do
  code=$(curl "${mg[@]}" "$base/v23.0/1000000000000001?fields=id,name")
  [ "$code" = 200 ] || fail "Meta call at $pct%: HTTP $code $(cat "$work/b")"
  jfield "$(header X-App-Usage)" "j['call_count'] == $pct" | grep -qx True || fail "X-App-Usage $(header X-App-Usage), expected $pct"
done
code=$(curl "${mg[@]}" "$base/v23.0/1000000000000001?fields=id,name")
[ "$code" = 400 ] || fail "Meta over its usage: HTTP $code, expected 400"
jfield "$(cat "$work/b")" 'j["error"]["code"] == 4' | grep -qx True || fail "Meta refusal body: $(cat "$work/b")"
jfield "$(header X-Business-Use-Case-Usage)" 'j["0"][0]["estimated_time_to_regain_access"] == 10' | grep -qx True ||
  fail "X-Business-Use-Case-Usage $(header X-Business-Use-Case-Usage), expected 10 minutes to regain access"

# Every refusal is counted, per limit.
python3 - "$(sim_stats)" <<'PY' || fail "refusals miscounted: $(sim_stats)"
import json, sys
l = json.loads(sys.argv[1])["limits"]
assert l["enforced"]
assert (l["hubspot"]["accepted"], l["hubspot"]["refused"]) == (3, 2), l["hubspot"]  # the refused search counts too
assert (l["hubspot_search"]["accepted"], l["hubspot_search"]["refused"]) == (1, 1), l["hubspot_search"]
assert l["twilio"]["refused"] == 1 and l["twilio"]["peak_in_flight"] == 1, l["twilio"]
assert (l["meta"]["accepted"], l["meta"]["refused"]) == (2, 1), l["meta"]
assert l["hubspot"]["allowed_per_second"] == 3 / 600, l["hubspot"]
PY

# chansync reads the usage: with Meta at 100% after its second call (of four pages), the pull stops (exit 75) before
# sending a third, saying when to run again; Graph refused nothing more.
kill "$sim_pid" && wait "$sim_pid" 2>/dev/null || true
rm -f "$work/port"
start_sim --customers 300 --messages 200 --enforce-limits --meta-calls 2 --meta-window-ms 600000
export META_PAGE_TOKEN=sim-meta-token
cat >"$work/meta.toml" <<TOML
[state]
path = "state.db"

[connectors.fb]
type = "meta-messenger"
page_id = "1000000000000001"
token_env = "META_PAGE_TOKEN"
base_url = "http://127.0.0.1:$port"
TOML
rc=0
"$CHANSYNC" --config "$work/meta.toml" pull fb >/dev/null 2>"$work/meta.err" || rc=$?
[ "$rc" = 75 ] || fail "Meta pull at 100% usage exited $rc, expected 75: $(cat "$work/meta.err")"
grep -q "100% of the app's rate limit used" "$work/meta.err" || fail "the stop does not say why: $(cat "$work/meta.err")"
python3 - "$(sim_stats)" <<'PY' || fail "chansync was refused by Meta: $(sim_stats)"
import json, sys
m = json.loads(sys.argv[1])["limits"]["meta"]
assert (m["accepted"], m["refused"]) == (2, 0), m
PY
# Two connectors on one HubSpot token share its limit (HubSpot's is per token): pulled at once, neither
# is refused after the first window. Each pacing alone at 97% of the limit, they asked for twice it.
kill "$sim_pid" && wait "$sim_pid" 2>/dev/null || true
rm -f "$work/port"
start_sim --customers 6000 --messages 10 --enforce-limits --hubspot-max 20 --hubspot-interval-ms 1000
export HUBSPOT_TOKEN=sim-hubspot-token
cat >"$work/two.toml" <<TOML
[state]
path = "two.db"

[connectors.crm_a]
type = "hubspot-contacts"
token_env = "HUBSPOT_TOKEN"
base_url = "http://127.0.0.1:$port"

[connectors.crm_b]
type = "hubspot-contacts"
token_env = "HUBSPOT_TOKEN"
base_url = "http://127.0.0.1:$port/"
TOML
"$CHANSYNC" --config "$work/two.toml" pull crm_a crm_b >"$work/two.out" 2>"$work/two.err" ||
  fail "two connectors on one token: $(cat "$work/two.err")"
python3 - "$(sim_stats)" <<'PY' || fail "two connectors on one token were refused by HubSpot: $(sim_stats)"
import json, sys
h = json.loads(sys.argv[1])["limits"]["hubspot"]
assert h["accepted"] >= 60, h  # long enough to span several windows
assert h["refused_after_first_window"] == 0, h
PY
echo "limits: ok"
