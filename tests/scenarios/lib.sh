# Shared by the scenario scripts: a temp dir, the simulator on a free port, a config pointing at it.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/sim-config.sh"
work=$(mktemp -d)
sim_pid=""
bg_pids=""  # chansync runs a script started in the background: killed on exit if still running
cleanup() {
  for p in $bg_pids; do kill -9 "$p" 2>/dev/null || true; done
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
cs() { "$CHANSYNC" --config "$work/sync.toml" "$@"; }
# The simulator's control side: sim_post ENDPOINT [JSON] (e.g. sim_post hold '{...}'), sim_stats.
sim_post() { curl -fsS -d "${2:-}" "http://127.0.0.1:$port/_sim/$1"; }
sim_stats() { curl -fsS "http://127.0.0.1:$port/_sim/stats"; }
# jfield JSON EXPR: prints EXPR evaluated on the parsed JSON `j` (e.g. jfield "$s" 'j["held"]').
jfield() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# Everything the pull stage stores, in a stable order (ids and cursors, not timestamps of the run).
dump_store() {
  sqlite3 -bail "$1" "SELECT connector, id, conversation, channel, direction, author_kind, author_handle, sent_at, text FROM messages ORDER BY 1, 2;
                SELECT * FROM conversations ORDER BY 1, 2;
                SELECT connector, id, first_name, last_name, handles, archived, updated_at FROM contacts ORDER BY 1, 2;
                SELECT connector, stream, cursor FROM streams ORDER BY 1, 2;"
}
