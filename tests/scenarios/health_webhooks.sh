#!/usr/bin/env bash
# Webhooks and tokens in `chansync health`, against the simulator and a real `chansync listen`:
# requests listen refused in a row → webhook_broken naming the status and reason (offline too), and
# ok again once one is accepted; Meta's Page and WhatsApp Business Account subscriptions gone →
# webhook_broken; a Telegram webhook set with a failing delivery → webhook_broken; Graph debug_token:
# an expiring token → deprecated within [health] expiry_warning_days (ok outside it), an expired one
# or one without the messaging permission → auth_failed. No token appears in any output.
. "$(dirname "$0")/lib.sh"
export WA_APP_SECRET="wa-app-secret-health-7c1d" META_PAGE_TOKEN="sim-meta-token" SIM_APP_SECRET="wa-app-secret-health-7c1d" \
  TELEGRAM_BOT_TOKEN="5550001111:SIMtelegramBotToken0123456789abcdef"
start_sim --customers 4 --messages 10
cat >>"$work/sync.toml" <<TOML

[health]
recovery_checks = 1

[listen]
address = "127.0.0.1:0"
spool_dir = "spool"

[connectors.wa]
type = "whatsapp-cloud"
phone_number_id = "106540352242922"
waba_id = "102290129340398"
token_env = "META_PAGE_TOKEN"
app_secret_env = "WA_APP_SECRET"
base_url = "http://127.0.0.1:$port"

[connectors.fb]
type = "meta-messenger"
page_id = "1000000000000001"
token_env = "META_PAGE_TOKEN"
app_secret_env = "WA_APP_SECRET"
base_url = "http://127.0.0.1:$port"

[connectors.tg]
type = "telegram-bot"
token_env = "TELEGRAM_BOT_TOKEN"
base_url = "http://127.0.0.1:$port"
TOML
all_out="$work/all.out"
: >"$all_out"
# run EXPECTED_CODE NAME ARGS...: health -o json into $work/NAME.json (stderr at -vv kept to look
# for secrets), asserting the exit code.
run() {
  local want=$1 name=$2; shift 2
  set +e; cs -vv -o json health "$@" >"$work/$name.json" 2>"$work/$name.err"; local code=$?; set -e
  cat "$work/$name.json" "$work/$name.err" >>"$all_out"
  [ "$code" -eq "$want" ] || fail "$name: exit $code, expected $want: $(cat "$work/$name.json" "$work/$name.err")"
}
# check FILE CONNECTOR CLASS SIGNAL FINDING_CLASS VALUE [DETAIL]: the connector's probe has CLASS and
# a finding of SIGNAL with FINDING_CLASS whose value contains VALUE and detail contains DETAIL.
check() {
  python3 - "$@" <<'PY' || fail "$2 in $1: expected $3 with $4 $5 $6: $(cat "$1")"
import json, sys
path, conn, cls, signal, fcls, value = sys.argv[1:7]
detail = sys.argv[7] if len(sys.argv) > 7 else ""
c = next(c for c in json.load(open(path))["checks"] if c["connector"] == conn and c["stream"] is None)
assert c["class"] == cls, c
f = next(f for f in c["findings"] if f["signal"] == signal)
assert f["class"] == fcls and value in f["value"] and detail in f["detail"], f
assert cls == "ok" or c["action"], c
PY
}
fault() { sim_post fault "{\"kind\":\"$2\",\"vendor\":\"$1\",\"count\":${3:-1}}" >/dev/null; }

# Before listen has seen a request: subscriptions and tokens are fine, the receiver unchecked.
run 0 before fb wa tg
check "$work/before.json" fb ok "webhook subscription" ok "Sim Inbox App"
check "$work/before.json" fb ok "webhook receiver" unknown "no request recorded"
check "$work/before.json" fb ok "token scopes" ok "pages_messaging"
check "$work/before.json" fb ok "data access expiry" ok "" "days left"
check "$work/before.json" wa ok "webhook subscription" ok "Sim Inbox App" "WhatsApp Business Account 102290129340398"
check "$work/before.json" tg ok "getWebhookInfo" ok "no webhook"

