#!/usr/bin/env bash
# Benchmark (not part of the test suite): a simulator corpus of BENCH_MESSAGES messages over
# BENCH_CUSTOMERS customers, measured in one run against baselines taken in the same run:
#   curl fetching the same Twilio pages with keep-alive   vs  chansync pull (fetch + parse + store)
#   sqlite3 .import of the same rows into the same table   vs  chansync's ingest
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
#   calls under a cap of 2 requests in flight; Meta's app usage of 60 calls per 10-minute window. Per
#   vendor: the rate the
#   simulator accepted from the first to the last request ÷ the rate it allows, and the 429s it sent
#   after the first window (target: ≥ 0.95 and 0).
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
imap_sim=""
. "$root/scripts/pg-local.sh"
cleanup() {
  kill $sim $sim2 2>/dev/null || true
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
# timed NAME CMD...: runs CMD under /usr/bin/time -v; records wall seconds and peak RSS (kB). Dirty
# pages of the steps before (a copied store, a CSV) are written out first, not during CMD.
timed() {
  local name=$1
  shift
  sync
  /usr/bin/time -v -o "$name.time" "$@" >"$name.out"
  wall[$name]=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$name.time")
  rss[$name]=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$name.time")
}
# median_of NAME: NAME's figures are those of the median of runs NAME_1..3 (one run varies by 15% or
# more here), which is median_run; walls[NAME] lists the three.
declare -A walls
median_of() {
  median_run=$(for run in 1 2 3; do echo "${wall[${1}_$run]} $run"; done | sort -n | sed -n 2p | cut -d' ' -f2)
  wall[$1]=${wall[${1}_$median_run]} rss[$1]=${rss[${1}_$median_run]}
  walls[$1]="${wall[${1}_1]}, ${wall[${1}_2]}, ${wall[${1}_3]} s"
}
requests() { curl -fsS "$base/_sim/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["twilio_requests"] + s["hubspot_requests"])'; }
declare -A wall rss
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
rate() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):,.0f}')" "$1" "$2"; }
table_head() { printf '\n| measure | wall s | records/s | peak RSS MB | notes |\n|---|---:|---:|---:|---|\n'; }

if [ "$only" = "" ] || [ "$only" = identity ]; then
# Identity: chansync-identity-bench generates seeded, labelled people and their records (CRM contacts
# in two CRMs, conversation handles, vendor links, with the noise real data has), normalised by the
# pipeline's own rules, then times reconcile alone and scores it against the labels, then the
# suggestions stage (suggest) on the persons it made and the quality of accepting them. The people
# counts give ~1,000,000 and ~100,000 identity-graph nodes (CRM records + distinct handles); each
# run is its own process, so peak RSS is that size's.
cmake --build "$root/build" --parallel "$(nproc)" --target chansync-identity-bench >&2
for people in 298400 29840; do
  "$root/build/chansync-identity-bench" --seed 1 --people "$people" --json >"identity_$people.json"
