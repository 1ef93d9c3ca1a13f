#!/usr/bin/env bash
# The CLI surface through the real binary: config check and show (origins, exit 78, never a secret),
# JSON logs on stderr only, colour only on a terminal and never with NO_COLOR or --no-color, and -vv
# HTTP traces that never show a credential.
. "$(dirname "$0")/lib.sh"
unset NO_COLOR CHANSYNC_STATE
start_sim --customers 20 --messages 300
sid=$(sed -n 's/^account_sid = "\(.*\)"$/\1/p' "$work/sync.toml")
secrets=("$TWILIO_AUTH_TOKEN" "$HUBSPOT_TOKEN" "$(printf '%s' "$sid:$TWILIO_AUTH_TOKEN" | base64 -w0)"
  "Bearer $HUBSPOT_TOKEN")
# no_secret WHAT FILE...: fails when any credential (or its Basic/Bearer header form) is in a file.
no_secret() {
  local what=$1 s
  shift
  for s in "${secrets[@]}"; do
    if grep -qF -- "$s" "$@"; then fail "$what shows the credential '$s': $(grep -lF -- "$s" "$@" | xargs)"; fi
  done
}

# config check: ok with the counts; a missing secret exits 78 and names the option and the variable.
cs config check >"$work/check.out" 2>"$work/check.err" || fail "config check exited $?: $(cat "$work/check.err")"
grep -Eq 'sync\.toml: ok \(2 connectors, 1 targets, state .*state\.db\)$' "$work/check.out" \
  || fail "config check does not print ok with 2 connectors and 1 target: $(cat "$work/check.out")"
set +e
(
  unset TWILIO_AUTH_TOKEN
  cs config check >"$work/check78.out" 2>"$work/check78.err"
)
code=$?
set -e
[ "$code" -eq 78 ] || fail "config check with TWILIO_AUTH_TOKEN unset should exit 78, got $code"
grep -q "auth_token_env" "$work/check78.err" || fail "missing-secret error does not name auth_token_env: $(cat "$work/check78.err")"
grep -q "TWILIO_AUTH_TOKEN" "$work/check78.err" || fail "missing-secret error does not name TWILIO_AUTH_TOKEN: $(cat "$work/check78.err")"
[ ! -s "$work/check78.out" ] || fail "a failed config check printed to stdout: $(cat "$work/check78.out")"

# config show --origin: the file line of each key; CHANSYNC_STATE, and --state over it.
cs config show --origin >"$work/show.out" || fail "config show --origin exited $?"
line=$(awk '/^\[connectors\.sms\]/ {s = 1; next} /^\[/ {s = 0} s && /^base_url *=/ {print NR}' "$work/sync.toml")
[ -n "$line" ] || fail "test setup: no base_url under [connectors.sms] in sync.toml"
grep -Eq "^connectors\.sms\.base_url = \"http://127\.0\.0\.1:$port\"    # file:.*sync\.toml:$line\$" "$work/show.out" \
  || fail "sms base_url should come from sync.toml:$line: $(grep 'connectors.sms.base_url' "$work/show.out")"
CHANSYNC_STATE="$work/env.db" cs config show --origin >"$work/show_env.out"
grep -qFx "state.path = \"$work/env.db\"    # env:CHANSYNC_STATE" "$work/show_env.out" \
  || fail "state.path should come from env:CHANSYNC_STATE: $(grep '^state.path' "$work/show_env.out")"
CHANSYNC_STATE="$work/env.db" cs --state "$work/flag.db" config show --origin >"$work/show_flag.out"
grep -qFx "state.path = \"$work/flag.db\"    # flag:--state" "$work/show_flag.out" \
  || fail "--state should win over CHANSYNC_STATE: $(grep '^state.path' "$work/show_flag.out")"
CHANSYNC_STATE="$work/env.db" cs -q --state "$work/flag.db" pull sms >/dev/null || fail "pull with --state failed"
[ -s "$work/flag.db" ] && [ ! -e "$work/env.db" ] || fail "--state was shown as winning but the pull did not write $work/flag.db alone"
cs config show -o json --origin >"$work/show.json" || fail "config show -o json --origin exited $?"
python3 - "$work/show.json" "$port" "$line" <<'PY' || fail "config show -o json --origin: $(head -c 600 "$work/show.json")"
import json, re, sys
rows, port, line = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
assert isinstance(rows, list) and rows, "not a non-empty array"
for r in rows:
    assert set(r) == {"key", "value", "origin"}, f"row keys {sorted(r)}"
