#!/usr/bin/env bash
# Documented exit codes through the real binary: config 78, usage 64, auth 77, lock held 75, a
# partial run 1, a malformed vendor page 65 (with the cursor kept).
. "$(dirname "$0")/lib.sh"
start_sim --customers 20 --messages 300
# Exit codes: config error 78, unknown connector 64, auth 77, lock held 75.
set +e
TWILIO_AUTH_TOKEN= cs pull sms 2>/dev/null; [ $? -eq 78 ] || fail "missing secret should exit 78"
cs pull nosuch 2>/dev/null; [ $? -eq 64 ] || fail "unknown connector should exit 64"
TWILIO_AUTH_TOKEN= cs pull nosuch 2>/dev/null; [ $? -eq 64 ] || fail "a typo in a name should exit 64 before secrets are read"
# Only the secrets of the endpoints a command contacts are needed.
HUBSPOT_TOKEN= cs -q pull sms 2>/dev/null; [ $? -eq 0 ] || fail "pull sms should not need the CRM token"
TWILIO_AUTH_TOKEN= HUBSPOT_TOKEN= cs -q reconcile 2>/dev/null; [ $? -eq 0 ] || fail "reconcile should need no secret"
TWILIO_AUTH_TOKEN=wrong cs pull sms 2>/dev/null; [ $? -eq 77 ] || fail "bad token should exit 77"
exec 9>"$work/state.db.lock"; flock 9; echo "pid 1 (chansync test)" >&9
cs pull 2>"$work/lock.err"; code=$?
# Commands that only read go on beside the holder, saying whose run it is; one that writes does not.
cs state show >"$work/beside.out" 2>"$work/beside.err"; beside=$?
cs -o json state show >"$work/beside.json" 2>/dev/null; beside_json=$?
cs persons list >/dev/null 2>&1; beside_list=$?
cs reconcile 2>/dev/null; beside_write=$?
exec 9>&-
set -e
[ "$code" -eq 75 ] || fail "held lock should exit 75, got $code"
grep -q "in use by" "$work/lock.err" || fail "lock message does not name the holder"
[ "$beside" -eq 0 ] && [ "$beside_json" -eq 0 ] && [ "$beside_list" -eq 0 ] ||
  fail "state show / -o json state show / persons list beside a held lock exited $beside / $beside_json / $beside_list, not 0"
grep -q "In use by pid 1 (chansync test): this is what it has committed so far" "$work/beside.out" ||
  fail "state show beside a held lock does not say whose run it is: $(cat "$work/beside.out")"
[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["in_use_by"])' "$work/beside.json")" = "pid 1 (chansync test)" ] ||
  fail "state show -o json beside a held lock: in_use_by is not the holder"
[ "$beside_write" -eq 75 ] || fail "reconcile beside a held lock should exit 75, got $beside_write"

set +e
cs --no-such-flag pull 2>/dev/null; [ $? -eq 64 ] || fail "an unknown flag should exit 64"
"$CHANSYNC" --config "$work/missing.toml" pull 2>"$work/missing.err"; [ $? -eq 78 ] || fail "a missing config file should exit 78"
cs -q pull || fail "clean pull failed"
cursor=$(sqlite3 "$work/state.db" "SELECT cursor FROM streams WHERE connector = 'sms' AND stream = 'conversations'")
[ -n "$cursor" ] || fail "no cursor for sms/conversations after a clean pull"
curl -fsS -d '{"kind":"malformed","vendor":"twilio","count":-1}' "http://127.0.0.1:$port/_sim/fault" >/dev/null
cs -q pull sms 2>"$work/malformed.err"; code=$?
[ "$code" -eq 65 ] || fail "a malformed page should exit 65, got $code"
grep -q "not valid JSON" "$work/malformed.err" || fail "malformed page error does not say what is wrong: $(cat "$work/malformed.err")"
[ "$(sqlite3 "$work/state.db" "SELECT cursor FROM streams WHERE connector = 'sms' AND stream = 'conversations'")" = "$cursor" ] || fail "cursor moved on a malformed page"
cs -q pull 2>/dev/null; code=$?
[ "$code" -eq 1 ] || fail "one failing connector of two should exit 1 (partial), got $code"
curl -fsS -d '{"kind":"clear"}' "http://127.0.0.1:$port/_sim/fault" >/dev/null
# A sync whose every stream is refused and whose targets get nothing new did nothing: the failure's
# code (77), as pull gives, not "partial" (1), which a cron wrapper would take for a run that worked.
cs -q sync >/dev/null 2>&1 || fail "a clean sync failed"
TWILIO_AUTH_TOKEN=wrong HUBSPOT_TOKEN=wrong cs sync >/dev/null 2>"$work/allfail.err"; code=$?
[ "$code" -eq 77 ] || fail "a sync with every stream refused should exit 77, got $code: $(cat "$work/allfail.err")"
# health at a mistyped state path says that no pull is recorded there (it would pass unseen otherwise).
cs --state "$work/typo.db" health >/dev/null 2>"$work/typo.err"
grep -q "there was no state store at $work/typo.db" "$work/typo.err" \
  || fail "health does not say the store was missing: $(cat "$work/typo.err")"