done
fi
identity_rows() {
  python3 - identity_298400.json identity_29840.json <<'PY'
import json, sys
for path in sys.argv[1:]:
    r = json.load(open(path))
    target = "; target <= 2 s and <= 300 MB" if r['identities'] >= 900_000 else ""
    print(f"| identity: automatic pass (reconcile), {r['identities']:,} identities (graph nodes) | {r['reconcile_s']:.2f} "
          f"| {r['identities'] / r['reconcile_s']:,.0f} identities | {r['peak_rss_mb']:.0f} "
          f"| precision {r['precision']:.4f}, recall {r['recall']:.4f}, F1 {r['f1']:.4f}, "
          f"**{r['over_merges']:,} over-merges** (persons holding records of 2+ true people), "
          f"{r['under_merges']:,} under-merges; {r['records']:,} records of {r['people']:,} people scored; "
          f"{r['reconcile_cpu_s']:.2f} s CPU; {r['rss_before_reconcile_mb']:.0f} MB held before the pass; generation + normalisation "
          f"{r['generate_s']:.1f} s, not in the time{target} |")
    s = r.get('suggest')
    if not s:
        continue
    accepted = "; ".join(
        f"accepting >= {a['threshold']}: precision {a['precision']:.4f}, recall {a['recall']:.4f}, F1 {a['f1']:.4f}, "
        f"**{a['true_merges']:,} true / {a['false_merges']:,} false merges** ({a['false_merges_in_household']:,} of the false "
        f"in one household)" for a in s['accepted'])
    print(f"| identity: suggestions (suggest over the {s['profiles']:,} persons the pass made), {r['identities']:,} identities "
          f"| {s['suggest_cpu_s']:.2f} CPU | {s['candidate_pairs']:,} candidate pairs | {s['peak_rss_mb']:.0f} "
          f"| {s['suggestions_090']:,} suggestions >= 0.9, {s['suggestions_099']:,} >= 0.99; {accepted}; "
          f"prior {s['prior']:.3g}, {s['skipped_blocks']:,} blocking keys over max_block skipped; "
          f"{s['rss_before_mb']:.0f} MB held before the stage; profiles {s['profiles_cpu_s']:.2f} s CPU, not in the time |")
PY
}
if [ "$only" = identity ]; then
  table_head
  identity_rows
  exit 0
fi

if [ "$only" = "" ] || [ "$only" = imap ]; then
# IMAP: a real Dovecot (chansync-sim imap) holding the customers' mail. curl fetches every UID in one
# logged-in session (URL globbing reuses the connection; one UID FETCH per mail, BODY[]); chansync
# pulls the mailbox (UID FETCH of up to 250 mails a page with BODY.PEEK[], MIME-parsed, stored).
# Then the simulator's calls pulled by twilio-calls.
mkdir -p imap && cd imap
"$root/build/chansync-sim" imap --dir . --customers "$customers" --mails "${BENCH_MAILS:-0}" >/dev/null 2>imap.log &
imap_sim=$!
for _ in $(seq 600); do [ -s imap.env ] && break; sleep 0.1; done
. ./imap.env
mails=$IMAP_MAILS
cat >imap.toml <<TOML
[state]
path = "state.db"

[connectors.mail]
type = "imap-email"
url = "$IMAP_URL"
username = "$IMAP_USER"
password_file = "imap-password"
own_addresses = ["support@example.com"]

[connectors.calls]
type = "twilio-calls"
account_sid = "$sid"
auth_token_env = "TWILIO_AUTH_TOKEN"
own_numbers = ["+4930123456", "030 123457"]
base_url = "$base"
TOML
timed imap_curl curl -sS -u "$IMAP_USER:$(cat imap-password)" "$IMAP_URL/INBOX;UID=[1-$mails]"
timed imap_pull "$root/build/chansync" --config imap.toml -q -o json pull mail
imap_stored=$(sqlite3 state.db "SELECT count(*) FROM messages WHERE connector = 'mail'")
timed calls_pull "$root/build/chansync" --config imap.toml -q -o json pull calls
calls=$(sqlite3 state.db "SELECT count(*) FROM messages WHERE connector = 'calls'")
kill "$imap_sim" && wait "$imap_sim" || true
imap_sim=""
cd ..
fi
imap_rows() {
  cat <<EOF
| curl, every mail of the INBOX in one IMAP session (baseline) | ${wall[imap_curl]} | $(rate "$mails" "${wall[imap_curl]}") | $((rss[imap_curl] / 1024)) | $mails mails, one UID FETCH each, real Dovecot on loopback |
| chansync pull of an imap-email mailbox | ${wall[imap_pull]} | $(rate "$mails" "${wall[imap_pull]}") | $((rss[imap_pull] / 1024)) | **$(ratio "${wall[imap_curl]}" "${wall[imap_pull]}")× curl**; BODY.PEEK[] 250 a page, GMime, threads; $imap_stored stored |
| chansync pull of twilio-calls | ${wall[calls_pull]} | $(rate "$calls" "${wall[calls_pull]}") | $((rss[calls_pull] / 1024)) | $calls calls from the simulator |
EOF
}
if [ "$only" = imap ]; then
  table_head
  imap_rows
  exit 0
