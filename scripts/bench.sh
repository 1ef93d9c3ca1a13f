#!/usr/bin/env bash
# Benchmark (not part of the test suite): a simulator corpus of BENCH_MESSAGES messages over
# BENCH_CUSTOMERS customers, measured in one run against baselines taken in the same run:
#   curl fetching the same Twilio pages with keep-alive   vs  chansync pull (fetch + parse + store)
#   (and curl without gzip, for how much of that baseline is the simulator compressing its pages)
#   sqlite3 .import of the same rows into the same table   vs  chansync's ingest
#   (curl, the pull and .import in turns, three times; the medians are reported)
#   the same pages from a third simulator taking 20 ms per answer: curl  vs  chansync pull in one
#   chain of pages and with backfill_in_flight = 4 (windows of days side by side), once each, at
#   200k messages and below;
#   first reconcile + push, a no-change re-sync (wall, requests, rows written), a forced reconcile,
#   an incremental sync, and peak RSS of each (/usr/bin/time -v);
#   chansync push of ~100k persons to PostgreSQL  vs  psql \copy of the same rows into the same
#   tables (a second simulator corpus of BENCH_PG_CUSTOMERS customers; a throwaway local server
#   like the tests', Unix socket only, fsync off for both; run as the postgres user when root);
#   Meta Graph: curl fetching the Messenger conversations pages chansync fetches (and the nested
#   messages pages of conversations over 100 messages) with keep-alive, and a curl + jq loop
#   following paging.next page by page  vs  chansync pull of a meta-messenger connector (the
#   simulator gives every third of BENCH_CUSTOMERS customers a Messenger conversation);
#   IMAP: curl fetching every mail of a real Dovecot's INBOX in one logged-in session  vs  chansync
#   pull of an imap-email connector (the customers' mail, chansync-sim imap: ~7,500 mails for
#   10,000 customers); twilio-calls: chansync pull of the simulator's calls;
#   identity: the automatic identity pass (reconcile) alone over ~1,000,000 and ~100,000 generated,
#   labelled identities (chansync-identity-bench; identities = identity-graph nodes, i.e. CRM records
#   plus distinct handles): wall time, peak RSS, pairwise precision/recall/F1 and over-merges; then
#   the suggestions over the persons it made: CPU time, peak RSS, and the pairwise quality with every
#   suggestion at or above 0.9 and 0.99 accepted, with how many of those merges were true and false.
#   rate limits: a second simulator enforcing each vendor's limits (chansync-sim --enforce-limits),
#   scaled so several windows pass in seconds: HubSpot 95 requests per rolling 5 s (the real rate of
#   190 per 10 s in half the window; this machine serves and stores ~50 pages/s, so a faster limit
#   would measure chansync, not its pacing) pulled by list pages of BENCH_LIMITS_CONTACTS contacts,
#   then a bulk edit of 8,000 of them found by CRM search at HubSpot's real 4/s; Twilio messages and
#   calls under a cap of 2 requests in flight (a simulator of its own answering in 50 ms holding
#   BENCH_LIMITS_MESSAGES messages, 40,000 by default; both connectors with backfill_in_flight = 2); HubSpot
#   list pages again from a simulator answering in 150 ms (10,000 contacts: one chain of pages at a
#   remote API's latency); two HubSpot connectors on one token pulled at once (BENCH_LIMITS_TWO
#   customers' contacts each, 15,000 by default: one budget per token); Meta's app usage of 60 calls
#   per 10-minute window. Per
#   vendor: the rate the simulator accepted from the first to the last request ÷ the rate it allows
#   (Twilio: the mean requests in flight ÷ the cap), and the 429s it sent after the first window
#   (target: ≥ 0.95 and 0).
# The sections are files in scripts/bench/, sourced by this one (setup, helpers, the table).
# Usage: scripts/bench.sh        (about four minutes on two cores; prints a Markdown table)
#        BENCH_ONLY=graph scripts/bench.sh   (the Meta Graph rows alone, well under a minute)
#        BENCH_ONLY=listen scripts/bench.sh  (the webhook receiver rows alone, about a minute)
#        BENCH_ONLY=imap scripts/bench.sh    (the IMAP and calls rows alone, well under a minute)
#        BENCH_ONLY=identity scripts/bench.sh  (the identity rows alone, about a minute)
#        BENCH_ONLY=limits scripts/bench.sh  (the rate-limit rows alone, about a minute)
#        BENCH_ONLY=ingest scripts/bench.sh  (the Twilio pull, .import and sync rows alone: with
#          BENCH_MESSAGES=1000000 BENCH_CUSTOMERS=50000 it gives the 1M column of issue 12's table)
#        scripts/bench.sh --scale   (the whole benchmark, then its ingest section again at
#          BENCH_SCALE_MESSAGES=1000000 / BENCH_SCALE_CUSTOMERS=50000, then a table of how each
#          figure grows between the two sizes, against issue 12's targets; about 13 minutes)
#        scripts/bench.sh --peers   (the peer benchmark, ../shared/peer-bench or PEER_BENCH: chansync
#          pull sms against the official Twilio Node SDK + better-sqlite3 and a Python requests +
#          sqlite3 script on one simulator corpus, rounds alternated; run from a copy under
#          build/peer-bench, where the first run does `npm ci`; about 4 minutes)
#        scripts/bench.sh --scale --peers   (both, one after the other: everything issue 12 asks for)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scale=0
peers=0
for arg in "$@"; do
  case "$arg" in
    --scale) scale=1 ;;
    --peers) peers=1 ;;
    *) echo "bench: unknown argument $arg; the arguments are --scale and --peers" >&2 && exit 64 ;;
  esac
