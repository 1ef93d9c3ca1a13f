#!/usr/bin/env bash
# Installs dependencies (test tools included), builds with tests, and runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
scripts/build.sh --tests
cd build && ctest --output-on-failure --timeout 600