fi

if [ "$only" = "" ] || [ "$only" = limits ]; then
# Rate limits: chansync against a simulator that enforces them. Each pull is its own run; the
# simulator's stats (limits.<vendor>) are read after it, so each row is that pull's alone.
mkdir -p limits && cd limits
"$root/build/chansync-sim" --port-file lim.port --customers "${BENCH_LIMITS_CONTACTS:-30000}" --messages 20000 \
  --enforce-limits --hubspot-max 95 --hubspot-interval-ms 5000 --twilio-concurrency 2 --meta-calls 60 \
  --meta-window-ms 600000 2>lim.log &
sim2=$!
for _ in $(seq 600); do [ -s lim.port ] && break; sleep 0.1; done
lbase="http://127.0.0.1:$(cat lim.port)"
write_sim_config limits.toml "$(cat lim.port)"
cat >>limits.toml <<TOML

[connectors.calls]
type = "twilio-calls"
account_sid = "$sid"
auth_token_env = "TWILIO_AUTH_TOKEN"
base_url = "$lbase"

[connectors.fb]
type = "meta-messenger"
page_id = "1000000000000001"
token_env = "META_PAGE_TOKEN"
base_url = "$lbase"
TOML
export META_PAGE_TOKEN=sim-meta-token
lim_cs=("$root/build/chansync" --config limits.toml -q)
limit_stats() { curl -fsS "$lbase/_sim/stats" | jq -c ".limits.$1" >"$2"; }
timed lim_hubspot "${lim_cs[@]}" pull crm
limit_stats hubspot lim_hubspot.json
curl -fsS -d '' "$lbase/_sim/touch-contacts?n=8000" >/dev/null
timed lim_search "${lim_cs[@]}" pull crm
limit_stats hubspot_search lim_search.json
timed lim_twilio "${lim_cs[@]}" pull sms calls
limit_stats twilio lim_twilio.json
timed lim_meta "${lim_cs[@]}" pull fb 2>lim_meta.err || true  # exits 75 when it stops before Meta's limit
lim_meta_rc=$(awk -F': ' '/Exit status/ { print $2 }' lim_meta.time)
limit_stats meta lim_meta.json
kill "$sim2" && wait "$sim2" 2>/dev/null || true
sim2=""
cd ..
fi
limits_rows() {
  python3 - limits "${lim_meta_rc:-0}" "$(grep -o 'Meta reports.*' limits/lim_meta.err 2>/dev/null | head -1)" <<'PY'
import json, sys
d, meta_rc, meta_stop = sys.argv[1], sys.argv[2], sys.argv[3]
def load(name): return json.load(open(f"{d}/{name}.json"))
def rate_row(title, s, window, how):
    used = s["used_per_second"] / s["allowed_per_second"]
    print(f"| rate limits: {title} | {s['span_s']:.1f} | {s['used_per_second']:.1f} requests | "
          f"| **{used:.3f} of the allowed rate** ({s['allowed_per_second']:.1f}/s), "
          f"**{s['refused_after_first_window']} 429s after the first {window}** ({s['refused']} in all); "
          f"{s['accepted']} requests accepted; {how} |")
rate_row("HubSpot contacts, list pages", load("lim_hubspot"), "window (5 s)",
         "95 per 5 s rolling, X-HubSpot-RateLimit-* read from every answer; target >= 0.95 and 0")
rate_row("HubSpot CRM search after a bulk edit of 8,000 contacts", load("lim_search"), "second",
         "4/s, no rate headers on search: paced at 97% of the documented limit, evenly spaced; target >= 0.95 and 0")
t = load("lim_twilio")
print(f"| rate limits: Twilio messages + calls, cap of 2 in flight | {t['span_s']:.1f} | | "
      f"| mean {t['mean_in_flight']:.2f} in flight of {t['cap']} (peak {t['peak_in_flight']}), "
      f"**{t['refused_after_first_window']} 429s (20429) after the first second** ({t['refused']} in all); "
      f"the connectors pull one page at a time, so one request is in flight each |")
m = load("lim_meta")
print(f"| rate limits: Meta Messenger, 60 calls per 10-minute window | {m['span_s']:.1f} | | "
      f"| **{m['accepted'] / 60:.3f} of the window's calls used**, **{m['refused']} refused** (Graph error 4); "
      f"exit {meta_rc}: {meta_stop or 'no stop'}; X-App-Usage names no window, so chansync stops at 95% "
      f"and the next run continues |")
PY
}
if [ "$only" = limits ]; then
  table_head
  limits_rows
  exit 0