# An empty file at the state path is no store: the commands that make none refuse it (78) and leave it empty.
: >"$work/empty.db"
for cmd in "state show" "persons list" reconcile; do
  # shellcheck disable=SC2086
  cs --state "$work/empty.db" $cmd >/dev/null 2>"$work/emptydb.err"; code=$?
  [ "$code" -eq 78 ] || fail "'$cmd' on an empty file should exit 78, got $code: $(cat "$work/emptydb.err")"
  grep -q "is an empty file, not a state store" "$work/emptydb.err" || fail "'$cmd': $(cat "$work/emptydb.err")"
  [ ! -s "$work/empty.db" ] || fail "'$cmd' made a store in the empty file"
done
cs --state :memory: state show >/dev/null 2>&1; code=$?
[ "$code" -eq 64 ] || fail "--state :memory: should exit 64, got $code"

# No config anywhere: commands that need connectors exit 78 naming where they looked, and create no state.
noconf=(env -u CHANSYNC_CONFIG -u CHANSYNC_STATE XDG_CONFIG_HOME="$work/nocfg" XDG_STATE_HOME="$work/nostate" "$CHANSYNC")
for cmd in sync pull push reconcile health "config check" "persons list"; do
  "${noconf[@]}" $cmd 2>"$work/noconf.err"; code=$?
  [ "$code" -eq 78 ] || fail "'$cmd' without any config should exit 78, got $code"
  grep -q "$work/nocfg/chansync/config.toml" "$work/noconf.err" || fail "'$cmd' without config does not name the place looked at: $(cat "$work/noconf.err")"
done
[ ! -e "$work/nostate" ] || fail "a command without config created a state store"
printf '[identity]\ndefault_region = "DE"\n' >"$work/empty.toml"
"$CHANSYNC" --config "$work/empty.toml" sync 2>"$work/empty.err"; [ $? -eq 78 ] || fail "a config without connectors should make sync exit 78"
grep -q "no connector" "$work/empty.err" || fail "empty config message does not say what is missing: $(cat "$work/empty.err")"

