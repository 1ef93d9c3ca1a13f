#!/usr/bin/env bash
# Push operations through the binary, against the simulator: an ndjson snapshot target replaced
# atomically, push --dry-run -v naming changed fields, push --verify finding a person deleted and one
# edited by hand (exit 1), --repair putting them back (exit 0), --show-parked, and the JSON reports
# validated against their schemas.
. "$(dirname "$0")/lib.sh"
start_sim --customers 30 --messages 300
cat >>"$work/sync.toml" <<TOML

[targets.snap]
type = "ndjson"
path = "snapshot.ndjson"
mode = "snapshot"
TOML

cs -q sync || fail "first sync"
snap="$work/snapshot.ndjson"
persons=$(sqlite3 "$work/state.db" "SELECT count(*) FROM persons")
[ "$(wc -l <"$snap")" -eq "$persons" ] || fail "snapshot has $(wc -l <"$snap") lines for $persons persons"
[ ! -e "$snap.chansync-tmp" ] || fail "the snapshot's temp file was left behind"
ids=$(python3 -c 'import json,sys; print("\n".join(sorted(json.loads(l)["person_id"] for l in open(sys.argv[1]))))' "$snap")
[ "$(echo "$ids" | sort -u | wc -l)" -eq "$persons" ] || fail "a person appears twice in the snapshot"

# New messages (the simulator's writer of new messages is a new customer, then has two more): the
# dry run names the changed field, and the snapshot still has one line per person.
sim_post "add-messages?n=2" >/dev/null
cs -q sync
persons=$((persons + 1))
sim_post "add-messages?n=2" >/dev/null
cs -q pull
cs -q reconcile
cs -v push snap --dry-run >"$work/plan" 2>/dev/null || fail "dry run"
grep -qP '^snap\tupdate\tp_[0-9a-f]{16}\t.*\tmessages \(\+2\)$' "$work/plan" || { cat "$work/plan"; fail "dry run -v does not name the changed field"; }
cs push snap --dry-run >"$work/plan.short" 2>"$work/plan.err"
grep -Eq '^push  snap +0 to create, 1 to update, [0-9]+ unchanged, 0 to delete, 0 failed$' "$work/plan.err" \
  || fail "the dry run's summary should say what it would do: $(cat "$work/plan.err")"
[ "$(awk -F'\t' '{print NF}' "$work/plan.short" | sort -u)" = "4" ] || fail "without -v the plan has 4 columns"
cs -q push
[ "$(wc -l <"$snap")" -eq "$persons" ] || fail "after an update the snapshot has $(wc -l <"$snap") lines"

# A clean target verifies with exit 0; the report validates.
cs -o json push snap --verify >"$work/verify.json" || fail "verify of an untouched snapshot exits $?"
check_schema verify "$work/verify.json"
[ "$(jfield "$(cat "$work/verify.json")" 'j["verify"][0]["checked"]')" -eq "$persons" ] || fail "verify did not check every person"

# Delete one line and edit another by hand: drift, exit 1, named on stdout.
gone=$(sed -n 1p "$snap" | python3 -c 'import json,sys; print(json.load(sys.stdin)["person_id"])')
edited=$(sed -n 2p "$snap" | python3 -c 'import json,sys; print(json.load(sys.stdin)["person_id"])')
python3 - "$snap" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
rec = json.loads(lines[1]); rec["display_name"] = "Edited By Hand"
open(sys.argv[1], "w").write("\n".join([json.dumps(rec)] + lines[2:]) + "\n")
PY
set +e
cs push snap --verify >"$work/drift" 2>"$work/drift.err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "verify with drift exits $rc, not 1"
grep -qP "^snap\tmissing\t$gone\t" "$work/drift" || { cat "$work/drift"; fail "the deleted person is not reported missing"; }
grep -qP "^snap\tedited\t$edited\tdisplay_name$" "$work/drift" || { cat "$work/drift"; fail "the edited person is not reported edited"; }
grep -q "2 missing\|1 missing, 1 edited" "$work/drift.err" || { cat "$work/drift.err"; fail "the summary does not count the drift"; }