url = f"http://127.0.0.1:{port}"
sms = [r for r in rows if r["key"] == "connectors.sms.base_url"]
assert len(sms) == 1, "no single connectors.sms.base_url row"
assert sms[0]["value"] == url, sms[0]  # the value itself, not its TOML text
assert re.fullmatch(rf"file:.*sync\.toml:{line}", sms[0]["origin"]), sms[0]
PY
check_schema config-show "$work/show.json"
cs -o json connectors types >"$work/types.json" || fail "connectors types -o json failed"
check_schema connector-types "$work/types.json"
no_secret "config check/show" "$work"/check*.out "$work"/check*.err "$work"/show*

# Text logs are one line per message: text from outside (here a config value) with a line break or an
# escape sequence cannot forge a log line or recolour the terminal.
printf '[connectors.sms]\ntype = "nope\\nchansync: info: forged \\u001b[31mRED"\n' >"$work/forge.toml"
"$CHANSYNC" --config "$work/forge.toml" config check >/dev/null 2>"$work/forge.err" && fail "an unknown type was accepted"
[ "$(wc -l <"$work/forge.err")" -eq 1 ] || fail "one message took several log lines: $(cat -v "$work/forge.err")"
grep -q $'\x1b' "$work/forge.err" && fail "an escape sequence reached the log: $(cat -v "$work/forge.err")"
grep -q '^chansync: error: .*unknown connector type "nope chansync: info: forged' "$work/forge.err" \
  || fail "the line break should be a space: $(cat -v "$work/forge.err")"

# --log-format json: every stderr line is one JSON object; stdout stays the report alone.
cs -q pull >/dev/null || fail "first pull failed"
sim_post fault '{"kind":"500","vendor":"hubspot","count":1}' >/dev/null  # a warning line too
cs --log-format json -v -o json pull >"$work/jlog.out" 2>"$work/jlog.err" || fail "pull with JSON logs failed: $(cat "$work/jlog.err")"
# Without -o json the human summary goes to stderr too: as JSON log records.
cs --log-format json pull >"$work/jlog_table.out" 2>>"$work/jlog.err" || fail "pull with JSON logs (table) failed"
[ ! -s "$work/jlog_table.out" ] || fail "a table pull wrote to stdout: $(head "$work/jlog_table.out")"
grep -q '"message":"pull  sms/conversations' "$work/jlog.err" || fail "the summary is missing from the JSON log: $(tail -3 "$work/jlog.err")"
# Summaries of other commands, and a command line that does not parse, are JSON records as well.
cs --log-format json push --show-parked >/dev/null 2>>"$work/jlog.err" || fail "push --show-parked with JSON logs failed"
code=0 && cs --log-format json snyc 2>>"$work/jlog.err" || code=$?
[ "$code" -eq 64 ] || fail "a mistyped command with JSON logs should exit 64, got $code"
grep -q 'did you mean' "$work/jlog.err" || fail "the JSON parse error lost its hint: $(tail -2 "$work/jlog.err")"
python3 - "$work/jlog.out" "$work/jlog.err" <<'PY' || fail "JSON log lines or stdout are wrong (see above)"
import json, re, sys
report = json.load(open(sys.argv[1]))  # the whole of stdout is one document: no log line in it
assert isinstance(report, dict) and "pull" in report, report
lines = open(sys.argv[2]).read().splitlines()
assert lines, "-v pull logged nothing"
levels = set()
for n, text in enumerate(lines, 1):
    try:
        rec = json.loads(text)
    except ValueError as e:
        raise AssertionError(f"stderr line {n} is not JSON ({e}): {text}")
    assert isinstance(rec, dict), f"stderr line {n} is not an object: {text}"
    assert {"time", "level", "message"} <= set(rec), f"stderr line {n} lacks time/level/message: {text}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", rec["time"]), f"line {n}: time {rec['time']!r}"
    assert isinstance(rec["message"], str) and rec["message"], f"line {n}: message {rec['message']!r}"
    levels.add(rec["level"])
assert {"debug", "info", "warning"} <= levels, f"expected debug, info and warning lines, got {levels}"
PY
cs -v -o json pull >"$work/tlog.out" 2>"$work/tlog.err" || fail "pull with text logs failed"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$work/tlog.out" || fail "text logs leaked into stdout: $(head "$work/tlog.out")"
[ -s "$work/tlog.err" ] || fail "-v pull logged nothing to stderr"

