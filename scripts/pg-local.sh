# Sourced by scripts/demo.sh and scripts/bench.sh: a throwaway local PostgreSQL, like the tests'
# (initdb in a temp dir, Unix socket in that dir only, no TCP port; run as the postgres user when
# root, since PostgreSQL refuses root). Sets pg_dir, pg_bin, as_pg.
#   pg_local_bin                 prints the server binaries' directory, or fails when there are none
#   pg_local_start [SERVER-OPTS] starts the server; its socket dir is $pg_dir, its superuser chansync
#   pg_local_stop                stops it and removes $pg_dir (safe to call twice)
pg_dir="" pg_bin="" as_pg=()
pg_local_bin() {
  local bin
  bin=$(pg_config --bindir 2>/dev/null || true)
  [ -x "$bin/initdb" ] || bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$bin" ] && [ -x "$bin/initdb" ] && echo "$bin"
}
pg_local_start() {
  pg_bin=$(pg_local_bin) || { echo "no PostgreSQL server binaries (Debian package postgresql)" >&2; return 1; }
  pg_dir=$(mktemp -d /tmp/chansync-pg-XXXXXX)
  as_pg=()
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$pg_dir"
    as_pg=(setpriv --reuid=postgres --regid=postgres --clear-groups --)
  fi
  "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U chansync -A trust -E UTF8 --locale=C --no-sync \
    >"$pg_dir/initdb.log"
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -o \
    "-k $pg_dir -c listen_addresses= $*" start >/dev/null
}
pg_local_stop() {
  [ -n "$pg_dir" ] || return 0
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
  pg_dir=""
}