cs -q push snap --verify --repair >"$work/repair" || fail "repair exits $?"
[ "$(grep -c $'\trepaired$' "$work/repair")" -eq 2 ] || { cat "$work/repair"; fail "not both persons repaired"; }
cs -q push snap --verify || fail "after the repair, verify still finds drift"
grep -q "\"$gone\"" "$snap" || fail "the deleted person is not back in the snapshot"
! grep -q "Edited By Hand" "$snap" || fail "the hand edit survived the repair"

# A push that cannot write the new snapshot (a file size limit standing in for a full disk) leaves
# the old one as it was, exit 74, and nothing recorded that the file does not hold.
cp "$snap" "$work/snap.before"
code=0
(trap '' XFSZ; ulimit -f $(($(stat -c %s "$snap") / 2048)); exec "$CHANSYNC" --config "$work/sync.toml" push snap --full) \
  >/dev/null 2>"$work/full_disk.err" || code=$?
[ "$code" -eq 74 ] || fail "a snapshot push that cannot write exited $code, not 74: $(cat "$work/full_disk.err")"
cmp -s "$snap" "$work/snap.before" || fail "a snapshot push that failed changed the snapshot ($(wc -c <"$snap") bytes)"
[ ! -e "$snap.chansync-tmp" ] || fail "the failed push left its temp file"
cs -q push snap --verify || fail "after a failed push the snapshot and the ledger disagree"

# An append target is read back too; a webhook-only selection cannot be.
cs -q push out --verify || fail "verify of the append feed"

# --show-parked: nothing parked; JSON is an array.
cs -o json push --show-parked >"$work/parked0.json"
[ "$(cat "$work/parked0.json")" = "[]" ] || fail "show-parked -o json on a clean store: $(cat "$work/parked0.json")"
set +e
cs push --verify --dry-run >/dev/null 2>&1
rc=$?
set -e
[ $rc -eq 64 ] || fail "--verify with --dry-run exits $rc, not 64"

# start_receiver NAME [TOML]: an HTTP receiver on a free loopback port, its handler class H read from
# stdin (`out` is $work/NAME); its port is in $work/NAME.port. Adds the webhook target NAME that posts
# to it to sync.toml, with the extra TOML lines given.
start_receiver() {
  {
    echo 'import http.server, json, os, signal, sys, time'
    echo 'out = sys.argv[1]'
    cat
    cat <<'PY'
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(out + ".port.tmp", "w").write(str(s.server_address[1]))
os.rename(out + ".port.tmp", out + ".port")
s.serve_forever()
PY
  } >"$work/$1.py"
  python3 "$work/$1.py" "$work/$1" &
  bg_pids="$bg_pids $!"
  for _ in $(seq 100); do [ -s "$work/$1.port" ] && break; sleep 0.05; done
  [ -s "$work/$1.port" ] || fail "the receiver $1 did not start"
  printf '\n[targets.%s]\ntype = "webhook"\nurl = "http://127.0.0.1:%s/persons"\nsecret_env = "HOOK_SECRET"\n%s' \
    "$1" "$(cat "$work/$1.port")" "${2:+$2
}" >>"$work/sync.toml"
}

