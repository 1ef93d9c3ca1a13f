#!/usr/bin/env bash
# The main job: install dependencies, build, start the vendor simulator on 127.0.0.1, run
# `chansync sync` against it with SQLite state, then show a summary and one merged person.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh

demo=demo
rm -rf "$demo" && mkdir -p "$demo"
build/chansync-sim --port-file "$demo/sim.port" --customers 60 --messages 1500 2>"$demo/sim.log" &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$demo/sim.port" ] && break; sleep 0.05; done
port=$(cat "$demo/sim.port")

. scripts/sim-config.sh
write_sim_config "$demo/sync.toml" "$port"
cs() { build/chansync --config "$demo/sync.toml" "$@"; }

echo "== chansync sync (first run: full pull)"
cs sync
echo
echo "== chansync sync (second run: nothing new)"
cs sync
echo
echo "== chansync health"
cs health || true
echo
echo "== one merged person (CRM contact + SMS/WhatsApp timeline)"
id=$(cs persons list -o ndjson | grep -v '"contacts":0' | grep -v '"messages":0' | awk 'NR == 1' | sed 's/.*"person_id":"\([^"]*\)".*/\1/')
cs persons show "$id" | head -n 25
echo
echo "Person records: $demo/persons.ndjson ($(wc -l <"$demo/persons.ndjson") lines); state: $demo/state.db"
