# Shared by the scenario scripts: a temp dir, the simulator on a free port, a config pointing at it.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/sim-config.sh"
work=$(mktemp -d)
sim_pid=""
bg_pids=""  # chansync runs a script started in the background: killed on exit if still running
imap_pid=""  # chansync-sim imap (a real Dovecot): stopped with SIGTERM so it stops Dovecot and removes its files
cleanup() {
  for p in $bg_pids; do kill -9 "$p" 2>/dev/null || true; done
  if [ -n "$imap_pid" ]; then kill "$imap_pid" 2>/dev/null || true; wait "$imap_pid" 2>/dev/null || true; fi
  if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
start_sim() {
  "$CHANSYNC_SIM" --port-file "$work/port" "$@" 2>"$work/sim.log" &
  sim_pid=$!
  for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
  port=$(cat "$work/port")
  write_sim_config "$work/sync.toml" "$port"
}
# start_imap [ARGS]: a real Dovecot holding the simulated customers' mail (chansync-sim imap); sets
# IMAP_URL and IMAP_USER, and the password is in $work/imap-password.
start_imap() {
  "$CHANSYNC_SIM" imap --dir "$work" "$@" >/dev/null 2>"$work/imap.log" &
  imap_pid=$!
  for _ in $(seq 1200); do [ -s "$work/imap.env" ] || ! kill -0 "$imap_pid" 2>/dev/null && break; sleep 0.05; done
  [ -s "$work/imap.env" ] || fail "chansync-sim imap did not start: $(cat "$work/imap.log")"
  . "$work/imap.env"
}
cs() { "$CHANSYNC" --config "$work/sync.toml" "$@"; }
# The simulator's control side: sim_post ENDPOINT [JSON] (e.g. sim_post hold '{...}'), sim_stats.
sim_post() { curl -fsS -d "${2:-}" "http://127.0.0.1:$port/_sim/$1"; }
sim_stats() { curl -fsS "http://127.0.0.1:$port/_sim/stats"; }
# jfield JSON EXPR: prints EXPR evaluated on the parsed JSON `j` (e.g. jfield "$s" 'j["held"]').
jfield() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# check_schema NAME FILE [array|ndjson]: FILE (an array of them, or one per line) validates against
# schemas/NAME.schema.json, with a real JSON Schema validator checking formats too.
check_schema() {
  /usr/bin/python3 - "$SOURCE_DIR/schemas/$1.schema.json" "$2" "${3:-}" <<'PY' || fail "$2 does not match schemas/$1.schema.json: $(head -c 1500 "$2")"
import json, sys, jsonschema
schema, path, shape = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
docs = [json.loads(l) for l in open(path) if l.strip()] if shape == "ndjson" else [json.load(open(path))]
if shape == "array":
    assert isinstance(docs[0], list), "not an array"
    docs = docs[0]
assert docs, f"{path} holds nothing to validate"
for d in docs:
    v.validate(d)
PY
}
# health_run EXPECTED_CODE NAME ARGS...: `health -o json ARGS` into $work/NAME.json (stderr in
# NAME.err), asserting the exit code.
health_run() {
  local want=$1 name=$2; shift 2
  set +e; cs -o json health "$@" >"$work/$name.json" 2>"$work/$name.err"; local code=$?; set -e
  [ "$code" -eq "$want" ] || fail "$name: exit $code, expected $want: $(cat "$work/$name.json" "$work/$name.err")"
}
# Everything the pull stage stores, in a stable order (ids and cursors, not timestamps of the run).
dump_store() {
  sqlite3 -bail "$1" "SELECT connector, id, conversation, channel, direction, author_kind, author_handle, sent_at, text FROM messages ORDER BY 1, 2;
                SELECT connector, id, channel, customer, customer_verified, business, customer_name, customer_links
                FROM conversations ORDER BY 1, 2;
                SELECT connector, id, first_name, last_name, handles, archived, updated_at FROM contacts ORDER BY 1, 2;
                SELECT connector, stream, cursor FROM streams ORDER BY 1, 2;
                SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY 1;"
}
