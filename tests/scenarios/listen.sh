#!/usr/bin/env bash
# `chansync listen` as users run it: the subscribe handshake; signed webhooks acknowledged only once
# fsynced, so kill -9 right after a batch of 200 acknowledgements loses none; SIGTERM finishes what is
# in flight and exits 0; `sync` drains the spool while listen keeps running (separate locks); a
# person who texted by SMS and wrote on WhatsApp is one person with one ordered timeline; `ingest`
# replays captured payloads without duplicates. No secret appears in any output.
. "$(dirname "$0")/lib.sh"
export WA_APP_SECRET="wa-app-secret-scenario-9f8e7d" WA_VERIFY_TOKEN="wa-verify-token-scenario-1a2b" \
  WA_TOKEN="wa-access-token-scenario-5c6d" SIM_APP_SECRET="wa-app-secret-scenario-9f8e7d" \
  META_PAGE_TOKEN="sim-meta-token"
start_sim --customers 10 --messages 60
# The simulator's SMS and CRM connectors (start_sim wrote them), plus the webhook receivers.
cat >>"$work/sync.toml" <<TOML

[listen]
address = "127.0.0.1:0"
spool_dir = "spool"

[connectors.wa]
type = "whatsapp-cloud"
phone_number_id = "106540352242922"
token_env = "WA_TOKEN"
app_secret_env = "WA_APP_SECRET"
verify_token_env = "WA_VERIFY_TOKEN"
base_url = "http://127.0.0.1:$port"

# Messenger history from the simulator's Graph, and Messenger webhooks through listen.
[connectors.fb]
type = "meta-messenger"
page_id = "1000000000000001"
token_env = "META_PAGE_TOKEN"
app_secret_env = "WA_APP_SECRET"
base_url = "http://127.0.0.1:$port"

# Payloads captured elsewhere are ingested here (same phone number id: another receiver's log).
[connectors.wa2]
type = "whatsapp-cloud"
phone_number_id = "106540352242922"
app_secret_env = "WA_APP_SECRET"

TOML
out="$work/out.txt"
: >"$out"
listen_pid=""
start_listen() {
  : >"$work/listen.addr"
  "$CHANSYNC" --config "$work/sync.toml" -vv listen >"$work/listen.addr" 2>>"$work/listen.log" &
  listen_pid=$!
  bg_pids="$bg_pids $listen_pid"
  for _ in $(seq 200); do [ -s "$work/listen.addr" ] && break; sleep 0.05; done
  addr=$(head -1 "$work/listen.addr")
  [ -n "$addr" ] || fail "listen printed no address: $(tail -5 "$work/listen.log")"
}
post() {  # post FIRST COUNT [CONCURRENCY]
  "$CHANSYNC_SIM" post-webhooks --url "http://$addr/webhooks/wa" --customers 10 --first "$1" --count "$2" \
    --concurrency "${3:-16}"
}
wa_messages() { sqlite3 "$work/state.db" "SELECT count(*) FROM messages WHERE connector='wa'"; }

start_listen
# The handshake Meta's dashboard makes when the webhook is subscribed.
[ "$(curl -fsS "http://$addr/webhooks/wa?hub.mode=subscribe&hub.verify_token=$WA_VERIFY_TOKEN&hub.challenge=8675309")" = 8675309 ] \
  || fail "the handshake should answer the challenge"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/webhooks/wa?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1")" = 403 ] \
  || fail "a wrong verify token should get 403"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{"object":"whatsapp_business_account"}' "http://$addr/webhooks/wa")" = 401 ] \
  || fail "an unsigned POST should get 401"

# 200 acknowledged webhooks, then kill -9 at once: every one of them is in the spool.
report=$(post 0 200) || fail "not every webhook was acknowledged: $report"
[ "$(jfield "$report" 'j["acked"]')" = 200 ] || fail "expected 200 acks: $report"
kill -9 "$listen_pid"
wait "$listen_pid" 2>/dev/null || true
cs pull wa >>"$out" 2>&1 || fail "pull of the spool failed: $(tail -5 "$out")"
# 180 messages and 20 delivery receipts for messages WhatsApp never sent us (stored as outbound).
[ "$(wa_messages)" = 200 ] || fail "expected all 200 acknowledged webhooks after kill -9, got $(wa_messages)"
[ "$(sqlite3 "$work/state.db" "SELECT count(*) FROM messages WHERE connector='wa' AND status='delivered' AND direction='outbound'")" = 20 ] \
  || fail "every 10th webhook is a delivery receipt"
