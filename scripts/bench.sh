#!/usr/bin/env bash
# Benchmark (not part of the test suite): a simulator corpus of BENCH_MESSAGES messages over
# BENCH_CUSTOMERS customers, measured in one run against baselines taken in the same run:
#   curl fetching the same Twilio pages with keep-alive   vs  chansync pull (fetch + parse + store)
#   sqlite3 .import of the same rows into the same table   vs  chansync's ingest
#   first reconcile + push, a no-change re-sync (wall, requests, rows written), a forced reconcile,
#   an incremental sync, and peak RSS of each (/usr/bin/time -v).
# Usage: scripts/bench.sh        (about two minutes on two cores; prints a Markdown table)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
messages=${BENCH_MESSAGES:-200000}
customers=${BENCH_CUSTOMERS:-10000}

scripts/install-deps.sh --test >&2
scripts/build.sh >&2

work=$root/build/bench
rm -rf "$work" && mkdir -p "$work"
cd "$work"
"$root/build/chansync-sim" --port-file sim.port --customers "$customers" --messages "$messages" 2>sim.log &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
for _ in $(seq 600); do [ -s sim.port ] && break; sleep 0.1; done
port=$(cat sim.port)
. "$root/scripts/sim-config.sh"
write_sim_config sync.toml "$port"
base="http://127.0.0.1:$port"
sid=AC00000000000000000000000000000000

cs=("$root/build/chansync" --config sync.toml)
# timed NAME CMD...: runs CMD under /usr/bin/time -v; records wall seconds and peak RSS (kB).
timed() {
  local name=$1
  shift
  /usr/bin/time -v -o "$name.time" "$@" >"$name.out"
  wall[$name]=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$name.time")
  rss[$name]=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$name.time")
}
requests() { curl -fsS "$base/_sim/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["twilio_requests"] + s["hubspot_requests"])'; }
declare -A wall rss

# The Twilio pages chansync will fetch (same page size), collected once, untimed.
python3 - "$base" "$sid" >urls.cfg <<'PY'
import base64, http.client, json, sys, urllib.parse
base, sid = sys.argv[1], sys.argv[2]
u = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(u.hostname, u.port)
auth = "Basic " + base64.b64encode(f"{sid}:sim-twilio-token".encode()).decode()
path = f"/2010-04-01/Accounts/{sid}/Messages.json?PageSize=1000"
while path:
    print(f'url = "{base}{path}"\noutput = "/dev/null"')
    conn.request("GET", path, headers={"Authorization": auth})
    path = json.loads(conn.getresponse().read())["next_page_uri"]
PY
pages=$(grep -c '^url' urls.cfg)

echo "bench: $messages messages, $customers customers, $pages Twilio pages" >&2
timed curl curl -sS --compressed -u "$sid:sim-twilio-token" -K urls.cfg
timed pull "${cs[@]}" -q pull sms
timed pull_crm "${cs[@]}" -q pull crm
stored=$(sqlite3 state.db "SELECT count(*) FROM messages")

# sqlite3 .import: the same rows into the same table and indexes, one transaction, no network.
sqlite3 -csv state.db "SELECT * FROM messages" >messages.csv
sqlite3 state.db ".schema messages" >schema.sql
sqlite3 import.db <schema.sql
timed import sqlite3 import.db "PRAGMA cache_size = -65536" ".import --csv messages.csv messages"  # chansync's cache
imported=$(sqlite3 import.db "SELECT count(*) FROM messages")

timed first_sync "${cs[@]}" -q -o json sync
r0=$(requests)
timed resync "${cs[@]}" -q -o json sync
r1=$(requests)
written=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sum(p["written"] for p in r["pull"]) + sum(p["created"] + p["updated"] for p in r["push"]))' resync.out)
timed reconcile "${cs[@]}" -q -o json reconcile
curl -fsS -d "" "$base/_sim/add-messages?n=100" >/dev/null
timed incremental "${cs[@]}" -q -o json sync

persons() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["reconcile"]["persons"])' first_sync.out; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
rate() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):,.0f}')" "$1" "$2"; }
cat <<EOF

| measure | wall s | records/s | peak RSS MB | notes |
|---|---:|---:|---:|---|
| curl, $pages pages, keep-alive (baseline) | ${wall[curl]} | $(rate "$messages" "${wall[curl]}") | $((rss[curl] / 1024)) | one connection, gzip |
| chansync pull sms | ${wall[pull]} | $(rate "$messages" "${wall[pull]}") | $((rss[pull] / 1024)) | **$(ratio "${wall[curl]}" "${wall[pull]}")× curl**; $stored messages stored, one transaction per page |
| sqlite3 .import, same rows and indexes (baseline) | ${wall[import]} | $(rate "$imported" "${wall[import]}") | $((rss[import] / 1024)) | one transaction, same cache size, no fetch or parse |
| chansync ingest vs .import | | | | **$(ratio "${wall[import]}" "${wall[pull]}")× .import** |
| chansync pull crm | ${wall[pull_crm]} | | $((rss[pull_crm] / 1024)) | HubSpot contacts |
| first sync (reconcile + push of every person) | ${wall[first_sync]} | | $((rss[first_sync] / 1024)) | $(persons) persons to NDJSON |
| no-change re-sync | ${wall[resync]} | | $((rss[resync] / 1024)) | $((r1 - r0)) requests, $written rows written |
| reconcile (forced, from the store) | ${wall[reconcile]} | | $((rss[reconcile] / 1024)) | |
| sync after 100 new messages | ${wall[incremental]} | | $((rss[incremental] / 1024)) | |
EOF