# SIGINT during a push into a slow receiver, sent by the receiver itself when the third request
# comes: that request is answered and recorded, no other is sent, the exit code is 130; the next
# push sends exactly the persons left, none twice.
start_receiver hook "batch_size = 1" <<'PY'
seen = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        seen += 1
        if seen == 3:
            os.kill(int(open(out + ".pid").read()), signal.SIGINT)
        time.sleep(0.2)
        with open(out + ".ids", "a") as f:
            for p in body["persons"]:
                f.write(p["person_id"] + "\n")
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
PY
export HOOK_SECRET=scenario-secret
touch "$work/hook.ids"
"$CHANSYNC" --config "$work/sync.toml" push hook 2>"$work/stop.err" &
pid=$!
echo "$pid" >"$work/hook.pid"
bg_pids="$bg_pids $pid"
code=0
wait "$pid" || code=$?
[ "$code" -eq 130 ] || fail "push stopped by SIGINT exited $code, not 130: $(cat "$work/stop.err")"
grep -q "push  hook .*STOPPED: stopped by a signal" "$work/stop.err" || fail "the stop is not reported: $(cat "$work/stop.err")"
sent=$(wc -l <"$work/hook.ids")
[ "$sent" -eq 3 ] || fail "$sent persons received: the push went on after the request during which SIGINT came (3)"
recorded=$(sqlite3 "$work/state.db" "SELECT count(*) FROM push_ledger WHERE target = 'hook'")
[ "$recorded" -eq "$sent" ] || fail "$sent persons received but $recorded recorded: the batch in flight was not recorded"
cs -q push hook || fail "the push after a stop"
[ "$(wc -l <"$work/hook.ids")" -eq "$persons" ] || fail "$(wc -l <"$work/hook.ids") persons received in all, $persons expected"
[ "$(sort -u "$work/hook.ids" | wc -l)" -eq "$persons" ] || fail "a person was sent twice"
# A second SIGINT does not wait for the target: a receiver that never answers holds the first
# batch; the first SIGINT waits for it, the second ends chansync at once, by the signal.
start_receiver hang <<'PY'
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        open(out + ".got", "w").write("1")
        time.sleep(60)
    def log_message(self, *a): pass
PY
"$CHANSYNC" --config "$work/sync.toml" push hang 2>"$work/hang.err" &
pid=$!
bg_pids="$bg_pids $pid"
for _ in $(seq 200); do [ -s "$work/hang.got" ] && break; sleep 0.05; done
[ -s "$work/hang.got" ] || fail "the push never reached the receiver: $(cat "$work/hang.err")"
kill -INT "$pid"
sleep 0.5
kill -0 "$pid" 2>/dev/null || fail "the first SIGINT did not wait for the batch on its way: $(cat "$work/hang.err")"
kill -INT "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$pid" 2>/dev/null && fail "a second SIGINT did not end the push at once"
code=0
wait "$pid" || code=$?
[ "$code" -eq 130 ] || fail "a push ended by a second SIGINT exited $code, not 130 (killed by SIGINT)"
[ "$(sqlite3 "$work/state.db" "SELECT count(*) FROM push_ledger WHERE target = 'hang'")" -eq 0 ] ||
  fail "a batch the target never answered was recorded"

# A receiver that refuses one person (422, whatever request holds it; the rest of that request is
# sent again without it): after 3 pushes in a row that person is parked, listed by --show-parked with
# the receiver's reason, and every later push skips it, counts it and says so.
bad=$(head -1 "$snap" | python3 -c 'import json,sys; print(json.load(sys.stdin)["person_id"])')
echo "$bad" >"$work/refuse.bad"
start_receiver refuse <<'PY'
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        refused = open(out + ".bad").read().strip().encode() in body
        answer = b'{"error":"display_name is too short"}' if refused else b"{}"
        self.send_response(422 if refused else 200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer))); self.end_headers(); self.wfile.write(answer)
    def log_message(self, *a): pass
PY
for run in 1 2 3; do  # the first delivers the others too (partial: 1); later ones send that person alone (69)
  code=0
  cs -q push refuse 2>"$work/refuse$run.err" || code=$?
  [ "$code" -eq "$([ $run = 1 ] && echo 1 || echo 69)" ] \
    || fail "push $run into a receiver refusing one person exited $code: $(cat "$work/refuse$run.err")"
