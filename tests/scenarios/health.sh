#!/usr/bin/env bash
# Health classes and exit codes against the simulator: OK, a failed stream recovering (WARNING), a
# Sunset header (WARNING), a channel gone silent (WARNING, also --offline), --watch printing a change and ending on SIGINT,
# a wrong token (CRITICAL), an unreachable vendor (CRITICAL), a missing
# secret (UNKNOWN); the JSON validates.
. "$(dirname "$0")/lib.sh"
start_sim --customers 5 --messages 20
cs -o json health >"$work/health.json" || fail "health not OK: $(cat "$work/health.json")"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert all(c["stream"] is None for c in r["checks"]), r' "$work/health.json" \
  || fail "before any pull there should be no stream rows"
# Each stream's last pull is a check of its own: a failed pull shows with its class until the next one.
cs -q pull || fail "pull failed"
curl -fsS -d '{"kind":"401","vendor":"hubspot","count":1}' "http://127.0.0.1:$port/_sim/fault" >/dev/null
set +e; cs -q pull crm 2>/dev/null; set -e
set +e; cs -o json health >"$work/streams.json"; code=$?; set -e
[ "$code" -eq 2 ] || fail "a stream whose last pull was refused (401) should make health CRITICAL, got $code: $(cat "$work/streams.json")"
python3 - "$work/streams.json" <<'PY' || fail "stream checks wrong: $(cat "$work/streams.json")"
import json, sys
checks = {(c["connector"], c["stream"]): c for c in json.load(open(sys.argv[1]))["checks"]}
assert checks[("sms", "conversations")]["class"] == "ok", checks[("sms", "conversations")]
assert checks[("crm", "contacts")]["class"] == "auth_failed", checks[("crm", "contacts")]
assert "last pull" in checks[("crm", "contacts")]["summary"], checks[("crm", "contacts")]
assert checks[("crm", None)]["class"] == "ok"  # the probe itself passes now
PY
cs -q pull crm || fail "pull after the 401 failed"
# Classes do not flap: the stream that failed is recovering (WARNING) until 3 checks have passed.
set +e; cs -o json health >"$work/recovering.json"; code=$?; set -e
[ "$code" -eq 1 ] || fail "a stream passing again after a failure should be recovering (1), got $code: $(cat "$work/recovering.json")"
python3 -c 'import json,sys; c={(c["connector"],c["stream"]):c for c in json.load(open(sys.argv[1]))["checks"]}; assert c[("crm","contacts")]["class"]=="recovering", c' \
  "$work/recovering.json" || fail "crm/contacts not recovering: $(cat "$work/recovering.json")"
set +e; cs -q health >/dev/null; set -e
cs -o json health >"$work/health.json" || fail "health not OK again after 3 good checks: $(cat "$work/health.json")"
curl -fsS -d '{"kind":"sunset","vendor":"twilio","count":-1}' "http://127.0.0.1:$port/_sim/fault" >/dev/null
set +e; cs -o json health >"$work/health2.json"; code=$?; set -e
[ "$code" -eq 1 ] || fail "Sunset header should be WARNING (1), got $code"
grep -q '"deprecated"' "$work/health2.json" || fail "no deprecated class"
curl -fsS -d '{"kind":"clear"}' "http://127.0.0.1:$port/_sim/fault" >/dev/null
set +e; HUBSPOT_TOKEN=wrong cs health crm >/dev/null; code=$?; set -e
[ "$code" -eq 2 ] || fail "wrong token should be CRITICAL (2), got $code"
/usr/bin/python3 -c 'import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1]+"/schemas/health.schema.json")))' "$SOURCE_DIR" "$work/health2.json" || fail "health schema"

# Silence: SMS arrived two an hour for three weeks and stopped two days ago. The probe works, but
# health says the channel went quiet, since when and how many messages were expected; --offline too.
# (The gap ends at the last completed pull, a moment ago: 47 h or 2 days.)
sqlite3 "$work/state.db" "DELETE FROM messages WHERE connector = 'sms';
  WITH RECURSIVE t(at) AS (SELECT CAST(strftime('%s', 'now', '-23 days') AS INTEGER) * 1000
                           UNION ALL SELECT at + 1800000 FROM t WHERE at < CAST(strftime('%s', 'now', '-2 days') AS INTEGER) * 1000)
  INSERT INTO messages(connector, id, conversation, channel, direction, author_kind, author_handle, sent_at, text)
  SELECT 'sms', 'h' || at, (SELECT min(key) FROM conversations WHERE connector = 'sms'), 'sms', 'inbound', 'customer',
         '+4915112345678', at, 'hi' FROM t;"
