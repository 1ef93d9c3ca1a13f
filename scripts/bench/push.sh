# shellcheck shell=bash
# Sourced by scripts/bench.sh, in its work directory, with its helpers and figures.
# Persons pushed to NDJSON, a webhook and PostgreSQL (against psql \copy).
# push_rows prints its rows of the table.

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

push_rows() {
  cat <<EOF
| push of every person to NDJSON (--full) | ${wall[ndjson_push]} | $(rate "$hook_persons" "${wall[ndjson_push]}") persons | $((rss[ndjson_push] / 1024)) | |
| push of every person to a webhook | ${wall[webhook_push]} | $(rate "$hook_persons" "${wall[webhook_push]}") persons | $((rss[webhook_push] / 1024)) | $hook_persons persons, signed POSTs of 100 to the simulator |
| psql \\copy into the postgres target's tables (baseline) | ${wall[pg_copy]} | $(rate "$pg_rows" "${wall[pg_copy]}") rows | $((rss[pg_copy] / 1024)) | $pg_rows rows of $pg_persons persons, one transaction, same keys and indexes |
| chansync push to postgres | ${wall[pg_push]} | $(rate "$pg_persons" "${wall[pg_push]}") persons | $((rss[pg_push] / 1024)) | **$(ratio "${wall[pg_copy]}" "${wall[pg_push]}")× \\copy**; reads the store and builds each record while the batch before is written; new persons copied into the tables, one transaction per 1000 |
| chansync push of the same persons to NDJSON | ${wall[pg_ndjson]} | $(rate "$pg_persons" "${wall[pg_ndjson]}") persons | $((rss[pg_ndjson] / 1024)) | reading and building the records alone |
EOF
}