done
if [ $peers = 1 ]; then
  peer_src=${PEER_BENCH:-$root/../shared/peer-bench}
  [ -x "$peer_src/run.sh" ] ||
    { echo "bench: --peers runs $peer_src/run.sh, which is not there; set PEER_BENCH to the peer benchmark's directory" >&2 && exit 66; }
fi
if [ $scale = 1 ]; then
  # Each size in a work directory of its own, whose figures.json the scale table compares.
  BENCH_WORK="$root/build/bench" "$0"
  BENCH_ONLY=ingest BENCH_MESSAGES=${BENCH_SCALE_MESSAGES:-1000000} BENCH_CUSTOMERS=${BENCH_SCALE_CUSTOMERS:-50000} \
    BENCH_WORK="$root/build/bench-scale" "$0"
  python3 "$root/scripts/bench_scale.py" "$root/build/bench" "$root/build/bench-scale"
fi
if [ $peers = 1 ]; then
  scripts/install-deps.sh --test >&2  # python3-requests for the Python peer, Node and npm
  scripts/build.sh >&2
  # The peer benchmark's directory may be read-only: it runs from a copy, whose node_modules `npm ci`
  # fills (twilio + better-sqlite3, built by node-gyp) when there are none or the lock file changed.
  peer=$root/build/peer-bench
  if ! cmp -s "$peer_src/package-lock.json" "$peer/package-lock.json" || [ ! -d "$peer/node_modules" ]; then
    rm -rf "$peer" && mkdir -p "$peer"
    install -m 0755 "$peer_src"/* "$peer"/
    echo "bench: npm ci in $peer (about a minute)" >&2
    (cd "$peer" && npm ci --no-audit --no-fund --loglevel=error) >&2
  else
    install -m 0755 "$peer_src"/* "$peer"/  # its scripts as they are now; node_modules stays
  fi
  echo
  CHANSYNC_ROOT=$root PEER_WORK=$root/build/peer-work "$peer/run.sh"
fi
[ $scale = 0 ] && [ $peers = 0 ] || exit 0
messages=${BENCH_MESSAGES:-200000}
customers=${BENCH_CUSTOMERS:-10000}
pg_customers=${BENCH_PG_CUSTOMERS:-110000}
pg_messages=${BENCH_PG_MESSAGES:-200000}
only=${BENCH_ONLY:-}  # "graph", "listen", "imap", "identity", "limits", "ingest": that section alone
case "$only" in "" | graph | listen | imap | identity | limits | ingest) ;; *) echo "bench: BENCH_ONLY must be empty, graph, listen, imap, identity, limits or ingest" >&2 && exit 64 ;; esac

# Every section needs the test tools (jq, sqlite3, python3, /usr/bin/time, PostgreSQL).
scripts/install-deps.sh --test >&2
command -v jq >/dev/null || { echo "bench: needs jq (scripts/install-deps.sh --test)" >&2 && exit 69; }
scripts/build.sh >&2

work=${BENCH_WORK:-$root/build/bench}
rm -rf "$work" && mkdir -p "$work"
cd "$work"
"$root/build/chansync-sim" --port-file sim.port --customers "$customers" --messages "$messages" 2>sim.log &
sim=$!
sim2=""
sim3=""
imap_sim=""
. "$root/scripts/pg-local.sh"
cleanup() {
  kill $sim $sim2 $sim3 2>/dev/null || true
  if [ -n "$imap_sim" ]; then kill "$imap_sim" 2>/dev/null || true; wait "$imap_sim" 2>/dev/null || true; fi
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
# timed NAME CMD...: runs CMD under /usr/bin/time -v; records wall seconds, peak RSS (kB), CPU seconds
# (user + system) and the CPU seconds the main simulator spent meanwhile. Dirty pages of the steps
# before (a copied store, a CSV) are written out first, not during CMD.
timed() {
  local name=$1
  shift
  sync
  local before
  before=$(sim_ticks)
  /usr/bin/time -v -o "$name.time" "$@" >"$name.out"
  wall[$name]=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$name.time")
  rss[$name]=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$name.time")
  cpu[$name]=$(awk -F': ' '/(User|System) time \(seconds\)/ { s += $2 } END { printf "%.2f", s }' "$name.time")
  sim_cpu[$name]=$(python3 -c "import sys; print(f'{(int(sys.argv[2]) - int(sys.argv[1])) / int(sys.argv[3]):.2f}')" \
    "$before" "$(sim_ticks)" "$(getconf CLK_TCK)")
}
# CPU ticks the main simulator has used (user + system), for the CPU it spent serving a timed command.
sim_ticks() { awk '{ print $14 + $15 }' "/proc/$sim/stat" 2>/dev/null || echo 0; }
# median_of NAME: NAME's figures are those of the median of runs NAME_1..3 (one run varies by 15% or
# more here), which is median_run; walls[NAME] lists the three.
declare -A walls
median_of() {
  median_run=$(for run in 1 2 3; do echo "${wall[${1}_$run]} $run"; done | sort -n | sed -n 2p | cut -d' ' -f2)
  wall[$1]=${wall[${1}_$median_run]} rss[$1]=${rss[${1}_$median_run]}
  cpu[$1]=${cpu[${1}_$median_run]} sim_cpu[$1]=${sim_cpu[${1}_$median_run]}
  walls[$1]="${wall[${1}_1]}, ${wall[${1}_2]}, ${wall[${1}_3]} s"
}
requests() { curl -fsS "$base/_sim/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["twilio_requests"] + s["hubspot_requests"])'; }
declare -A wall rss cpu sim_cpu
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
rate() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):,.0f}')" "$1" "$2"; }
table_head() { printf '\n| measure | wall s | records/s | peak RSS MB | notes |\n|---|---:|---:|---:|---|\n'; }

# The sections, in this order (BENCH_ONLY=NAME runs one and prints its rows): each is a file in
# scripts/bench/, sourced here so it shares the helpers above and the wall/rss figures.
for section in identity imap limits listen graph ingest; do
  [ -z "$only" ] || [ "$only" = "$section" ] || continue
  . "$root/scripts/bench/$section.sh"
  if [ "$only" = "$section" ]; then
    table_head
    "${section}_rows"
    exit 0
  fi
done
. "$root/scripts/bench/push.sh"

table_head
ingest_rows
push_rows
graph_rows
listen_rows
imap_rows
identity_rows
limits_rows
