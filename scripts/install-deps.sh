#!/usr/bin/env bash
# Installs everything chansync needs to build, test and benchmark on Debian bookworm.
# Idempotent; safe under CI=true with no stdin. Usage: scripts/install-deps.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
apt_install() {
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "$@"
}

build_pkgs=(build-essential cmake ninja-build pkg-config git
  libcli11-dev libcurl4-openssl-dev nlohmann-json3-dev libsqlitecpp-dev libsqlite3-dev
  libspdlog-dev libfmt-dev libsimdjson-dev libtomlplusplus-dev libcpp-httplib-dev
  libphonenumber-dev libabsl-dev libprotobuf-dev libicu-dev libboost-dev libssl-dev zlib1g-dev libpq-dev
  libgmime-3.0-dev libxml2-dev libmimalloc-dev libdeflate-dev)
# libmimalloc-dev: the chansync executable allocates through mimalloc (CMakeLists.txt says why).
# libdeflate-dev: gzip answers are decoded in one call (adapters/http.cpp says why).
# postgresql: the postgres target's tests start a throwaway server (tests/support/pg_server.cpp),
# and pgbouncer in front of it in transaction pooling; dovecot-imapd likewise for the imap-email source's (tests/support/dovecot_server.cpp).
# chromium: tests/scenarios/health_html.sh renders the health --html page headless; fonts-liberation
# is only a Recommends of chromium (not installed with --no-install-recommends), and the screenshot
# check needs the page's text drawn.
# python3-requests: the Python peer of the peer benchmark (scripts/bench.sh --peers).
test_pkgs=(catch2 python3 python3-jsonschema python3-requests sqlite3 curl jq time procps clang-format postgresql
  pgbouncer dovecot-imapd chromium fonts-liberation)
# Node for Prism: Debian's, unless the machine already has a Node with npm (they conflict).
command -v npm >/dev/null || test_pkgs+=(nodejs npm)

want=("${build_pkgs[@]}")
[ "${1:-}" = "--test" ] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  $sudo apt-get -o DPkg::Lock::Timeout=300 update -q
  apt_install "${missing[@]}"
fi

if [ "${1:-}" = "--test" ]; then
  # Prism (OpenAPI mock server) for the contract tests; pinned: newer releases need Node 24.
  if [ ! -x tests/contract/node_modules/.bin/prism ]; then
    echo "install-deps: installing @stoplight/prism-cli@5.14.2 under tests/contract" >&2
    (cd tests/contract && npm install --no-audit --no-fund --loglevel=error)
  fi
fi
