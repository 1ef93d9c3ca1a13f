# Shared by the scenario scripts: a temp dir, the simulator on a free port, a config pointing at it.
set -euo pipefail
work=$(mktemp -d)
sim_pid=""
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
start_sim() {
  "$CHANSYNC_SIM" --port-file "$work/port" "$@" 2>"$work/sim.log" &
  sim_pid=$!
  for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
  port=$(cat "$work/port")
  cat >"$work/sync.toml" <<TOML
[state]
path = "state.db"
[identity]
default_region = "DE"
[connectors.sms]
type = "twilio-messaging"
account_sid = "AC00000000000000000000000000000000"
auth_token_env = "TWILIO_AUTH_TOKEN"
own_numbers = ["+4930123456", "030 123457"]
base_url = "http://127.0.0.1:$port"
[connectors.crm]
type = "hubspot-contacts"
token_env = "HUBSPOT_TOKEN"
base_url = "http://127.0.0.1:$port"
[targets.out]
type = "ndjson"
path = "persons.ndjson"
TOML
}
export TWILIO_AUTH_TOKEN=sim-twilio-token HUBSPOT_TOKEN=sim-hubspot-token
cs() { "$CHANSYNC" --config "$work/sync.toml" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# Everything the pull stage stores, in a stable order (ids and cursors, not timestamps of the run).
dump_store() {
  sqlite3 "$1" "SELECT connector, id, conversation, channel, direction, author_kind, author_handle, sent_at, text FROM messages ORDER BY 1, 2;
                SELECT * FROM conversations ORDER BY 1, 2;
                SELECT connector, id, first_name, last_name, handles, archived, updated_at FROM contacts ORDER BY 1, 2;
                SELECT connector, cursor FROM cursors ORDER BY 1;"
}
