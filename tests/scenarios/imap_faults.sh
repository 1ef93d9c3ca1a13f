#!/usr/bin/env bash
# imap-email against a fake IMAP server that fails the way real ones do: one that cannot open the
# mailbox right now ([UNAVAILABLE]) is a temporary failure (69, "tries again"), not a deleted mailbox;
# one that drops the connection whenever a mail it cannot read is fetched (Dovecot's
# imap_fetch_failure = disconnect-immediately) does not block the mailbox: the others are stored,
# that one is a dead letter naming its UID, and the cursor moves past it.
. "$(dirname "$0")/lib.sh"
cat >"$work/fakeimap.py" <<'PY'
import re, socket, sys, threading
mode, port_file = sys.argv[1], sys.argv[2]
def mail(uid):
    return (f"From: Customer {uid} <customer{uid}@example.org>\r\nTo: support@example.com\r\n"
            f"Subject: order {uid}\r\nMessage-ID: <order{uid}@example.org>\r\n"
            f"Date: Mon, 7 Dec 2026 10:00:0{uid} +0000\r\n\r\nwhere is order {uid}?\r\n").encode()
uids = [1, 2, 3]
failures = []  # UIDs whose FETCH ended NO so far
def fetch_line(seq, uid, body):
    size = len(mail(uid))
    head = b'* %d FETCH (UID %d RFC822.SIZE %d' % (seq, uid, size)
    if not body:
        return head + b')\r\n'
    return head + b' INTERNALDATE "07-Dec-2026 10:00:00 +0000" BODY[] {%d}\r\n' % size + mail(uid) + b')\r\n'
def serve(conn):
    lines = conn.makefile("rb")
    conn.sendall(b"* OK [CAPABILITY IMAP4rev1] ready\r\n")
    for raw in lines:
        tag, command, *rest = raw.decode().rstrip("\r\n").split(" ", 2)
        rest = rest[0] if rest else ""
        ok = tag.encode() + b" OK done\r\n"
        if command.upper() == "EXAMINE":
            if mode == "busy":
                conn.sendall(tag.encode() + b" NO [UNAVAILABLE] Temporary failure, try again later\r\n")
            else:
                conn.sendall(b"* 3 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 4] ok\r\n" + ok)
        elif command.upper() == "UID" and "BODY.PEEK" in rest:
            wanted = set()
            for part in re.match(r"FETCH (\S+) ", rest).group(1).split(","):
                a, _, b = part.partition(":")
                wanted |= set(range(int(a), int(b or a) + 1))
            out, refused = b"", False
            for seq, uid in enumerate(uids, 1):
                if uid not in wanted:
                    continue
                if mode == "broken" and uid == 2:  # cannot read this mail: drop the connection
                    conn.sendall(out)
                    conn.close()
                    return
                # imap_fetch_failure = no-after: the others are sent, then the FETCH ends NO. Once
                # (a passing fault) or every time (a mail broken on disk).
                if uid == 2 and (mode == "no-always" or (mode == "no-once" and not failures)):
                    failures.append(uid)
                    refused = True
                    continue
                out += fetch_line(seq, uid, True)
            conn.sendall(out + (tag.encode() + b" NO Some messages could not be FETCHed (Failure)\r\n" if refused else ok))
        elif command.upper() == "UID":
            conn.sendall(b"".join(fetch_line(seq, uid, False) for seq, uid in enumerate(uids, 1)) + ok)
        elif command.upper() == "STATUS":
            conn.sendall(b"* STATUS INBOX (MESSAGES 3 UIDNEXT 4 UIDVALIDITY 7)\r\n" + ok)
        elif command.upper() == "LOGIN" and mode == "echo":  # some servers and proxies quote the command
            conn.sendall(tag.encode() + b" NO [AUTHENTICATIONFAILED] Invalid credentials for command: " +
                         raw.rstrip(b"\r\n") + b"\r\n")
        elif command.upper() == "LOGOUT":
            conn.sendall(b"* BYE\r\n" + ok)
            return
        else:  # CAPABILITY, LOGIN, NOOP
            conn.sendall(ok)
server = socket.create_server(("127.0.0.1", 0))
open(port_file + ".tmp", "w").write(str(server.getsockname()[1]))
import os; os.rename(port_file + ".tmp", port_file)
while True:
    threading.Thread(target=serve, args=(server.accept()[0],), daemon=True).start()
PY
printf 'secret' >"$work/imap-password" && chmod 600 "$work/imap-password"
start_fake() {  # start_fake MODE: a fake server and a config for it in $work/MODE.toml
  python3 "$work/fakeimap.py" "$1" "$work/$1.port" &
  bg_pids="$bg_pids $!"
  for _ in $(seq 100); do [ -s "$work/$1.port" ] && break; sleep 0.05; done
  [ -s "$work/$1.port" ] || fail "the fake IMAP server ($1) did not start"
  cat >"$work/$1.toml" <<TOML
[state]
path = "$work/$1.db"

[connectors.mail]
type = "imap-email"
url = "imap://127.0.0.1:$(cat "$work/$1.port")"
username = "support@example.com"
password_file = "$work/imap-password"
mailboxes = ["INBOX"]
own_addresses = ["support@example.com"]
TOML
}

