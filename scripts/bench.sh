#!/usr/bin/env bash
# Benchmark (not part of the test suite): a simulator corpus of BENCH_MESSAGES messages over
# BENCH_CUSTOMERS customers, measured in one run against baselines taken in the same run:
#   curl fetching the same Twilio pages with keep-alive   vs  chansync pull (fetch + parse + store)
#   sqlite3 .import of the same rows into the same table   vs  chansync's ingest
#   first reconcile + push, a no-change re-sync (wall, requests, rows written), a forced reconcile,
#   an incremental sync, and peak RSS of each (/usr/bin/time -v);
#   chansync push of ~100k persons to PostgreSQL  vs  psql \copy of the same rows into the same
#   tables (a second simulator corpus of BENCH_PG_CUSTOMERS customers; a throwaway local server
#   like the tests', Unix socket only, fsync off for both; run as the postgres user when root).
# Usage: scripts/bench.sh        (about four minutes on two cores; prints a Markdown table)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
messages=${BENCH_MESSAGES:-200000}
customers=${BENCH_CUSTOMERS:-10000}
pg_customers=${BENCH_PG_CUSTOMERS:-110000}
pg_messages=${BENCH_PG_MESSAGES:-200000}

scripts/install-deps.sh --test >&2
scripts/build.sh >&2

work=$root/build/bench
rm -rf "$work" && mkdir -p "$work"
cd "$work"
"$root/build/chansync-sim" --port-file sim.port --customers "$customers" --messages "$messages" 2>sim.log &
sim=$!
sim2=""
. "$root/scripts/pg-local.sh"
cleanup() {
  kill $sim $sim2 2>/dev/null || true
  pg_local_stop
}
trap cleanup EXIT
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

# Persons/s per target over the same persons: every person to the NDJSON file again (--full), and
# to a webhook target whose receiver is the simulator (signed POSTs of 100 persons, keep-alive).
cat >>sync.toml <<TOML

[targets.hook]
type = "webhook"
url = "$base/hooks/chansync"
secret_env = "BENCH_WEBHOOK_SECRET"
TOML
export BENCH_WEBHOOK_SECRET=bench-secret
timed ndjson_push "${cs[@]}" -q -o json push out --full
timed webhook_push "${cs[@]}" -q -o json push hook
hook_persons=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sum(p["created"] for p in r["push"]))' webhook_push.out)

# PostgreSQL: a second corpus whose persons chansync pushes to a throwaway local server, then the same
# rows loaded with psql \copy into the same tables (indexes, keys) of a second database.
pg_local_start -c fsync=off -c full_page_writes=off
pgdir=$pg_dir
pg=(psql -X -q -v ON_ERROR_STOP=1 -h "$pgdir" -U chansync)
"${pg[@]}" -d postgres -c "CREATE DATABASE chansync_push" -c "CREATE DATABASE psql_copy"
export CHANSYNC_BENCH_PG_DSN="host=$pgdir user=chansync dbname=chansync_push"

mkdir -p pg && cd pg
"$root/build/chansync-sim" --port-file sim.port --customers "$pg_customers" --messages "$pg_messages" 2>sim.log &
sim2=$!
for _ in $(seq 600); do [ -s sim.port ] && break; sleep 0.1; done
write_sim_config pg.toml "$(cat sim.port)"
cat >>pg.toml <<TOML

[targets.pg]
type = "postgres"
dsn_env = "CHANSYNC_BENCH_PG_DSN"
TOML
pgcs=("$root/build/chansync" --config pg.toml)
"${pgcs[@]}" -q pull >/dev/null
"${pgcs[@]}" -q reconcile >/dev/null
timed pg_push "${pgcs[@]}" -q -o json push pg
timed pg_ndjson "${pgcs[@]}" -q -o json push out  # the same persons to a file: what reading them costs
pg_persons=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sum(p["created"] for p in r["push"]))' pg_push.out)
# The same rows, dumped (untimed) and loaded with \copy into the same tables in one transaction.
"${pg[@]}" -d chansync_push -c "\copy chansync.persons TO 'persons.tsv'" \
  -c "\copy chansync.person_handles TO 'handles.tsv'" -c "\copy chansync.person_contacts TO 'contacts.tsv'" \
  -c "\copy chansync.timeline TO 'timeline.tsv'"
pg_dump -h "$pgdir" -U chansync --schema-only -n chansync chansync_push | "${pg[@]}" -d psql_copy >/dev/null
timed pg_copy "${pg[@]}" -1 -d psql_copy -c "\copy chansync.persons FROM 'persons.tsv'" \
  -c "\copy chansync.person_handles FROM 'handles.tsv'" -c "\copy chansync.person_contacts FROM 'contacts.tsv'" \
  -c "\copy chansync.timeline FROM 'timeline.tsv'"
pg_rows=$("${pg[@]}" -At -d psql_copy -c "SELECT (SELECT count(*) FROM chansync.persons) + (SELECT count(*) FROM chansync.person_handles) + (SELECT count(*) FROM chansync.person_contacts) + (SELECT count(*) FROM chansync.timeline)")
cd ..

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
| push of every person to NDJSON (--full) | ${wall[ndjson_push]} | $(rate "$hook_persons" "${wall[ndjson_push]}") persons | $((rss[ndjson_push] / 1024)) | |
| push of every person to a webhook | ${wall[webhook_push]} | $(rate "$hook_persons" "${wall[webhook_push]}") persons | $((rss[webhook_push] / 1024)) | $hook_persons persons, signed POSTs of 100 to the simulator |
| psql \\copy into the postgres target's tables (baseline) | ${wall[pg_copy]} | $(rate "$pg_rows" "${wall[pg_copy]}") rows | $((rss[pg_copy] / 1024)) | $pg_rows rows of $pg_persons persons, one transaction, same keys and indexes |
| chansync push to postgres | ${wall[pg_push]} | $(rate "$pg_persons" "${wall[pg_push]}") persons | $((rss[pg_push] / 1024)) | **$(ratio "${wall[pg_copy]}" "${wall[pg_push]}")× \\copy**; reads the store, builds each record, one transaction per 200 |
| chansync push of the same persons to NDJSON | ${wall[pg_ndjson]} | $(rate "$pg_persons" "${wall[pg_ndjson]}") persons | $((rss[pg_ndjson] / 1024)) | reading and building the records alone |
EOF