fi

if [ "$only" != graph ] && [ "$only" != ingest ]; then
# Webhooks: signed WhatsApp POSTs acknowledged by `chansync listen` (each 200 only after its fsync;
# concurrent requests share one), the same receiver with fsync off (CHANSYNC_LISTEN_NO_FSYNC=1, the
# ceiling fsync costs against), and the drain of the spool into the state store by `pull`.
webhooks=${BENCH_WEBHOOKS:-20000}
mkdir -p listen && cd listen
cat >listen.toml <<TOML
[state]
path = "state.db"

[listen]
address = "127.0.0.1:0"
spool_dir = "spool"

[connectors.wa]
type = "whatsapp-cloud"
phone_number_id = "106540352242922"
app_secret_env = "SIM_APP_SECRET"
TOML
export SIM_APP_SECRET=bench-app-secret
lcs=("$root/build/chansync" --config listen.toml)
# listen_run NAME FIRST [ENV...]: a listen, $webhooks signed POSTs from 32 connections, SIGTERM.
listen_run() {
  local name=$1 first=$2
  shift 2
  env "$@" "${lcs[@]}" -q listen >"$name.addr" 2>"$name.log" &
  local pid=$!
  for _ in $(seq 200); do [ -s "$name.addr" ] && break; sleep 0.05; done
  "$root/build/chansync-sim" post-webhooks --url "http://$(head -1 "$name.addr")/webhooks/wa" \
    --customers "$customers" --first "$first" --count "$webhooks" --concurrency 32 >"$name.json"
  kill -TERM $pid && wait $pid
  per_second[$name]=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["per_second"]))' "$name.json")
}
declare -A per_second
listen_run listen_fsync 0
listen_run listen_nofsync "$webhooks" CHANSYNC_LISTEN_NO_FSYNC=1
timed drain "${lcs[@]}" -q -o json pull wa
drained=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pull"][0]["received"])' drain.out)
cd ..
fi
listen_rows() {
  cat <<EOF
| chansync listen: signed webhook POSTs acknowledged, fsync before each 200 | | ${per_second[listen_fsync]} POSTs | | **$(ratio "${per_second[listen_fsync]}" "${per_second[listen_nofsync]}")× the same receiver without fsync**; $webhooks WhatsApp payloads from 32 connections, signature checked, group commit |
| the same receiver without fsync (baseline) | | ${per_second[listen_nofsync]} POSTs | | CHANSYNC_LISTEN_NO_FSYNC=1: what the receiver costs without the disk |
| chansync pull of the spool (drain) | ${wall[drain]} | $(rate "$drained" "${wall[drain]}") | $((rss[drain] / 1024)) | $drained messages and receipts from $((2 * webhooks)) payloads, mapped and committed 500 payloads a page |
EOF
}
if [ "$only" = listen ]; then
  table_head
  listen_rows
  exit 0
fi