done
cs -o json push refuse --show-parked >"$work/parked.json" || fail "show-parked -o json failed"
check_schema parked "$work/parked.json"
python3 - "$work/parked.json" "$bad" <<'PY2' || fail "show-parked JSON: $(head -c 800 "$work/parked.json")"
import json, sys
rows, bad = json.load(open(sys.argv[1])), sys.argv[2]
assert [r["person_id"] for r in rows] == [bad], rows
r = rows[0]
assert r["target"] == "refuse" and r["runs"] == 3 and r["action"] == "upsert", r
assert "422" in r["error"] and "display_name is too short" in r["error"], r["error"]
PY2
for run in 4 5; do
  cs -o json push refuse >"$work/refuse$run.json" 2>"$work/refuse$run.err" \
    || fail "push $run after parking should not fail: $(cat "$work/refuse$run.err")"
  check_schema run-report "$work/refuse$run.json"
  [ "$(jfield "$(cat "$work/refuse$run.json")" '(j["push"][0]["parked"], j["push"][0]["failed"], j["push"][0]["unchanged"])')" \
    = "(1, 0, $((persons - 1)))" ] || fail "push $run should count 1 parked, $((persons - 1)) unchanged: $(cat "$work/refuse$run.json")"
  grep -q "refuse: 1 persons are parked" "$work/refuse$run.err" || fail "push $run should warn about the parked person"
done

# A receiver refusing everyone is broken, not full of bad records: nobody is parked, every push fails
# (69) and says so. One refusing each part of a request alike refuses the request, not persons: exit
# 78 after the first quarter is narrowed down to single persons. One answering 404 is not where the URL points: exit 78 naming the option.
start_receiver nobody <<'PY'
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        size = int(self.headers["Content-Length"])
        self.rfile.read(size)
        answer = b'{"error":"invalid person","request_bytes":%d}' % size  # its words differ per request
        self.send_response(422); self.send_header("Content-Length", str(len(answer))); self.end_headers()
        self.wfile.write(answer)
    def log_message(self, *a): pass
PY
for run in 1 2 3 4; do
  code=0
  cs push nobody >/dev/null 2>"$work/nobody$run.err" || code=$?
  [ "$code" -eq 69 ] || fail "push $run into a receiver refusing everyone exited $code, not 69: $(cat "$work/nobody$run.err")"
done
grep -q "it refused every person it was sent ($persons), $persons of them for the first time; those are not parked" "$work/nobody4.err" \
  || fail "the push should say why nobody is parked: $(cat "$work/nobody4.err")"
[ "$(cs -o json push nobody --show-parked)" = "[]" ] || fail "a receiver refusing everyone should park nobody"
start_receiver alike <<'PY'
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        with open(out + ".count", "a") as f: f.write("x")
        answer = b'{"error":"unknown field persons"}'
        self.send_response(422); self.send_header("Content-Length", str(len(answer))); self.end_headers()
        self.wfile.write(answer)
    def log_message(self, *a): pass
PY
code=0
cs push alike >/dev/null 2>"$work/alike.err" || code=$?
[ "$code" -eq 78 ] || fail "push into a receiver refusing every request alike exited $code, not 78: $(cat "$work/alike.err")"
grep -q "refused a request of .* persons, each quarter of it and each person of the first quarter alike" "$work/alike.err" \
  || fail "the push should say the refusal is about the request: $(cat "$work/alike.err")"
# The whole, its quarters, and the first quarter (of 10 persons) narrowed down to single persons (18).
[ "$(wc -c <"$work/alike.count")" -eq 23 ] || fail "a refusal of every request alike took $(wc -c <"$work/alike.count") requests, not 23"
[ "$(cs -o json push alike --show-parked)" = "[]" ] || fail "a receiver refusing every request alike should park nobody"
start_receiver nowhere <<'PY'
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
PY
code=0
cs -q push nowhere 2>"$work/nowhere.err" || code=$?
[ "$code" -eq 78 ] && grep -q "check targets.nowhere.url" "$work/nowhere.err" \
  || fail "a receiver answering 404 should exit 78 naming targets.nowhere.url, exited $code: $(cat "$work/nowhere.err")"
echo "push_ops: ok"
