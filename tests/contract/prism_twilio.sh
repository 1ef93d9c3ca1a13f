#!/usr/bin/env bash
# Contract test: the Twilio adapter's pull against Prism serving Twilio's official OpenAPI spec.
# Prism answers 422 to a request the spec rejects; the Catch2 test fails on any 422.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
spec="$here/specs/twilio_api_v2010.json"  # Twilio's official spec, vendored: see specs/SOURCES.md
prism="$here/node_modules/.bin/prism"
[ -x "$prism" ] || { echo "FAIL: prism not installed; run scripts/install-deps.sh --test"; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
"$prism" mock -h 127.0.0.1 -p "$port" "$spec" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 600); do
  grep -q "Prism is listening" "$log" && break
  kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.2
done
PRISM_URL="http://127.0.0.1:$port" "$1" "[twilio-prism]"