start_fake busy
code=0
"$CHANSYNC" --config "$work/busy.toml" pull >"$work/busy.out" 2>"$work/busy.err" || code=$?
[ "$code" -eq 69 ] || fail "a mailbox the server cannot open now exited $code, not 69: $(cat "$work/busy.err")"
grep -q 'cannot open mailbox "INBOX" now (NO \[UNAVAILABLE\]' "$work/busy.err" \
  || fail "the error should say the mailbox cannot be opened now: $(cat "$work/busy.err")"
grep -q "renamed or deleted" "$work/busy.err" && fail "a busy mailbox is not a deleted one: $(cat "$work/busy.err")"

start_fake broken
"$CHANSYNC" --config "$work/broken.toml" pull >"$work/broken.out" 2>"$work/broken.err" \
  || fail "one mail the server cannot send should not fail the pull: $(cat "$work/broken.err")"
db="$work/broken.db"
[ "$(sqlite3 "$db" "SELECT group_concat(text, '|') FROM (SELECT text FROM messages ORDER BY sent_at)")" \
  = "order 1

where is order 1?|order 3

where is order 3?" ] || fail "mails 1 and 3 should be stored: $(sqlite3 "$db" "SELECT id, text FROM messages")"
[ "$(sqlite3 "$db" "SELECT record_id || ': ' || error FROM dead_letters")" \
  = "2: the IMAP server dropped the connection each time this mail was fetched" ] \
  || fail "UID 2 should be a dead letter: $(sqlite3 "$db" "SELECT record_id, error FROM dead_letters")"
sqlite3 "$db" "SELECT cursor FROM streams WHERE connector = 'mail'" | grep -q ':3$' \
  || fail "the cursor should be past UID 3: $(sqlite3 "$db" "SELECT cursor FROM streams")"
# A FETCH that ends NO without one mail (imap_fetch_failure = no-after): once is a passing fault, and
# the mail is asked for again before it can become a dead letter; every time, it is one.
start_fake no-once
"$CHANSYNC" --config "$work/no-once.toml" pull >"$work/no-once.out" 2>"$work/no-once.err" \
  || fail "a passing NO should not fail the pull: $(cat "$work/no-once.err")"
[ "$(sqlite3 "$work/no-once.db" "SELECT count(*) FROM messages")" = 3 ] \
  || fail "all three mails should be stored after a passing NO: $(sqlite3 "$work/no-once.db" "SELECT id FROM messages")"
[ "$(sqlite3 "$work/no-once.db" "SELECT count(*) FROM dead_letters")" = 0 ] \
  || fail "a passing NO made a dead letter: $(sqlite3 "$work/no-once.db" "SELECT record_id, error FROM dead_letters")"
start_fake no-always
"$CHANSYNC" --config "$work/no-always.toml" pull >"$work/no-always.out" 2>"$work/no-always.err" \
  || fail "one mail the server never returns should not fail the pull: $(cat "$work/no-always.err")"
[ "$(sqlite3 "$work/no-always.db" "SELECT count(*) FROM messages")" = 2 ] \
  || fail "mails 1 and 3 should be stored: $(sqlite3 "$work/no-always.db" "SELECT id FROM messages")"
sqlite3 "$work/no-always.db" "SELECT record_id || ': ' || error FROM dead_letters" \
  | grep -qx "2: the IMAP server could not return this mail" \
  || fail "UID 2 should be a dead letter: $(sqlite3 "$work/no-always.db" "SELECT record_id, error FROM dead_letters")"
# A server that quotes the LOGIN command in its refusal: the password reaches no error, health output
# or the store.
start_fake echo
printf 'IMAPsecretPW99' >"$work/echo-password" && chmod 600 "$work/echo-password"
sed -i "s|^password_file = .*|password_file = \"$work/echo-password\"|" "$work/echo.toml"
code=0
"$CHANSYNC" --config "$work/echo.toml" -vv pull >"$work/echo.out" 2>"$work/echo.err" || code=$?
[ "$code" -eq 77 ] || fail "a refused login exited $code, not 77: $(cat "$work/echo.err")"
grep -q "Invalid credentials for command: A[0-9]* LOGIN support@example.com <redacted>" "$work/echo.err" \
  || fail "the server's words should be quoted with the password redacted: $(cat "$work/echo.err")"
"$CHANSYNC" --config "$work/echo.toml" -o json health >"$work/echo-health.json" 2>&1 || true
if cat "$work/echo.out" "$work/echo.err" "$work/echo-health.json" | grep -q IMAPsecretPW99 ||
  sqlite3 "$work/echo.db" .dump | grep -q IMAPsecretPW99; then
  fail "the IMAP password leaked into the output or the store"
fi
echo "imap faults scenario OK"
