#!/usr/bin/env bash
# Configures and builds into build/. Usage: scripts/build.sh [--tests]
# Without --tests only chansync and chansync-sim are built; an earlier --tests configuration is kept,
# so running the demo after the suite never leaves stale test binaries behind.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--tests" ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHANSYNC_TESTS=ON >/dev/null
  cmake --build build --parallel "$(nproc)"
else
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build --parallel "$(nproc)" --target chansync chansync-sim
fi