# Configs that could only ever do nothing, or do it on a throw-away store, are refused up front.
"$CHANSYNC" --config "$work/empty.toml" config check 2>/dev/null; [ $? -eq 78 ] || fail "config check of a config without connectors or targets should exit 78"
mkdir -p "$work/cfgdir"
"$CHANSYNC" --config "$work/cfgdir" config check 2>"$work/dir.err"; [ $? -eq 78 ] || fail "a directory as the config should exit 78"
grep -q "is a directory" "$work/dir.err" || fail "a directory as the config is not named as one: $(cat "$work/dir.err")"
sed 's|^path = "state.db"|path = ""|' "$work/sync.toml" >"$work/nopath.toml"
"$CHANSYNC" --config "$work/nopath.toml" config check 2>/dev/null; [ $? -eq 78 ] || fail "an empty state.path should exit 78"
cs --state "" -q pull 2>/dev/null; [ $? -eq 64 ] || fail "--state \"\" should exit 64"
# What only an adapter checks fails config check too, naming the target.
{ cat "$work/sync.toml"; printf '\n[targets.snap]\ntype = "ndjson"\npath = "-"\nmode = "snapshot"\n'; } >"$work/snap.toml"
"$CHANSYNC" --config "$work/snap.toml" config check 2>"$work/snap.err"; [ $? -eq 78 ] || fail "config check should refuse a snapshot on stdout (78)"
grep -q "targets.snap" "$work/snap.err" || fail "the snapshot refusal does not name the target: $(cat "$work/snap.err")"
# Numbers out of range, "nan" included, are usage errors that say which option.
for args in "--min-score:persons suggestions --min-score nan" "--limit:persons suggestions --limit -1" \
  "--sample:push --verify --sample 0" "--limit:state dead-letters --limit -1" \
  "-o json:-o json config check" "-o json:-o json state reset sms" "-o json:-o json completion bash"; do
  cs ${args#*:} 2>"$work/range.err"; code=$?
  [ "$code" -eq 64 ] || fail "'${args#*:}' should exit 64, got $code"
  grep -q -- "${args%%:*}" "$work/range.err" || fail "'${args#*:}' does not name ${args%%:*}: $(cat "$work/range.err")"
done
# Only the commands that fill a store make one: the others make none at a mistyped path.
for cmd in "persons list" "state show" "state dead-letters" "health --since 1d" "state reset sms" "reconcile" \
  "push" "erase --handle phone:+4915112345678" "persons merge p1 p2"; do
  cs --state "$work/typo/stat.db" $cmd 2>"$work/typo.err"; code=$?
  [ "$code" -eq 78 ] || fail "'$cmd' on a missing store should exit 78, got $code"
  grep -q "no state store at" "$work/typo.err" || fail "'$cmd' on a missing store: $(cat "$work/typo.err")"
done
[ ! -e "$work/typo" ] || fail "a command other than pull, sync or ingest created a store at a mistyped path"
# ingest refuses an unknown connector, one without webhooks, and a gzip file before it makes a store.
printf '\037\213gzip' >"$work/payloads.gz"
for args in "nosuch $work/sync.toml" "sms $work/sync.toml" "sms $work/payloads.gz"; do
  cs --state "$work/typo/ingest.db" ingest $args 2>"$work/ingest_typo.err"; code=$?
  [ "$code" -eq 64 ] || fail "'ingest $args' should exit 64, got $code: $(cat "$work/ingest_typo.err")"
done
grep -q "gzip-compressed" "$work/ingest_typo.err" || fail "ingest of a gzip file: $(cat "$work/ingest_typo.err")"
[ ! -e "$work/typo" ] || fail "a refused ingest made a store"
mkdir -p "$work/statedir"
cs --state "$work/statedir" pull sms 2>"$work/statedir.err"; code=$?
[ "$code" -eq 78 ] && grep -q "is a directory" "$work/statedir.err" \
  || fail "a directory as the state store should exit 78 saying so, exited $code: $(cat "$work/statedir.err")"
[ -z "$(ls -A "$work/statedir")" ] && [ ! -e "$work/statedir.lock" ] || fail "a directory as the state store left files"
# A known table written as a key, and a mistyped command, are named with the fix.
printf 'state = "x.db"\n' >"$work/key.toml"
"$CHANSYNC" --config "$work/key.toml" config check 2>"$work/key.err"; [ $? -eq 78 ] || fail "state as a key should exit 78"
grep -q 'must be a table' "$work/key.err" || fail "state as a key: $(cat "$work/key.err")"
cs snyc 2>"$work/snyc.err"; [ $? -eq 64 ] || fail "a mistyped command should exit 64"
grep -q 'did you mean "sync"' "$work/snyc.err" || fail "a mistyped command gets no hint: $(cat "$work/snyc.err")"
cs config chek 2>"$work/chek.err"; [ $? -eq 64 ] || fail "a mistyped subcommand should exit 64"
grep -q 'did you mean "check"' "$work/chek.err" || fail "a mistyped subcommand gets no hint: $(cat "$work/chek.err")"
cs -o json push --dry-run >"$work/dry.out" 2>/dev/null; [ $? -eq 64 ] || fail "push --dry-run -o json should exit 64"
[ ! -s "$work/dry.out" ] || fail "push --dry-run -o json printed: $(head -3 "$work/dry.out")"
# Output that cannot be written is an I/O error (74), not a success.
cs -o json persons list >/dev/full 2>"$work/full.err"; [ $? -eq 74 ] || fail "output to a full disk should exit 74"
grep -q "writing to standard output failed" "$work/full.err" || fail "the output error does not say what failed: $(cat "$work/full.err")"
# Another program's SQLite database is refused and left as it was.
sqlite3 "$work/foreign.db" "CREATE TABLE invoices(id INTEGER PRIMARY KEY, total REAL)"
before=$(md5sum <"$work/foreign.db")
cs --state "$work/foreign.db" state show 2>"$work/foreign.err"; [ $? -eq 70 ] || fail "a foreign SQLite database as the state should exit 70"
[ "$(md5sum <"$work/foreign.db")" = "$before" ] || fail "a foreign SQLite database was changed"
grep -q "another program" "$work/foreign.err" || fail "the foreign store message: $(cat "$work/foreign.err")"
[ "$(stat -c %a "$work/state.db")" = 600 ] || fail "the state store is not 0600: $(stat -c %a "$work/state.db")"

# A base_url in plain http to a host that is not loopback would send the token in clear: the config
# is refused as any config error is, by every command (exit 78), naming the line, the key and the way out.
sed 's|^base_url = "http://127.0.0.1:[0-9]*"|base_url = "http://192.0.2.1:9"|' "$work/sync.toml" >"$work/plain.toml"
for cmd in "config check" "config show" "pull sms" sync "push out" health "persons list"; do
  "$CHANSYNC" --config "$work/plain.toml" $cmd >/dev/null 2>"$work/plain.err"; code=$?
  [ "$code" -eq 78 ] || fail "'$cmd' with a plain-http base_url should exit 78, got $code: $(cat "$work/plain.err")"
  grep -Eq "plain\.toml:[0-9:]+ connectors\.sms\.base_url is plain http to 192\.0\.2\.1" "$work/plain.err" \
    && grep -q "allow_plaintext = true in \[connectors.sms\]" "$work/plain.err" \
    || fail "'$cmd' does not name the plain-http key and its way out: $(cat "$work/plain.err")"
done
sed 's|^base_url = "http://192.0.2.1:9"|&\nallow_plaintext = true|' "$work/plain.toml" >"$work/plain-ok.toml"
"$CHANSYNC" --config "$work/plain-ok.toml" config check >/dev/null 2>"$work/plain.err" \
  || fail "allow_plaintext = true should let config check pass: $(cat "$work/plain.err")"

# health with sms's token missing: its pulled history makes it silent, a worse class than the unknown
# of a probe that cannot be made, and the row still begins with the missing secret.
TWILIO_AUTH_TOKEN= cs health >"$work/nosecret.out" 2>&1 && fail "health passed without sms's token"
grep -Eq "^sms +twilio-messaging +WARNING +silent .*cannot check the connector itself \(.*TWILIO_AUTH_TOKEN" "$work/nosecret.out" \
  || fail "health hides sms's missing token behind its silence: $(cat "$work/nosecret.out")"
grep -q "sms: fix the configuration the message names, then " "$work/nosecret.out" \
  || fail "health's what-to-do does not put the configuration first: $(cat "$work/nosecret.out")"

# The state store cannot be created (73) or its disk is full (74): said as such, not as an internal error.
cs --state /proc/chansync-no-such-dir/state.db pull sms 2>"$work/ro.err"; code=$?
[ "$code" -eq 73 ] || fail "an uncreatable state store should exit 73, got $code: $(cat "$work/ro.err")"
grep -q "/proc/chansync-no-such-dir/state.db" "$work/ro.err" || fail "exit 73 does not name the path"
# A file size limit makes writes fail like a full disk (SIGXFSZ ignored: write(2) fails instead).
(trap '' XFSZ; ulimit -f 64; cs --state "$work/full.db" pull sms 2>"$work/full.err"); code=$?
[ "$code" -eq 74 ] || fail "a full disk should exit 74, got $code: $(cat "$work/full.err")"
grep -Eq "disk is full|I/O error" "$work/full.err" || fail "exit 74 does not say the disk is full: $(cat "$work/full.err")"
grep -q "internal error" "$work/full.err" && fail "a full disk is reported as an internal error"
cs -q --state "$work/full.db" pull sms || fail "a pull after the disk has space again failed"
set -e
echo "exit_codes: ok"
