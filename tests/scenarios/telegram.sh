#!/usr/bin/env bash
# Telegram against the simulator: a pull at -vv stores every queued update and confirms them on the
# server (getUpdates deletes what an offset acknowledged); health at -vv; a refused and a malformed
# token. The bot token is in every request's URL path: it must appear in no output, no log line and
# nowhere in the state store.
. "$(dirname "$0")/lib.sh"
secret="TGsecretScenarioToken_0123456789xyz"
export SIM_TELEGRAM_TOKEN="5550001111:$secret" TELEGRAM_BOT_TOKEN="5550001111:$secret"
start_sim --customers 5 --messages 20
# Its own config: adding Telegram to scripts/sim-config.sh would change the demo's and the other
# scenarios' counts.
cat >"$work/tg.toml" <<TOML
[state]
path = "state.db"

[identity]
default_region = "DE"

[connectors.tg]
type = "telegram-bot"
token_env = "TELEGRAM_BOT_TOKEN"
base_url = "http://127.0.0.1:$port"

[targets.out]
type = "ndjson"
path = "persons.ndjson"
TOML
tg() { "$CHANSYNC" --config "$work/tg.toml" "$@"; }
out="$work/out.txt"
: >"$out"

tg -vv pull >>"$out" 2>&1 || fail "pull failed: $(tail -5 "$out")"
[ "$(sqlite3 "$work/state.db" "SELECT count(*) FROM messages WHERE connector='tg'")" = 12 ] || fail "expected the 12 queued updates as messages"
[ "$(sqlite3 "$work/state.db" "SELECT cursor FROM streams WHERE connector='tg' AND stream='updates'")" = 600000013 ] \
  || fail "cursor should be the next offset, 600000013"
[ "$(jfield "$(sim_stats)" 'j["telegram_held"]')" = 0 ] || fail "the final empty getUpdates should have confirmed every update"
grep -q "GET http://127.0.0.1:$port/bot<redacted>/getUpdates" "$out" || fail "-vv should trace the redacted request URL"
curl -fsS -d '' "http://127.0.0.1:$port/_sim/add-updates?n=5" >/dev/null
tg -vv pull tg >>"$out" 2>&1 || fail "second pull failed"
[ "$(sqlite3 "$work/state.db" "SELECT count(*) FROM messages WHERE connector='tg'")" = 17 ] || fail "expected 17 messages after 5 more updates"
tg -vv health >>"$out" 2>&1 || fail "health not OK: $(tail -5 "$out")"
tg -o json health >"$work/health.json" || fail "health JSON not OK"
grep -q '/bot<redacted>/getMe' "$work/health.json" || fail "health evidence should carry the redacted getMe URL"
cat "$work/health.json" >>"$out"

# A refused token (401) and a malformed one (404): the errors go to stdout/stderr and the state store.
set +e
TELEGRAM_BOT_TOKEN="5550001111:${secret}WRONG" tg -vv pull >>"$out" 2>&1; code=$?
set -e
[ "$code" -eq 77 ] || fail "a refused bot token should exit 77, got $code"
grep -q "the bot token was refused" "$out" || fail "no 'the bot token was refused' message"
set +e
TELEGRAM_BOT_TOKEN="${secret}" tg -vv health >>"$out" 2>&1; code=$?
TELEGRAM_BOT_TOKEN="${secret}" tg -vv -o json health >>"$out" 2>&1
TELEGRAM_BOT_TOKEN="${secret}" tg -vv pull >>"$out" 2>&1
set -e
[ "$code" -eq 2 ] || fail "a malformed token should make health CRITICAL (2), got $code"
grep -q "malformed" "$out" || fail "the 404 should be explained as a malformed token"
tg -vv health >>"$out" 2>&1 || true  # stream rows now hold the failed pulls' errors
sqlite3 "$work/state.db" .dump >"$work/dump.sql"
grep -q "bot token was refused" "$work/dump.sql" || fail "the stored stream error is missing: the grep below would prove nothing"

for f in "$out" "$work/dump.sql" "$work/sim.log" "$work/persons.ndjson"; do
  [ -e "$f" ] || continue
  if grep -n -e "$secret" -e "5550001111%3A" "$f"; then fail "the bot token leaked into $(basename "$f")"; fi
done
echo "telegram scenario OK"