# listen accepts signed webhooks, then refuses three signed with another secret.
"$CHANSYNC" --config "$work/sync.toml" listen >"$work/listen.addr" 2>"$work/listen.log" &
listen_pid=$!
bg_pids="$bg_pids $listen_pid"
for _ in $(seq 200); do [ -s "$work/listen.addr" ] && break; sleep 0.05; done
addr=$(head -1 "$work/listen.addr")
[ -n "$addr" ] || fail "listen printed no address: $(cat "$work/listen.log")"
post() { "$CHANSYNC_SIM" post-webhooks --url "http://$addr/webhooks/wa" --customers 4 --first "$1" --count "$2" --concurrency 1; }
post 0 5 >/dev/null || fail "signed webhooks were not accepted: $(tail -3 "$work/listen.log")"
run 0 accepting wa
check "$work/accepting.json" wa ok "webhook receiver" ok "T" "last webhook request accepted"
SIM_APP_SECRET=rotated-elsewhere post 5 3 >/dev/null 2>&1 && fail "webhooks signed with another secret were accepted"
run 2 refusing wa
check "$work/refusing.json" wa webhook_broken "webhook receiver" webhook_broken "3 refused in a row (HTTP 401)" \
  "X-Hub-Signature-256 does not match the body"
grep -q 'app_secret' "$work/refusing.json" || fail "the action does not name app_secret: $(cat "$work/refusing.json")"
# listen's record is local: --offline reads it too.
run 2 refusing_offline --offline wa
check "$work/refusing_offline.json" wa webhook_broken "webhook receiver" webhook_broken "3 refused in a row"
post 8 1 >/dev/null || fail "a signed webhook was not accepted after the refusals"
run 0 accepting_again wa
check "$work/accepting_again.json" wa ok "webhook receiver" ok "T" "last refused"
kill "$listen_pid"; wait "$listen_pid" 2>/dev/null || true
# Nothing receives webhooks once listen has stopped, however well it did before.
run 2 stopped wa
check "$work/stopped.json" wa webhook_broken "webhook receiver" webhook_broken "listen not running" "listen.lock"

# Meta no longer sends the Page's or the WhatsApp Business Account's webhooks to any app.
fault meta/subscribed_apps gone; run 2 page_gone fb
check "$work/page_gone.json" fb webhook_broken "webhook subscription" webhook_broken "no app subscribed" \
  "the Page 1000000000000001"
fault meta/subscribed_apps no_messages; run 2 no_messages fb
check "$work/no_messages.json" fb webhook_broken "webhook subscription" webhook_broken "no app has messages"
fault meta/subscribed_apps gone; run 2 waba_gone wa
check "$work/waba_gone.json" wa webhook_broken "webhook subscription" webhook_broken "no app subscribed" \
  "WhatsApp Business Account 102290129340398"

# A webhook set for the Telegram bot takes the updates getUpdates should get.
fault telegram/getWebhookInfo webhook_error; run 2 tg_webhook tg
check "$work/tg_webhook.json" tg webhook_broken getWebhookInfo webhook_broken "webhook https://hooks.example.invalid/telegram/" \
  "502 Bad Gateway"
grep -q '12 updates pending\|[0-9]* updates pending' "$work/tg_webhook.json" || fail "no pending count in $(cat "$work/tg_webhook.json")"

# Tokens: expiring within expiry_warning_days (default 14) → deprecated; expired or lacking the
# messaging permission → auth_failed.
fault meta/debug_token expiring; run 1 expiring fb
check "$work/expiring.json" fb deprecated "access token expiry" deprecated "" "5 days left"
fault meta/debug_token expired; run 2 expired fb
check "$work/expired.json" fb auth_failed debug_token auth_failed "190/463" "Session has expired"
fault meta/debug_token no_scopes; run 2 no_scopes fb
check "$work/no_scopes.json" fb auth_failed "token scopes" auth_failed "missing pages_messaging"
sed -i 's/^recovery_checks = 1$/recovery_checks = 1\nexpiry_warning_days = 3/' "$work/sync.toml"
fault meta/debug_token expiring; run 0 expiring_later fb
check "$work/expiring_later.json" fb ok "access token expiry" ok "" "5 days left"

# The tokens (Graph's is in debug_token's query string; Telegram's in every URL) never show.
! grep -q "sim-meta-token" "$all_out" || fail "the Graph token appears in health output: $(grep -m3 sim-meta-token "$all_out")"
! grep -q "SIMtelegramBotToken" "$all_out" || fail "the bot token appears in health output"
echo "health_webhooks: ok"