[ -z "$(find "$work/spool/wa" -name '*.spool' -size +0 | tail -n +2)" ] || fail "drained segments should be deleted"

# listen runs while cron's sync runs: no lock between them.
start_listen
post 200 100 >/dev/null || fail "second batch not acknowledged"
cs health wa >"$work/health.txt" 2>&1 || true
grep -q "KiB of webhooks wait in the spool" "$work/health.txt" || fail "health should show the spool's backlog: $(cat "$work/health.txt")"
cs sync >>"$out" 2>&1 || fail "sync beside listen failed: $(tail -5 "$out")"
[ "$(wa_messages)" = 300 ] || fail "sync should have drained the second batch, got $(wa_messages)"

# SIGTERM while webhooks are arriving: what was acknowledged is kept; exit 0.
spooled() { find "$work/spool/wa" -name '*.spool' -printf '%s\n' | awk '{n += $1} END {print n + 0}'; }
before=$(spooled)
post 300 2000 4 >"$work/term.json" &
poster=$!
# Once the spool has grown, webhooks are arriving (however slow the machine or the build).
for _ in $(seq 600); do [ "$(spooled)" -gt "$before" ] && break; sleep 0.05; done
kill -TERM "$listen_pid"
wait "$listen_pid" || fail "listen should exit 0 on SIGTERM"
wait "$poster" || true
acked=$(jfield "$(cat "$work/term.json")" 'j["acked"]')
[ "$acked" -gt 0 ] || fail "some webhooks should have been acknowledged before SIGTERM"
grep -q "stopped on" "$work/listen.log" || fail "listen should log why it stopped"
cs pull wa >>"$out" 2>&1 || fail "pull after SIGTERM failed"
[ "$(wa_messages)" = $((300 + acked)) ] || fail "expected $((300 + acked)) messages (every ack kept), got $(wa_messages)"

# A client sending its request slowly holds SIGTERM's wait for the requests in flight; a second
# SIGTERM does not wait (nothing in flight was acknowledged) and exits 143.
start_listen
python3 - "$addr" "$work/slow.started" <<'PY' &
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)))
s.sendall(b"POST /webhooks/wa HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{")
open(sys.argv[2], "w").write("1")
for _ in range(60):  # one byte every 2 s: each read is within httplib's 5 s timeout
    time.sleep(2)
    try:
        s.sendall(b" ")
    except OSError:
        break
PY
slow=$!
bg_pids="$bg_pids $slow"
for _ in $(seq 100); do [ -s "$work/slow.started" ] && break; sleep 0.05; done
sleep 0.5
kill -TERM "$listen_pid"
sleep 1
kill -0 "$listen_pid" 2>/dev/null || fail "listen should still wait for the slow request after one SIGTERM"
kill -TERM "$listen_pid"
for _ in $(seq 60); do kill -0 "$listen_pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$listen_pid" 2>/dev/null && fail "a second SIGTERM should end listen at once"
code=0
wait "$listen_pid" || code=$?
[ "$code" -eq 143 ] || fail "listen ended by a second SIGTERM exited $code, not 143"
grep -q "a second signal: exiting without waiting" "$work/listen.log" || fail "the second signal is not logged"
kill "$slow" 2>/dev/null || true

# Messenger webhooks land in the fb connector's webhooks stream, beside its Graph history.
start_listen
"$CHANSYNC_SIM" post-webhooks --kind messenger --url "http://$addr/webhooks/fb" --customers 10 --count 30 >/dev/null \
  || fail "Messenger webhooks not acknowledged"
# SIGHUP (a closed terminal, a "reload" sent by habit) stops listen as SIGTERM does: exit 0, logged.
kill -HUP "$listen_pid"
wait "$listen_pid" || fail "listen should exit 0 on SIGHUP"
tail -1 "$work/listen.log" | grep -q "stopped on Hangup" || fail "listen should log the SIGHUP: $(tail -2 "$work/listen.log")"
cs pull fb >>"$out" 2>&1 || fail "pull fb failed: $(tail -5 "$out")"
[ "$(sqlite3 "$work/state.db" "SELECT count(*) FROM messages WHERE connector='fb' AND id LIKE 'm_SIM%' AND channel='messenger'")" = 30 ] \
  || fail "expected the 30 Messenger webhooks as messages"