if [ "$only" != ingest ]; then
# Meta Graph: the Messenger conversations chansync pulls (the same fields and limit, then each long
# conversation's older messages), listed once untimed and fetched by curl on one keep-alive
# connection; then a curl + jq loop that follows paging.next as it goes (a process and a connection
# per page: what a shell client pays); then chansync pull of a meta-messenger connector into its own
# state file, and a re-pull with nothing new.
export META_PAGE_TOKEN=sim-meta-token
graph_page=1000000000000001
graph_stat() { curl -fsS "$base/_sim/stats" | jq -r ".$1"; }
python3 - "$base" "$graph_page" >graph_urls.cfg <<'PY'
import http.client, json, sys, urllib.parse
base, page = sys.argv[1], sys.argv[2]
fields = "id,updated_time,participants,messages.limit(100){id,created_time,from,to,message,attachments}"
u = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(u.hostname, u.port)
def get(url):
    print(f'url = "{url}"\noutput = "/dev/null"')
    p = urllib.parse.urlparse(url)
    conn.request("GET", f"{p.path}?{p.query}", headers={"Authorization": "Bearer sim-meta-token"})
    return json.loads(conn.getresponse().read())
url = f"{base}/v23.0/{page}/conversations?platform=messenger&fields={urllib.parse.quote(fields, safe='')}&limit=25"
while url:
    listing = get(url)
    for c in listing["data"]:
        older = c.get("messages", {}).get("paging", {}).get("next")
        while older:
            older = get(older).get("paging", {}).get("next")
    url = listing.get("paging", {}).get("next")
PY
graph_pages=$(grep -c '^url' graph_urls.cfg)
graph_messages=$(graph_stat meta_messenger_messages)
graph_conversations=$(graph_stat meta_messenger_conversations)
cat >graph_loop.sh <<'SH'
# bash graph_loop.sh FIRST_URL: follows paging.next (and each conversation's messages.paging.next).
get() { curl -sS --compressed -H "Authorization: Bearer $META_PAGE_TOKEN" "$1"; }
next=$1
while [ -n "$next" ]; do
  page=$(get "$next")
  for older in $(jq -r '.data[].messages.paging.next // empty' <<<"$page"); do
    while [ -n "$older" ]; do older=$(get "$older" | jq -r '.paging.next // empty'); done
  done
  next=$(jq -r '.paging.next // empty' <<<"$page")
done
SH
cat >graph.toml <<TOML
[state]
path = "graph.db"

[identity]
default_region = "DE"

[connectors.fb]
type = "meta-messenger"
page_id = "$graph_page"
token_env = "META_PAGE_TOKEN"
base_url = "$base"
TOML
echo "bench: Graph, $graph_conversations Messenger conversations, $graph_messages messages, $graph_pages pages" >&2
timed graph_curl curl -sS -g --compressed -H "Authorization: Bearer $META_PAGE_TOKEN" -K graph_urls.cfg
timed graph_loop bash graph_loop.sh "$(sed -n '1s/^url = "\(.*\)"$/\1/p' graph_urls.cfg)"
g0=$(graph_stat meta_requests)
timed graph_pull "$root/build/chansync" --config graph.toml -q pull fb
graph_requests=$(($(graph_stat meta_requests) - g0))
graph_stored=$(sqlite3 graph.db "SELECT count(*) FROM messages")
[ "$graph_stored" = "$graph_messages" ] || echo "bench: chansync stored $graph_stored Graph messages of $graph_messages" >&2
g0=$(graph_stat meta_requests)
timed graph_repull "$root/build/chansync" --config graph.toml -q pull fb
graph_repull_requests=$(($(graph_stat meta_requests) - g0))
graph_rows() {
  cat <<EOF
| curl, $graph_pages Graph pages, keep-alive (baseline) | ${wall[graph_curl]} | $(rate "$graph_messages" "${wall[graph_curl]}") | $((rss[graph_curl] / 1024)) | Messenger: conversations 25 a page with their newest 100 messages, then long conversations' older messages; one connection, gzip |
| curl + jq loop following paging.next | ${wall[graph_loop]} | $(rate "$graph_messages" "${wall[graph_loop]}") | $((rss[graph_loop] / 1024)) | a process and a connection per page |
| chansync pull meta-messenger | ${wall[graph_pull]} | $(rate "$graph_messages" "${wall[graph_pull]}") | $((rss[graph_pull] / 1024)) | **$(ratio "${wall[graph_curl]}" "${wall[graph_pull]}")× curl**, $(ratio "${wall[graph_loop]}" "${wall[graph_pull]}")× the jq loop; $graph_requests requests ($graph_pages for curl); $graph_stored of $graph_messages messages stored, $graph_conversations conversations |
| chansync re-pull meta-messenger, nothing new | ${wall[graph_repull]} | | $((rss[graph_repull] / 1024)) | $graph_repull_requests requests |
EOF
}
fi
if [ "$only" = graph ]; then
  table_head
  graph_rows
  exit 0
