#!/usr/bin/env bash
# Contract test: the chatwoot sink's requests against Prism serving Chatwoot's official OpenAPI spec.
# Prism answers a request the spec rejects with 422 (or the operation's 400 with an sl-violations
# header); the Catch2 test records every answer through a proxy and fails on any of them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
spec="$here/specs/chatwoot_application_swagger.json"  # Chatwoot's official spec, vendored: see specs/SOURCES.md
prism="$here/node_modules/.bin/prism"
[ -x "$prism" ] || { echo "FAIL: prism not installed; run scripts/install-deps.sh --test"; exit 1; }
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
PRISM_URL="http://127.0.0.1:$port" "$1" "[chatwoot-prism]"