# One person: the SMS sender and the WhatsApp sender with the same number.
cs reconcile >>"$out" 2>&1
both=$(sqlite3 "$work/state.db" "SELECT count(DISTINCT ph.person_id) FROM person_handles ph
  WHERE ph.node IN (SELECT customer FROM conversations WHERE connector='wa')
    AND ph.person_id IN (SELECT ph2.person_id FROM person_handles ph2 JOIN conversations c ON c.customer = ph2.node WHERE c.connector='sms')")
[ "$both" -gt 0 ] || fail "a WhatsApp sender who also texted should be one person with their SMS"
cs push >>"$out" 2>&1 || fail "push failed"
python3 - "$work/persons.ndjson" <<'PY' || fail "no pushed person has an ordered SMS + WhatsApp timeline"
import json, sys
for line in open(sys.argv[1]):
    p = json.loads(line)
    chans = {m["channel"] for m in p["messages"]}
    times = [m["sent_at"] for m in p["messages"]]
    if {"sms", "whatsapp"} <= chans and times == sorted(times):
        sys.exit(0)
sys.exit(1)
PY

# ingest: the same payloads captured by another receiver, into a second connector; twice, no duplicates.
python3 - >"$work/captured.ndjson" <<'PY'
import json
for n in range(50):
    wa = "4915%08d" % n
    print(json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "4930123456", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Captured %d" % n}, "wa_id": wa}],
        "messages": [{"from": wa, "id": "wamid.CAPTURED%d" % n, "timestamp": str(1780000000 + n), "type": "text", "text": {"body": "captured %d" % n}}]}}]}]}))
print("this line is not a payload")
PY
cs -o json ingest wa2 "$work/captured.ndjson" >"$work/ingest1.json" 2>>"$out" \
  || fail "ingest failed: $(tail -3 "$out")"
[ "$(jfield "$(cat "$work/ingest1.json")" 'j["pull"][0]["written"]')" = 50 ] || fail "ingest should write 50: $(cat "$work/ingest1.json")"
[ "$(jfield "$(cat "$work/ingest1.json")" 'j["pull"][0]["rejected"]')" = 1 ] || fail "the bad line should be a dead letter"
cs -o json ingest wa2 - <"$work/captured.ndjson" >"$work/ingest2.json" 2>>"$out"
[ "$(jfield "$(cat "$work/ingest2.json")" 'j["pull"][0]["written"]')" = 0 ] || fail "ingesting again should write nothing"
check_schema run-report "$work/ingest2.json"
# The bad line is a dead letter, shown with its raw bytes; a mistyped connector is an error, not "none".
cs -o json state dead-letters wa2 >"$work/dead.json" 2>>"$out" || fail "state dead-letters failed: $(tail -3 "$out")"
check_schema dead-letter "$work/dead.json" array
[ "$(jfield "$(cat "$work/dead.json")" 'len(j)')" = 1 ] || fail "one dead letter expected: $(cat "$work/dead.json")"
[ "$(jfield "$(cat "$work/dead.json")" 'j[0]["raw"]')" = "this line is not a payload" ] \
  || fail "the dead letter should carry the line as it arrived: $(cat "$work/dead.json")"
cs state dead-letters --limit 5 | grep -q "^.*wa2/" || fail "state dead-letters' table does not list wa2's"
code=0
cs state dead-letters wa3 2>"$work/dead_typo.err" || code=$?
[ "$code" -eq 64 ] && grep -q 'no connector named "wa3"' "$work/dead_typo.err" \
  || fail "state dead-letters of an unknown connector should exit 64 naming it, exited $code: $(cat "$work/dead_typo.err")"
code=0
cs ingest wa2 "$work" 2>"$work/ingest_dir.err" || code=$?
[ "$code" -eq 64 ] && grep -q "is a directory" "$work/ingest_dir.err" \
  || fail "ingest of a directory should exit 64 saying so, exited $code: $(cat "$work/ingest_dir.err")"
