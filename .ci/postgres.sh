#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, from Debian's packages.
#   .ci/postgres.sh start DIR   initialises a cluster in DIR, starts it on a free loopback port and
#                               prints its URI (postgresql://flowhost@127.0.0.1:PORT/postgres)
#   .ci/postgres.sh stop DIR    stops it (immediate shutdown) and removes DIR
# initdb refuses to run as root: as root, the cluster belongs to the `postgres` user (created by the
# package) and every server command runs through runuser. test/helpers/postgres.ts calls this script
# when FLOWHOST_TEST_POSTGRES_URI is not set; .ci/run calls it once for the whole suite.
set -euo pipefail
command=${1:?start or stop}
dir=${2:?a folder for the cluster}

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
bin=$(find_bin)
if [ -z "$bin" ] && [ "$command" = start ]; then
  echo "postgres.sh: installing postgresql from Debian's packages" >&2
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  bin=$(find_bin)
fi
[ -n "$bin" ] || { echo "postgres.sh: no PostgreSQL under /usr/lib/postgresql/*/bin" >&2; exit 1; }

as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$command" in
  start)
    # DIR may come from mktemp -d (mode 700): the cluster's owner must be able to enter it.
    mkdir -p "$dir" && chmod 755 "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    as_owner "$bin/initdb" -D "$dir/data" -U flowhost --auth=trust --no-locale -E UTF8 >/dev/null
    port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null
    echo "postgresql://flowhost@127.0.0.1:$port/postgres"
    ;;
  stop)
    if [ -d "$dir/data" ]; then as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
