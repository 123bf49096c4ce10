#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the indexer's tests and prints its URL on stdout.
#
#   export CONSENTRY_PG_URL=$(api/indexer/scripts/pg.sh)
#   CONSENTRY_REQUIRE_PG=1 cargo test -p consentry-indexer --test integration postgres::
#   api/indexer/scripts/pg.sh stop "$CONSENTRY_PG_URL"   # or leave it: it lives in /tmp
#
# The cluster lives in a fresh temporary directory, listens on 127.0.0.1 on a free port with
# "trust" authentication, and runs as the `postgres` user when invoked as root (PostgreSQL
# refuses to run as root). Installs the Debian `postgresql` package if no server is found (through
# sudo when not root).
set -euo pipefail

find_bin() {
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"
        return
    fi
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

if [ "${1:-}" = "stop" ]; then
    port=$(echo "${2:?usage: pg.sh stop URL}" | sed -E 's#.*:([0-9]+)/.*#\1#')
    dir=$(cat "/tmp/consentry-pg-$port.dir")
    bin=$(find_bin)
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null
    else
        "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null
    fi
    rm -rf "$dir" "/tmp/consentry-pg-$port.dir"
    exit 0
fi

bin=$(find_bin)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    "$(dirname "$0")/../../../scripts/apt-install.sh" postgresql || true
    bin=$(find_bin)
fi
[ -n "$bin" ] && [ -x "$bin/initdb" ] || { echo "PostgreSQL server binaries not found" >&2; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dir=$(mktemp -d /tmp/consentry-pg.XXXXXX)
as_owner=()
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$dir"
    as_owner=(runuser -u postgres --)
fi
"${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U consentry --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
"${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
echo "$dir" >"/tmp/consentry-pg-$port.dir"
echo "postgres://consentry@127.0.0.1:$port/postgres"
