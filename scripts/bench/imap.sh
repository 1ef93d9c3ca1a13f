# shellcheck shell=bash
# Sourced by scripts/bench.sh, in its work directory, with its helpers and figures.
# A real Dovecot's INBOX fetched by curl and pulled by chansync, then the simulator's calls.
# imap_rows prints its rows of the table.

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

[identity]
default_region = "DE"  # own_numbers below has one written without its country code

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
imap_rows() {
  cat <<EOF
| curl, every mail of the INBOX in one IMAP session (baseline) | ${wall[imap_curl]} | $(rate "$mails" "${wall[imap_curl]}") | $((rss[imap_curl] / 1024)) | $mails mails, one UID FETCH each, real Dovecot on loopback |
| chansync pull of an imap-email mailbox | ${wall[imap_pull]} | $(rate "$mails" "${wall[imap_pull]}") | $((rss[imap_pull] / 1024)) | **$(ratio "${wall[imap_curl]}" "${wall[imap_pull]}")× curl**; BODY.PEEK[] 250 a page, GMime, threads; $imap_stored stored |
| chansync pull of twilio-calls | ${wall[calls_pull]} | $(rate "$calls" "${wall[calls_pull]}") | $((rss[calls_pull] / 1024)) | $calls calls from the simulator |
EOF
}