# A line far longer than a webhook (a capture without line breaks) is a dead letter with its length;
# it is read past, not held, and the payloads around it are stored.
python3 - "$work/captured.ndjson" >"$work/long.ndjson" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
print(lines[0].replace("wamid.CAPTURED0", "wamid.BEFORE_LONG"))
print("x" * (5 << 20))
print(lines[1].replace("wamid.CAPTURED1", "wamid.AFTER_LONG"))
# A payload of exactly 4 MiB (the most listen accepts) ending in CRLF: its CR is no part of it.
base = lines[2].replace("wamid.CAPTURED2", "wamid.FOUR_MIB")
one = base.replace("captured 2", "x" * (4194304 - len(base)) + "captured 2")
assert len(one) == 4194304
sys.stdout.write(one + "\r\n")
PY
cs -o json ingest wa2 "$work/long.ndjson" >"$work/ingest_long.json" 2>>"$out" || fail "ingest of a long line failed: $(tail -3 "$out")"
[ "$(jfield "$(cat "$work/ingest_long.json")" 'j["pull"][0]["written"]')" = 3 ] \
  || fail "the payloads around a long line should be stored: $(cat "$work/ingest_long.json")"
cs -o json state dead-letters wa2 >"$work/dead_long.json" 2>>"$out"
grep -q "line 2: 5242880 bytes, over the 4194304" "$work/dead_long.json" \
  || fail "the long line should be a dead letter naming its length: $(head -c 400 "$work/dead_long.json")"
# A file of nothing this connector takes exits 65 (its lines are dead letters); a gzip file 64, storing nothing.
printf '{"object":"page","entry":[]}\nnot json\n' >"$work/wrong.ndjson"
code=0
cs ingest wa2 "$work/wrong.ndjson" >/dev/null 2>"$work/wrong.err" || code=$?
[ "$code" -eq 65 ] && grep -q "none of the 2 lines was a payload wa2 stores" "$work/wrong.err" \
  || fail "ingest of lines all rejected should exit 65 saying so, exited $code: $(cat "$work/wrong.err")"
gzip -c "$work/captured.ndjson" >"$work/captured.ndjson.gz"
before=$(sqlite3 "$work/state.db" "SELECT count(*) FROM dead_letters")
code=0
cs ingest wa2 "$work/captured.ndjson.gz" >/dev/null 2>"$work/gz.err" || code=$?
[ "$code" -eq 64 ] && grep -q "gzip-compressed" "$work/gz.err" \
  || fail "ingest of a gzip file should exit 64 saying so, exited $code: $(cat "$work/gz.err")"
[ "$(sqlite3 "$work/state.db" "SELECT count(*) FROM dead_letters")" = "$before" ] || fail "a gzip file left dead letters"
# One payload printed over several lines (jq ., an editor), or an array of payloads: 64, storing
# nothing, with the jq line that fixes it (which then ingests).
head -n 1 "$work/captured.ndjson" | jq . >"$work/pretty.json"
printf '[%s]\n' "$(head -n 1 "$work/captured.ndjson")" >"$work/array.json"
for f in pretty array; do
  code=0
  cs ingest wa2 "$work/$f.json" >/dev/null 2>"$work/$f.err" || code=$?
  [ "$code" -eq 64 ] && grep -q "jq -c" "$work/$f.err" \
    || fail "ingest of $f.json should exit 64 with the jq to run, exited $code: $(cat "$work/$f.err")"
done
[ "$(sqlite3 "$work/state.db" "SELECT count(*) FROM dead_letters")" = "$before" ] || fail "a pretty-printed file left dead letters"
jq -c '.[]' "$work/array.json" | cs ingest wa2 - >/dev/null 2>>"$out" || fail "the jq line the error gives should ingest"

# Secrets: in no output, no log, not in the state store or the spool.
for s in "$WA_APP_SECRET" "$WA_VERIFY_TOKEN" "$WA_TOKEN" "$META_PAGE_TOKEN"; do
  if grep -rqF "$s" "$out" "$work/listen.log" "$work/state.db" "$work/spool" 2>/dev/null; then fail "a secret leaked"; fi
done
echo "listen scenario: ok ($acked acknowledged before SIGTERM)"
