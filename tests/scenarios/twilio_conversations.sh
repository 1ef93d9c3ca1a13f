#!/usr/bin/env bash
# twilio-conversations against the simulator: a pull stores every generated conversation message
# (SMS, WhatsApp and web chat; agents, the system), chat visitors on chat_identity handles; a
# second pull only lists the conversations and writes nothing; new messages in one conversation
# re-read that one alone, without duplicates; a sync beside the SMS connector gives one person the
# SMS and WhatsApp timeline, and the person records validate against the schema.
. "$(dirname "$0")/lib.sh"
start_sim --customers 40 --messages 200
# Added here, not in scripts/sim-config.sh: that config's counts are what the other scenarios check.
cat >>"$work/sync.toml" <<TOML

[connectors.conv]
type = "twilio-conversations"
account_sid = "AC00000000000000000000000000000000"
auth_token_env = "TWILIO_AUTH_TOKEN"
own_numbers = ["+4930123456", "030 123457"]
agent_identities = ["agent.lena", "agent.jonas"]
base_url = "http://127.0.0.1:$port"
TOML
db="$work/state.db"
q() { sqlite3 "$db" "$1"; }

cs pull conv >"$work/pull1.out" 2>"$work/pull1.log" || fail "pull failed: $(tail -5 "$work/pull1.log")"
total=$(jfield "$(sim_stats)" 'j["conversation_messages"]')
[ "$total" -gt 20 ] || fail "the simulator should generate conversation messages, has $total"
[ "$(q "SELECT count(*) FROM messages WHERE connector='conv'")" = "$total" ] || fail "expected all $total messages"
[ "$(q "SELECT count(*) FROM dead_letters")" = 0 ] || fail "dead letters: $(q "SELECT error FROM dead_letters LIMIT 3")"
for ch in sms whatsapp chat; do
  [ "$(q "SELECT count(*) FROM conversations WHERE connector='conv' AND channel='$ch'")" -gt 0 ] || fail "no $ch conversation"
done
[ "$(q "SELECT count(*) FROM conversations WHERE connector='conv' AND customer LIKE 'chat_identity:IS%:visitor-%'")" = 3 ] \
  || fail "the three web chat visitors should be chat_identity handles"
for kind in customer agent system; do
  [ "$(q "SELECT count(*) FROM messages WHERE connector='conv' AND author_kind='$kind'")" -gt 0 ] || fail "no $kind message"
done
[ "$(q "SELECT count(*) FROM messages WHERE connector='conv' AND author_kind='agent' AND direction='inbound'")" = 0 ] \
  || fail "agent messages must be outbound"

before=$(jfield "$(sim_stats)" 'j["conversations_requests"]')
cs -o json pull conv >"$work/pull2.json" 2>"$work/pull2.log" || fail "second pull failed: $(tail -5 "$work/pull2.log")"
python3 - "$work/pull2.json" <<'PY' || fail "second pull: $(cat "$work/pull2.json")"
import json, sys
s = json.load(open(sys.argv[1]))["pull"][0]
assert s["received"] == 0 and s["written"] == 0, s
PY
[ "$(jfield "$(sim_stats)" 'j["conversations_requests"]')" = $((before + 1)) ] \
  || fail "the second pull should read the one list page and no conversation"

conversation=$(jfield "$(sim_post add-conversation-messages?n=2)" 'j["conversation"]')
cs -o json pull conv >"$work/pull3.json" 2>"$work/pull3.log" || fail "third pull failed: $(tail -5 "$work/pull3.log")"
python3 - "$work/pull3.json" <<'PY' || fail "third pull: $(cat "$work/pull3.json")"
import json, sys
s = json.load(open(sys.argv[1]))["pull"][0]
assert s["written"] == 2 and s["requests"] == 3, s  # the list, that conversation's participants and messages
PY
[ "$(q "SELECT count(*) FROM messages WHERE connector='conv'")" = $((total + 2)) ] || fail "the re-read duplicated messages"
[ "$(q "SELECT count(*) FROM messages m JOIN conversations c ON c.key = m.conversation
        WHERE m.connector='conv' AND c.id='$conversation' AND m.text='One more thing!'")" = 2 ] \
  || fail "the new messages should be in $conversation"

cs -q sync 2>"$work/sync.log" || fail "sync failed: $(tail -5 "$work/sync.log")"
python3 - "$work/persons.ndjson" "$SOURCE_DIR" <<'PY' || fail "person records"
import json, sys, jsonschema
schema = jsonschema.Draft202012Validator(json.load(open(f"{sys.argv[2]}/schemas/person.schema.json")))
both = chats = 0
for line in open(sys.argv[1]):
    p = json.loads(line)
    if "deleted" in p:
        continue
    schema.validate(p)
    conv = {m["channel"] for m in p["messages"] if m["connector"] == "conv"}
    sms = {m["channel"] for m in p["messages"] if m["connector"] == "sms"}
    if {"sms", "whatsapp"} <= conv and sms:
        both += 1  # Messaging API SMS, and Conversations SMS and WhatsApp: one person
    if any(h["kind"] == "chat_identity" for h in p["handles"]):
        chats += 1
assert both >= 1, "no person with SMS and WhatsApp conversations beside the SMS connector's messages"
assert chats == 3, chats
PY
echo "OK twilio_conversations: $total messages"