fi

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
timed import sqlite3 import.db "PRAGMA cache_size = -65536" ".import --csv messages.csv messages"  # 4x chansync's cache
imported=$(sqlite3 import.db "SELECT count(*) FROM messages")

# The first sync, three times from the same pulled store: the median run is reported (the 1M/200k
# ratio is a target); the last run's store goes on below.
sqlite3 state.db "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null && cp state.db pulled.db
for run in 1 2 3; do
  cp pulled.db state.db && rm -f state.db-wal state.db-shm persons.ndjson
  timed "first_sync_$run" "${cs[@]}" -q -o json sync
done
median_of first_sync
cp "first_sync_$median_run.out" first_sync.out && rm -f pulled.db
r0=$(requests)
timed resync "${cs[@]}" -q -o json sync
r1=$(requests)
written=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sum(p["written"] for p in r["pull"]) + sum(p["created"] + p["updated"] for p in r["push"]))' resync.out)
timed reconcile "${cs[@]}" -q -o json reconcile
curl -fsS -d "" "$base/_sim/add-messages?n=100" >/dev/null
timed incremental "${cs[@]}" -q -o json sync
# The same customer again: now a known one, so no identity changes (reconcile is skipped).
curl -fsS -d "" "$base/_sim/add-messages?n=100" >/dev/null
timed incremental_known "${cs[@]}" -q -o json sync

# Several connectors in one pull: sms and crm into a fresh store at once (the default: one thread per
# connector, one writer), against the slowest connector (sms) alone into a fresh store, taken in
# turns three times (medians: a single pair varied more than the ratio it measures); then one after
# another (-j 1), once.
sed 's|path = "state.db"|path = "multi.db"|' sync.toml >multi.toml
for run in 1 2 3; do
  rm -f multi.db*
  timed "multi_$run" "$root/build/chansync" --config multi.toml -q pull sms crm
  rm -f multi.db*
  timed "alone_$run" "$root/build/chansync" --config multi.toml -q pull sms
done
median_of multi
median_of alone
sed 's|path = "state.db"|path = "serial.db"|' sync.toml >serial.toml
timed serial "$root/build/chansync" --config serial.toml -q pull -j 1 sms crm
slowest=$(python3 -c "import sys; print(max(float(a) for a in sys.argv[1:]))" "${wall[alone]}" "${wall[pull_crm]}")
# The ingest figures, for --scale (scripts/bench_scale.py reads them with the syncs' *.out reports).
figures() {
  local sep="" n
  printf '{'
  for n in curl pull import pull_crm multi alone serial first_sync resync reconcile incremental incremental_known; do
    printf '%s"%s": [%s, %s]' "$sep" "$n" "${wall[$n]}" "${rss[$n]}"
    sep=", "
  done
  printf '}'
}
printf '{"messages": %s, "customers": %s, "resync_requests": %s, "runs": %s}\n' "$messages" "$customers" \
  "$((r1 - r0))" "$(figures)" >figures.json
