#!/usr/bin/env bash
# Configures and builds into build/. Usage: scripts/build.sh [--tests]
set -euo pipefail
cd "$(dirname "$0")/.."
tests=OFF
[ "${1:-}" = "--tests" ] && tests=ON
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHANSYNC_TESTS=$tests >/dev/null
cmake --build build --parallel "$(nproc)"
