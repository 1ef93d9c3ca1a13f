#!/usr/bin/env bash
# Meta Graph against the simulator: full pulls of meta-messenger and meta-instagram store exactly the
# conversations and messages the simulator serves (conversation pages by paging.next, and the nested
# messages.paging.next of conversations longer than 100 messages); a re-pull with nothing new and one
# after new messages make a handful of requests; a rejected token (Graph code 190) exits 77 and the
# error carries the fbtrace_id; a Graph 500 is retried.
. "$(dirname "$0")/lib.sh"
export META_PAGE_TOKEN=sim-meta-token
# 120 customers: 40 Messenger conversations (3 longer than 100 messages), 30 Instagram (2): more than
# one page of 25 each.
start_sim --customers 120 --messages 200
# Its own config: adding Meta to scripts/sim-config.sh would change the demo's and the other
# scenarios' counts.
cat >"$work/meta.toml" <<TOML
[state]
path = "state.db"

[identity]
default_region = "DE"

[connectors.fb]
type = "meta-messenger"
page_id = "1000000000000001"
token_env = "META_PAGE_TOKEN"
base_url = "http://127.0.0.1:$port"

[connectors.ig]
type = "meta-instagram"
page_id = "1000000000000001"
token_env = "META_PAGE_TOKEN"
base_url = "http://127.0.0.1:$port"

[targets.out]
type = "ndjson"
path = "persons.ndjson"
TOML
mc() { "$CHANSYNC" --config "$work/meta.toml" "$@"; }
stat() { jfield "$(sim_stats)" "j[\"$1\"]"; }
stored() { sqlite3 "$work/state.db" "SELECT count(*) FROM messages WHERE connector = '$1'"; }
stored_conversations() { sqlite3 "$work/state.db" "SELECT count(*) FROM conversations WHERE connector = '$1'"; }

# Full pulls: everything the simulator serves, nothing else.
for c in fb:messenger ig:instagram; do
  name=${c%%:*} platform=${c#*:}
  before=$(stat meta_requests)
  mc -q pull "$name" 2>"$work/$name.err" || fail "pull $name failed: $(tail -5 "$work/$name.err")"
  requests=$(($(stat meta_requests) - before))
  want_messages=$(stat "meta_${platform}_messages") want_conversations=$(stat "meta_${platform}_conversations")
  [ "$(stored "$name")" = "$want_messages" ] ||
    fail "$name: stored $(stored "$name") messages, the simulator serves $want_messages"
  [ "$(stored_conversations "$name")" = "$want_conversations" ] ||
    fail "$name: stored $(stored_conversations "$name") conversations, the simulator serves $want_conversations"
  # 2 conversation pages + one nested page per long conversation (+ the Instagram account lookup).
  [ "$requests" -ge 4 ] && [ "$requests" -le 8 ] || fail "$name: a full pull made $requests requests"
  echo "$name: $want_conversations conversations, $want_messages messages in $requests requests"
done
[ "$(sqlite3 "$work/state.db" "SELECT count(*) FROM messages WHERE connector = 'fb' AND channel = 'messenger' AND direction = 'inbound'")" -gt 100 ] ||
  fail "too few inbound Messenger messages"

# Persons with Messenger and Instagram timelines.
mc -q reconcile || fail "reconcile failed"
mc persons list -o ndjson >"$work/persons.txt"
persons=$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["messages"] > 0))' "$work/persons.txt")
[ "$persons" -ge "$(stat meta_messenger_conversations)" ] || fail "only $persons persons with messages"

# Re-pulls: nothing new, then 3 new Messenger messages in the least recently updated conversation.
before=$(stat meta_requests)
mc -q pull fb || fail "re-pull failed"
again=$(($(stat meta_requests) - before))
[ "$again" -le 2 ] || fail "a re-pull with nothing new made $again requests"
[ "$(stored fb)" = "$(stat meta_messenger_messages)" ] || fail "the re-pull changed the message count"
sim_post "add-meta-messages?platform=messenger&n=3" >/dev/null
before=$(stat meta_requests)
mc -q pull fb || fail "incremental pull failed"
incremental=$(($(stat meta_requests) - before))
[ "$incremental" -le 2 ] || fail "an incremental pull of 3 new messages made $incremental requests"
[ "$(stored fb)" = "$(stat meta_messenger_messages)" ] ||
  fail "after 3 new messages: stored $(stored fb), the simulator serves $(stat meta_messenger_messages)"
[ "$(sqlite3 "$work/state.db" "SELECT count(*) FROM messages WHERE connector = 'fb' AND text = 'A new messenger message'")" = 3 ] ||
  fail "the 3 new messages were not stored"
echo "re-pulls: $again requests with nothing new, $incremental after 3 new messages"

# A Graph 500 once: retried, the pull succeeds.
sim_post fault '{"kind":"500","vendor":"meta","count":1}' >/dev/null
mc -q pull ig 2>"$work/500.err" || fail "a single Graph 500 should be retried: $(cat "$work/500.err")"

# Graph code 190, from a fault and from a wrong token: exit 77 (auth), the fbtrace_id in the error.
sim_post fault '{"kind":"401","vendor":"meta","count":1}' >/dev/null
set +e
mc pull fb 2>"$work/190.err"
code=$?
META_PAGE_TOKEN=wrong mc pull ig 2>"$work/wrong.err"
wrong=$?
set -e
[ "$code" -eq 77 ] || fail "Graph error 190 should exit 77, got $code: $(cat "$work/190.err")"
grep -q "fbtrace_id" "$work/190.err" || fail "the 190 error should carry the fbtrace_id: $(cat "$work/190.err")"
[ "$wrong" -eq 77 ] || fail "a wrong token should exit 77, got $wrong"
grep -q "Invalid OAuth access token" "$work/wrong.err" || fail "the wrong token's Graph message is missing: $(cat "$work/wrong.err")"
grep -q "fbtrace_id A1b2C3d4" "$work/wrong.err" || fail "the wrong token's fbtrace_id is missing"
if grep -rq "sim-meta-token" "$work"/*.err; then fail "the page token leaked into an error"; fi
echo "meta scenario OK"
