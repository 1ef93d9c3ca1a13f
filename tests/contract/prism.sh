#!/usr/bin/env bash
# Contract test against a vendor's official OpenAPI spec: starts Prism mocking SPEC (a file under
# tests/contract/specs/, vendored: see specs/SOURCES.md) on a free loopback port and runs the Catch2
# tests tagged TAG with PRISM_URL pointing at it. Prism answers a request the spec rejects with 422
# (or the operation's 400 with an sl-violations header); the tests fail on any of them.
# Usage: prism.sh SPEC TAG TEST-BINARY   (e.g. prism.sh twilio_api_v2010.json "[twilio-prism]" ...)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
spec="$here/specs/$1"
prism="$here/node_modules/.bin/prism"
[ -x "$prism" ] || { echo "FAIL: prism not installed; run scripts/install-deps.sh --test"; exit 1; }
[ -f "$spec" ] || { echo "FAIL: no spec $spec"; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
"$prism" mock -h 127.0.0.1 -p "$port" "$spec" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 600); do
  grep -q "Prism is listening" "$log" && break
  kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.2
done
grep -q "Prism is listening" "$log" || { cat "$log"; echo "FAIL: Prism did not start within 120 s"; exit 1; }
PRISM_URL="http://127.0.0.1:$port" "$3" "$2"