for mode in "" --offline; do
  set +e; cs -o json health sms $mode >"$work/silent.json"; code=$?; set -e
  [ "$code" -eq 1 ] || fail "a channel quiet for two days after 48 messages a day should be WARNING (1) $mode, got $code: $(cat "$work/silent.json")"
  python3 - "$work/silent.json" <<'PY' || fail "silence $mode: $(cat "$work/silent.json")"
import json, re, sys
c = next(c for c in json.load(open(sys.argv[1]))["checks"] if c["connector"] == "sms" and c["stream"] is None)
assert c["class"] == "silent", c
f = c["findings"][0]
assert f["signal"] == "inbound sms messages" and f["value"].startswith("last "), f
assert re.search(r"no inbound sms message for (47 h|2 days)", f["detail"]) and re.search(r"expects about (9[6-9]|1[0-9][0-9]) by now", f["detail"]), f
assert "chansync pull sms" in f["action"], f
PY
done
/usr/bin/python3 -c 'import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1]+"/schemas/health.schema.json")))' "$SOURCE_DIR" "$work/silent.json" || fail "silent.json does not match the health schema"
set +e; cs -o prometheus health sms >"$work/h.prom"; set -e
last=$(sqlite3 "$work/state.db" "SELECT max(sent_at) / 1000 FROM messages WHERE connector = 'sms'")
grep -q "^chansync_last_inbound_message_timestamp_seconds{connector=\"sms\",channel=\"sms\"} $last\$" "$work/h.prom" \
  || fail "no last inbound gauge of $last: $(cat "$work/h.prom")"
ok=$(sqlite3 "$work/state.db" "SELECT last_ok_at / 1000 FROM streams WHERE connector = 'sms' AND stream = 'conversations'")
[ "$ok" -gt 0 ] && grep -q "^chansync_stream_last_success_timestamp_seconds{connector=\"sms\",stream=\"conversations\"} $ok\$" "$work/h.prom" \
  || fail "no last successful pull gauge of $ok: $(cat "$work/h.prom")"
sqlite3 "$work/state.db" "DELETE FROM messages WHERE connector = 'sms'"

# --watch: the first table (sms is recovering from its silence), then only a change (sms refusing
# the token), until SIGINT: exit 0.
"$CHANSYNC" --config "$work/sync.toml" health --watch 1s sms >"$work/watch.out" 2>"$work/watch.err" &  # not cs: its pid
watch_pid=$!; bg_pids="$bg_pids $watch_pid"
for _ in $(seq 100); do grep -q "^sms " "$work/watch.out" && break; sleep 0.1; done
grep -q "^NAME  *TYPE  *SEVERITY" "$work/watch.out" || fail "--watch should print the table first: $(cat "$work/watch.out" "$work/watch.err")"
curl -fsS -d '{"kind":"401","vendor":"twilio","count":-1}' "http://127.0.0.1:$port/_sim/fault" >/dev/null
for _ in $(seq 100); do grep -q " sms  [a-z_]* → auth_failed  " "$work/watch.out" && break; sleep 0.1; done
grep -q " sms  [a-z_]* → auth_failed  " "$work/watch.out" || fail "--watch should print the change: $(cat "$work/watch.out" "$work/watch.err")"
[ "$(grep -c "→ auth_failed" "$work/watch.out")" = 1 ] || fail "--watch prints a change once: $(cat "$work/watch.out")"
kill -INT "$watch_pid"
rc=0; wait "$watch_pid" || rc=$?
[ "$rc" = 0 ] || fail "--watch should exit 0 on SIGINT, exited $rc: $(cat "$work/watch.err")"
curl -fsS -d '{"kind":"clear"}' "http://127.0.0.1:$port/_sim/fault" >/dev/null
rc=0; cs health --watch 0s >/dev/null 2>"$work/watch0.err" || rc=$?
[ "$rc" = 64 ] && grep -q "not an interval of a second or more" "$work/watch0.err" || fail "--watch 0s should be a usage error: $rc"

set +e; TWILIO_AUTH_TOKEN= cs -o json health sms >"$work/health3.json"; code=$?; set -e
[ "$code" -eq 3 ] || fail "a missing secret should be UNKNOWN (3), got $code"
grep -q "TWILIO_AUTH_TOKEN" "$work/health3.json" || fail "the UNKNOWN report does not name the missing variable"
kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true
set +e; cs -o json health sms >"$work/health4.json"; code=$?; set -e
[ "$code" -eq 2 ] || fail "an unreachable vendor should be CRITICAL (2), got $code"
grep -q '"unreachable"' "$work/health4.json" || fail "no unreachable class"
for f in health health2 health3 health4; do
  /usr/bin/python3 -c 'import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1]+"/schemas/health.schema.json")))' "$SOURCE_DIR" "$work/$f.json" || fail "$f.json does not match the health schema"
done
echo "health: ok"
