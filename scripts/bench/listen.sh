# shellcheck shell=bash
# Sourced by scripts/bench.sh, in its work directory, with its helpers and figures.
# Signed webhook POSTs acknowledged by `chansync listen`, and the drain of its spool.
# listen_rows prints its rows of the table.

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
listen_rows() {
  cat <<EOF
| chansync listen: signed webhook POSTs acknowledged, fsync before each 200 | | ${per_second[listen_fsync]} POSTs | | **$(ratio "${per_second[listen_fsync]}" "${per_second[listen_nofsync]}")× the same receiver without fsync**; $webhooks WhatsApp payloads from 32 connections, signature checked, group commit |
| the same receiver without fsync (baseline) | | ${per_second[listen_nofsync]} POSTs | | CHANSYNC_LISTEN_NO_FSYNC=1: what the receiver costs without the disk |
| chansync pull of the spool (drain) | ${wall[drain]} | $(rate "$drained" "${wall[drain]}") | $((rss[drain] / 1024)) | $drained messages and receipts from $((2 * webhooks)) payloads, mapped and committed 500 payloads a page |
EOF
}