ingest_rows() {
  cat <<EOF
| curl, $pages pages, keep-alive (baseline) | ${wall[curl]} | $(rate "$messages" "${wall[curl]}") | $((rss[curl] / 1024)) | one connection, gzip |
| chansync pull sms | ${wall[pull]} | $(rate "$messages" "${wall[pull]}") | $((rss[pull] / 1024)) | **$(ratio "${wall[curl]}" "${wall[pull]}")× curl**; $stored messages stored, pages committed in batches |
| sqlite3 .import, same rows and indexes (baseline) | ${wall[import]} | $(rate "$imported" "${wall[import]}") | $((rss[import] / 1024)) | one transaction, a 64 MiB page cache (chansync: 16 MiB), no fetch or parse |
| chansync ingest vs .import | | | | **$(ratio "${wall[import]}" "${wall[pull]}")× .import** |
| chansync pull crm | ${wall[pull_crm]} | | $((rss[pull_crm] / 1024)) | HubSpot contacts |
| pull sms + crm at once (fresh store) | ${wall[multi]} | | $((rss[multi] / 1024)) | **$(ratio "${wall[multi]}" "$slowest")× the slowest alone** (sms: ${wall[alone]} s); medians of three runs each, in turns (${walls[multi]}; alone ${walls[alone]}) |
| pull sms + crm one after another (-j 1) | ${wall[serial]} | | $((rss[serial] / 1024)) | $(ratio "${wall[serial]}" "$slowest")× the slowest alone |
| first sync (reconcile + push of every person) | ${wall[first_sync]} | | $((rss[first_sync] / 1024)) | $(persons) persons to NDJSON; $(stages first_sync); median of three runs (${walls[first_sync]}) |
| no-change re-sync | ${wall[resync]} | | $((rss[resync] / 1024)) | $((r1 - r0)) requests, $written rows written; $(stages resync) |
| reconcile (forced, from the store) | ${wall[reconcile]} | | $((rss[reconcile] / 1024)) | |
| sync after 100 new messages | ${wall[incremental]} | | $((rss[incremental] / 1024)) | from a new customer: one new person (append-only reconcile, not the whole graph); $(stages incremental) |
| sync after 100 more of that customer | ${wall[incremental_known]} | | $((rss[incremental_known] / 1024)) | a known customer: identities unchanged, reconcile skipped; $(stages incremental_known) |
EOF
}
# stages NAME: the stage times a sync reported in its JSON (streams pull concurrently: the longest).
stages() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(f"""pull {max(p["seconds"] for p in r["pull"]):.3f} s, reconcile {r["reconcile"]["seconds"]:.3f} s, push {sum(p["seconds"] for p in r["push"]):.3f} s""")' "$1.out"; }
persons() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["reconcile"]["persons"])' first_sync.out; }
if [ "$only" = ingest ]; then
  table_head
  ingest_rows
  exit 0
fi

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

table_head
ingest_rows
cat <<EOF
| push of every person to NDJSON (--full) | ${wall[ndjson_push]} | $(rate "$hook_persons" "${wall[ndjson_push]}") persons | $((rss[ndjson_push] / 1024)) | |
| push of every person to a webhook | ${wall[webhook_push]} | $(rate "$hook_persons" "${wall[webhook_push]}") persons | $((rss[webhook_push] / 1024)) | $hook_persons persons, signed POSTs of 100 to the simulator |
| psql \\copy into the postgres target's tables (baseline) | ${wall[pg_copy]} | $(rate "$pg_rows" "${wall[pg_copy]}") rows | $((rss[pg_copy] / 1024)) | $pg_rows rows of $pg_persons persons, one transaction, same keys and indexes |
| chansync push to postgres | ${wall[pg_push]} | $(rate "$pg_persons" "${wall[pg_push]}") persons | $((rss[pg_push] / 1024)) | **$(ratio "${wall[pg_copy]}" "${wall[pg_push]}")× \\copy**; reads the store, builds each record, one transaction per 200 |
| chansync push of the same persons to NDJSON | ${wall[pg_ndjson]} | $(rate "$pg_persons" "${wall[pg_ndjson]}") persons | $((rss[pg_ndjson] / 1024)) | reading and building the records alone |
EOF
graph_rows
listen_rows
imap_rows
identity_rows
limits_rows