# Colour: only when stderr is a terminal, and never with NO_COLOR or --no-color (-v: a pull's own
# lines are debug; its figures are the summary, which is not coloured). script(1) gives
# chansync a pseudo-terminal; stdout goes to a file, so what the terminal shows is stderr alone.
on_tty() { TERM=xterm script -qec "$(printf '%q ' "$CHANSYNC" --config "$work/sync.toml" "$@") >/dev/null" /dev/null </dev/null; }
esc=$'\e['
on_tty -v pull >"$work/tty.err" || fail "pull on a terminal failed: $(cat "$work/tty.err")"
grep -q "debug" "$work/tty.err" || fail "no log line on the terminal: $(cat -v "$work/tty.err")"
grep -qF "$esc" "$work/tty.err" || fail "no ANSI colour on a terminal: $(cat -v "$work/tty.err")"
NO_COLOR=1 on_tty -v pull >"$work/tty_nocolor_env.err" || fail "pull with NO_COLOR failed"
on_tty --no-color -v pull >"$work/tty_nocolor_flag.err" || fail "pull with --no-color failed"
for f in tty_nocolor_env tty_nocolor_flag; do
  grep -q "debug" "$work/$f.err" || fail "$f: no log line on the terminal: $(cat -v "$work/$f.err")"
  if grep -qF "$esc" "$work/$f.err"; then fail "$f: ANSI colour despite it: $(cat -v "$work/$f.err")"; fi
done
NO_COLOR= on_tty -v pull >"$work/tty_empty_nocolor.err" || fail "pull with an empty NO_COLOR failed"
grep -qF "$esc" "$work/tty_empty_nocolor.err" || fail "an empty NO_COLOR turned colour off (no-color.org: only a non-empty value does)"
cs -q pull >/dev/null 2>"$work/quiet.err" || fail "pull -q failed"
[ ! -s "$work/quiet.err" ] || fail "-q still printed: $(cat "$work/quiet.err")"
cs -v pull >/dev/null 2>"$work/pipe.err" || fail "pull with stderr to a file failed"
grep -q "debug" "$work/pipe.err" || fail "no log line in $work/pipe.err"
if grep -qF "$esc" "$work/pipe.err"; then fail "ANSI colour when stderr is not a terminal: $(cat -v "$work/pipe.err")"; fi
cs pull >/dev/null 2>"$work/once.err" || fail "pull failed"
[ "$(grep -c "sms/conversations" "$work/once.err")" = 1 ] || fail "a stream's figures should be printed once: $(cat "$work/once.err")"

# -vv traces every request with its URL and never a credential, nor does the state store keep one.
sim_post fault '{"kind":"500","vendor":"twilio","count":1}' >/dev/null  # an error path in the trace too
curl -fsS -d "" "http://127.0.0.1:$port/_sim/add-messages?n=2" >/dev/null
cs -vv sync >"$work/vv_sync.out" 2>"$work/vv_sync.err" || fail "-vv sync failed: $(cat "$work/vv_sync.err")"
# (This simulator's messages date from months ago, so sms may be reported silent: WARNING, exit 1.)
rc=0; cs -vv health >"$work/vv_health.out" 2>"$work/vv_health.err" || rc=$?
[ "$rc" -le 1 ] || fail "-vv health failed ($rc): $(cat "$work/vv_health.out" "$work/vv_health.err")"
twilio_url="http://127\.0\.0\.1:$port/2010-04-01/Accounts/$sid"
grep -Eq "trace.*GET $twilio_url/Messages\.json" "$work/vv_sync.err" || fail "-vv sync shows no Twilio request trace: $(cat "$work/vv_sync.err")"
grep -Eq "trace.*http://127\.0\.0\.1:$port/crm/v3/objects/contacts" "$work/vv_sync.err" \
  || fail "-vv sync shows no HubSpot request trace: $(cat "$work/vv_sync.err")"
grep -Eq "trace.*GET $twilio_url\.json" "$work/vv_health.err" || fail "-vv health shows no Twilio request trace: $(cat "$work/vv_health.err")"
sqlite3 "$work/state.db" .dump >"$work/state.sql"
[ -s "$work/state.sql" ] || fail "empty state dump"
no_secret "-vv output or the state store" "$work"/vv_* "$work/state.sql" "$work/persons.ndjson" "$work"/jlog.* "$work"/tlog.* "$work"/tty*

# state show lists every (connector, stream) with its cursor and last pull; state reset forgets one
# stream's cursor or all of a connector's, and refuses names it does not know.
cs -o json state show >"$work/state.json" || fail "state show -o json failed"
python3 - "$work/state.json" <<'PY' || fail "state show -o json: $(cat "$work/state.json")"
import json, sys
r = json.load(open(sys.argv[1]))
streams = {(s["connector"], s["stream"]): s for s in r["streams"]}
assert set(streams) == {("sms", "conversations"), ("crm", "contacts")}, sorted(streams)
for s in streams.values():
    assert s["cursor"], s
    assert s["last_pull_at"] and s["last_pull"]["error"] is None, s
