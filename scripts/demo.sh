#!/usr/bin/env bash
# The main job: install dependencies, build, start the vendor simulator on 127.0.0.1, run
# `chansync sync` against it with SQLite state, then show a summary and one merged person. WhatsApp
# arrives as webhooks: `chansync listen` runs beside the syncs and the simulator posts signed
# WhatsApp webhooks from the same customers, which the first sync drains from the spool; Twilio
# Conversations (SMS, WhatsApp and web chat of the same customers) is pulled beside them. When
# PostgreSQL's server binaries are installed (they are with scripts/install-deps.sh --test), the
# persons are also pushed into a throwaway local PostgreSQL and queried with SQL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh

demo=demo
rm -rf "$demo" && mkdir -p "$demo"
build/chansync-sim --port-file "$demo/sim.port" --customers 60 --messages 1500 2>"$demo/sim.log" &
sim=$!
. scripts/pg-local.sh
listen=""
imap=""
trap 'kill $sim $listen 2>/dev/null || true; if [ -n "$imap" ]; then kill $imap 2>/dev/null || true; wait $imap 2>/dev/null || true; fi; pg_local_stop' EXIT
for _ in $(seq 100); do [ -s "$demo/sim.port" ] && break; sleep 0.05; done
port=$(cat "$demo/sim.port")

. scripts/sim-config.sh
write_sim_config "$demo/sync.toml" "$port"
if pg_local_bin >/dev/null && command -v psql >/dev/null; then
  pg_local_start
  export CHANSYNC_DEMO_PG_DSN="host=$pg_dir user=chansync dbname=postgres"
  cat >>"$demo/sync.toml" <<TOML

[targets.db]
type = "postgres"
dsn_env = "CHANSYNC_DEMO_PG_DSN"
TOML
fi
export DEMO_WA_APP_SECRET=demo-app-secret SIM_APP_SECRET=demo-app-secret
cat >>"$demo/sync.toml" <<TOML

[listen]
address = "127.0.0.1:0"

[connectors.wa]
type = "whatsapp-cloud"
phone_number_id = "106540352242922"
app_secret_env = "DEMO_WA_APP_SECRET"
TOML
# Email from a real Dovecot when one is installed (dovecot-imapd is a test dependency: `scripts/test.sh`
# installs it); without it the demo runs without the mailbox.
if [ -x /usr/sbin/dovecot ] || command -v dovecot >/dev/null; then
  build/chansync-sim imap --dir "$demo" --customers 60 >/dev/null 2>"$demo/imap.log" &
  imap=$!
  for _ in $(seq 1200); do [ -s "$demo/imap.env" ] || ! kill -0 $imap 2>/dev/null && break; sleep 0.05; done
fi
if [ -s "$demo/imap.env" ]; then
  . "$demo/imap.env"
  cat >>"$demo/sync.toml" <<TOML

[connectors.mail]
type = "imap-email"
url = "$IMAP_URL"
username = "$IMAP_USER"
password_file = "$(pwd)/$demo/imap-password"
own_addresses = ["support@example.com"]
TOML
else
  echo "(no Dovecot running: the demo goes on without email; apt-get install dovecot-imapd to add it${imap:+, or see $demo/imap.log})"
fi
add_sim_voice_and_chat "$demo/sync.toml" "$port"
cs() { build/chansync --config "$demo/sync.toml" "$@"; }

echo "== chansync listen (webhook receiver), and 120 signed WhatsApp webhooks posted to it"
build/chansync --config "$demo/sync.toml" listen >"$demo/listen.addr" 2>"$demo/listen.log" &
listen=$!
for _ in $(seq 100); do [ -s "$demo/listen.addr" ] && break; sleep 0.05; done
build/chansync-sim post-webhooks --url "http://$(head -1 "$demo/listen.addr")/webhooks/wa" --customers 60 --count 120
echo

echo "== chansync sync (first run: full pull)"
cs sync
echo
echo "== chansync sync (second run: nothing new)"
cs sync
echo
echo "== chansync health"
cs health || true
echo
echo "== one merged person (CRM contact; SMS, WhatsApp, call and, with Dovecot, email in one timeline)"
# The last pushed record of a person with a CRM contact and entries on every channel, else on SMS and
# WhatsApp (no python or jq: the demo needs only what scripts/install-deps.sh installs without --test).
pick() { awk "$1"' && !/"contacts":\[\]/ { line = $0 } END { print line }' "$demo/persons.ndjson" |
  sed 's/.*"person_id":"\([^"]*\)".*/\1/'; }
id=$(pick '/"channel":"sms"/ && /"channel":"whatsapp"/ && /"channel":"call"/ && /"channel":"email"/')
[ -n "$id" ] || id=$(pick '/"channel":"sms"/ && /"channel":"whatsapp"/')
cs persons show "$id" | head -n 40
if [ -n "$pg_dir" ]; then
  echo
  echo "== PostgreSQL: persons who wrote on two channels in the data's last week"
  psql -X -h "$pg_dir" -U chansync -d postgres -c "
    SELECT p.person_id, p.display_name, string_agg(DISTINCT t.channel, ', ') AS channels
    FROM chansync.timeline t JOIN chansync.persons p USING (person_id)
    WHERE t.direction = 'inbound'
      AND t.sent_at > (SELECT max(sent_at) FROM chansync.timeline) - interval '7 days'
    GROUP BY p.person_id, p.display_name
    HAVING count(DISTINCT t.channel) >= 2
    ORDER BY p.display_name LIMIT 5;"
fi
echo
echo "Person records: $demo/persons.ndjson ($(wc -l <"$demo/persons.ndjson") lines); state: $demo/state.db"
