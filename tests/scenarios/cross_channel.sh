#!/usr/bin/env bash
# One person across every channel: the simulator's SMS, calls and Twilio Conversations (WhatsApp),
# HubSpot contacts, and mail in a real Dovecot (chansync-sim imap) are synced together; a customer
# who texted, wrote on WhatsApp, called and mailed is one person with one timeline in time order,
# and anonymous callers join nobody. A second sync reads no mail again and marks none read.
. "$(dirname "$0")/lib.sh"
start_sim --customers 50 --messages 1200
start_imap --customers 50
add_sim_voice_and_chat "$work/sync.toml" "$port"
cat >>"$work/sync.toml" <<TOML

[connectors.mail]
type = "imap-email"
url = "$IMAP_URL"
username = "$IMAP_USER"
password_file = "$work/imap-password"
own_addresses = ["support@example.com"]
TOML

cs -o json sync >"$work/sync1.json" 2>"$work/sync1.log" || fail "sync failed: $(tail -5 "$work/sync1.log")"
python3 - "$work/sync1.json" "$work/persons.ndjson" <<'PY' || fail "cross-channel person"
import json, sys
report = json.load(open(sys.argv[1]))
mail = [s for s in report["pull"] if s["connector"] == "mail"]
assert mail and mail[0]["received"] >= 20 and mail[0]["rejected"] == 0, mail
persons = {}
for line in open(sys.argv[2]):
    r = json.loads(line)
    persons[r["person_id"]] = r  # the last line of a person is its current record
everything = {"sms", "whatsapp", "call", "email"}
full = [p for p in persons.values() if everything <= {m["channel"] for m in p["messages"]}]
assert full, "no person has SMS, WhatsApp, call and email entries"
for p in full:
    times = [(m["sent_at"], m["connector"], m["id"]) for m in p["messages"]]
    assert times == sorted(times), f"{p['person_id']}: timeline out of order"
    assert any(h["kind"] == "email" for h in p["handles"]) and any(h["kind"] == "phone" for h in p["handles"]), p["handles"]
    assert p["contacts"], "the CRM contact is what joins the mail address to the phone number"
anonymous = [p for p in persons.values() if any(h["value"].startswith("anonymous/") for h in p["handles"])]
assert anonymous, "the simulator's anonymous callers should be persons of their own"
for p in anonymous:
    assert len(p["handles"]) == 1 and not p["contacts"], f"an anonymous caller joined {p['handles']}"
print(f"{len(full)} persons on all four channels, e.g. {full[0]['display_name']}; {len(anonymous)} anonymous callers alone")
PY

cs -o json sync >"$work/sync2.json" 2>"$work/sync2.log" || fail "second sync failed: $(tail -5 "$work/sync2.log")"
python3 - "$work/sync2.json" <<'PY' || fail "second sync read mail again"
import json, sys
mail = [s for s in json.load(open(sys.argv[1]))["pull"] if s["connector"] == "mail"]
assert mail[0]["received"] == 0 and mail[0]["written"] == 0, mail
PY
unseen=$(curl -fsS -u "$IMAP_USER:$(cat "$work/imap-password")" "$IMAP_URL/INBOX" -X 'SEARCH UNSEEN')
total=$(curl -fsS -u "$IMAP_USER:$(cat "$work/imap-password")" "$IMAP_URL/INBOX" -X 'SEARCH ALL')
[ "$unseen" = "$total" ] || fail "chansync marked mail read: unseen '$unseen' of '$total'"
echo "cross_channel: ok"