assert streams[("sms", "conversations")]["last_pull"]["received"] > 0
assert r["schema_version"] == 21 and r["counts"]["messages"] > 0, r
PY
check_schema state "$work/state.json"
check_schema run-report "$work/jlog.out"
cs state show >"$work/state.txt" || fail "state show failed"
grep -Eq '^sms/conversations +[0-9]{4}-' "$work/state.txt" || fail "state show table lacks sms/conversations: $(cat "$work/state.txt")"
cs state reset sms/conversations 2>"$work/reset.err" || fail "state reset sms/conversations failed: $(cat "$work/reset.err")"
grep -q "1 cursor removed" "$work/reset.err" || fail "reset does not say what it did: $(cat "$work/reset.err")"
[ -z "$(sqlite3 "$work/state.db" "SELECT cursor FROM streams WHERE connector = 'sms' AND stream = 'conversations'")" ] || fail "reset kept the cursor"
[ -n "$(sqlite3 "$work/state.db" "SELECT cursor FROM streams WHERE connector = 'crm'")" ] || fail "reset of sms touched crm"
set +e
cs state reset sms/nosuch 2>"$work/reset2.err"; code=$?
[ "$code" -eq 64 ] || fail "an unknown stream should exit 64, got $code"
grep -q "known: conversations" "$work/reset2.err" || fail "unknown stream error does not list the known ones: $(cat "$work/reset2.err")"
cs state reset nosuch 2>"$work/reset3.err"; code=$?
[ "$code" -eq 64 ] || fail "an unknown connector should exit 64, got $code"
set -e
cs state reset crm 2>/dev/null || fail "state reset crm failed"
[ -z "$(sqlite3 "$work/state.db" "SELECT group_concat(cursor, '') FROM streams")" ] || fail "reset crm kept a cursor"
cs -o json pull >"$work/full_again.json" || fail "pull after reset failed"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert all(p["pages"] >= 1 and p["written"] == 0 for p in r["pull"]), r' "$work/full_again.json" \
  || fail "a full pull after reset should re-read everything and write nothing new: $(cat "$work/full_again.json")"

# The persons commands' JSON follows their schemas; a format a command cannot print is refused.
cs -o json reconcile >"$work/reconcile.json" || fail "reconcile -o json failed"
check_schema run-report "$work/reconcile.json"
cs -o json persons list >"$work/persons.json" || fail "persons list -o json failed"
check_schema person-summary "$work/persons.json" array
cs -o ndjson persons list >"$work/persons.ndjson" || fail "persons list -o ndjson failed"
check_schema person-summary "$work/persons.ndjson" ndjson
first=$(jfield "$(cat "$work/persons.json")" 'j[0]["person_id"]')
cs -o json persons show "$first" >"$work/person.json" || fail "persons show -o json failed"
check_schema person "$work/person.json"
set +e
cs -o prometheus persons list >"$work/prom.out" 2>"$work/prom.err"; code=$?
set -e
[ "$code" -eq 64 ] && [ ! -s "$work/prom.out" ] || fail "persons list -o prometheus should exit 64 and print nothing, got $code"
grep -q "persons list" "$work/prom.err" || fail "the refusal should name the command: $(cat "$work/prom.err")"

# A feed on stdout and -o json cannot share stdout: refused (64) before anything is sent.
{ cat "$work/sync.toml"; printf '\n[targets.feed]\ntype = "ndjson"\npath = "-"\n'; } >"$work/stdout.toml"
set +e
"$CHANSYNC" --config "$work/stdout.toml" -o json push feed >"$work/feed.out" 2>"$work/feed.err"; code=$?
set -e
[ "$code" -eq 64 ] && [ ! -s "$work/feed.out" ] && grep -q "targets.feed.path" "$work/feed.err" \
  || fail "push -o json into a stdout feed should exit 64 naming targets.feed.path, got $code: $(cat "$work/feed.err")"
"$CHANSYNC" --config "$work/stdout.toml" -q push feed >"$work/feed.out" || fail "push into a stdout feed failed"
check_schema person "$work/feed.out" ndjson
# Shell completion as bash runs it: -o offers every output format, --html a file name.
complete_words() {  # complete_words WORD... : what TAB offers after them
  bash -c '. "$1/completions/chansync.bash"; shift; COMP_WORDS=(chansync "$@"); COMP_CWORD=$#; _chansync
    printf "%s\n" "${COMPREPLY[@]}"' _ "$SOURCE_DIR" "$@"
}
complete_words -o "" | grep -qx prometheus || fail "bash completion does not offer -o prometheus: $(complete_words -o '')"
: >"$work/status-page.html"
complete_words health --html "$work/status-" | grep -qx "$work/status-page.html" \
  || fail "bash completion does not offer a file after --html: $(complete_words health --html "$work/status-")"
# COMMAND --help names the global options, which work after COMMAND too.
cs persons merge --help | grep -qF -- "--config FILE, --state FILE, -o,--output FORMAT" \
  || fail "persons merge --help does not name the global options: $(cs persons merge --help | tail -3)"
echo "cli: ok"
